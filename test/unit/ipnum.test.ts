/** The hand-scanned dotted-quad reader agrees with ipaddr.js on every string it may see. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { ipToNum } from "../../src/netfilter/ipnum.js";

function reference(s: string): number | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(s)) return undefined;
  const b = ipaddr.IPv4.parse(s).octets;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

describe("ipToNum (IPv4)", () => {
  it("reads every address", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), (b) => {
      expect(ipToNum(b.join("."), "ipv4")).toBe(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0);
    }));
  });
  it("accepts and refuses exactly what ipaddr.js's four-part decimal check does", () => {
    const text = fc.string({ unit: fc.constantFrom("0", "1", "2", "5", "9", ".", "x", " "), maxLength: 18 });
    fc.assert(fc.property(text, (s) => {
      expect(ipToNum(s, "ipv4")).toBe(reference(s));
    }), { numRuns: 20_000 });
  });
});
