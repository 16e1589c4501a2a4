/**
 * Golden comparisons that stay honest while extensions are being added: a line may differ
 * from the real tool's only when its rule holds an extension netfate does not know yet (kept
 * generically, printed as given). Any other difference fails.
 */
import type { Rule, Ruleset } from "../../src/model/ast.js";
import { ruleSaveLine } from "../../src/print/save.js";
import { orderedChains } from "../../src/print/save.js";

export function hasUnknownExtension(r: Rule): boolean {
  return r.matches.some((m) => m.kind !== "match") || r.target?.kind === "generic-target";
}

/** Save-format lines of a ruleset, each with whether its rule uses an unknown extension. */
export function flaggedRuleLines(rs: Ruleset): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const t of rs.tables) for (const c of orderedChains(t)) for (const r of c.rules.load()) out.set(ruleSaveLine(c.name, r, rs.family, false), hasUnknownExtension(r));
  return out;
}

/**
 * Compares printed text with the tool's, line by line; returns the differences that no unknown
 * extension explains (expected to be empty), and how many were explained.
 */
export function unexplainedDiffs(ours: string, theirs: string, unknownLine: (i: number) => boolean): { unexplained: string[]; explained: number } {
  const a = ours.split("\n");
  const b = theirs.split("\n");
  const unexplained: string[] = [];
  let explained = 0;
  if (a.length !== b.length) unexplained.push(`line count ${a.length} ≠ ${b.length}`);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    if (unknownLine(i)) explained++;
    else unexplained.push(`line ${i + 1}:\n  netfate: ${a[i]}\n  iptables: ${b[i]}`);
  }
  return { unexplained, explained };
}
