/**
 * netfate against the kernel: random rulesets of the shapes real nodes use, random packets,
 * the kernel's own trace (xtables-monitor) as the judge. Every kernel path must be one of
 * netfate's outcomes. Skipped with a one-line reason where network namespaces are not
 * available; in CI (CI=true) a skip is a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildNode } from "../../src/netfilter/model.js";
import { saveText } from "../../src/print/save.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { filterRuleset } from "../support/arbitraries.js";
import { simpleNode } from "../support/simple-node.js";
import { KernelNode, kernelUnavailable, type Topology } from "./harness.js";
import { kernelSteps, netfateSteps } from "./compare.js";

const why = kernelUnavailable();
if (why && process.env.CI) throw new Error(`kernel tests must run in CI but cannot: ${why}`);

const TOPO: Topology = {
  ifaces: [{ name: "eth0", addr: "192.168.0.11/24" }, { name: "cni0", addr: "10.244.0.1/24" }, { name: "veth1", addr: "10.9.0.1/30" }],
  routes: ["default via 192.168.0.1 dev eth0"],
  forwarding: true,
};
const view = simpleNode({
  addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"], veth1: ["10.9.0.1/30"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }],
});

const packetArb: fc.Arbitrary<PacketSpec> = fc.record({
  from: fc.constantFrom("eth0", "cni0", "veth1", "local"),
  src: fc.constantFrom("192.168.0.50", "10.244.0.9", "10.9.0.2", "8.8.4.4", "172.16.5.5"),
  dst: fc.constantFrom("192.168.0.11", "10.244.0.1", "10.244.0.9", "8.8.8.8", "192.168.0.50", "10.9.0.1"),
  proto: fc.constantFrom(6, 17, 1),
  sport: fc.integer({ min: 1024, max: 65535 }),
  dport: fc.constantFrom(22, 53, 80, 443, 8080, 30080),
  flags: fc.constantFrom(0x02, 0x12, 0x10),
}).filter((r) => r.src !== r.dst).map((r) => {
  const p: PacketSpec = { family: "ipv4", from: r.from, dst: r.dst, proto: r.proto };
  if (r.from !== "local") p.src = r.src;
  if (r.proto !== 1) {
    p.sport = r.sport;
    p.dport = r.dport;
  } else p.icmpType = 8;
  if (r.proto === 6) p.tcpFlags = r.flags;
  return p;
});

describe.skipIf(why !== undefined)(`kernel differential${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(TOPO);
  });
  afterAll(() => k?.close());

  it("random filter rulesets: every kernel path is one of netfate's outcomes", async () => {
    const RULESETS = Number(process.env.NETFATE_KERNEL_RULESETS ?? 200);
    const PACKETS = 10;
    const cases = fc.sample(fc.tuple(filterRuleset, fc.array(packetArb, { minLength: PACKETS, maxLength: PACKETS })), { numRuns: RULESETS, seed: 20261125 });
    let compared = 0;
    const disagreements: string[] = [];
    for (const [rs, packets] of cases) {
      const text = saveText(rs);
      k.load(text);
      const traces = await k.trace(packets);
      const n = buildNode({ rulesets: [rs], node: view });
      packets.forEach((p, i) => {
        const kt = traces[i];
        const outs = n.evaluate(p).outcomes;
        if (kt === "send-failed") {
          // The kernel refused the send: netfilter never saw the packet, netfate must say unroutable.
          compared++;
          if (!outs.every((o) => o.fate.kind === "unroutable")) disagreements.push(`kernel refused to send ${JSON.stringify(p)}, netfate: ${outs.map((o) => o.fate.kind).join(", ")}`);
          return;
        }
        if (!kt) {
          disagreements.push(`no kernel trace for ${JSON.stringify(p)}\n${text}`);
          return;
        }
        const kernel = kernelSteps(kt.steps, new Set(rs.tables.map((t) => t.name))).join("\n");
        const ours = outs.map((o) => netfateSteps(o).join("\n"));
        compared++;
        if (!ours.includes(kernel)) {
          disagreements.push(`packet ${JSON.stringify(p)}\nkernel:\n${kernel}\nnetfate:\n${ours.join("\n--- or ---\n")}\nrules:\n${text}`);
        }
      });
      if (disagreements.length > 3) break;
    }
    expect(disagreements.slice(0, 3).join("\n\n=====\n\n")).toBe("");
    expect(compared).toBeGreaterThanOrEqual(RULESETS * PACKETS * 0.95);
  }, 1_800_000);
});
