/**
 * -j SNPT (ip6tables, mangle): the source half of NPTv6. It binds and prints as DNPT does
 * (one implementation, tested in full in extensions-DNPT.test.ts); this file holds what is
 * SNPT's own. Expected texts asked of ip6tables 1.8.9 in a network namespace.
 */
import { describe, expect, it } from "vitest";
import type { PacketSpec } from "../../src/model/packet.js";
import { outcomes, tableText, targetErrors, targetPrinted } from "../support/target-roundtrip.js";

const where = { family: "ipv6", table: "mangle", chain: "POSTROUTING" } as const;
const snpt = (src: string, dst: string) => `-j SNPT --src-pfx ${src} --dst-pfx ${dst}`;

describe("-j SNPT", () => {
  it("saves and lists as ip6tables does", () => {
    expect(targetPrinted(`-s fd00:1::/48 ${snpt("fd00:1::/48", "2001:db8:1::/48")}`, "SNPT", where)).toMatchObject({
      save: " -s fd00:1::/48 -j SNPT --src-pfx fd00:1::/48 --dst-pfx 2001:db8:1::/48",
      L: "SNPT       all  --  fd00:1::/48          anywhere             SNPT src-pfx fd00:1::/48 dst-pfx 2001:db8:1::/48",
      nL: "SNPT       0    --  fd00:1::/48          ::/0                 SNPT src-pfx fd00:1::/48 dst-pfx 2001:db8:1::/48",
    });
    expect(targetPrinted(snpt("fd00:1::/48", "2001:db8:1::/56"), "SNPT", where).save).toBe(" -j SNPT --src-pfx fd00:1::/48 --dst-pfx 2001:db8:1::/56");
    // Both prefixes ::/0 save as a bare -j SNPT, which ip6tables-restore then refuses.
    expect(targetPrinted(snpt("::/0", "::/0"), "SNPT", where, { lossy: "save" })).toMatchObject({
      save: " -j SNPT",
      nL: "SNPT       0    --  ::/0                 ::/0                 SNPT src-pfx ::/0 dst-pfx ::/0",
    });
    expect(targetErrors("-j SNPT", where)).toEqual(['SNPT: option "--src-pfx" must be specified']);
  });

  it("refuses as DNPT does, naming itself", () => {
    expect(targetErrors("-j SNPT --src-pfx fd00:1::/48", where)).toEqual(['SNPT: option "--dst-pfx" must be specified']);
    expect(targetErrors(snpt("fd00:1::/65", "2001:db8::/64"), where)).toEqual(["SNPT: the kernel refuses a prefix longer than /64"]);
    // The reference's SNPT rule (ip6-nat): 2001:db8::/16 has bits past /16, and the kernel refused it.
    expect(targetErrors(snpt("fd03::/16", "2001:db8::/16"), where)).toEqual(["SNPT: 2001:db8::/16 has bits set past /16; the kernel refuses it"]);
    expect(targetErrors(snpt("fd00:1::/48", "2001:db8:1::/48"), { ...where, table: "nat" })).toEqual(["SNPT is only valid in the mangle table"]);
  });

  it("rewrites the source prefix with a checksum-neutral host part netfate does not compute: indeterminate, said so", () => {
    const p: PacketSpec = { family: "ipv6", from: "local", src: "fd00:1::5", dst: "2001:db8:9::2", proto: 6, sport: 40000, dport: 80, tcpFlags: 2, mark: 0 };
    const o = outcomes(tableText("mangle", [`-A POSTROUTING -s fd00:1::/48 ${snpt("fd00:1::/48", "2001:db8:1::/48")}`]), p);
    expect(o.map((x) => x.fate)).toEqual([
      {
        kind: "indeterminate",
        reason: "mangle POSTROUTING rule 1: SNPT: the source prefix fd00:1::/48 becomes 2001:db8:1::/48 with a checksum-neutral host part, which netfate does not compute",
      },
    ]);
  });
});
