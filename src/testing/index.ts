/**
 * netfate/testing: property-based regression tests of a node's rules.
 *
 *   import fc from "fast-check";
 *   import { loadNode, packets, reaches } from "netfate/testing";
 *   const node = loadNode({ rules: "iptables-save.txt", node: "node.json" });
 *   fc.assert(fc.property(packets({ from: "eth0", dst: "10.244.0.0/16" }), (p) =>
 *     node.evaluate(p).outcomes.every((o) => !reaches(o, "cni0"))));
 *
 * With vitest, `import "netfate/testing/vitest"` adds `expect(evaluation).toBeDroppedBy(...)`
 * and the other matchers of matchers.ts.
 */
export { packets, type PacketConstraints, type PortSpec } from "./packets.js";
export { filterRuleset as filterRulesets, ruleArb as rules } from "./rulesets.js";
export { reaches, probabilityOf, NoProbability, droppedBy, decidingStep, type Destination } from "./fates.js";
export { netfateMatchers, type NetfateMatchers, type MatcherResult } from "./matchers.js";
export { loadNode, nodeFromTexts, packet, type NodeFiles, type NodeTexts } from "./load.js";
