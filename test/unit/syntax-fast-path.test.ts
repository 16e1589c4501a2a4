/**
 * The parser's fast path (src/syntax/fast-append.ts) runs only while a table
 * defers its rules; a parse with `deferRules: false` reads every line whole, as before. So each
 * dump here is parsed both ways, and the two must give the same diagnostics (text, line,
 * column) and the same AST — for lines shaped like the fast path's but each wrong in one way
 * the binder or the interpreter reports, next to lines it takes.
 */
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import type { Ruleset } from "../../src/model/ast.js";
import { saveText } from "../../src/print/save.js";

function loaded(rs: Ruleset): Ruleset {
  for (const t of rs.tables) for (const c of t.chains) c.rules.load();
  return rs;
}

function bothWays(text: string) {
  const eager = parseRules(text, { file: "d", deferRules: false });
  const deferred = parseRules(text, { file: "d" });
  expect(deferred.diagnostics).toEqual(eager.diagnostics);
  expect(deferred.value.tables.flatMap((t) => t.chains.map((c) => c.rules.digest()))).toEqual(eager.value.tables.flatMap((t) => t.chains.map((c) => c.rules.digest())));
  // Equal down to the order of keys (JSON, counters' big integers as text).
  const json = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x));
  expect(json(loaded(deferred.value))).toBe(json(eager.value));
  expect(saveText(deferred.value)).toBe(saveText(eager.value));
  return deferred.diagnostics;
}

const nat = (lines: string[]) => ["*nat", ":PREROUTING ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ...lines, "COMMIT", ""].join("\n");

describe("the fast path reports what the binder reports", () => {
  it("takes kube-proxy's lines, and binding them later gives the rules the binder gives", () => {
    const d = bothWays(
      nat([
        ":KUBE-SERVICES - [0:0]",
        ":KUBE-SVC-A - [0:0]",
        ":KUBE-SEP-B - [0:0]",
        ":KUBE-MARK-MASQ - [0:0]",
        '-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns/a:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-A',
        '-A KUBE-SVC-A ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m comment --comment "ns/a:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
        '-A KUBE-SVC-A -m comment --comment "ns/a:http -> 10.244.0.3:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-B',
        '-A KUBE-SEP-B -s 10.244.0.3/32 -m comment --comment "ns/a:http" -j KUBE-MARK-MASQ',
        '-A KUBE-SEP-B -p tcp -m comment --comment "ns/a:http" -m tcp -j DNAT --to-destination 10.244.0.3:8080',
        "-A PREROUTING -j KUBE-SERVICES",
      ]),
    );
    expect(d).toEqual([]);
  });

  it("for declarations: twice, too long, of a built-in chain, with other counters", () => {
    const d = bothWays(
      nat([
        ":KUBE-A - [0:0]",
        ":KUBE-A - [0:0]",
        `:${"X".repeat(29)} - [0:0]`,
        ":PREROUTING - [0:0]",
        ":KUBE-B - [5:6]",
        ":KUBE-C - [0:0] extra",
        ":KUBE-D\t- [0:0]",
      ]),
    );
    expect(d.map((x) => `${x.line}:${x.col} ${x.message}`)).toEqual([
      "5:1 chain KUBE-A declared twice",
      `6:1 chain name ${"X".repeat(29)} is longer than 28 characters`,
      "9:17 unexpected text after the chain counters",
    ]);
  });

  it("for rules the binder refuses or warns of", () => {
    const d = bothWays(
      nat([
        ":KUBE-A - [0:0]",
        "-A KUBE-A -j DROP",
        "-A KUBE-A -j KUBE-LATER",
        ":KUBE-LATER - [0:0]",
        "-A KUBE-A -j PREROUTING",
        "-A KUBE-A -d 10.0.0.1/33 -j KUBE-LATER",
        "-A KUBE-A -d 10.0.0.1 -p tcp -d 10.0.0.2 -j KUBE-LATER",
        "-A KUBE-A -p tcp -m tcp --dport 65536 -j KUBE-LATER",
        "-A KUBE-A -m statistic --mode random --probability 1.5 -j KUBE-LATER",
        "-A KUBE-A -j DNAT --to-destination 10.0.0.1:80",
        "-A KUBE-A -s 1.2.3.4 -s 1.2.3.5 -j KUBE-LATER",
        "-A KUBE-NOT-DECLARED -j KUBE-LATER",
        `-A KUBE-A -m comment --comment "${"x".repeat(256)}" -j KUBE-LATER`,
      ]),
    );
    // One diagnostic for each rule line.
    expect(d.map((x) => x.line)).toEqual([5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  });

  it("for filter-table lines, where DROP is taken and DNAT is not", () => {
    const d = bothWays(
      ["*filter", ":INPUT ACCEPT [0:0]", ":KUBE-F - [0:0]", "-A KUBE-F -s 10.0.0.0/8 -j DROP", "-A KUBE-F -p tcp -j DNAT --to-destination 10.0.0.1:80", "-A INPUT -j KUBE-F", "COMMIT", ""].join("\n"),
    );
    expect(d.map((x) => x.line)).toEqual([5]);
  });
});
