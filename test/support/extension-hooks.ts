/**
 * The hooks an extension offers the rest of netfate, asked the way their users ask them: the
 * packets `diff` tries (witnesses), the chain index's port (indexDport), and whether the
 * kernel enables conntrack for a dump (needsConntrack).
 */
import { expect } from "vitest";
import type { Family, Ruleset } from "../../src/model/ast.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { parseRules } from "../../src/parse.js";
import { parseIpsets } from "../../src/ipset/index.js";
import { candidatePackets } from "../../src/diff/candidates.js";
import { diffRulesets } from "../../src/diff/compare.js";
import { compileRulesets } from "../../src/netfilter/compile.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";

/** A node with one interface, so that packets to its address are delivered through INPUT. */
export const NODE = factsFromTexts([{
  file: "node.json",
  text: JSON.stringify({ interfaces: [{ name: "lo", addrs: ["127.0.0.1/8", "::1/128"] }, { name: "eth0", addrs: ["192.168.0.11/24", "2001:db8:5::11/64"] }], routes: [] }),
}]).facts;

/** A whole dump of one table with `lines` (`-A ...`) in it, its built-in chains ACCEPT. */
export function dump(table: "filter" | "nat" | "raw" | "mangle", lines: readonly string[], family: Family = "ipv4"): Ruleset {
  const chains: Record<string, string[]> = {
    filter: ["INPUT", "FORWARD", "OUTPUT"],
    nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
    raw: ["PREROUTING", "OUTPUT"],
    mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  };
  const text = [`*${table}`, ...chains[table]!.map((c) => `:${c} ACCEPT [0:0]`), ...lines, "COMMIT", ""].join("\n");
  const r = parseRules(text, { family });
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  return r.value;
}

/** The errors binding one rule of `table` reports. */
export function ruleErrors(table: "filter" | "nat", line: string, family: Family = "ipv4"): string[] {
  const chains = table === "nat" ? ":PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n" : ":INPUT ACCEPT [0:0]\n";
  return parseRules(`*${table}\n${chains}${line}\nCOMMIT\n`, { family }).diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
}

/**
 * The packets `diff` finds fated differently when `-A INPUT <rule> -j DROP` is added to an
 * open filter table, asking only the packets the rules' constants make (no random search).
 */
export function dropDifferences(rule: string, o: { family?: Family; ipsets?: string } = {}): PacketSpec[] {
  const family = o.family ?? "ipv4";
  const sets = o.ipsets === undefined ? undefined : parseIpsets(o.ipsets).value;
  const r = diffRulesets([dump("filter", [], family)], [dump("filter", [`-A INPUT ${rule} -j DROP`], family)], { random: 0, facts: NODE, ...(sets ? { sets } : {}) });
  return r.differences.map((d) => d.packet);
}

/** The packets the candidate search makes from one dump's constants alone. */
export function witnessPackets(rs: Ruleset): PacketSpec[] {
  return candidatePackets([[rs]], { random: 0 });
}

/** The destination ports a long INPUT chain of `rule` with ports `ports` is indexed under (undefined: not indexed by port). */
export function indexedPorts(rule: (port: number) => string): { byDport: number[]; always: number } {
  const lines = Array.from({ length: 20 }, (_, i) => `-A INPUT ${rule(1000 + i)} -j ACCEPT`);
  const c = compileRulesets([dump("filter", lines)], "ipv4");
  const idx = c.tables.get("filter")!.chains.get("INPUT")!.index!;
  return { byDport: [...idx.byDport.keys()].sort((a, b) => a - b), always: idx.always.length };
}

/** Whether the kernel would enable conntrack for a dump of `table` with `lines`. */
export function conntrackActive(table: "filter" | "nat" | "raw" | "mangle", lines: readonly string[], family: Family = "ipv4"): boolean {
  return compileRulesets([dump(table, lines, family)], family).conntrackActive;
}

/** Each outcome of a packet through `rulesets` on NODE: the final packet and the rewrites on the way. */
export function traced(rulesets: Ruleset[], packet: PacketSpec): Array<{ final: { src: string; dst: string; sport?: number; dport?: number }; rewrites: string[] }> {
  const e = buildNode({ rulesets, node: nodeViewFromFacts(NODE) }).evaluate(packet);
  return e.outcomes.map((o) => ({ final: o.final, rewrites: o.steps.flatMap((s) => s.rewrites ?? []) }));
}
