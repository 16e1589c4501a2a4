/**
 * The recent-address slots (model/recent-address.ts) answer exactly what reading the address
 * again answers, whatever the order of reads: the same strings over and over, new ones pushing
 * old ones out, one spelling read as both families; for the iptables walk's numbers and the
 * nft walk's expression values alike.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ipToNum, type IpNum } from "../../src/model/address.js";
import type { Family } from "../../src/model/ast.js";
import { recentIpNum } from "../../src/netfilter/recent-address.js";
import { RecentAddresses } from "../../src/model/recent-address.js";
import { addressVal, int } from "../../src/model/nft-values.js";
import { ipToBigInt } from "../../src/model/address.js";

const spellings = ["10.0.0.1", "10.0.0.2", "192.168.0.11", "0.0.0.0", "::1", "fd00::1", "::ffff:10.0.0.1", "10.1", "x", "", "300.1.1.1", "2001:db8::"];
const address = fc.oneof(
  fc.constantFrom(...spellings),
  fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `10.${a}.${b}.1`),
);
const read = fc.tuple(address, fc.constantFrom<Family>("ipv4", "ipv6"));
const same = (a: IpNum | undefined, b: IpNum | undefined) => JSON.stringify(a) === JSON.stringify(b);

describe("recent addresses", () => {
  it("every read equals ipToNum's answer", () => {
    fc.assert(fc.property(fc.array(read, { maxLength: 40 }), (reads) => {
      for (const [ip, family] of reads) {
        // A copy too: a slot is found by the string's value, not only the same string object.
        expect(same(recentIpNum(ip, family), ipToNum(ip, family))).toBe(true);
        expect(same(recentIpNum(ip.slice(0), family), ipToNum(ip, family))).toBe(true);
      }
    }), { numRuns: 300 });
  });

  it("one spelling read as both families keeps the families apart", () => {
    expect(recentIpNum("10.0.0.1", "ipv4")).toBe(ipToNum("10.0.0.1", "ipv4"));
    expect(recentIpNum("10.0.0.1", "ipv6")).toBeUndefined();
    expect(same(recentIpNum("::1", "ipv6"), ipToNum("::1", "ipv6"))).toBe(true);
    expect(recentIpNum("::1", "ipv4")).toBeUndefined();
  });

  it("nft's address values equal reading the address anew (its family by its spelling), in any order of reads", () => {
    const anew = (t: string) => {
      const n = ipToNum(t, t.includes(":") ? "ipv6" : "ipv4");
      return n === undefined ? undefined : { val: typeof n === "number" ? n : int(ipToBigInt(n)) };
    };
    fc.assert(fc.property(fc.array(address, { maxLength: 40 }), (reads) => {
      for (const t of reads) {
        expect(addressVal(t)).toEqual(anew(t));
        expect(addressVal(t.slice(0))).toEqual(anew(t));
      }
    }), { numRuns: 300 });
  });

  it("a slot answers only for the family it was read as, and reads each address once while it stays", () => {
    fc.assert(fc.property(fc.array(read, { maxLength: 40 }), (reads) => {
      let calls = 0;
      const slots = new RecentAddresses((ip: string, family: Family) => {
        calls++;
        return `${family} ${ip}`;
      }, 3);
      let last: string | undefined;
      for (const [ip, family] of reads) {
        const before = calls;
        expect(slots.get(ip, family)).toBe(`${family} ${ip}`);
        // Read again at once: from its slot.
        expect(slots.get(ip.slice(0), family)).toBe(`${family} ${ip}`);
        expect(calls - before).toBeLessThanOrEqual(last === `${family} ${ip}` ? 0 : 1);
        last = `${family} ${ip}`;
      }
    }), { numRuns: 300 });
  });
});
