/**
 * The listing reader cuts a row into words by hand (a match object per word cost 0.1 s on a
 * 10k-service listing); its words must be exactly what `/\S+/g` finds, Unicode spaces included,
 * because pasted listings carry no-break spaces and tabs.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { rowWords } from "../../src/syntax/listing.js";

const alphabet = fc.constantFrom("a", "0", "-", ":", "/", "!", " ", "  ", "\t", "\r", "\v", "\f", "\u00a0", "\u2003", "\u3000", "\ufeff", "\u2028", "\u0085", "é", "\u200b");

describe("listing rows: words", () => {
  it("are the /\\S+/g matches, with their offsets", () => {
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 40 }), (row) => {
        const expected = [...row.matchAll(/\S+/g)].map((m) => ({ w: m[0], start: m.index, end: m.index + m[0].length }));
        expect(rowWords(row)).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
