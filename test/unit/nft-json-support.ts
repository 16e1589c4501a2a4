/** Helpers for the nft JSON reader's unit tests: a listing or command document from its objects. */
import { parseNftJson } from "../../src/nft/json/index.js";
import type { NftRule, NftRuleset, NftStmt } from "../../src/model/nft.js";
import type { Diagnostic } from "../../src/model/diagnostics.js";

export const META = { metainfo: { version: "1.0.6", release_name: "Lester Gooch #5", json_schema_version: 1 } };

/** A table `inet t` with regular chains `c` and `web` (a jump target), then the given objects. */
export function doc(...items: unknown[]): string {
  const chain = (name: string, handle: number) => ({ chain: { family: "inet", table: "t", name, handle } });
  return JSON.stringify({ nftables: [META, { table: { family: "inet", name: "t", handle: 1 } }, chain("c", 1), chain("web", 9), ...items] });
}

/** A set or map of table `inet t`. */
export function set(name: string, type: string, map?: string): unknown {
  return { [map ? "map" : "set"]: { family: "inet", name, table: "t", type, handle: 50, ...(map && { map }) } };
}

export function rule(expr: unknown[], extra: Record<string, unknown> = {}): unknown {
  return { rule: { family: "inet", table: "t", chain: "c", handle: 2, expr, ...extra } };
}

export function parse(text: string): { ruleset: NftRuleset; diagnostics: Diagnostic[] } {
  return parseNftJson(text, "ruleset.json");
}

/** The statements of the one rule of chain c (the table has sets `allowed` and `portmap`), with no diagnostics expected. */
export function stmtsOf(...expr: unknown[]): NftStmt[] {
  const { ruleset, diagnostics } = parse(doc(set("allowed", "ipv4_addr"), set("portmap", "inet_service", "verdict"), rule(expr)));
  if (diagnostics.length) throw new Error(diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join("\n"));
  return firstRule(ruleset).stmts;
}

export function firstRule(rs: NftRuleset): NftRule {
  const r = rs.tables[0]?.chains[0]?.rules[0];
  if (!r) throw new Error("no rule");
  return r;
}

/** Spans are positions in the input; the shapes tests compare leave them out. */
export function noSpans<T>(v: T): T {
  return JSON.parse(JSON.stringify(v, (k, x) => (k === "span" ? undefined : typeof x === "bigint" ? String(x) : x))) as T;
}
