/**
 * What the reader notes of each line for a chain index (src/syntax/line-keys.ts): read back for
 * any chain's records, in one pass that skips the records of other chains, it is what was
 * noted of each record, as a plain list of every record would say.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LineKeys } from "../../src/syntax/line-keys.js";

/** A record as noted: bound by the binder, or read with its destination and port (-1: none). */
type Noted = { bound: true } | { bound: false; dst: number; dport: number };

const noted: fc.Arbitrary<Noted> = fc.oneof(
  fc.constant({ bound: true as const }),
  fc.record({
    bound: fc.constant(false as const),
    dst: fc.oneof(fc.constant(-1), fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
    dport: fc.oneof(fc.constant(-1), fc.constantFrom(1, 65535), fc.integer({ min: 1, max: 65535 })),
  }),
);

describe("line keys", () => {
  it("read back for any increasing run of records, are what was noted of each", () => {
    fc.assert(fc.property(fc.array(noted, { maxLength: 300 }), fc.array(fc.boolean(), { maxLength: 300 }), (all, pick) => {
      const keys = new LineKeys();
      all.forEach((n, at) => (n.bound ? keys.boundLine(at) : keys.fast(at, n.dst, n.dport)));
      // One chain's records: some of all, in order (the others are other chains').
      const ats = Int32Array.from(all.map((_, at) => at).filter((at) => pick[at % Math.max(1, pick.length)]));
      const bound = new Uint8Array(ats.length);
      const dst = new Float64Array(ats.length).fill(-1);
      const dport = new Int32Array(ats.length).fill(-1);
      expect(keys.fill(ats, bound, dst, dport)).toBe(true);
      ats.forEach((at, l) => {
        const n = all[at]!;
        expect({ bound: bound[l] === 1, dst: dst[l], dport: dport[l] }).toEqual(n.bound ? { bound: true, dst: -1, dport: -1 } : { bound: false, dst: n.dst, dport: n.dport });
      });
    }), { numRuns: 300 });
  });

  it("a record not noted is not read as one", () => {
    const keys = new LineKeys();
    keys.fast(0, 1, 80);
    expect(keys.fill(Int32Array.of(0, 1), new Uint8Array(2), new Float64Array(2).fill(-1), new Int32Array(2).fill(-1))).toBe(false);
    expect(() => keys.fast(0, 1, 80)).toThrow(/internal error/);
  });
});
