/**
 * Policy routing rules and every routing table, read from what the real iproute2 (6.1) prints:
 * the fixtures were made by test/fixtures/node/make-rules.sh in a network namespace.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import fc from "fast-check";
import { detectFactsFormat, factsFromTexts } from "../../src/facts/parse.js";
import type { FactRule } from "../../src/facts/model.js";

const text = (f: string) => readFileSync(resolve(import.meta.dirname, "../fixtures/node", f), "utf8");
const fx = (f: string) => ({ file: f, text: text(f) });
const read = (...inputs: Array<{ file: string; text: string }>) => factsFromTexts(inputs);
const rulesOf = (...inputs: Array<{ file: string; text: string }>) => {
  const { facts, diagnostics } = read(...inputs);
  expect(diagnostics).toEqual([]);
  return facts.rules!;
};
const byPriority = (rules: FactRule[], p: number) => rules.find((r) => r.priority === p);

describe("ip rule show, as iproute2 prints every selector and action", () => {
  const rules = rulesOf(fx("ip-rule.txt"));

  it("reads every line, in order, with the kernel's default rules", () => {
    expect(rules.map((r) => r.priority)).toEqual(text("ip-rule.txt").trim().split("\n").map((l) => Number(l.split(":")[0])));
    expect(rules.every((r) => r.family === "ipv4")).toBe(true);
    expect(byPriority(rules, 0)).toEqual({ family: "ipv4", priority: 0, action: "lookup", table: "local" });
    expect(byPriority(rules, 32766)).toEqual({ family: "ipv4", priority: 32766, action: "lookup", table: "main" });
    expect(byPriority(rules, 32767)).toEqual({ family: "ipv4", priority: 32767, action: "lookup", table: "default" });
  });

  it("`from all` is no selector; an address selector is its network (the kernel compares under the mask)", () => {
    expect(byPriority(rules, 100)).toEqual({ family: "ipv4", priority: 100, action: "lookup", from: { address: "10.0.0.0", prefixLength: 8 }, table: "100" });
    // ip prints `from 10.1.2.3/8` as added; it matches what 10.0.0.0/8 matches.
    expect(byPriority(rules, 122)).toMatchObject({ from: { address: "10.0.0.0", prefixLength: 8 }, table: "1234567" });
    expect(byPriority(rules, 105)).toEqual({ family: "ipv4", priority: 105, action: "blackhole", from: { address: "1.1.1.1", prefixLength: 32 } });
  });

  it("every selector of one rule, with not", () => {
    expect(byPriority(rules, 103)).toEqual({
      family: "ipv4", priority: 103, not: true, action: "lookup", table: "main", suppressPrefixLength: 0,
      from: { address: "10.0.0.0", prefixLength: 8 }, to: { address: "1.2.3.4", prefixLength: 32 },
      tos: 0x10, iif: "eth0", oif: "lo", ipproto: 6, sport: [80, 80], dport: [1000, 2000],
    });
  });

  it("fwmark: without a mask all 32 bits count; a zero mark or mask as printed", () => {
    expect(byPriority(rules, 101)).toMatchObject({ fwmark: 1, fwmask: 1 });
    expect(byPriority(rules, 102)).toMatchObject({ fwmark: 2, fwmask: 0xffffffff });
    expect(byPriority(rules, 121)).toMatchObject({ fwmark: 0, fwmask: 0xff });
    expect(byPriority(rules, 129)).toMatchObject({ fwmark: 1, fwmask: 0 });
  });

  it("actions: goto (forward only), nop, unreachable, prohibit", () => {
    expect(byPriority(rules, 104)).toEqual({ family: "ipv4", priority: 104, action: "goto", goto: 200, to: { address: "1.2.3.0", prefixLength: 24 } });
    expect(byPriority(rules, 127)).toEqual({ family: "ipv4", priority: 127, not: true, action: "goto", goto: 150, fwmark: 0x10, fwmask: 0xffffffff, iif: "flannel.1" });
    // `[unresolved]`: no rule at 50000; the kernel skips such a goto, which the rules themselves show.
    expect(byPriority(rules, 130)).toEqual({ family: "ipv4", priority: 130, action: "goto", goto: 50000 });
    expect(byPriority(rules, 108)!.action).toBe("nop");
    expect(byPriority(rules, 106)!.action).toBe("unreachable");
    expect(byPriority(rules, 107)!.action).toBe("prohibit");
  });

  it("selectors a packet cannot decide are named; words that choose nothing are dropped", () => {
    expect(byPriority(rules, 109)).toEqual({ family: "ipv4", priority: 109, action: "lookup", undecidable: ["l3mdev"] });
    expect(byPriority(rules, 110)).toMatchObject({ undecidable: ["uidrange 0-10"], table: "100" });
    expect(byPriority(rules, 116)).toMatchObject({ undecidable: ["tun_id 5"] });
    // realms sets the result's realm (not a selector); proto says who added the rule.
    expect(byPriority(rules, 114)).toEqual({ family: "ipv4", priority: 114, action: "lookup", table: "100" });
    expect(byPriority(rules, 125)).toEqual({ family: "ipv4", priority: 125, action: "lookup", table: "100", from: { address: "8.8.8.8", prefixLength: 32 } });
  });

  it("[detached] devices: the rule matches no packet", () => {
    expect(byPriority(rules, 112)).toEqual({ family: "ipv4", priority: 112, action: "lookup", table: "100", iif: "nosuch", iifDetached: true });
    expect(byPriority(rules, 113)).toEqual({ family: "ipv4", priority: 113, action: "lookup", table: "100", oif: "nosuch2", oifDetached: true });
    expect(byPriority(rules, 111)).toEqual({ family: "ipv4", priority: 111, action: "lookup", table: "100", iif: "lo" });
  });

  it("ipproto names, ipproto-N, suppress_ifgroup numbers and `default`", () => {
    expect(byPriority(rules, 118)).toMatchObject({ ipproto: 17, dport: [53, 53] });
    expect(byPriority(rules, 126)).toMatchObject({ ipproto: 200 });
    expect(byPriority(rules, 117)).toMatchObject({ suppressIfgroup: 3, table: "main" });
    expect(byPriority(rules, 128)).toMatchObject({ suppressIfgroup: 0 });
  });

  it("ip -j rule reads as the same rules as the text", () => {
    expect(rulesOf(fx("ip-rule.json"))).toEqual(rules);
  });
});

describe("ip -6 rule", () => {
  const rules = rulesOf(fx("ip6-rule.txt"));
  it("IPv6 selectors, tos names of rt_dsfield, and the same rules from ip -j -6 rule", () => {
    expect(rules.every((r) => r.family === "ipv6")).toBe(true);
    expect(byPriority(rules, 100)).toEqual({ family: "ipv6", priority: 100, action: "lookup", table: "100", from: { address: "2001:db8::", prefixLength: 32 }, to: { address: "2001:db8:1::1", prefixLength: 128 } });
    expect(byPriority(rules, 101)).toMatchObject({ fwmark: 0x4000, fwmask: 0xff00, iif: "eth0", ipproto: 58 });
    // `not to ::/0` prints as `not from all`: no selector, negated.
    expect(byPriority(rules, 102)).toEqual({ family: "ipv6", priority: 102, not: true, action: "prohibit" });
    expect(byPriority(rules, 103)).toMatchObject({ tos: 0x28 });
    expect(byPriority(rules, 104)).toMatchObject({ tos: 0xb8 });
    expect(byPriority(rules, 105)).toMatchObject({ action: "goto", goto: 200, ipproto: 6, dport: [443, 443] });
    expect(byPriority(rules, 32767)).toBeUndefined();
    expect(rulesOf(fx("ip6-rule.json"))).toEqual(rules);
  });

  it("a file without addresses: the name says the family, or a warning says IPv4 was assumed", () => {
    const defaults = "0:\tfrom all lookup local\n32766:\tfrom all lookup main\n";
    expect(rulesOf({ file: "dump/ip6-rule.txt", text: defaults }).map((r) => r.family)).toEqual(["ipv6", "ipv6"]);
    expect(rulesOf({ file: "ip-rule.json", text: '[{"priority":0,"src":"all","table":"local"}]' })[0]!.family).toBe("ipv4");
    const { facts, diagnostics } = read({ file: "rules.txt", text: defaults });
    expect(facts.rules!.map((r) => r.family)).toEqual(["ipv4", "ipv4"]);
    expect(diagnostics).toEqual([expect.objectContaining({ severity: "warning", line: 1, col: 1, message: expect.stringContaining("read as IPv4") })]);
  });

  it("both families in one NodeFacts; a family given twice is refused", () => {
    const { facts, diagnostics } = read(fx("ip-rule.txt"), fx("ip6-rule.json"));
    expect(diagnostics).toEqual([]);
    expect(new Set(facts.rules!.map((r) => r.family))).toEqual(new Set(["ipv4", "ipv6"]));
    const twice = read(fx("ip-rule.txt"), fx("ip-rule.json"));
    expect(twice.diagnostics).toEqual([expect.objectContaining({ file: "ip-rule.json", severity: "error", message: "IPv4 policy routing rules were already given by another input" })]);
    expect(twice.facts.rules).toHaveLength(rulesOf(fx("ip-rule.txt")).length);
  });
});

describe("rules are undefined when no input gave them (the evaluator assumes the kernel's defaults)", () => {
  it("routes and addresses alone", () => {
    expect(read(fx("ip-route.txt"), fx("ip-addr.json")).facts.rules).toBeUndefined();
    expect(read({ file: "node.json", text: '{"routes": ["default via 192.168.0.1 dev eth0"]}' }).facts.rules).toBeUndefined();
  });
});

describe("refusals are located and say what was expected", () => {
  // [line, the text the error points at (its first occurrence; "" for the end of the line), message, expected]
  const cases: Array<[string, string, string, string?]> = [
    ["100:\tfrom all lookup", "", "lookup needs a value"],
    ["100:\tfrom 10.0.0.0/33 lookup 100", "10.0.0.0/33", 'bad from "10.0.0.0/33"', "all or ADDR[/LEN]"],
    ["100:\tfrom all sport 0 lookup 100", "0 ", 'bad sport "0"', "within 1-65534"],
    ["100:\tfrom all dport 20-10 lookup 100", "20-10", 'bad dport "20-10"'],
    ["100:\tfrom all dport 65535 lookup 100", "65535", 'bad dport "65535"'],
    ["100:\tfrom all goto 50", "50", "goto 50 from priority 100 goes backward", "a priority above 100"],
    ["100:\tfrom all goto 100", "100\n", "goes backward"],
    ["100:\tfrom all tos 0x28 lookup 100", "0x28", "tos 0x28 is not one the kernel takes in an IPv4 rule", "only the bits 0x1e"],
    ["100:\tfrom all", "", "a rule without an action", "lookup TABLE, goto PRIORITY, nop, blackhole, unreachable or prohibit"],
    ["x:\tfrom all lookup main", "x:", 'expected the rule\'s priority, found "x:"', "PRIORITY:"],
    ["4294967296:\tfrom all lookup main", "4294967296", "expected the rule's priority"],
    ["100:\tfrom all lookup main banana", "banana", 'unknown word "banana" in an ip rule'],
    ["100:\tfrom all iif a/b lookup main", "a/b", 'interface name "a/b" contains "/"'],
    ["100:\tfrom all fwmark 0x1/0x2/0x3 lookup main", "0x1", 'bad fwmark "0x1/0x2/0x3"'],
    ["100:\tfrom all fwmark 0x100000000 lookup main", "0x1", "bad fwmark"],
    ["100:\tfrom all ipproto 256 lookup main", "256", 'bad ipproto "256"'],
    ["100:\tfrom all ipproto mptcp lookup main", "mptcp", 'bad ipproto "mptcp"'],
    ["100:\tfrom all uidrange 10-5 lookup main", "10-5", 'bad uidrange "10-5"'],
    ["100:\tfrom all lookup main lookup 100", "lookup 100", "lookup given twice in one rule"],
    ["100:\tfrom all lookup main blackhole", "blackhole", "blackhole given twice in one rule"],
    ["100:\tfrom 10.0.0.0/8 to 2001:db8::1 lookup main", "2001", "to 2001:db8::1 is of another family"],
    ["100:\tfrom all lookup main not", "not", "not after a selector"],
    ["300:\tfrom 9.9.9.9 lookup main masquerade", "masquerade", "route NAT (masquerade) rules are not modelled"],
  ];
  for (const [line, at, message, expected] of cases) {
    it(JSON.stringify(line), () => {
      const col = at === "" ? line.length + 1 : `${line}\n`.indexOf(at) + 1;
      const { facts, diagnostics } = read({ file: "ip-rule.txt", text: `0:\tfrom all lookup local\n${line}\n` });
      expect(diagnostics).toEqual([expect.objectContaining({ severity: "error", line: 2, col, message: expect.stringContaining(message), ...(expected ? { expected: expect.stringContaining(expected) } : {}) })]);
      // The rule is left out, the others kept.
      expect(facts.rules!.map((r) => r.priority)).toEqual([0]);
    });
  }

  it("the real route NAT rule (ip still prints it as masquerade)", () => {
    expect(read(fx("ip-rule-nat.txt")).diagnostics).toEqual([expect.objectContaining({ severity: "error", line: 1, col: 31 })]);
  });

  it("IPv6 tos with the ECN bits; a rule of the other family among a file's rules", () => {
    expect(read({ file: "ip6-rule.txt", text: "100:\tfrom all tos 0x29 lookup 100\n" }).diagnostics).toEqual([expect.objectContaining({ col: 19, message: expect.stringContaining("IPv6 rule"), expected: "the ECN bits (0x03) clear" })]);
    const mixed = read({ file: "r.txt", text: "100:\tfrom 10.0.0.0/8 lookup 100\n101:\tfrom 2001:db8::/32 lookup 100\n" });
    expect(mixed.diagnostics).toEqual([expect.objectContaining({ line: 2, col: 11, message: "an IPv6 rule among IPv4 rules (this ip rule output)" })]);
  });

  it("ip -j rule: at the value that is wrong", () => {
    const bad = '[{"priority": 100, "src": "all",\n  "sport": 0, "table": "100"},\n {"priority": 101, "banana": 1, "table": "100"},\n {"src": "all", "table": "100"},\n {"priority": 102, "src": "all", "goto": 101}]';
    expect(detectFactsFormat(bad)).toBe("ip-rule-json");
    const { facts, diagnostics } = read({ file: "ip-rule.json", text: bad });
    expect(diagnostics).toEqual([
      expect.objectContaining({ line: 3, col: 20, message: expect.stringContaining('unknown key "banana" in a rule') }),
      expect.objectContaining({ line: 4, col: 2, message: 'a rule without "priority"' }),
      expect.objectContaining({ line: 2, col: 12, message: 'bad sport "0"' }),
      expect.objectContaining({ line: 5, col: 42, message: "goto 101 from priority 102 goes backward" }),
    ]);
    expect(facts.rules!.map((r) => r.priority)).toEqual([101]);
  });

  it("node.json rules and rules6: located inside the string, each family in its list", () => {
    const json = '{\n "rules": ["100: from all fwmark 0x1 lookup 100", "101: from all lookup"],\n "rules6": ["100: from 10.0.0.0/8 lookup 100", "0: from all lookup local"]\n}';
    const { facts, diagnostics } = read({ file: "node.json", text: json });
    expect(diagnostics).toEqual([
      expect.objectContaining({ line: 2, col: 72, message: "lookup needs a value" }),
      expect.objectContaining({ line: 3, col: 24, message: 'an IPv4 rule among IPv6 rules ("rules6")', expected: expect.stringContaining('ip -6 rule lines go in "rules6"') }),
    ]);
    expect(facts.rules).toEqual([
      { family: "ipv4", priority: 100, action: "lookup", fwmark: 1, fwmask: 0xffffffff, table: "100" },
      { family: "ipv6", priority: 0, action: "lookup", table: "local" },
    ]);
  });

  it("never throws on random rule text or JSON; every problem has a line and column", () => {
    const word = fc.constantFrom("from", "to", "all", "not", "lookup", "goto", "fwmark", "0x1/0x1", "10.0.0.0/8", "::/0", "iif", "[detached]", "[unresolved]", "[l3mdev-table]", "sport", "1-2", "tos", "0x10", "EF", "ipproto", "tcp", "uidrange", "0-1", "nop", "blackhole", "suppress_prefixlength", "realms", "1/2", "100", "-1", "");
    fc.assert(fc.property(fc.nat(70000), fc.array(word, { maxLength: 12 }), (p, ws) => {
      for (const d of read({ file: "r.txt", text: `${p}:\tfrom ${ws.join(" ")}\n` }).diagnostics) {
        expect(d.line).toBe(1);
        expect(d.col).toBeGreaterThanOrEqual(1);
      }
    }), { numRuns: 500 });
    const value = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null), fc.boolean(), fc.constant([]));
    const key = fc.constantFrom("priority", "src", "srclen", "dst", "fwmark", "fwmask", "iif", "iif_detached", "sport_start", "sport_end", "dport", "table", "goto", "action", "not", "l3mdev", "flow_to", "uid_start");
    fc.assert(fc.property(fc.array(fc.dictionary(key, value, { maxKeys: 6 }), { maxLength: 4 }), (objs) => {
      const t = JSON.stringify(objs.map((o) => ({ priority: 5, ...o })));
      for (const d of read({ file: "r.json", text: t }).diagnostics) expect(d.line).toBeGreaterThanOrEqual(1);
    }), { numRuns: 300 });
  });
});

describe("detecting ip rule among the facts formats", () => {
  it("each fixture as what it is", () => {
    const expected: Record<string, string> = {
      "ip-rule.txt": "ip-rule", "ip6-rule.txt": "ip-rule", "ip-rule-nat.txt": "ip-rule", "ip-rule.json": "ip-rule-json", "ip6-rule.json": "ip-rule-json",
      "ip-addr.txt": "ip-addr", "ip-d-addr.txt": "ip-addr", "ip-addr.json": "ip-addr-json", "ip-route.txt": "ip-route", "ip-route-all.json": "ip-route-json",
      "ip-route-table-all.txt": "ip-route", "ip-route-table-100.txt": "ip-route", "ip-route-table-all-4.json": "ip-route-json", "ip6-route-table-all.json": "ip-route-json",
      "sysctl-routing.txt": "sysctl",
    };
    for (const [f, format] of Object.entries(expected)) expect([f, detectFactsFormat(text(f))]).toEqual([f, format]);
    // Pretty-printed (ip -j -p rule): still "priority" first.
    expect(detectFactsFormat('[ {\n        "priority": 0,\n        "src": "all",\n        "table": "local"\n    } ]')).toBe("ip-rule-json");
    expect(detectFactsFormat("0:\tnot from all fwmark 0x1 lookup 100\n")).toBe("ip-rule");
    // An ip addr header is not a rule.
    expect(detectFactsFormat("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n")).toBe("ip-addr");
  });
});

describe("every routing table (ip route show table all, and -j)", () => {
  const all = read(fx("ip-route-table-all.txt"));
  it("reads every line the tool printed, each into its table", () => {
    expect(all.diagnostics).toEqual([]);
    const lines = text("ip-route-table-all.txt").trim().split("\n");
    expect(all.facts.routes).toHaveLength(lines.length);
    const t = (table: string, type: string, dst: string) => all.facts.routes.filter((r) => r.table === table && r.type === type && r.dst === dst);
    expect(t("100", "unicast", "0.0.0.0")).toEqual([expect.objectContaining({ family: "ipv4", gateway: "192.168.0.1", dev: "eth0" })]);
    for (const [type, dst] of [["unreachable", "10.2.0.0"], ["throw", "10.3.0.0"], ["prohibit", "10.4.0.0"], ["blackhole", "10.5.0.0"], ["local", "10.8.0.1"], ["broadcast", "10.9.0.255"], ["multicast", "224.0.0.0"]]) {
      expect(t("100", type!, dst!), `${type} ${dst}`).toHaveLength(1);
    }
    expect(t("1234567", "unicast", "10.6.0.0")).toHaveLength(1);
    expect(t("default", "unicast", "10.7.0.0")).toHaveLength(1);
    expect(t("main", "unicast", "192.168.0.0")).toHaveLength(1);
    expect(t("local", "local", "127.0.0.0")).toEqual([expect.objectContaining({ prefixLength: 8, dev: "lo" })]);
    expect(t("local", "broadcast", "192.168.0.255")).toHaveLength(1);
    // Without -4 the text holds the IPv6 tables too.
    expect(t("100", "anycast", "2001:db8:8::1")).toEqual([expect.objectContaining({ family: "ipv6" })]);
    expect(t("local", "multicast", "ff00::")).toHaveLength(4);
    expect(t("local", "anycast", "2001:db8::")).toHaveLength(1);
    expect(t("100", "throw", "2001:db8:7::")).toEqual([expect.objectContaining({ family: "ipv6", dev: "lo" })]);
  });

  it("an IPv6 default route without an IPv6 gateway is IPv6 by its `pref` (only IPv6 routes have one)", () => {
    const t300 = all.facts.routes.filter((r) => r.table === "300");
    expect(t300).toEqual([
      { family: "ipv4", table: "300", type: "unreachable", dst: "0.0.0.0", prefixLength: 0, metric: 4278198272 },
      { family: "ipv6", table: "300", type: "unreachable", dst: "::", prefixLength: 0, dev: "lo", metric: 1024 },
    ]);
  });

  it("ip -j -4 / -j -6 route show table all read as the text does", () => {
    const v4 = read(fx("ip-route-table-all-4.json"));
    const v6 = read(fx("ip6-route-table-all.json"));
    expect([...v4.diagnostics, ...v6.diagnostics]).toEqual([]);
    expect([...v4.facts.routes, ...v6.facts.routes]).toEqual(all.facts.routes);
  });

  it("`table N` on a routes line keeps N; ip's reserved numbers are the names it prints for them", () => {
    const { facts } = read({ file: "node.json", text: JSON.stringify({ routes: ["10.0.0.0/8 dev eth0 table 100", "10.1.0.0/16 dev eth0 table 254", "local 10.2.0.1 dev eth0 table 255", "10.3.0.0/16 dev eth0 table 253", "10.4.0.0/16 dev eth0 table cali"] }) });
    expect(facts.routes.map((r) => r.table)).toEqual(["100", "main", "local", "default", "cali"]);
    expect(rulesOf({ file: "ip-rule.txt", text: "0:\tfrom all lookup 255\n32766:\tfrom all lookup 254\n" }).map((r) => r.table)).toEqual(["local", "main"]);
  });

  it("ip route show table 100 does not print the table: its lines read as main's (ip leaves it out)", () => {
    const { facts, diagnostics } = read(fx("ip-route-table-100.txt"));
    expect(diagnostics).toEqual([]);
    expect(facts.routes.filter((r) => r.type === "unicast").map((r) => r.table)).toEqual(["main", "main"]);
  });
});
