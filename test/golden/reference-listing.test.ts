/**
 * Listings against the real iptables 1.8.9: printing a saved dump as `-L`, `-nL`, `-nvL` and
 * `-nvxL --line-numbers` gives the tool's bytes, and reading those listings back gives the
 * same rules (fields a listing cannot show come back as unknown).
 */
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { listText, type ListOptions } from "../../src/print/listing.js";
import { parseListing } from "../../src/syntax/listing.js";
import { ruleSpecText } from "../../src/print/save.js";
import { DiagnosticSink, formatDiagnostic } from "../../src/model/diagnostics.js";
import type { Rule } from "../../src/model/ast.js";
import { hasShared, listShared, readShared, sections, sharedNotice } from "../support/shared.js";

const SECTIONS: Array<[string, ListOptions]> = [
  ["L", {}],
  ["nL", { numeric: true }],
  ["nvL", { numeric: true, verbose: true }],
  ["nvxL --line-numbers", { numeric: true, verbose: true, exact: true, lineNumbers: true }],
];

/** The rule as the listing can know it: no interfaces without -v, no counters. */
function comparable(r: Rule, verbose: boolean): Rule {
  const c: Rule = { ...r };
  delete c.counters;
  if (!verbose) {
    delete c.inInterface;
    delete c.outInterface;
  }
  return c;
}

describe.skipIf(!hasShared)("reference listings", () => {
  if (!hasShared) it.skip(sharedNotice("listing tests"), () => {});
  for (const f of listShared("reference/iptables", ".txt")) {
    const family = f.startsWith("ip6-") ? "ipv6" : "ipv4";
    const sec = sections(readShared("reference/iptables", f));
    const saveC = sec.get("save -c");
    if (!saveC) continue;
    const table = /^\*(\w+)/m.exec(saveC)?.[1] as "filter";
    for (const [name, opts] of SECTIONS) {
      const expected = sec.get(name);
      if (expected === undefined) continue;
      it(`${f}: print ${name}`, () => {
        const rs = parseRules(saveC, { family, file: f }).value;
        expect(listText(rs, opts)).toBe(expected);
      });
      it(`${f}: read ${name} back`, () => {
        const sink = new DiagnosticSink(f);
        const back = parseListing(expected, sink, { family, table });
        expect(sink.items.filter((d) => d.severity !== "info").map(formatDiagnostic)).toEqual([]);
        const orig = parseRules(saveC, { family, file: f }).value.tables[0]!;
        const got = back.tables[0]!;
        for (const c of orig.chains) {
          const g = got.chains.find((x) => x.name === c.name);
          expect(g, `chain ${c.name}`).toBeDefined();
          expect(g!.rules.map((r) => ruleSpecText(comparable(r, !!opts.verbose), family))).toEqual(c.rules.map((r) => ruleSpecText(comparable(r, !!opts.verbose), family)));
        }
      });
    }
  }
});
