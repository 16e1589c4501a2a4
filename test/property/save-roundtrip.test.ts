/** The printer is the parser's oracle and the other way round: random ASTs print and re-parse to themselves. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseRules } from "../../src/parse.js";
import { saveText } from "../../src/print/save.js";
import { filterRuleset } from "../support/arbitraries.js";

/** The AST without source positions, which a printed-and-reparsed dump cannot share. */
function strip(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (k, x) => (k === "span" || k === "nameSource" || k === "declared" ? undefined : typeof x === "bigint" ? String(x) : x)));
}

describe("save printer and parser round trip", () => {
  it("parse(print(ast)) is ast, and printing again gives the same text", () => {
    fc.assert(
      fc.property(filterRuleset, (rs) => {
        const text = saveText(rs);
        const back = parseRules(text, { file: "generated" });
        expect(back.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
        expect(saveText(back.value)).toBe(text);
        // Chain order is canonical (built-ins, then user chains sorted), so compare per chain.
        const byName = (r: typeof rs) => Object.fromEntries(r.tables[0]!.chains.map((c) => [c.name, strip(c)]));
        expect(byName(back.value)).toEqual(byName(rs));
      }),
      { numRuns: 300 },
    );
  });
});
