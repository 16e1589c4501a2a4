/**
 * The nft statement kinds' registry (src/extensions/nft/statements/registry.ts): every kind
 * listed once, found back by its AST kind and each JSON key, each kind's text read back as it
 * prints; and the NAT statement's shortcuts (a written-out address and port worked out once
 * per statement, one environment for the iptables target refilled per statement) give every
 * packet the answer a statement met for the first time gives it.
 */
import { describe, expect, it } from "vitest";
import { STATEMENT_KINDS, statementKind, statementKindByJsonKey } from "../../src/extensions/nft/statements/registry.js";
import type { NftStmt } from "../../src/model/nft.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { buildNode } from "../../src/netfilter/model.js";
import { parseNftText } from "../../src/nft/text/index.js";
import { printNftRule } from "../../src/nft/print/index.js";
import { simpleNode } from "../support/simple-node.js";

/** The rule's own structure, which the readers, printer and evaluator keep. */
const STRUCTURE = new Set(["match", "verdict", "vmap"]);

function ruleOf(line: string, family = "inet"): { stmts: NftStmt[]; printed: string } {
  const text = `table ${family} t {\n\tset s {\n\t\ttype ipv4_addr\n\t}\n\tchain c {\n\t\t${line}\n\t}\n}\n`;
  const { ruleset, diagnostics } = parseNftText(text, "t.nft");
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => d.message).join("\n"));
  const rule = ruleset.tables[0]!.chains[0]!.rules[0]!;
  return { stmts: rule.stmts, printed: printNftRule(rule, { family: family as "inet" }) };
}

describe("the nft statement kinds' registry", () => {
  it("lists each kind once, and each JSON key once", () => {
    const kinds = STATEMENT_KINDS.map((k) => k.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(kinds.filter((k) => STRUCTURE.has(k))).toEqual([]);
    const keys = STATEMENT_KINDS.flatMap((k) => k.jsonKeys);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of STATEMENT_KINDS) for (const key of k.jsonKeys) expect(statementKindByJsonKey(key)).toBe(k);
  });

  it.each([
    "counter packets 3 bytes 180",
    'counter name "c1"',
    'log prefix "in: " level info flags tcp sequence,options',
    "log group 2",
    "limit rate over 10/second burst 20 packets",
    "limit rate 1 mbytes/second",
    "quota over 100 mbytes used 5 mbytes",
    "ip daddr 10.0.0.1 dnat ip to 10.244.0.2:8080",
    "snat ip to 192.168.0.1-192.168.0.9:1000-2000 random,persistent",
    "masquerade to :1024-65535 fully-random",
    "redirect to :8080",
    "reject with icmpx admin-prohibited",
    "reject with tcp reset",
    "notrack",
    "queue flags bypass to 1-3",
    "meta mark set 0x00000010",
    "ct mark set meta mark",
    "add @s { ip saddr timeout 10s limit rate over 10/second }",
    'ct helper set "ftp"',
    "ct count over 10",
    "dup to 10.0.0.9",
  ])("reads back what it prints: %s", (line) => {
    const { stmts, printed } = ruleOf(line);
    expect(printed).toBe(line);
    for (const s of stmts) if (!STRUCTURE.has(s.kind)) expect(statementKind(s)).toBeDefined();
  });
});

describe("a nat statement worked out once gives each packet its own answer", () => {
  const node = simpleNode({
    addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] },
    routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }, { dst: "10.244.0.0/16", dev: "cni0" }],
  });
  const text = [
    "table ip nat {",
    "\tchain pre {",
    "\t\ttype nat hook prerouting priority dstnat; policy accept;",
    "\t\tip daddr 10.96.0.10 tcp dport 80 dnat to 10.244.0.2:8080",
    // The packet's own port when it is in the range, else the range's first (natPort).
    "\t\tip daddr 10.96.0.11 dnat to 10.244.0.3:8000-8100",
    "\t\tip daddr 10.96.0.12 dnat to 10.244.0.0/30",
    "\t\tip daddr 10.96.0.13 redirect to :9000-9100",
    "\t}",
    "\tchain post {",
    "\t\ttype nat hook postrouting priority srcnat; policy accept;",
    "\t\tip saddr 10.9.0.0/16 masquerade to :20000-20100",
    "\t}",
    "}",
  ].join("\n");
  const fresh = () => buildNode({ rulesets: [], nft: [parseNftText(text, "nat.nft").ruleset], node });
  const pkt = (dst: string, dport: number, src = "192.168.0.50"): PacketSpec => ({ family: "ipv4", from: "eth0", src, dst, proto: 6, sport: 40000, dport, tcpFlags: 2 });
  const packets = [
    pkt("10.96.0.10", 80), pkt("10.96.0.11", 8050), pkt("10.96.0.11", 80), pkt("10.96.0.11", 8100), pkt("10.96.0.12", 443),
    pkt("10.96.0.13", 9050), pkt("10.96.0.13", 22), pkt("1.1.1.1", 443, "10.9.0.5"), pkt("10.96.0.11", 8001),
  ];
  const answer = (o: ReturnType<ReturnType<typeof fresh>["evaluate"]>): string =>
    JSON.stringify(o.outcomes.map((x) => [x.fate, x.final.dst, x.final.dport, x.final.src, x.final.sport, x.steps.map((s) => s.rewrites)]));

  it("packets in turn on one node are answered as each on a node of its own", () => {
    const shared = fresh();
    for (let round = 0; round < 2; round++) {
      for (const p of packets) expect(answer(shared.evaluate(p))).toBe(answer(fresh().evaluate(p)));
    }
    // The shortcuts were taken, and the answers differ where the packets do.
    const ports = [8050, 80, 8100, 8001].map((d) => shared.evaluate(pkt("10.96.0.11", d)).outcomes[0]!.final.dport);
    expect(ports).toEqual([8050, 8000, 8100, 8001]);
  });
});
