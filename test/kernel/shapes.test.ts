/**
 * netfate against the kernel on the rulesets real nodes carry: kube-proxy services (ClusterIP,
 * NodePort, statistic endpoints, masquerade on the mark, REJECT without endpoints), Docker
 * port publishing and Calico-style mark bits, in random mixes (test/support/shapes.ts), with
 * packets at their constants. Every kernel path, and where the packet ended, must be one of
 * netfate's outcomes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { shapedPackets, shapedRuleset } from "../support/shapes.js";
import { KernelNode, kernelSkipReason, NODE_ETH0_CNI0, viewOfTopology } from "./harness.js";
import { compareRound, newTally } from "./batch-compare.js";

const why = kernelSkipReason();
/** Another seed (NETFATE_KERNEL_SEED) explores further without changing what CI runs. */
const SHAPES_SEED = Number(process.env.NETFATE_KERNEL_SEED ?? 20261126);
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
    const cases = fc.sample(shapedRuleset.chain((r) => fc.tuple(fc.constant(r), shapedPackets(r, PACKETS))), { numRuns: RULESETS, seed: SHAPES_SEED });
    const t = newTally();
    for (const [r, packets] of cases) {
      await compareRound(k, r.text, packets, view, "ipv4", t);
      if (t.disagreements.length > 3) break;
    }
    expect(t.disagreements.slice(0, 3).join("\n\n=====\n\n")).toBe("");
    expect(t.compared).toBeGreaterThanOrEqual(RULESETS * PACKETS * 0.98);
  }, 900_000);
});
