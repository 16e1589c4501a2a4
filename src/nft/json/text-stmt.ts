/**
 * A statement nft writes into its JSON as nft text. nft 1.0.6 has no JSON form for some
 * statements (a map update, `update @m { ip saddr : 0x1 }`, prints "warning: stmt ops map have
 * no json callback" and puts the statement's text, a JSON string, in the rule's `"expr"` list;
 * checked in a netns; so has a chain binding, `jump { RULES }`, written with its rules on lines
 * of their own). The text is read by the text reader, in a ruleset of the rule's family
 * that declares the sets and maps the statement names, so its values take their types.
 */
import type { JsonNode } from "../../facts/located-json.js";
import type { NftStmt } from "../../model/nft.js";
import { parseNftText } from "../text/index.js";
import type { StmtScope } from "./stmt.js";

/** `@name` references in nft text (set names are words of letters, digits, `_`, `-`, `.`, `/`). */
const SET_REF = /@([A-Za-z0-9_./-]+)/g;

export function stmtsFromText(s: StmtScope, n: JsonNode & { kind: "string" }): NftStmt[] {
  const { r } = s;
  const kept: NftStmt = { kind: "other", name: n.value.split(" ")[0] ?? "", text: n.value };
  // Braces that do not balance would let the text escape its chain. (Newlines are fine: a
  // chain binding, `jump { RULES }`, comes as several lines.)
  if (braceDepth(n.value) !== 0) {
    r.warning(n, "a statement given as nft text that is not one statement; kept as written and evaluated as unknown");
    return [kept];
  }
  const decls: string[] = [];
  const seen = new Set<string>();
  for (const m of n.value.matchAll(SET_REF)) {
    const name = m[1]!;
    const types = s.setTypes(name);
    if (!types || seen.has(name)) continue;
    seen.add(name);
    const kind = types.data ? "map" : "set";
    decls.push(`\t${kind} ${name} {\n\t\ttype ${types.key.join(" . ")}${types.data ? ` : ${types.data.join(" . ")}` : ""}\n\t}`);
  }
  const text = `table ${s.family} json {\n${decls.join("\n")}\n\tchain c {\n\t\t${n.value}\n\t}\n}\n`;
  const { ruleset, diagnostics } = parseNftText(text, r.sink.file);
  const stmts = ruleset.tables[0]?.chains[0]?.rules[0]?.stmts;
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (!stmts || errors.length) {
    r.warning(n, `a statement given as nft text that could not be read (${errors[0]?.message ?? "no statement"}); kept as written and evaluated as unknown`);
    return [kept];
  }
  // What the text reader says of what it read (a chain binding is evaluated as unknown) is said at the string.
  for (const d of diagnostics) if (d.severity === "warning") r.warning(n, `${d.message} (in the statement nft wrote as text)`);
  return stmts;
}

function braceDepth(text: string): number {
  let depth = 0;
  for (const c of text) {
    if (c === "{") depth++;
    else if (c === "}" && --depth < 0) return -1;
  }
  return depth;
}
