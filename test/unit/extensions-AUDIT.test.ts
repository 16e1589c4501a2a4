/**
 * -j AUDIT: binding, printing and evaluation. Every expected text and refusal below was asked
 * of iptables 1.8.9 (iptables-nft-restore and --test, ip6tables too, in a network namespace):
 * the action is read without regard to case and saved in lower case; a missing, repeated or
 * unknown --type is refused (an abbreviation too).
 */
import { describe, expect, it } from "vitest";
import { hasShared, needsShared } from "../support/shared.js";
import { outcomes, referenceRows, tableText, targetErrors, targetPrinted, tcpIn } from "../support/target-roundtrip.js";

describe("-j AUDIT", () => {
  it("saves and lists as iptables does, the action in lower case", () => {
    expect(targetPrinted("-j AUDIT --type accept", "AUDIT")).toMatchObject({
      save: " -j AUDIT --type accept",
      L: "AUDIT      all  --  anywhere             anywhere             AUDIT accept",
      nL: "AUDIT      0    --  0.0.0.0/0            0.0.0.0/0            AUDIT accept",
    });
    expect(targetPrinted("-j AUDIT --type DROP", "AUDIT").save).toBe(" -j AUDIT --type drop");
    expect(targetPrinted("-j AUDIT --type Reject", "AUDIT").L).toBe("AUDIT      all  --  anywhere             anywhere             AUDIT reject");
    expect(targetPrinted("-j AUDIT --type drop", "AUDIT", { family: "ipv6" }).nL).toBe("AUDIT      0    --  ::/0                 ::/0                 AUDIT drop");
  });

  it.skipIf(!hasShared)(needsShared("prints the reference's rule as iptables 1.8.9 did"), () => {
    const p = targetPrinted("-p tcp --dport 52 -j AUDIT --type accept", "AUDIT");
    expect(referenceRows("filter-targets.txt", "save", "AUDIT")).toEqual([`-A INPUT${p.save}`]);
    expect(referenceRows("filter-targets.txt", "L", "AUDIT")).toEqual([p.L]);
    expect(referenceRows("filter-targets.txt", "nL", "AUDIT")).toEqual([p.nL]);
  });

  it("refuses what iptables-restore refuses", () => {
    expect(targetErrors("-j AUDIT")).toEqual(["AUDIT: --type is required"]);
    expect(targetErrors("-j AUDIT --type accept --type drop")).toEqual(["AUDIT: --type given more than once"]);
    expect(targetErrors("-j AUDIT --type foo")).toEqual(["AUDIT: bad action type"]);
    expect(targetErrors("-j AUDIT --type acc")).toEqual(["AUDIT: bad action type"]);
  });

  it("writes its record and lets the packet go on to the rules after it", () => {
    for (const type of ["accept", "drop", "reject"]) {
      const [o, ...more] = outcomes(tableText("filter", [`-A INPUT -j AUDIT --type ${type}`, "-A INPUT -p tcp -j DROP"]), tcpIn);
      expect(more).toEqual([]);
      // The action names what the record says, not what happens: the next rule decides.
      expect(o!.fate).toMatchObject({ kind: "dropped", chain: "INPUT", rule: 2 });
      expect(o!.steps[0]).toMatchObject({ rule: 1, matched: true, verdict: "CONTINUE" });
      expect(o!.steps[0]!.rewrites).toBeUndefined();
      expect(o!.assumptions).toEqual([]);
    }
  });
});
