/**
 * netfate against the kernel on the rulesets real nodes carry: kube-proxy services (ClusterIP,
 * NodePort, statistic endpoints, masquerade on the mark, REJECT without endpoints), Docker
 * port publishing and Calico-style mark bits, in random mixes (test/support/shapes.ts), with
 * packets at their constants. Every kernel path, and where the packet ended, must be one of
 * netfate's outcomes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import { shapedPackets, shapedRuleset } from "../support/shapes.js";
import { KernelNode, kernelFate, kernelSkipReason, NODE_ETH0_CNI0, viewOfTopology } from "./harness.js";
import { fateAgrees, kernelSteps, netfateSteps } from "./compare.js";

const why = kernelSkipReason();
const view = viewOfTopology(NODE_ETH0_CNI0);

describe.skipIf(why !== undefined)(`kernel differential on node shapes${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(NODE_ETH0_CNI0);
  });
  afterAll(() => k?.close());

  it("kube-proxy, Docker and Calico shapes: every kernel path and fate is one of netfate's", async () => {
    const RULESETS = Number(process.env.NETFATE_KERNEL_SHAPES ?? 40);
    const PACKETS = 10;
    const cases = fc.sample(shapedRuleset.chain((r) => fc.tuple(fc.constant(r), shapedPackets(r, PACKETS))), { numRuns: RULESETS, seed: 20261126 });
    const disagreements: string[] = [];
    let compared = 0;
    for (const [r, packets] of cases) {
      const parsed = parseRules(r.text, { file: "shaped.save" });
      k.load(r.text);
      k.flushConntrack();
      const traces = await k.trace(packets);
      const n = buildNode({ rulesets: [parsed.value], node: view });
      const tables = new Set(parsed.value.tables.map((t) => t.name));
      packets.forEach((p, i) => {
        const kt = traces[i];
        if (kt === undefined) {
          disagreements.push(`no kernel trace for ${JSON.stringify(p)}`);
          return;
        }
        const outs = n.evaluate(p).outcomes;
        compared++;
        if (kt === "send-failed") {
          if (!outs.every((o) => fateAgrees("send-failed", o.fate))) disagreements.push(`kernel refused to send ${JSON.stringify(p)}; netfate: ${outs.map((o) => o.fate.kind)}`);
          return;
        }
        const kernel = kernelSteps(kt.steps, tables).join("\n");
        const fate = kernelFate(kt);
        if (!outs.some((o) => netfateSteps(o).join("\n") === kernel && fateAgrees(fate, o.fate))) {
          disagreements.push(`packet ${JSON.stringify(p)}\nkernel (${JSON.stringify(fate)}):\n${kernel}\nnetfate:\n${outs.map((o) => `${JSON.stringify(o.fate)}\n${netfateSteps(o).join("\n")}`).join("\n--- or ---\n")}\nrules:\n${r.text}`);
        }
      });
      if (disagreements.length > 3) break;
    }
    expect(disagreements.slice(0, 3).join("\n\n=====\n\n")).toBe("");
    expect(compared).toBeGreaterThanOrEqual(RULESETS * PACKETS * 0.98);
  }, 900_000);
});
