/**
 * The real iptables 1.8.9 tools are the oracle: for every reference case, parsing the
 * `## restore` input and printing it must give exactly what iptables-save printed, and the
 * saved text must print back unchanged.
 */
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { saveText, tableSpecText } from "../../src/print/save.js";
import { formatDiagnostic } from "../../src/model/diagnostics.js";
import { hasShared, listShared, readShared, sections, sharedNotice } from "../support/shared.js";

const files = listShared("reference/iptables", ".txt");
const stripComments = (s: string) => s.split("\n").filter((l) => !/^# (Generated|Completed)/.test(l)).join("\n");

describe.skipIf(!hasShared)("reference: restore input → canonical save", () => {
  if (!hasShared) it.skip(sharedNotice("reference tests"), () => {});
  for (const f of files) {
    const family = f.startsWith("ip6-") ? "ipv6" : "ipv4";
    const sec = sections(readShared("reference/iptables", f));
    const restore = sec.get("restore");
    const save = sec.get("save");
    const saveC = sec.get("save -c");
    if (restore === undefined || save === undefined) continue;
    it(`${f}: restore → save`, () => {
      const r = parseRules(restore, { family, file: f });
      const errors = r.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
      expect(errors).toEqual([]);
      expect(saveText(r.value, { comments: false, counters: false })).toBe(stripComments(save));
    });
    it(`${f}: save round trip`, () => {
      const r = parseRules(save, { family, file: f });
      expect(r.diagnostics.filter((d) => d.severity !== "info").map(formatDiagnostic)).toEqual([]);
      expect(saveText(r.value)).toBe(save);
    });
    if (saveC !== undefined) {
      it(`${f}: save -c round trip`, () => {
        const r = parseRules(saveC, { family, file: f });
        expect(r.diagnostics.filter((d) => d.severity !== "info").map(formatDiagnostic)).toEqual([]);
        expect(saveText(r.value)).toBe(saveC);
      });
    }
    const S = sec.get("S");
    if (S !== undefined) {
      it(`${f}: -S round trip`, () => {
        const table = /^\*(\w+)/m.exec(save)?.[1] as "filter";
        const r = parseRules(S, { family, file: f, table, format: "S" });
        expect(r.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic)).toEqual([]);
        expect(r.value.tables.map((t) => tableSpecText(t, family)).join("")).toBe(S);
      });
    }
  }
});
