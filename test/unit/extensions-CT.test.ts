/**
 * -j CT beyond --notrack (raw table): zones, helpers, event masks, timeout policies. Expected
 * texts and refusals asked of iptables 1.8.9 (iptables-nft-restore, --test and a real load,
 * ip6tables too, in a network namespace). That a helper or a timeout policy exists is the
 * kernel's to say at load ("No such file or directory", "Invalid argument"); the dump does not
 * tell, so those are taken.
 */
import { describe, expect, it } from "vitest";
import { hasShared, needsShared } from "../support/shared.js";
import { outcomes, referenceRows, tableText, targetErrors, targetPrinted, targetWarnings, tcpIn } from "../support/target-roundtrip.js";

const raw = { table: "raw", chain: "PREROUTING" } as const;
const L = (text: string) => `CT         all  --  anywhere             anywhere             ${text}`;

describe("-j CT", () => {
  it("saves and lists zones as iptables does, direction and mark included", () => {
    const CASES: Array<[string, string, string]> = [
      ["--zone 5", " -j CT --zone 5", "CT zone 5"],
      ["--zone-orig 2", " -j CT --zone-orig 2", "CT zone-orig 2"],
      ["--zone-reply 3", " -j CT --zone-reply 3", "CT zone-reply 3"],
      ["--zone mark", " -j CT --zone mark", "CT zone mark"],
      ["--zone MARK", " -j CT --zone mark", "CT zone mark"],
      ["--zone-reply mark", " -j CT --zone-reply mark", "CT zone-reply mark"],
      ["--zone 0x10", " -j CT --zone 16", "CT zone 16"],
      // Zone 0 is no zone: nothing is printed.
      ["--zone 0", " -j CT", "CT"],
      // The last value given wins, the direction flags add up.
      ["--zone-orig 2 --zone 1", " -j CT --zone-orig 1", "CT zone-orig 1"],
    ];
    for (const [given, save, text] of CASES) expect(targetPrinted(`-j CT ${given}`, "CT", raw), given).toMatchObject({ save, L: L(text) });
    // Both directions print as the plain zone, which reads back (save or listing) without the
    // direction flags: the same zone, as iptables itself loses them.
    for (const [given, zone] of [["--zone-orig 2 --zone-reply 2", 2], ["--zone-orig 3 --zone-reply 4", 4]] as const) {
      const p = targetPrinted(`-j CT ${given}`, "CT", raw, { lossy: "save and listing" });
      expect(p, given).toMatchObject({ save: ` -j CT --zone ${zone}`, L: L(`CT zone ${zone}`) });
      expect(targetPrinted(p.save.trim(), "CT", raw).data, given).toMatchObject({ zone, zoneOrig: false, zoneReply: false });
    }
    // Once from the mark, the zone stays the mark's (the number is kept but unused, by iptables too).
    const m = targetPrinted("-j CT --zone mark --zone-orig 5", "CT", raw, { lossy: "save and listing" });
    expect(m).toMatchObject({ save: " -j CT --zone-orig mark", L: L("CT zone-orig mark") });
    expect(targetPrinted(m.save.trim(), "CT", raw).data).toMatchObject({ zoneMark: true, zoneOrig: true, zoneReply: false });
  });

  it("saves and lists helpers, event masks and timeout policies as iptables does", () => {
    expect(targetPrinted("-p tcp --dport 21 -j CT --helper ftp", "CT", raw)).toMatchObject({
      save: " -p tcp -m tcp --dport 21 -j CT --helper ftp",
      L: "CT         tcp  --  anywhere             anywhere             tcp dpt:ftp CT helper ftp",
      nL: "CT         6    --  0.0.0.0/0            0.0.0.0/0            tcp dpt:21 CT helper ftp",
    });
    const CASES: Array<[string, string, string]> = [
      // Events are printed in the kernel's bit order, once each, whatever the order given.
      ["--ctevents destroy,new", " -j CT --ctevents new,destroy", "CT ctevents new,destroy"],
      ["--ctevents new,new", " -j CT --ctevents new", "CT ctevents new"],
      [
        "--ctevents secmark,natseqinfo,mark,helper,protoinfo,assured,reply,destroy,related,new",
        " -j CT --ctevents new,related,destroy,reply,assured,protoinfo,helper,mark,natseqinfo,secmark",
        "CT ctevents new,related,destroy,reply,assured,protoinfo,helper,mark,natseqinfo,secmark",
      ],
      ["--expevents new", " -j CT --expevents new", "CT expevents new"],
      ["--timeout pol1", " -j CT --timeout pol1", "CT timeout pol1"],
      ["--notrack --zone 5", " -j CT --notrack --zone 5", "CT notrack zone 5"],
      ["--notrack --helper ftp", " -j CT --notrack --helper ftp", "CT notrack helper ftp"],
      ["", " -j CT", "CT"],
    ];
    for (const [given, save, text] of CASES) expect(targetPrinted(`-j CT ${given}`, "CT", raw), given).toMatchObject({ save, L: L(text) });
    expect(targetPrinted("-p tcp --dport 21 -j CT --helper ftp --zone 7", "CT", { ...raw, family: "ipv6" }).nL).toBe(
      "CT         6    --  ::/0                 ::/0                 tcp dpt:21 CT helper ftp zone 7",
    );
  });

  it.skipIf(!hasShared)(needsShared("prints every CT rule of the reference as iptables 1.8.9 did"), () => {
    const rules = referenceRows("raw-targets.txt", "restore", "-j CT").filter((r) => r.startsWith("-A "));
    expect(rules.length).toBeGreaterThan(5);
    for (const rule of rules) {
      const [, chain, ...spec] = rule.split(" ");
      const p = targetPrinted(spec.join(" "), "CT", { table: "raw", chain: chain! });
      expect(referenceRows("raw-targets.txt", "save", `-A ${chain}${p.save}`), rule).toEqual([`-A ${chain}${p.save}`]);
      expect(referenceRows("raw-targets.txt", "L", p.L), rule).toEqual([p.L]);
      expect(referenceRows("raw-targets.txt", "nL", p.nL), rule).toEqual([p.nL]);
    }
  });

  it("refuses what iptables-restore refuses", () => {
    const REFUSED: Array<[string, string]> = [
      ["--zone 65536", "CT: cannot parse 65536 as a zone ID"],
      ["--zone -1", "CT: cannot parse -1 as a zone ID"],
      ["--zone 1 --zone 2", "CT: --zone given more than once"],
      ["--helper ftp --helper sip", "CT: --helper given more than once"],
      ["--notrack --notrack", "CT: --notrack given more than once"],
      ["--ctevents foo", 'CT: unknown event type "foo"'],
      ["--ctevents NEW", 'CT: unknown event type "NEW"'],
      ["--expevents destroy", 'CT: unknown event type "destroy"'],
    ];
    for (const [given, error] of REFUSED) expect(targetErrors(`-j CT ${given}`, raw), given).toEqual([error]);
    for (const table of ["filter", "mangle", "nat", "security"] as const) {
      expect(targetErrors("-j CT --zone 1", { table, chain: "OUTPUT" }), table).toEqual(["CT is only valid in the raw table"]);
    }
  });

  it("cuts a helper or timeout name to the kernel's buffer as iptables does, and says so", () => {
    expect(targetWarnings("-j CT --helper abcdefghijklmnopq", raw)).toEqual(["CT: --helper is cut to 15 characters, as iptables does"]);
    expect(targetPrinted("-j CT --helper abcdefghijklmnopq", "CT", raw).save).toBe(" -j CT --helper abcdefghijklmno");
    expect(targetWarnings("-j CT --timeout abcdefghijklmnopqrstuvwxyz0123456789", raw)).toEqual(["CT: --timeout is cut to 31 characters, as iptables does"]);
    expect(targetPrinted("-j CT --timeout abcdefghijklmnopqrstuvwxyz0123456789", "CT", raw).save).toBe(" -j CT --timeout abcdefghijklmnopqrstuvwxyz01234");
  });

  describe("evaluation: what the connection carries", () => {
    const one = (target: string, mark = 0) => {
      const [o, ...more] = outcomes(tableText("raw", [`-A PREROUTING -j CT ${target}`]), { ...tcpIn, mark });
      expect(more).toEqual([]);
      expect(o!.fate.kind).toBe("delivered");
      expect(o!.assumptions).toEqual([]);
      expect(o!.steps[0]).toMatchObject({ table: "raw", chain: "PREROUTING", rule: 1, verdict: "CONTINUE" });
      return o!;
    };

    it("a zone, given or taken from the low 16 bits of the packet mark", () => {
      expect(one("--zone 5").conntrack).toMatchObject({ zone: 5 });
      expect(one("--zone-orig 2").conntrack).toMatchObject({ zone: 2 });
      expect(one("--zone mark", 0x10005).conntrack).toMatchObject({ zone: 5 });
      expect(one("--zone 0").conntrack?.zone).toBeUndefined();
    });

    it("a helper", () => {
      expect(one("--helper ftp").conntrack).toMatchObject({ helper: "ftp" });
    });

    it("event masks and timeout policies change nothing the trace follows", () => {
      for (const t of ["--ctevents new,destroy", "--expevents new", "--timeout pol1"]) {
        const c = one(t).conntrack;
        expect(c?.zone, t).toBeUndefined();
        expect(c?.helper, t).toBeUndefined();
      }
    });

    it("--notrack wins: the packet is untracked, whatever zone or helper is given with it", () => {
      const o = one("--notrack --zone 5 --helper ftp");
      expect(o.final.ctstate).toBe("UNTRACKED");
      expect(o.conntrack?.zone).toBeUndefined();
      expect(o.conntrack?.helper).toBeUndefined();
    });
  });
});
