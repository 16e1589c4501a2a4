/**
 * A diagnostic quotes the word it complains about; a word of 100,000 characters (a hostile
 * number, a line with no space) is shown by its ends and its length, once per place it is
 * quoted, while the diagnostic object keeps it whole.
 */
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../src/model/diagnostics.js";
import { parseRules } from "../../src/parse.js";
import { parseNftText } from "../../src/nft/index.js";

describe("a very long word in a diagnostic", () => {
  it("iptables-save: a mark of 100,000 digits", () => {
    const mark = `0x${"f".repeat(100_000)}`;
    const r = parseRules(`*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m mark --mark ${mark} -j ACCEPT\nCOMMIT\n`);
    const d = r.diagnostics.find((x) => x.severity === "error")!;
    expect(JSON.stringify(d)).toContain(mark);
    const text = formatDiagnostic(d);
    expect(text.length).toBeLessThan(1000);
    expect(text).toContain("(100002 characters)");
    expect(text.startsWith(`${d.file}:${d.line}:${d.col}: error: `)).toBe(true);
  });

  it("nft: the same number, and a short word is shown as it is", () => {
    // Two rules on one line, as nft reads them: separated by ";" and the last ended by a newline.
    const r = parseNftText(`table ip t { chain c { meta mark 0x${"f".repeat(100_000)} accept; meta mark 0xfffffffff accept\n }\n}\n`, "big.nft");
    const texts = r.diagnostics.filter((x) => x.severity === "error").map(formatDiagnostic);
    expect(texts).toHaveLength(2);
    expect(texts[0]!.length).toBeLessThan(1000);
    expect(texts[1]).toContain('"0xfffffffff"');
  });

  it("the file's name is never clipped", () => {
    const file = `/${"d".repeat(200)}/rules.save`;
    const text = formatDiagnostic({ severity: "error", file, line: 1, col: 1, message: "m" });
    expect(text).toBe(`${file}:1:1: error: m`);
  });
});
