/**
 * -j CLASSIFY: binding, printing and evaluation. Expected texts and refusals asked of iptables
 * 1.8.9 (iptables-nft-restore, --test and a real load, ip6tables too, in a network namespace).
 * libxt_CLASSIFY reads the class with sscanf("%x:%x") and keeps 16 bits of each half, so it
 * takes far more than MAJOR:MINOR of four hex digits; netfate used to refuse those.
 */
import { describe, expect, it } from "vitest";
import { outcomes, tableText, targetErrors, targetPrinted, targetWarnings, tcpIn } from "../support/target-roundtrip.js";

const where = { table: "mangle", chain: "POSTROUTING" } as const;

describe("-j CLASSIFY", () => {
  it("saves four hex digits a half and lists without leading zeros, as iptables does", () => {
    expect(targetPrinted("-j CLASSIFY --set-class 1:10", "CLASSIFY", where)).toMatchObject({
      save: " -j CLASSIFY --set-class 0001:0010",
      L: "CLASSIFY   all  --  anywhere             anywhere             CLASSIFY set 1:10",
      nL: "CLASSIFY   0    --  0.0.0.0/0            0.0.0.0/0            CLASSIFY set 1:10",
    });
    expect(targetPrinted("-j CLASSIFY --set-class ffff:ffff", "CLASSIFY", where).save).toBe(" -j CLASSIFY --set-class ffff:ffff");
    expect(targetPrinted("-j CLASSIFY --set-class 0:0", "CLASSIFY", where).L).toBe("CLASSIFY   all  --  anywhere             anywhere             CLASSIFY set 0:0");
    expect(targetPrinted("-j CLASSIFY --set-class 1:10", "CLASSIFY", { ...where, family: "ipv6" }).nL).toBe(
      "CLASSIFY   0    --  ::/0                 ::/0                 CLASSIFY set 1:10",
    );
  });

  // What iptables-restore 1.8.9 saved for each --set-class it was given.
  const READ_AS: Array<[string, string]> = [
    ["0x1:0x10", "0001:0010"],
    ["0X1:0X2", "0001:0002"],
    ["00001:1", "0001:0001"],
    ["00000000000000000000001:2", "0001:0002"],
    ["+1:1", "0001:0001"],
    ["0x:1", "0000:0001"],
    ["1:0x", "0001:0000"],
    ['"1: 2"', "0001:0002"],
    ['" 1:2"', "0001:0002"],
    ["-0:0", "0000:0000"],
  ];
  const CUT: Array<[string, string]> = [
    ["10000:1", "0000:0001"],
    ["123456789:1", "6789:0001"],
    ["fffffffffffffffff:1", "ffff:0001"],
    ["-1:1", "ffff:0001"],
    ["1:-2", "0001:fffe"],
    ["1:2:3", "0001:0002"],
    ["1:1x", "0001:0001"],
  ];

  it("reads the class as iptables does: any hex number a half, blanks, sign and 0x allowed", () => {
    for (const [given, saved] of READ_AS) {
      expect(targetPrinted(`-j CLASSIFY --set-class ${given}`, "CLASSIFY", where).save, given).toBe(` -j CLASSIFY --set-class ${saved}`);
      expect(targetWarnings(`-j CLASSIFY --set-class ${given}`, where), given).toEqual([]);
    }
  });

  it("keeps 16 bits a half and ignores what follows the minor, as iptables does, and says so", () => {
    for (const [given, saved] of CUT) {
      expect(targetPrinted(`-j CLASSIFY --set-class ${given}`, "CLASSIFY", where).save, given).toBe(` -j CLASSIFY --set-class ${saved}`);
      const [major, minor] = saved.split(":").map((h) => parseInt(h, 16).toString(16));
      expect(targetWarnings(`-j CLASSIFY --set-class ${given}`, where), given).toEqual([
        `CLASSIFY: iptables reads ${given} as ${major}:${minor} (16 bits each, the rest ignored)`,
      ]);
    }
  });

  it("refuses what iptables-restore refuses", () => {
    for (const bad of ["1", "1:", ":1", "g:1", "x1:1", '"1 :2"', '"1:"']) {
      expect(targetErrors(`-j CLASSIFY --set-class ${bad}`, where), bad).toEqual(["CLASSIFY: bad class value"]);
    }
    expect(targetErrors("-j CLASSIFY", where)).toEqual(["CLASSIFY: --set-class is required"]);
    expect(targetErrors("-j CLASSIFY --set-class 1:2 --set-class 1:3", where)).toEqual(["CLASSIFY: --set-class given more than once"]);
  });

  it("sets the priority tc classifies on, says so, and lets the packet go on", () => {
    const out = { ...tcpIn, from: "local" as const, src: "192.168.0.11", dst: "10.9.9.9" };
    const [o, ...more] = outcomes(tableText("mangle", ["-A POSTROUTING -j CLASSIFY --set-class 1:10"]), out);
    expect(more).toEqual([]);
    expect(o!.fate).toMatchObject({ kind: "sent", iface: "eth0" });
    const step = o!.steps.find((s) => s.table === "mangle" && s.chain === "POSTROUTING")!;
    expect(step).toMatchObject({ rule: 1, verdict: "CONTINUE", rewrites: ["class → 1:10"] });
    expect(o!.assumptions).toEqual([]);
  });
});
