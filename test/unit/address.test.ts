/**
 * model/address.ts against ipaddr.js: the hand-written IPv4 path reads exactly what ipaddr.js's
 * four-part decimal check accepts, numbers and text round-trip, and the network arithmetic
 * (masks, networks, last addresses, NETMAP's host-part move) agrees at every prefix edge.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import {
  addressFamily, applyMask, bigIntToIp, canonicalOf, compareIp, inNet, ipToBigInt, ipToNum, iptablesIpv6Text, ipv4LastOf,
  ipv4Text, maskFromPrefix, netContains, networkOf, networkText, numText, parseAddress, parseCidr, prefixOfMask, withNetwork,
  type IpNum,
} from "../../src/model/address.js";
import type { Family } from "../../src/model/ast.js";

function reference(s: string): number | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(s)) return undefined;
  const b = ipaddr.IPv4.parse(s).octets;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

const bytesToBig = (bytes: number[]) => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
const v4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
const v6 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 });
/** IPv6 addresses with runs of zero groups and the IPv4-mapped/compatible forms, where text differs most. */
const v6Interesting = fc.oneof(
  v6,
  fc.array(fc.constantFrom(0, 0, 0, 1, 0xff), { minLength: 16, maxLength: 16 }),
  v4.map((b) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b]),
  v4.map((b) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...b]),
);
const EDGES: Record<Family, number[]> = { ipv4: [0, 1, 31, 32], ipv6: [0, 1, 31, 32, 63, 64, 127, 128] };

/** The network of bytes/prefix, byte by byte, as the code before model/address.ts computed it. */
function maskedBytes(bytes: number[], prefix: number): number[] {
  return bytes.map((b, i) => b & ((0xff << (8 - Math.max(0, Math.min(8, prefix - i * 8)))) & 0xff));
}

describe("ipToNum (IPv4)", () => {
  it("reads every address", () => {
    fc.assert(fc.property(v4, (b) => {
      expect(ipToNum(b.join("."), "ipv4")).toBe(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0);
    }));
  });
  it("accepts and refuses exactly what ipaddr.js's four-part decimal check does", () => {
    const text = fc.string({ unit: fc.constantFrom("0", "1", "2", "5", "9", ".", "x", " "), maxLength: 18 });
    fc.assert(fc.property(text, (s) => {
      expect(ipToNum(s, "ipv4")).toBe(reference(s));
      expect(addressFamily(s) === "ipv4").toBe(reference(s) !== undefined);
    }), { numRuns: 20_000 });
  });
  it("writes what it reads", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
      expect(ipToNum(ipv4Text(n), "ipv4")).toBe(n);
      expect(numText(n)).toBe(ipaddr.fromByteArray([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]).toString());
    }));
  });
});

describe("IPv6 text and numbers", () => {
  it("round-trips through every spelling ipaddr.js writes, and writes RFC 5952", () => {
    fc.assert(fc.property(v6Interesting, (bytes) => {
      const a = ipaddr.fromByteArray(bytes) as ipaddr.IPv6;
      const n = ipToNum(a.toRFC5952String(), "ipv6")!;
      const fixed = a.parts.map((w) => w.toString(16).padStart(4, "0")).join(":");
      expect(ipToBigInt(n)).toBe(bytesToBig(bytes));
      expect(ipToNum(a.toNormalizedString(), "ipv6")).toEqual(n);
      expect(ipToNum(fixed, "ipv6")).toEqual(n);
      expect(numText(n)).toBe(a.toRFC5952String());
      expect(canonicalOf(fixed, "ipv6")).toBe(a.toRFC5952String());
    }));
  });
  it("compresses the longest run of zero groups, the first of equals, never a single group", () => {
    const text = (s: string) => numText(ipToNum(s, "ipv6")!);
    expect(text("0:0:0:0:0:0:0:0")).toBe("::");
    expect(text("0:0:0:0:0:0:0:1")).toBe("::1");
    expect(text("1:0:0:0:0:0:0:0")).toBe("1::");
    expect(text("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(text("2001:0:0:1:0:0:0:1")).toBe("2001:0:0:1::1");
    expect(text("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(text("2001:DB8::A")).toBe("2001:db8::a");
  });
  it("keeps the two spellings of IPv4-mapped addresses apart: canonical (hex) and iptables' (dotted)", () => {
    const n = ipToNum("::ffff:10.0.0.1", "ipv6")!;
    expect(n).toEqual(ipToNum("::ffff:a00:1", "ipv6"));
    expect(numText(n)).toBe("::ffff:a00:1");
    expect(canonicalOf("::ffff:10.0.0.1", "ipv6")).toBe("::ffff:a00:1");
    expect(iptablesIpv6Text(n as readonly number[])).toBe("::ffff:10.0.0.1");
    expect(iptablesIpv6Text([0, 0, 0, 0x0a000001])).toBe("::10.0.0.1");
    // IPv4-compatible needs a non-zero upper half of the last word: ::1 and ::ffff stay hex.
    expect(iptablesIpv6Text(ipToNum("::1", "ipv6") as readonly number[])).toBe("::1");
    expect(iptablesIpv6Text(ipToNum("::ffff", "ipv6") as readonly number[])).toBe("::ffff");
    expect(addressFamily("::ffff:10.0.0.1")).toBe("ipv6");
    expect(ipToNum("::ffff:10.0.0.1", "ipv4")).toBeUndefined();
  });
  it("tells the family, refusing zone indexes", () => {
    expect(addressFamily("fe80::1")).toBe("ipv6");
    expect(addressFamily("fe80::1%eth0")).toBeUndefined();
    expect(canonicalOf("fe80::1%eth0", "ipv6")).toBeUndefined();
    expect(addressFamily("10.0.0.1")).toBe("ipv4");
    expect(addressFamily("010.0.0.1")).toBeUndefined();
    expect(addressFamily("10.1")).toBeUndefined();
    expect(canonicalOf("10.0.0.1", "ipv6")).toBeUndefined();
  });
  it("numbers and big integers convert both ways, refusing what is out of range", () => {
    fc.assert(fc.property(v6, (bytes) => {
      const big = bytesToBig(bytes);
      expect(ipToBigInt(bigIntToIp(big, "ipv6")!)).toBe(big);
    }));
    expect(bigIntToIp(-1n, "ipv4")).toBeUndefined();
    expect(bigIntToIp(1n << 32n, "ipv4")).toBeUndefined();
    expect(bigIntToIp((1n << 32n) - 1n, "ipv4")).toBe(0xffffffff);
    expect(bigIntToIp(1n << 128n, "ipv6")).toBeUndefined();
  });
  it("orders addresses as their integers do", () => {
    fc.assert(fc.property(v6Interesting, v6Interesting, (a, b) => {
      const x = bigIntToIp(bytesToBig(a), "ipv6")!;
      const y = bigIntToIp(bytesToBig(b), "ipv6")!;
      const big = bytesToBig(a) - bytesToBig(b);
      expect(Math.sign(compareIp(x, y))).toBe(big === 0n ? 0 : big < 0n ? -1 : 1);
    }));
  });
});

describe("networks", () => {
  const prefixOf = (family: Family) => fc.oneof(fc.constantFrom(...EDGES[family]), fc.integer({ min: 0, max: family === "ipv4" ? 32 : 128 }));
  it("masks are what ipaddr.js makes of a prefix length, and read back to it", () => {
    for (const family of ["ipv4", "ipv6"] as const) {
      for (let p = 0; p <= (family === "ipv4" ? 32 : 128); p++) {
        const ref = family === "ipv4" ? ipaddr.IPv4.subnetMaskFromPrefixLength(p) : ipaddr.IPv6.subnetMaskFromPrefixLength(p);
        const m = maskFromPrefix(p, family);
        expect(ipToBigInt(m)).toBe(bytesToBig(ref.toByteArray()));
        expect(prefixOfMask(m)).toBe(p);
      }
    }
    expect(prefixOfMask(ipToNum("255.0.255.0", "ipv4")!)).toBeNull();
    expect(prefixOfMask(ipToNum("ffff::ffff", "ipv6")!)).toBeNull();
  });
  it("network, containment and last address agree with ipaddr.js at every prefix edge (IPv4)", () => {
    fc.assert(fc.property(v4, v4, prefixOf("ipv4"), (a, b, p) => {
      const n = ipToNum(a.join("."), "ipv4") as number;
      const cidr = `${a.join(".")}/${p}`;
      expect(ipv4Text(networkOf(n, p, "ipv4") as number)).toBe(ipaddr.IPv4.networkAddressFromCIDR(cidr).toString());
      expect(ipv4Text(ipv4LastOf(n, p))).toBe(ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString());
      const mask = maskFromPrefix(p, "ipv4");
      const inside = ipaddr.IPv4.parse(b.join(".")).match(ipaddr.IPv4.parse(a.join(".")), p);
      expect(inNet(ipToNum(b.join("."), "ipv4")!, { net: applyMask(n, mask), mask })).toBe(inside);
      expect(netContains(a.join("."), p, b.join("."), "ipv4")).toBe(inside);
    }));
  });
  it("network and containment agree with ipaddr.js at every prefix edge (IPv6)", () => {
    fc.assert(fc.property(v6Interesting, v6Interesting, prefixOf("ipv6"), (a, b, p) => {
      const x = ipaddr.fromByteArray(a) as ipaddr.IPv6;
      const y = ipaddr.fromByteArray(b) as ipaddr.IPv6;
      const n = ipToNum(x.toString(), "ipv6")!;
      expect(ipToBigInt(networkOf(n, p, "ipv6"))).toBe(bytesToBig(maskedBytes(a, p)));
      expect(networkText(x.toString(), p, "ipv6")).toBe((ipaddr.fromByteArray(maskedBytes(a, p)) as ipaddr.IPv6).toRFC5952String());
      const mask = maskFromPrefix(p, "ipv6");
      expect(inNet(ipToNum(y.toString(), "ipv6")!, { net: applyMask(n, mask), mask })).toBe(y.match(x, p));
      expect(netContains(x.toString(), p, y.toString(), "ipv6")).toBe(y.match(x, p));
    }));
  });
  it("moves an address into another network keeping its host part, as NETMAP does", () => {
    const byteRef = (a: number[], to: number[], p: number) =>
      a.map((b, i) => {
        const m = (0xff << (8 - Math.max(0, Math.min(8, p - i * 8)))) & 0xff;
        return (b & ~m & 0xff) | (to[i]! & m);
      });
    for (const [family, arb] of [["ipv4", v4], ["ipv6", v6Interesting]] as const) {
      fc.assert(fc.property(arb, arb, prefixOf(family), (a, to, p) => {
        const num = (bytes: number[]): IpNum => bigIntToIp(bytesToBig(bytes), family)!;
        expect(ipToBigInt(withNetwork(num(a), num(to), maskFromPrefix(p, family)))).toBe(bytesToBig(byteRef(a, to, p)));
      }));
    }
  });
});

describe("parseAddress (-s/-d as iptables reads them)", () => {
  it("clears host bits and keeps the prefix, at every edge (IPv4, fast path)", () => {
    fc.assert(fc.property(v4, fc.constantFrom(0, 1, 8, 24, 31, 32), (a, p) => {
      const r = parseAddress(`${a.join(".")}/${p}`, "ipv4");
      expect(r).toEqual({ ok: true, value: { address: ipaddr.IPv4.networkAddressFromCIDR(`${a.join(".")}/${p}`).toString(), prefixLength: p, mask: null } });
    }));
    expect(parseAddress("10.1.2.3", "ipv4")).toEqual({ ok: true, value: { address: "10.1.2.3", prefixLength: 32, mask: null } });
  });
  it("clears host bits and writes iptables' text (IPv6)", () => {
    fc.assert(fc.property(v6Interesting, fc.constantFrom(...EDGES.ipv6), (a, p) => {
      const text = (ipaddr.fromByteArray(a) as ipaddr.IPv6).toRFC5952String();
      const r = parseAddress(`${text}/${p}`, "ipv6");
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.value.prefixLength).toBe(p);
      expect(r.value.address).toBe(iptablesIpv6Text(bigIntToIp(bytesToBig(maskedBytes(a, p)), "ipv6") as readonly number[]));
    }));
    expect(parseAddress("::ffff:10.0.0.7/120", "ipv6")).toEqual({ ok: true, value: { address: "::ffff:10.0.0.0", prefixLength: 120, mask: null } });
    expect(parseAddress("2001:db8:0:0:1::1/64", "ipv6")).toEqual({ ok: true, value: { address: "2001:db8::", prefixLength: 64, mask: null } });
  });
  it("reads dotted masks, keeping a mask with holes as text", () => {
    expect(parseAddress("10.1.2.3/255.255.0.0", "ipv4")).toEqual({ ok: true, value: { address: "10.1.0.0", prefixLength: 16, mask: null } });
    expect(parseAddress("10.1.2.3/255.0.255.0", "ipv4")).toEqual({ ok: true, value: { address: "10.0.2.0", prefixLength: null, mask: "255.0.255.0" } });
    expect(parseAddress("2001:db8::1/ffff::ffff", "ipv6")).toEqual({ ok: true, value: { address: "2001::1", prefixLength: null, mask: "ffff::ffff" } });
  });
  it("reads parts base 0 and completes short forms as iptables does, and refuses what is not an address", () => {
    // The kernel's tool's answers (test/kernel/number-spellings.test.ts): `010` is octal, `10.0.0` is 10.0.0.0.
    expect(parseAddress("010.0.0.1/8", "ipv4")).toEqual({ ok: true, value: { address: "8.0.0.0", prefixLength: 8, mask: null } });
    expect(parseAddress("0x0a.0.0.1/0x10", "ipv4")).toEqual({ ok: true, value: { address: "10.0.0.0", prefixLength: 16, mask: null } });
    expect(parseAddress("10.0.0", "ipv4")).toEqual({ ok: true, value: { address: "10.0.0.0", prefixLength: 32, mask: null } });
    expect(parseAddress("anything/0", "ipv4")).toEqual({ ok: true, value: { address: "0.0.0.0", prefixLength: 0, mask: null } });
    expect(parseAddress("10.0.0.1/08", "ipv4")).toEqual({ ok: false, expected: "a prefix length 0-32" });
    expect(parseAddress("08.0.0.1", "ipv4")).toEqual({ ok: false, expected: "an IPv4 address[/mask]" });
    expect(parseAddress("02001:db8::1", "ipv6")).toEqual({ ok: false, expected: "an IPv6 address[/prefix]" });
    expect(parseAddress("10.0.0.1/33", "ipv4")).toEqual({ ok: false, expected: "a prefix length 0-32" });
    expect(parseAddress("2001:db8::/129", "ipv6")).toEqual({ ok: false, expected: "a prefix length 0-128" });
    expect(parseAddress("10.0.0.1.2", "ipv4")).toEqual({ ok: false, expected: "an IPv4 address[/mask]" });
    expect(parseAddress("10.0.0.1", "ipv6")).toEqual({ ok: false, expected: "an IPv6 address[/prefix]" });
    expect(parseAddress("10.0.0.1/255.0.0.x", "ipv4")).toEqual({ ok: false, expected: "a mask (prefix length or dotted)" });
  });
});

describe("parseCidr (node facts)", () => {
  it("reads ADDR[/LEN] within the family's bits, canonically", () => {
    expect(parseCidr("10.0.0.1/24")).toEqual({ address: "10.0.0.1", prefixLength: 24, family: "ipv4" });
    expect(parseCidr("2001:DB8::1")).toEqual({ address: "2001:db8::1", prefixLength: 128, family: "ipv6" });
    expect(parseCidr("::ffff:10.0.0.1/128")).toEqual({ address: "::ffff:a00:1", prefixLength: 128, family: "ipv6" });
    expect(parseCidr("10.0.0.1/33")).toBe('prefix length "33" of 10.0.0.1 is not 0-32');
    expect(parseCidr("2001:db8::/129")).toBe('prefix length "129" of 2001:db8:: is not 0-128');
    expect(parseCidr("eth0")).toBe('"eth0" is not an IPv4 or IPv6 address');
  });
});
