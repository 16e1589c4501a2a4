/**
 * -j DNPT (ip6tables, mangle): binding, printing and evaluation. Expected texts and refusals
 * asked of ip6tables 1.8.9 (ip6tables-nft-restore, --test and a real load, in a network
 * namespace). Both prefixes are required, once each; the prefix length is read as libxtables
 * reads a host/mask (a number as strtoul base 0 takes it, or a mask); the kernel refuses a
 * prefix longer than /64, host bits past the length and a non-contiguous mask ("Invalid
 * argument" at load, after --test passed). SNPT shares all of this (extensions-SNPT.test.ts).
 */
import { describe, expect, it } from "vitest";
import type { PacketSpec } from "../../src/model/packet.js";
import { outcomes, tableText, targetErrors, targetPrinted } from "../support/target-roundtrip.js";

const where = { family: "ipv6", table: "mangle", chain: "PREROUTING" } as const;
const dnpt = (src: string, dst: string) => `-j DNPT --src-pfx ${src} --dst-pfx ${dst}`;

describe("-j DNPT", () => {
  it("saves and lists as ip6tables does", () => {
    expect(targetPrinted(`-d 2001:db8:1::/48 ${dnpt("2001:db8:1::/48", "fd00:1::/48")}`, "DNPT", where)).toMatchObject({
      save: " -d 2001:db8:1::/48 -j DNPT --src-pfx 2001:db8:1::/48 --dst-pfx fd00:1::/48",
      L: "DNPT       all  --  anywhere             2001:db8:1::/48      DNPT src-pfx 2001:db8:1::/48 dst-pfx fd00:1::/48",
      nL: "DNPT       0    --  ::/0                 2001:db8:1::/48      DNPT src-pfx 2001:db8:1::/48 dst-pfx fd00:1::/48",
    });
    // Addresses are printed compressed, in lower case; a ::/0 prefix is left out of the save text.
    expect(targetPrinted(dnpt("2001:DB8::/32", "fd00:0:0::/32"), "DNPT", where).save).toBe(" -j DNPT --src-pfx 2001:db8::/32 --dst-pfx fd00::/32");
    expect(targetPrinted(dnpt("::/0", "fd00::/16"), "DNPT", where, { lossy: "save" })).toMatchObject({
      save: " -j DNPT --dst-pfx fd00::/16",
      L: "DNPT       all  --  anywhere             anywhere             DNPT src-pfx ::/0 dst-pfx fd00::/16",
    });
    // ...which ip6tables-restore then refuses, and so does netfate.
    expect(targetErrors("-j DNPT --dst-pfx fd00::/16", where)).toEqual(['DNPT: option "--src-pfx" must be specified']);
  });

  it("reads the prefix length as libxtables does: base 0 numbers, or a mask", () => {
    for (const given of ["2001:db8::/0x20", "2001:db8::/040", "2001:db8::/ffff:ffff::"]) {
      expect(targetPrinted(dnpt(given, "fd00::/32"), "DNPT", where).save, given).toBe(" -j DNPT --src-pfx 2001:db8::/32 --dst-pfx fd00::/32");
    }
    // No length is /128, which the kernel refuses like any length past /64.
    expect(targetErrors(dnpt("2001:db8::", "fd00::"), where)).toEqual([
      "DNPT: the kernel refuses a prefix longer than /64",
      "DNPT: the kernel refuses a prefix longer than /64",
    ]);
  });

  it("refuses what ip6tables-restore refuses", () => {
    expect(targetErrors("-j DNPT --src-pfx 2001:db8::/32", where)).toEqual(['DNPT: option "--dst-pfx" must be specified']);
    expect(targetErrors("-j DNPT --dst-pfx 2001:db8::/32", where)).toEqual(['DNPT: option "--src-pfx" must be specified']);
    expect(targetErrors("-j DNPT", where)).toEqual(['DNPT: option "--src-pfx" must be specified']);
    expect(targetErrors(`${dnpt("2001:db8::/32", "fd00::/32")} --src-pfx fd01::/32`, where)).toEqual(["DNPT: --src-pfx given more than once"]);
    expect(targetErrors(`${dnpt("2001:db8::/32", "fd00::/32")} --foo`, where)).toEqual(["unknown option --foo"]);
    for (const bad of ["10.0.0.0/8", "2001:db8::/129", "2001:db8::/", "2001:db8::/255.255.0.0", "2001:db8::%eth0/32", "[2001:db8::]/32"]) {
      expect(targetErrors(dnpt(bad, "fd00::/32"), where), bad).toEqual(["DNPT: bad --src-pfx"]);
    }
  });

  it("refuses what the kernel refuses at load", () => {
    expect(targetErrors(dnpt("2001:db8::/65", "fd00::/64"), where)).toEqual(["DNPT: the kernel refuses a prefix longer than /64"]);
    expect(targetErrors(dnpt("2001:db8:1::1/48", "fd00:1::/48"), where)).toEqual(["DNPT: 2001:db8:1::1/48 has bits set past /48; the kernel refuses it"]);
    // /0032 is octal 26: 2001:db8:: has bits past /26.
    expect(targetErrors(dnpt("2001:db8::/0032", "fd00::/32"), where)).toEqual(["DNPT: 2001:db8::/0032 has bits set past /26; the kernel refuses it"]);
    expect(targetErrors(dnpt("2001:db8::/ffff:0:ffff::", "fd00::/32"), where)).toEqual([
      "DNPT: 2001:db8::/ffff:0:ffff:: has a non-contiguous mask; the kernel refuses it",
    ]);
    for (const table of ["filter", "nat", "raw", "security"] as const) {
      expect(targetErrors(dnpt("2001:db8::/32", "fd00::/32"), { ...where, table, chain: "OUTPUT" }), table).toEqual(["DNPT is only valid in the mangle table"]);
    }
  });

  it("rewrites the destination prefix with a checksum-neutral host part netfate does not compute: indeterminate, said so", () => {
    const p: PacketSpec = { family: "ipv6", from: "eth0", src: "2001:db8:9::2", dst: "2001:db8:1::5", proto: 6, sport: 40000, dport: 80, tcpFlags: 2, mark: 0 };
    const o = outcomes(tableText("mangle", [`-A PREROUTING -d 2001:db8:1::/48 ${dnpt("2001:db8:1::/48", "fd00:1::/48")}`]), p);
    expect(o.map((x) => x.fate)).toEqual([
      {
        kind: "indeterminate",
        reason:
          "mangle PREROUTING rule 1: DNPT: the destination prefix 2001:db8:1::/48 becomes fd00:1::/48 with a checksum-neutral host part, which netfate does not compute",
      },
    ]);
    // A packet the rule does not match goes on untouched.
    const other = outcomes(tableText("mangle", [`-A PREROUTING -d 2001:db8:1::/48 ${dnpt("2001:db8:1::/48", "fd00:1::/48")}`]), { ...p, dst: "2001:db8::11" });
    expect(other.map((x) => x.fate.kind)).toEqual(["delivered"]);
  });
});
