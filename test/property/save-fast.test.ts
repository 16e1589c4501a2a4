/**
 * The fast line scanner must say exactly what the chevrotain grammar says, or decline. Only
 * the lines both read are compared, and each test says how many at least: a scanner that
 * declined everything would otherwise pass.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { grammarLines } from "../../grammar/read-line.js";
import { scanSaveLine } from "../../grammar/save-fast.js";
import { hasShared, listShared, readShared, sections, needsShared } from "../support/shared.js";

/** Lines compared so far (the scanner read them) and lines the scanner declined. */
const seen = { compared: 0, declined: 0 };

function agree(line: string): void {
  const fast = scanSaveLine(line, 0, line.length, 7);
  if (fast === undefined) {
    seen.declined++;
    return;
  }
  seen.compared++;
  const g = grammarLines(line, 7);
  expect(g.errors).toEqual([]);
  if (fast === null) expect(g.lines).toEqual([]);
  else expect(g.lines).toEqual([fast]);
}

/** Runs `f`, then checks that at least `floor` of the lines it gave agree() were compared. */
function comparing(floor: number, f: () => void): void {
  seen.compared = seen.declined = 0;
  f();
  expect(seen.compared, `${seen.compared} lines compared, ${seen.declined} declined by the scanner`).toBeGreaterThanOrEqual(floor);
}

// Of each test's 3,000 lines, about 1,700 are the scanner's (measured over several runs, the
// spread a few dozen); the floors are well under that and far above zero.
const FLOOR_RANDOM = 1000;
const FLOOR_SHAPED = 1500;

const alphabet = fc.constantFrom(" ", "\t", "\r", '"', "\\", "#", "*", ":", "[", "]", "0", "1", "-", "A", "a", "!", "é", "\u00a0", "C", "O", "M", "I", "T", "\f");

describe("fast scanner ≡ grammar", () => {
  it("on random lines", () => {
    comparing(FLOOR_RANDOM, () => fc.assert(fc.property(fc.string({ unit: alphabet, maxLength: 40 }), agree), { numRuns: 3000 }));
  });
  it("on lines shaped like dumps", () => {
    const word = fc.oneof(
      fc.constantFrom("-A", "INPUT", "-j", "ACCEPT", "COMMIT", "*filter", ":INPUT", "[1:2]", "!", "--comment", '"a b"', '"x\\"y"', 'a"b c"d', '"', "#x"),
      fc.string({ unit: alphabet, maxLength: 6 }),
    );
    comparing(FLOOR_SHAPED, () => fc.assert(fc.property(fc.array(word, { maxLength: 8 }), fc.constantFrom(" ", "  ", "\t"), (ws, sep) => agree(ws.join(sep))), { numRuns: 3000 }));
  });
  it("answers for backslash escapes inside quotes, as the grammar reads them", () => {
    // Escaped quotes in comments: declining them sent every such line through chevrotain.
    const escaped = fc.array(fc.constantFrom("a", " ", "\\\"", "\\\\", "\\x", "é", "\t"), { maxLength: 8 }).map((parts) => parts.join(""));
    fc.assert(
      fc.property(escaped, (inner) => {
        const line = `-A INPUT -m comment --comment "${inner}" -j ACCEPT`;
        expect(scanSaveLine(line, 0, line.length, 7)).toBeDefined();
        agree(line);
      }),
      { numRuns: 1000 },
    );
    const line = '-A INPUT -m comment --comment "say \\"hi\\" \\\\ ok" -j ACCEPT';
    const fast = scanSaveLine(line, 0, line.length, 1);
    expect(fast && fast.kind === "command" ? fast.args[5] : undefined).toMatchObject({ value: 'say "hi" \\ ok', raw: '"say \\"hi\\" \\\\ ok"', quoted: true });
  });
  it.skipIf(!hasShared)(needsShared("on every line of the reference dumps"), () => {
    comparing(1000, () => {
      for (const f of listShared("reference/iptables", ".txt")) {
        for (const [name, body] of sections(readShared("reference/iptables", f))) {
          if (!/^(restore|save|save -c|S)$/.test(name)) continue;
          for (const line of body.split("\n")) agree(line);
        }
      }
    });
  });
});
