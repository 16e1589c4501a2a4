/**
 * The semantics tables' question: does one rule `SPEC -j DROP`, alone in a built-in chain
 * whose policy is ACCEPT, drop the packet? "indeterminate" when an outcome rests on an
 * assumption (the match could not decide).
 */
import { expect } from "vitest";
import type { Family } from "../../src/model/ast.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { IpsetView, NodeView } from "../../src/model/evaluation.js";

export type Verdict = boolean | "indeterminate";

const BUILTIN: Record<string, string[]> = {
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
};

export interface RuleCase {
  spec: string;
  packet: PacketSpec;
  node: NodeView;
  ipsets?: IpsetView;
  table?: string;
  chain?: string;
  family?: Family;
}

export function ruleDrops(c: RuleCase): Verdict {
  const table = c.table ?? "filter";
  const chains = BUILTIN[table]!.map((n) => `:${n} ACCEPT [0:0]`).join("\n");
  const r = parseRules(`*${table}\n${chains}\n-A ${c.chain ?? "INPUT"} ${c.spec} -j DROP\nCOMMIT\n`, { family: c.family ?? c.packet.family });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const outs = buildNode({ rulesets: [r.value], node: c.node, ...(c.ipsets ? { ipsets: c.ipsets } : {}) }).evaluate(c.packet).outcomes;
  if (outs.some((o) => o.assumptions.length > 0)) return "indeterminate";
  return outs.every((o) => o.fate.kind === "dropped");
}
