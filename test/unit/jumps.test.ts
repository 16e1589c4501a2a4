/**
 * Jumps to chains that do not exist and jump loops are found when the rules are loaded (as
 * iptables-restore refuses them) and end an evaluation with an error, never a hang. They are
 * found from the chains' digests, so rules whose binding is deferred give the same answer.
 */
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { simpleNode } from "../support/simple-node.js";

const DUMP = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
:C - [0:0]
:SELF - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j A
-A INPUT -p tcp -m tcp --dport 23 -j NOPE
-A INPUT -p tcp -m tcp --dport 24 -j SELF
-A INPUT -p tcp -m tcp --dport 25 -j C
-A A -p udp -j ACCEPT
-A A -j B
-A B -s 10.0.0.0/8 -g A
-A C -j ACCEPT
-A SELF -j SELF
COMMIT
`;

const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
const syn = (dport: number): PacketSpec => ({ family: "ipv4", from: "eth0", src: "10.1.1.1", dst: "192.168.0.11", proto: 6, sport: 4000, dport, tcpFlags: 2 });

describe.each([
  ["rules bound while parsing", false],
  ["rules bound when first read", true],
])("jumps, %s", (_, deferRules) => {
  const parsed = parseRules(DUMP, { deferRules });
  const n = buildNode({ rulesets: [parsed.value], node });
  const problems = n.evaluate(syn(25)).problems;

  it("reports the missing chain with its rule, and each loop once with its path", () => {
    // iptables-restore refuses the table (see test/kernel/restore-refusals.test.ts); the
    // parser reports the error where, and the rule is kept so the evaluator can say what it would do.
    expect(parsed.diagnostics).toEqual([
      {
        severity: "error", file: "<input>", line: 10, col: 38,
        message: "chain NOPE is not declared before this line in table filter: iptables-restore refuses it (only --noflush onto a kernel that has the chain would take it)",
        expected: "a chain declared (:NOPE - or -N NOPE) before this line", found: "NOPE",
      },
    ]);
    expect(problems).toEqual([
      { table: "filter", chain: "INPUT", rule: 2, message: "jumps to chain NOPE, which does not exist" },
      { table: "filter", chain: "A", message: "jump loop: A → B → A" },
      { table: "filter", chain: "SELF", message: "jump loop: SELF → SELF" },
    ]);
  });

  it("ends a packet that enters a loop or jumps nowhere with an error", () => {
    const fate = (dport: number) => n.evaluate(syn(dport)).outcomes.map((o) => o.fate);
    expect(fate(22)).toEqual([{ kind: "error", reason: "filter INPUT rule 1: jump loop through chain A" }]);
    expect(fate(23)).toEqual([{ kind: "error", reason: "filter INPUT rule 2: jump to chain NOPE, which does not exist in table filter" }]);
    expect(fate(24)).toEqual([{ kind: "error", reason: "filter INPUT rule 3: jump loop through chain SELF" }]);
    // A chain outside every loop is entered as usual.
    expect(fate(25)).toEqual([{ kind: "delivered", iface: "eth0" }]);
  });
});
