import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { chunkWriter } from "../../src/cli/byte-chunk.js";
import type { CommandIO } from "../../src/cli/io.js";

/** An io that keeps what is written, as bytes (when `bytes`) or as text, and counts the writes. */
function recorder(bytes: boolean) {
  const parts: Buffer[] = [];
  let writes = 0;
  const io: CommandIO = {
    out: (s) => {
      writes++;
      parts.push(Buffer.from(s, "utf8"));
    },
    err: () => {},
    readStdin: () => "",
    isTTY: false,
  };
  if (bytes) {
    io.outBytes = (ps) => {
      writes++;
      // A copy: the writer reuses its buffer once the write returns.
      for (const p of ps) parts.push(Buffer.from(p));
    };
  }
  return { io, text: () => Buffer.concat(parts).toString("utf8"), writes: () => writes };
}

// Answers as batch writes them: mostly ASCII, some `→` and `–`, a few astral characters, now and then a huge one.
const answer = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: fc.constantFrom("a", "{", "\n", "→", "–", "😀", "é"), maxLength: 200 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 400_000 }).map((n) => "→x".repeat(n)) },
);

describe("chunkWriter", () => {
  it("writes every answer whole and in order, whatever their sizes and characters, through bytes or text", () => {
    fc.assert(
      fc.property(fc.array(answer, { maxLength: 40 }), fc.boolean(), fc.array(fc.nat(40), { maxLength: 5 }), (answers, bytes, flushAt) => {
        const r = recorder(bytes);
        const w = chunkWriter(r.io);
        answers.forEach((a, i) => {
          w.add(a);
          if (flushAt.includes(i)) w.flush();
        });
        w.flush();
        expect(r.text()).toBe(answers.join(""));
      }),
      { numRuns: 150 },
    );
  });

  it("writes in chunks, not per answer, and nothing before a chunk fills or flush is called", () => {
    const r = recorder(true);
    const w = chunkWriter(r.io);
    for (let i = 0; i < 1000; i++) w.add("→ a 9 KB answer stands here ".repeat(10));
    const before = r.writes();
    w.flush();
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(20);
    expect(r.writes()).toBe(before + 1);
    w.flush();
    expect(r.writes()).toBe(before + 1);
  });
});
