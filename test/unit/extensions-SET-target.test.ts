/**
 * -j SET (the target; the match is -m set): binding, printing and evaluation. Expected texts
 * and refusals asked of iptables 1.8.9 (iptables-nft-restore, --test and a real load, in a
 * network namespace with the sets created). What iptables refuses in userspace is refused
 * here; that the set exists is the kernel's to say, and the dump does not tell.
 */
import { describe, expect, it } from "vitest";
import { ipsetView, parseIpsets } from "../../src/ipset/index.js";
import { outcomes, tableText, targetErrors, targetPrinted, tcpIn } from "../support/target-roundtrip.js";

const L = (text: string) => `SET        all  --  anywhere             anywhere             ${text}`;
const nL = (text: string) => `SET        0    --  0.0.0.0/0            0.0.0.0/0            ${text}`;

describe("-j SET", () => {
  it("saves and lists --add-set and --del-set with their flags, --exist and --timeout as iptables does", () => {
    const CASES: Array<[string, string, string]> = [
      ["--add-set s4 src", " -j SET --add-set s4 src", "add-set s4 src"],
      ["--del-set s4 dst", " -j SET --del-set s4 dst", "del-set s4 dst"],
      ["--add-set s4 src --exist --timeout 600", " -j SET --add-set s4 src --exist --timeout 600", "add-set s4 src exist timeout 600"],
      // The order given does not matter: iptables prints add, exist, timeout, del, map.
      ["--timeout 600 --exist --add-set s4 src", " -j SET --add-set s4 src --exist --timeout 600", "add-set s4 src exist timeout 600"],
      ["--del-set n4 dst --add-set s4 src", " -j SET --add-set s4 src --del-set n4 dst", "add-set s4 src del-set n4 dst"],
      ["--add-set s4 src --timeout 0x10", " -j SET --add-set s4 src --timeout 16", "add-set s4 src timeout 16"],
      ["--add-set s4 src --timeout 4294967294", " -j SET --add-set s4 src --timeout 4294967294", "add-set s4 src timeout 4294967294"],
      ["--add-set s4 src,dst,src", " -j SET --add-set s4 src,dst,src", "add-set s4 src,dst,src"],
    ];
    for (const [given, save, text] of CASES) {
      expect(targetPrinted(`-j SET ${given}`, "SET"), given).toMatchObject({ save, L: L(text), nL: nL(text) });
    }
    expect(targetPrinted("-p tcp -j SET --add-set ipp src,dst", "SET").nL).toBe(
      "SET        6    --  0.0.0.0/0            0.0.0.0/0            add-set ipp src,dst",
    );
  });

  it("saves and lists --map-set with its flags, in the mangle table", () => {
    const mangle = { table: "mangle", chain: "PREROUTING" } as const;
    expect(targetPrinted("-j SET --map-set m4 src --map-mark", "SET", mangle)).toMatchObject({ save: " -j SET --map-set m4 src --map-mark", L: L("map-set m4 src map-mark") });
    expect(targetPrinted("-j SET --map-set m4 dst --map-prio --map-queue --map-mark", "SET", { table: "mangle", chain: "POSTROUTING" })).toMatchObject({
      save: " -j SET --map-set m4 dst --map-mark --map-prio --map-queue",
      nL: nL("map-set m4 dst map-mark map-prio map-queue"),
    });
    expect(targetPrinted("-j SET --add-set s4 src --map-set m4 dst --map-mark", "SET", mangle).save).toBe(" -j SET --add-set s4 src --map-set m4 dst --map-mark");
  });

  it("refuses what iptables-restore refuses", () => {
    const REFUSED: Array<[string, string]> = [
      ["", "SET: you must specify either --add-set, --del-set or --map-set"],
      ["--add-set s4 foo", "SET: you must specify (the comma separated list of) 'src' or 'dst'"],
      ["--add-set s4 src,src,src,src,src,src,src", "SET: can't be more src/dst options than 6"],
      [`--add-set ${"a".repeat(32)} src`, `SET: setname \`${"a".repeat(32)}' too long, max 31 characters`],
      ["--add-set s4 src --add-set n4 dst", "SET: --add-set given more than once"],
      ["--del-set s4 src --exist", "SET: --exist can be used with --add-set only"],
      ["--del-set s4 src --timeout 5", "SET: --timeout can be used with --add-set only"],
      ["--add-set s4 src --timeout 4294967295", "SET: invalid value for option --timeout"],
      ["--add-set s4 src --timeout -1", "SET: invalid value for option --timeout"],
      ["--add-set s4 src --map-mark", "SET: --map-mark can be used with --map-set only"],
    ];
    for (const [given, error] of REFUSED) expect(targetErrors(`-j SET ${given}`), given).toEqual([error]);
    expect(targetErrors("-j SET --map-set m4 src", { table: "mangle" })).toEqual(["SET: --map-set needs --map-mark, --map-prio or --map-queue"]);
    expect(targetErrors(`-j SET --add-set ${"a".repeat(31)} src`)).toEqual([]);
  });

  it("refuses --map-set outside the mangle table, as the kernel does at load (--test passes)", () => {
    for (const table of ["filter", "raw", "nat", "security"] as const) {
      expect(targetErrors("-j SET --map-set m4 src --map-mark", { table, chain: "OUTPUT" }), table).toEqual(["SET: --map-set is only valid in the mangle table"]);
    }
    // --add-set and --del-set are taken in every table.
    for (const table of ["filter", "raw", "nat", "mangle", "security"] as const) {
      expect(targetErrors("-j SET --add-set s4 src --del-set n4 dst", { table, chain: "OUTPUT" }), table).toEqual([]);
    }
  });

  describe("evaluation", () => {
    const sets = ipsetView(parseIpsets("create s4 hash:ip family inet hashsize 1024 maxelem 65536\ncreate m4 hash:ip family inet skbinfo\n").value);

    it("adds or deletes the packet's tuple, says so, and lets the packet go on", () => {
      const [o, ...more] = outcomes(tableText("filter", ["-A INPUT -j SET --add-set s4 src --exist --timeout 60", "-A INPUT -j SET --del-set s4 dst"]), tcpIn, sets);
      expect(more).toEqual([]);
      expect(o!.fate.kind).toBe("delivered");
      expect(o!.steps.filter((s) => s.rule !== "policy").map((s) => [s.rule, s.verdict, s.rewrites])).toEqual([
        [1, "CONTINUE", ["added to set s4"]],
        [2, "CONTINUE", ["deleted from set s4"]],
      ]);
      expect(o!.assumptions).toEqual([]);
    });

    it("leaves the sets as dumped for the next packet: one evaluation does not change another's answer", () => {
      const rules = tableText("filter", ["-A INPUT -m set --match-set s4 src -j DROP", "-A INPUT -j SET --add-set s4 src"]);
      expect(outcomes(rules, tcpIn, sets).map((o) => o.fate.kind)).toEqual(["delivered"]);
      expect(outcomes(rules, tcpIn, sets).map((o) => o.fate.kind)).toEqual(["delivered"]);
    });

    it("copies mark, priority or queue from the set's entry, which netfate does not model: indeterminate, said so", () => {
      const o = outcomes(tableText("mangle", ["-A PREROUTING -j SET --map-set m4 src --map-mark"]), tcpIn, sets);
      expect(o.map((x) => x.fate)).toEqual([
        { kind: "indeterminate", reason: "mangle PREROUTING rule 1: SET --map-set m4: the skbinfo of the set's entries is not modelled" },
      ]);
    });
  });
});
