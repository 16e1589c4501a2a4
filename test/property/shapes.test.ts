/**
 * The shaped rulesets (kube-proxy, Docker, Calico marks) are what iptables-save would print:
 * they parse without a diagnostic and print back unchanged, and every packet's outcome
 * probabilities sum to 1. The kernel differential test sends the same shapes to the kernel.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseRules } from "../../src/parse.js";
import { saveText } from "../../src/print/save.js";
import { buildNode } from "../../src/netfilter/model.js";
import { shapedPackets, shapedRuleset, SHAPES_NODE } from "../support/shapes.js";
import { simpleNode } from "../support/simple-node.js";

describe("shaped rulesets", () => {
  it("parse cleanly, print back unchanged, and give outcomes that sum to 1", () => {
    const view = simpleNode(SHAPES_NODE);
    fc.assert(fc.property(shapedRuleset.chain((r) => fc.tuple(fc.constant(r), shapedPackets(r, 5))), ([r, packets]) => {
      const parsed = parseRules(r.text, { file: "shaped.save" });
      expect(parsed.diagnostics.map((d) => d.message)).toEqual([]);
      expect(saveText(parsed.value)).toBe(r.text);
      const node = buildNode({ rulesets: [parsed.value], node: view });
      for (const p of packets) {
        const total = node.evaluate(p).outcomes.reduce((s, o) => s + o.probability, 0);
        expect(total).toBeCloseTo(1, 9);
      }
    }), { numRuns: 100 });
  });
});
