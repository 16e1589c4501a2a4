/** No input crashes or hangs the save/-S parser, and every diagnostic points inside the input. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseRules } from "../../src/parse.js";
import { hasShared, listShared, readShared, sections } from "../support/shared.js";

function checkLocated(text: string): void {
  const r = parseRules(text, { file: "fuzz" });
  const lines = text.split("\n").length;
  for (const d of r.diagnostics) {
    expect(d.line).toBeGreaterThanOrEqual(1);
    expect(d.line).toBeLessThanOrEqual(lines);
    expect(d.col).toBeGreaterThanOrEqual(1);
    expect(d.file).toBe("fuzz");
  }
}

const corpus: string[] = [];
if (hasShared) {
  for (const f of listShared("reference/iptables", ".txt")) {
    const s = sections(readShared("reference/iptables", f));
    for (const k of ["restore", "save -c"]) if (s.get(k)) corpus.push(s.get(k)!);
  }
}
if (corpus.length === 0) corpus.push("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n");

describe("save parser fuzz", () => {
  it("random bytes", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), checkLocated), { numRuns: 400 });
  });
  it("truncations and glued lines of real dumps", () => {
    fc.assert(
      fc.property(fc.constantFrom(...corpus), fc.nat(), fc.nat(), (text, a, b) => {
        checkLocated(text.slice(0, a % (text.length + 1)));
        const lines = text.split("\n");
        const k = b % Math.max(1, lines.length - 1);
        // Two lines glued together, as web pages do.
        checkLocated([...lines.slice(0, k), lines[k]! + " " + (lines[k + 1] ?? ""), ...lines.slice(k + 2)].join("\n"));
      }),
      { numRuns: 300 },
    );
  });
  it("a 10 MB line is parsed in linear time without crashing", () => {
    const long = "-A INPUT " + "-m comment --comment x ".repeat(450_000) + "-j ACCEPT";
    expect(long.length).toBeGreaterThan(10_000_000);
    const r = parseRules(`*filter\n:INPUT ACCEPT [0:0]\n${long}\nCOMMIT\n`, { file: "long" });
    expect(r.value.tables[0]!.chains[0]!.rules.load()).toHaveLength(1);
    const unterminated = "-A INPUT -m comment --comment \"" + "y".repeat(10_000_000);
    const u = parseRules(`*filter\n${unterminated}\nCOMMIT\n`, { file: "long" });
    expect(u.diagnostics.some((d) => d.severity === "error" && d.line === 2)).toBe(true);
  });
});
