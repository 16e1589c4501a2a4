/**
 * Ranges nft refuses, refused in both forms netfate reads (text and JSON): a low end above the
 * high end, and a range of interface names. nft 1.0.6's answers for the text form are pinned in
 * test/kernel/number-spellings.test.ts; `nft -j -f` reads a JSON range through the same check.
 */
import { describe, expect, it } from "vitest";
import { parseNftText } from "../../src/nft/text/index.js";
import { doc, parse, rule, stmtsOf } from "./nft-json-support.js";

const range = (field: Record<string, unknown>, lo: unknown, hi: unknown) => ({ match: { op: "==", left: field, right: { range: [lo, hi] } } });
const DPORT = { payload: { protocol: "tcp", field: "dport" } };
const DADDR = { payload: { protocol: "ip6", field: "daddr" } };
const IIFNAME = { meta: { key: "iifname" } };

describe("nft ranges nft refuses", () => {
  it("JSON: a low end above the high end is an error at the range; equal ends are one value", () => {
    const bad = parse(doc(rule([range(DPORT, 20, 10), { accept: null }])));
    expect(bad.diagnostics.map((d) => [d.severity, d.message])).toEqual([["error", expect.stringContaining("zero or negative size")]]);
    expect(parse(doc(rule([range(DADDR, "::2", "::1"), { accept: null }]))).diagnostics.map((d) => d.severity)).toEqual(["error"]);
    expect(stmtsOf(range(DPORT, 10, 10), { accept: null })).toHaveLength(2);
    expect(stmtsOf(range(DADDR, "::1", "::2"), { accept: null })).toHaveLength(2);
  });

  it("JSON and text: a range of interface names", () => {
    expect(parse(doc(rule([range(IIFNAME, "eth0", "eth9"), { accept: null }]))).diagnostics.map((d) => d.message)).toEqual([expect.stringContaining("interface names")]);
    const text = 'table inet t {\n\tchain c {\n\t\tmeta iifname "eth0"-"eth9" accept\n\t}\n}\n';
    expect(parseNftText(text, "t.nft").diagnostics.map((d) => [d.line, d.col, d.message])).toEqual([[3, 16, expect.stringContaining("interface names")]]);
  });

  it("text: an IPv6 range whose high end starts with :: is one range, as nft lists it", () => {
    const text = "table ip6 t {\n\tchain c {\n\t\tip6 daddr ::1-::2 accept\n\t\tip6 daddr { ::1-::2, 2001:db8::1-2001:db8::ff } accept\n\t}\n}\n";
    const p = parseNftText(text, "t.nft");
    expect(p.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const rules = p.ruleset.tables[0]!.chains[0]!.rules;
    expect(rules[0]!.stmts[0]).toMatchObject({ kind: "match", right: { kind: "range", lo: { value: "::1" }, hi: { value: "::2" } } });
  });

  it("a reversed hour or day range: as a relation's value, the range the other way round and the relation inverted; as an element, refused", () => {
    const HOUR = { meta: { key: "hour" } };
    const flipped = stmtsOf(range(HOUR, "17:00", "09:00"), { accept: null })[0];
    expect(flipped).toMatchObject({ kind: "match", op: "!=", right: { kind: "range", lo: { value: 9 * 3600 }, hi: { value: 17 * 3600 } } });
    const inSet = parse(doc(rule([{ match: { op: "==", left: HOUR, right: { set: [{ range: ["17:00", "09:00"] }] } } }, { accept: null }])));
    expect(inSet.diagnostics.map((d) => d.message)).toEqual([expect.stringContaining("zero or negative size")]);
    const text = 'table inet t {\n\tchain c {\n\t\tmeta day != "Saturday"-"Sunday" accept\n\t\tmeta hour { "17:00"-"09:00" } accept\n\t}\n}\n';
    const p = parseNftText(text, "t.nft");
    expect(p.diagnostics.map((d) => [d.line, d.col, d.message])).toEqual([[4, 15, expect.stringContaining("zero or negative size")]]);
    expect(p.ruleset.tables[0]!.chains[0]!.rules[0]!.stmts[0]).toMatchObject({ kind: "match", op: "implicit", right: { kind: "range", lo: { value: 0 }, hi: { value: 6 } } });
  });
});
