/**
 * `-m statistic` frequencies against the kernel: kube-proxy style branch chains loaded into a
 * namespace, hundreds of NEW connections (distinct source ports, seeded), each kernel trace
 * assigned to the netfate outcome whose path it took, and the counts tested against netfate's
 * outcome probabilities with a chi-square goodness-of-fit test at significance 0.001.
 *
 * The kernel (net/netfilter/xt_statistic.c): random mode matches when
 * `(get_random_u32() & 0x7FFFFFFF) < info->u.random.probability`, the 31-bit integer iptables
 * stores. nth mode is no chance (a counter per rule): netfate decides it for a rule's first
 * packet, which quiet-node.test.ts checks against the kernel.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { chiSquare } from "../support/chi-square.js";
import { KernelNode, kernelSkipReason, NODE_ETH0_CNI0, viewOfTopology } from "./harness.js";
import { kernelSteps, netfateSteps } from "./compare.js";

const why = kernelSkipReason();

const TOPO = NODE_ETH0_CNI0;
const view = viewOfTopology(TOPO);

const SAMPLES = 600;
const SEED = 20261125;

/** A kube-proxy service chain: one statistic rule per endpoint but the last, which takes the rest. */
function service(clusterIp: string, branches: string[], endpoints: string[]): string {
  const seps = endpoints.map((_, i) => `KUBE-SEP-${String.fromCharCode(65 + i)}`);
  return `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-X - [0:0]
${seps.map((s) => `:${s} - [0:0]`).join("\n")}
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d ${clusterIp}/32 -p udp -m udp --dport 53 -j KUBE-SVC-X
${seps.map((s, i) => `-A KUBE-SVC-X ${branches[i] ?? ""}-j ${s}`.replace("  ", " ")).join("\n")}
${seps.map((s, i) => `-A ${s} -p udp -m udp -j DNAT --to-destination ${endpoints[i]}:53`).join("\n")}
COMMIT
`;
}

const CASES = [
  {
    name: "3 endpoints, kube-proxy's 0.33333333349 then 0.5",
    rules: service("10.96.0.10", ["-m statistic --mode random --probability 0.33333333349 ", "-m statistic --mode random --probability 0.50000000000 "], ["10.244.0.2", "10.244.0.3", "10.244.0.4"]),
  },
  {
    name: "3 endpoints, skewed and negated: 0.1, then ! 0.3 (0.7), then the rest",
    rules: service("10.96.0.11", ["-m statistic --mode random --probability 0.10000000009 ", "-m statistic --mode random ! --probability 0.30000000000 "], ["10.244.0.5", "10.244.0.6", "10.244.0.7"]),
  },
];

describe.skipIf(why !== undefined)(`statistic frequencies against the kernel${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(TOPO);
  });
  afterAll(() => k?.close());

  CASES.forEach((c, ci) => {
    it(c.name, async () => {
      const rs = parseRules(c.rules).value;
      const dst = /-d (\S+)\/32/.exec(c.rules)![1]!;
      const [sports] = fc.sample(fc.uniqueArray(fc.integer({ min: 1024, max: 65535 }), { minLength: SAMPLES, maxLength: SAMPLES }), { seed: SEED + ci, numRuns: 1 });
      const packets: PacketSpec[] = sports!.map((sport) => ({ family: "ipv4", from: "cni0", src: "10.244.0.99", dst, proto: 17, sport, dport: 53 }));
      k.load(c.rules);
      k.flushConntrack();
      const traces = await k.trace(packets);
      const n = buildNode({ rulesets: [rs], node: view });
      const tables = new Set(rs.tables.map((t) => t.name));
      const outcomes = n.evaluate(packets[0]!).outcomes;
      const paths = outcomes.map((o) => netfateSteps(o).join("\n"));
      expect(outcomes.length).toBe(3);
      const counts = outcomes.map(() => 0);
      const strays: string[] = [];
      let traced = 0;
      traces.forEach((kt, i) => {
        if (!kt || kt === "send-failed") return;
        traced++;
        const path = kernelSteps(kt.steps, tables).join("\n");
        const at = paths.indexOf(path);
        if (at < 0) strays.push(`packet ${JSON.stringify(packets[i])}: kernel path not among netfate's:\n${path}`);
        else {
          counts[at]!++;
          // The endpoint the kernel chose is the one netfate's outcome rewrote the packet to.
          if (kt.lastDst !== outcomes[at]!.final.dst) strays.push(`packet ${JSON.stringify(packets[i])}: kernel sent it to ${kt.lastDst}, netfate's outcome to ${outcomes[at]!.final.dst}`);
        }
      });
      expect(strays.slice(0, 3).join("\n\n")).toBe("");
      expect(traced).toBeGreaterThanOrEqual(SAMPLES * 0.95);
      const r = chiSquare(counts, outcomes.map((o) => o.probability));
      const report = `chi-square ${r.statistic.toFixed(3)} (df ${r.df}, critical ${r.critical}) — ${r.table.map((t) => `${t.observed} seen / ${t.expected.toFixed(1)} expected`).join(", ")}`;
      console.log(`${c.name}: ${report}`);
      expect(r.fits, report).toBe(true);
    }, 120_000);
  });
});
