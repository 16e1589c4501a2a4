/**
 * -j CHECKSUM: binding, printing and evaluation. Expected texts and refusals asked of iptables
 * 1.8.9 (iptables-nft-restore, --test and a real load, ip6tables too, in a network namespace):
 * --checksum-fill is required, once; the kernel takes the target in mangle only (a filter rule
 * passes --test and fails to load with "Invalid argument").
 */
import { describe, expect, it } from "vitest";
import { hasShared, needsShared } from "../support/shared.js";
import { outcomes, referenceRows, tableText, targetErrors, targetPrinted, tcpIn } from "../support/target-roundtrip.js";

describe("-j CHECKSUM", () => {
  it("saves and lists as iptables does", () => {
    expect(targetPrinted("-p udp --dport 68 -j CHECKSUM --checksum-fill", "CHECKSUM", { table: "mangle", chain: "POSTROUTING" })).toMatchObject({
      save: " -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill",
      L: "CHECKSUM   udp  --  anywhere             anywhere             udp dpt:bootpc CHECKSUM fill",
      nL: "CHECKSUM   17   --  0.0.0.0/0            0.0.0.0/0            udp dpt:68 CHECKSUM fill",
    });
    expect(targetPrinted("-j CHECKSUM --checksum-fill", "CHECKSUM", { family: "ipv6", table: "mangle" })).toMatchObject({
      save: " -j CHECKSUM --checksum-fill",
      nL: "CHECKSUM   0    --  ::/0                 ::/0                 CHECKSUM fill",
    });
  });

  it.skipIf(!hasShared)(needsShared("prints the reference's rule as iptables 1.8.9 did"), () => {
    const p = targetPrinted("-p udp --dport 68 -j CHECKSUM --checksum-fill", "CHECKSUM", { table: "mangle", chain: "POSTROUTING" });
    expect(referenceRows("mangle-targets.txt", "save", "CHECKSUM")).toEqual([`-A POSTROUTING${p.save}`]);
    expect(referenceRows("mangle-targets.txt", "L", "CHECKSUM")).toEqual([p.L]);
    expect(referenceRows("mangle-targets.txt", "nL", "CHECKSUM")).toEqual([p.nL]);
  });

  it("refuses what iptables-restore and the kernel refuse", () => {
    expect(targetErrors("-j CHECKSUM", { table: "mangle" })).toEqual(["CHECKSUM: --checksum-fill is required"]);
    expect(targetErrors("-j CHECKSUM --checksum-fill --checksum-fill", { table: "mangle" })).toEqual(["CHECKSUM: --checksum-fill given more than once"]);
    for (const table of ["filter", "nat", "raw", "security"] as const) {
      expect(targetErrors("-j CHECKSUM --checksum-fill", { table }), table).toEqual(["CHECKSUM is only valid in the mangle table"]);
    }
  });

  it("fills in the checksum, says so, and lets the packet go on", () => {
    const [o, ...more] = outcomes(tableText("mangle", ["-A PREROUTING -j CHECKSUM --checksum-fill"]), tcpIn);
    expect(more).toEqual([]);
    expect(o!.fate.kind).toBe("delivered");
    expect(o!.steps[0]).toMatchObject({ table: "mangle", chain: "PREROUTING", rule: 1, verdict: "CONTINUE", rewrites: ["checksum → filled in"] });
    // Nothing the trace follows changes: addresses, ports and marks stay.
    expect(o!.final).toMatchObject({ src: tcpIn.src, dst: tcpIn.dst, sport: tcpIn.sport, dport: tcpIn.dport, mark: "0x0" });
    expect(o!.assumptions).toEqual([]);
  });
});
