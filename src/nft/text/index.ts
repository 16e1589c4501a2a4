/**
 * `parseNftText(text, file)`: an nftables ruleset from `nft list ruleset` output (any of `-a`,
 * `-s`, `-n`, `-y`), a single `list table`/`list chain`/`list set`, an `nft -f` script, or any
 * of them pasted into prose. Every problem is a located diagnostic; nothing throws.
 */
import { DiagnosticSink, type Diagnostic } from "../../model/diagnostics.js";
import type { NftFamily, NftRule, NftRuleset, NftTable } from "../../model/nft.js";
import { RulesetIndex } from "../ruleset-index.js";
import { withoutBom } from "../../syntax/bom.js";
import { Cursor } from "./cursor.js";
import { substituteDefines } from "./defines.js";
import { setAsideProse } from "./prose.js";
import { NftTextReader } from "./reader.js";
import { spanOf, tokenize } from "./tokens.js";
import { statementKind } from "../../extensions/nft/statements/registry.js";

export function parseNftText(text: string, file: string): { ruleset: NftRuleset; diagnostics: Diagnostic[] } {
  const sink = new DiagnosticSink(file);
  const prose = setAsideProse(withoutBom(text), file);
  const { tokens, unterminated } = tokenize(prose.text);
  for (const t of unterminated) sink.error(spanOf(t), "this string has no closing quote on its line", '"', t.text);
  const sub = substituteDefines(tokens, sink);
  const builder = new RulesetIndex();
  const reader = new NftTextReader(new Cursor(sub.tokens, sink), builder);
  reader.readAll();
  reader.finish();
  const rs: NftRuleset = { tables: builder.finish(), source: "list" };
  if (reader.sawCommand || sub.defines.length > 0 || sub.includes.length > 0) rs.source = "script";
  if (sub.includes.length > 0) rs.includes = sub.includes;
  if (sub.defines.length > 0) rs.defines = sub.defines;
  for (const m of reader.managed) {
    const ix = builder.find(m.family as NftFamily, m.name);
    if (!ix) continue;
    ix.table.managedBy = "iptables-nft";
    restoreSilentMatches(ix.table, reader.wideGaps, sink);
  }
  completeWithSets(builder);
  if (prose.nftLines === 0 && rs.tables.length === 0 && sink.errorCount === 0) {
    sink.error({ line: 1, col: 1, len: 1 }, "no nftables ruleset or script found", "table ... { ... } or nft commands");
  }
  return { ruleset: rs, diagnostics: [...prose.diagnostics, ...sink.items] };
}

/**
 * In a table iptables-nft manages, nft 1.0.6 prints an xt match whose translation is empty
 * (`-m comment`) as nothing between two spaces: `tcp dport 22  counter packets 0 bytes 0
 * accept` (checked in a netns; `nft -j` shows `{"xt": {"type": "match", "name": "comment"}}`).
 * Only there is a wide gap taken for one; elsewhere it is just spacing.
 */
function restoreSilentMatches(table: NftTable, gaps: ReadonlyMap<NftRule, number[]>, sink: DiagnosticSink): void {
  for (const ch of table.chains) {
    for (const r of ch.rules) {
      const at = gaps.get(r);
      if (!at) continue;
      for (let i = at.length - 1; i >= 0; i--) r.stmts.splice(at[i]!, 0, { kind: "xt", type: "match", name: "comment" });
      sink.warning(r.span, "an iptables-nft match nft prints as nothing (two spaces) is taken for -m comment, which every packet matches");
    }
  }
}

/** Statements whose words leave something to their table's sets (see `completeWithSets`), completed once the sets are read. */
function completeWithSets(b: RulesetIndex): void {
  for (const ix of b.all()) {
    const setTypes = (name: string) => ix.sets.get(name);
    for (const ch of ix.table.chains) {
      for (const r of ch.rules) for (const s of r.stmts) statementKind(s)?.completeWithSets?.(s, setTypes);
    }
  }
}
