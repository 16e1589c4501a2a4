/**
 * Numbers and addresses as the iptables tools read them (src/model/c-number.ts and the address
 * grammars in src/model/address.ts); the kernel's own answers are in
 * test/kernel/number-spellings.test.ts.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { cNumber, decimalNumber } from "../../src/model/c-number.js";
import { inetAton, inetPton6, parseHostMask, xtablesIpv4 } from "../../src/model/address.js";

describe("cNumber (strtoul, base 0, strict)", () => {
  it("reads every number in decimal, octal and hex alike", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        expect(cNumber(String(n))).toBe(n);
        expect(cNumber(`0${n.toString(8)}`)).toBe(n);
        expect(cNumber(`0x${n.toString(16)}`)).toBe(n);
        expect(cNumber(`0X${n.toString(16).toUpperCase()}`)).toBe(n);
      }),
    );
  });
  it("refuses what C would stop short in, and what is over the limit", () => {
    for (const t of ["08", "09", "019", "0x", "0xg", "", "1a", "-1", "+1", " 1", "1 "]) expect(cNumber(t), t).toBeUndefined();
    expect(cNumber("256", 255)).toBeUndefined();
    expect(cNumber("0400", 255)).toBeUndefined();
    expect(cNumber("0377", 255)).toBe(255);
  });
  it("decimalNumber takes leading zeros as zeros", () => {
    expect(decimalNumber("010")).toBe(10);
    expect(decimalNumber("0x10")).toBeUndefined();
  });
});

describe("address grammars", () => {
  it("xtablesIpv4 completes to the right, inetAton fills the last part", () => {
    expect(xtablesIpv4("10.1")).toBe(0x0a010000);
    expect(inetAton("10.1")).toBe(0x0a000001);
    expect(inetAton("10.1.2")).toBe(0x0a010002);
    expect(inetAton("167772161")).toBe(0x0a000001);
    expect(inetAton("0x0a000001")).toBe(0x0a000001);
    expect(inetAton("10.256")).toBe(0x0a000100);
    expect(inetAton("10.0.0.256")).toBeUndefined();
    expect(xtablesIpv4("10.1", true)).toBeUndefined();
    // libxtables reads 19 characters of a numeric address.
    expect(xtablesIpv4("1.2.3.0000000000000000005")).toBe(0x01020300);
  });
  it("inetPton6 reads what ipaddr.js reads of every address fast-check writes", () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const words = inetPton6(text);
        expect(words, text).toBeDefined();
        // ipaddr.js reads `::a.b.c.d` as IPv4-mapped (::ffff:a.b.c.d); glibc as the four bytes after zeros.
        if (text.includes(".")) return;
        const p = ipaddr.IPv6.parse(text).parts;
        expect(words).toEqual([0, 2, 4, 6].map((i) => ((p[i]! << 16) | p[i + 1]!) >>> 0));
      }),
    );
  });
  it("inetPton6 refuses what glibc's inet_pton refuses", () => {
    for (const t of ["02001:db8::1", "1::2::3", "1:2:3:4:5:6:7:8::", "1:2:3:4:5:6:7", "fe80::1%lo", "::ffff:1.2.3.04", "1.2.3.4::", ":1::", "::g"]) {
      expect(inetPton6(t), t).toBeUndefined();
    }
    expect(inetPton6("1:2:3:4:5:6:7::")).toEqual([0x10002, 0x30004, 0x50006, 0x70000]);
    expect(inetPton6("::1.2.3.4")).toEqual([0, 0, 0, 0x01020304]);
    expect(inetPton6("::ffff:1.2.3.4")).toEqual([0, 0, 0xffff, 0x01020304]);
    expect(inetPton6("1:2:3:4:5:6:1.2.3.4")).toEqual([0x10002, 0x30004, 0x50006, 0x01020304]);
  });
  it("parseHostMask keeps the host bits and reads the length base 0", () => {
    expect(parseHostMask("10.0.0.1/031", "ipv4")).toEqual({ address: 0x0a000001, mask: 0xffffff80 });
    expect(parseHostMask("10.0.0.1/255.0.0.0", "ipv4")).toEqual({ address: 0x0a000001, mask: 0xff000000 });
    expect(parseHostMask("10.0.0.1/33", "ipv4")).toBeUndefined();
  });
});
