/**
 * The nft JSON reader's statements and expressions, one construct per test. The JSON is what
 * `nft -j list ruleset` (nft 1.0.6) wrote for the rule in each test's name, taken in a netns.
 */
import { describe, expect, it } from "vitest";
import { doc, firstRule, noSpans, parse, rule, stmtsOf } from "./nft-json-support.js";

const tcpDport = { payload: { protocol: "tcp", field: "dport" } };
const ipSaddr = { payload: { protocol: "ip", field: "saddr" } };

describe("nft JSON statements", () => {
  it("tcp dport 80 accept: a match typed by its left side, then a verdict", () => {
    expect(noSpans(stmtsOf({ match: { op: "==", left: tcpDport, right: 80 } }, { accept: null }))).toEqual([
      { kind: "match", left: { kind: "payload", protocol: "tcp", field: "dport" }, op: "==", right: { kind: "const", type: "inet_service", value: 80 } },
      { kind: "verdict", verdict: "accept" },
    ]);
  });

  it("ct state established,related: JSON's `in` is the implicit operator, the bit list one bitmask constant", () => {
    const [m] = stmtsOf({ match: { op: "in", left: { ct: { key: "state" } }, right: ["established", "related"] } });
    expect(m).toMatchObject({ kind: "match", op: "implicit", right: { kind: "const", type: "ct_state", value: 6 } });
    const [single] = stmtsOf({ match: { op: "in", left: { ct: { key: "state" } }, right: "invalid" } });
    expect(single).toMatchObject({ right: { kind: "const", type: "ct_state", value: 1 } });
  });

  it("iifname \"veth*\": an interface wildcard", () => {
    const [m] = stmtsOf({ match: { op: "==", left: { meta: { key: "iifname" } }, right: "veth*" } });
    expect(m).toMatchObject({ right: { kind: "const", type: "ifname", value: "veth", wildcard: true } });
  });

  it("prefixes, ranges, anonymous sets and set references", () => {
    const [p, rg, s, ref] = stmtsOf(
      { match: { op: "!=", left: { payload: { protocol: "ip", field: "daddr" } }, right: { prefix: { addr: "10.1.0.0", len: 16 } } } },
      { match: { op: "==", left: tcpDport, right: { range: [1024, 65535] } } },
      { match: { op: "==", left: { meta: { key: "l4proto" } }, right: { set: ["tcp", "udp"] } } },
      { match: { op: "==", left: ipSaddr, right: "@allowed" } },
    );
    expect(noSpans(p)).toMatchObject({ op: "!=", right: { kind: "prefix", base: { type: "ipv4_addr", value: "10.1.0.0" }, len: 16 } });
    expect(noSpans(rg)).toMatchObject({ right: { kind: "range", lo: { type: "inet_service", value: 1024 }, hi: { value: 65535 } } });
    expect(noSpans(s)).toMatchObject({ right: { kind: "set", elements: [{ key: { type: "inet_proto", value: 6 } }, { key: { type: "inet_proto", value: 17 } }] } });
    expect(ref).toMatchObject({ right: { kind: "setref", name: "allowed" } });
  });

  it("a concatenation against a set of concatenations types each part", () => {
    const left = { concat: [ipSaddr, { meta: { key: "l4proto" } }, { payload: { protocol: "th", field: "dport" } }] };
    const [m] = stmtsOf({ match: { op: "==", left, right: { set: [{ concat: ["10.0.0.1", "tcp", 80] }] } } });
    expect(noSpans(m)).toMatchObject({
      right: { kind: "set", elements: [{ key: { kind: "concat", parts: [{ type: "ipv4_addr", value: "10.0.0.1" }, { type: "inet_proto", value: 6 }, { type: "inet_service", value: 80 }] } }] },
    });
  });

  it("tcp flags syn / syn,ack: a flattened binop whose mask is a list of flags", () => {
    const [m] = stmtsOf({ match: { op: "==", left: { "&": [{ payload: { protocol: "tcp", field: "flags" } }, ["syn", "ack"]] }, right: "syn" } });
    expect(noSpans(m)).toMatchObject({
      left: { kind: "binop", op: "&", right: { kind: "const", type: "tcp_flag", value: 0x12 } },
      right: { kind: "const", type: "tcp_flag", value: 2 },
    });
  });

  it("meta mark set meta mark & 0xff01 | 0x1: nested binops, marks typed by the target", () => {
    const [m] = stmtsOf({ mangle: { key: { meta: { key: "mark" } }, value: { "|": [{ "&": [{ meta: { key: "mark" } }, 65281] }, 1] } } });
    expect(noSpans(m)).toEqual({
      kind: "mangle",
      target: { kind: "meta", key: "mark" },
      value: { kind: "binop", op: "|", left: { kind: "binop", op: "&", left: { kind: "meta", key: "mark" }, right: { kind: "const", type: "mark", value: 65281 } }, right: { kind: "const", type: "mark", value: 1 } },
    });
  });

  it("a three-operand binop is left-associative", () => {
    const [m] = stmtsOf({ mangle: { key: { meta: { key: "mark" } }, value: { "|": [{ meta: { key: "mark" } }, 1, 2] } } });
    expect(noSpans(m)).toMatchObject({ value: { op: "|", left: { op: "|", right: { value: 1 } }, right: { value: 2 } } });
  });

  it("verdicts: jump and goto carry the chain", () => {
    expect(stmtsOf({ jump: { target: "web" } })).toEqual([{ kind: "verdict", verdict: "jump", chain: "web" }]);
    expect(stmtsOf({ goto: { target: "web" } })).toEqual([{ kind: "verdict", verdict: "goto", chain: "web" }]);
    expect(stmtsOf({ return: null })).toEqual([{ kind: "verdict", verdict: "return" }]);
  });

  it("vmaps: named, and anonymous keyed by numgen and jhash", () => {
    const [named] = stmtsOf({ vmap: { key: tcpDport, data: "@portmap" } });
    expect(named).toEqual({ kind: "vmap", key: { kind: "payload", protocol: "tcp", field: "dport" }, map: { kind: "setref", name: "portmap" } });
    const [ng] = stmtsOf({ vmap: { key: { numgen: { mode: "random", mod: 3, offset: 0 } }, data: { set: [[0, { accept: null }], [2, { jump: { target: "web" } }]] } } });
    expect(noSpans(ng)).toMatchObject({
      key: { kind: "numgen", mode: "random", mod: 3, offset: 0 },
      map: { kind: "set", elements: [{ key: { value: 0 }, data: { kind: "verdict", verdict: "accept" } }, { data: { verdict: "jump", chain: "web" } }] },
    });
    const [jh] = stmtsOf({ vmap: { key: { jhash: { mod: 2, seed: 1, offset: 5, expr: { concat: [ipSaddr, { payload: { protocol: "tcp", field: "sport" } }] } } }, data: { set: [[5, { accept: null }]] } } });
    expect(noSpans(jh)).toMatchObject({ key: { kind: "hash", mode: "jhash", mod: 2, seed: 1, offset: 5, expr: { kind: "concat" } } });
  });

  it("fib: the result, its flags, and `missing` as a boolean", () => {
    const [missing, type] = stmtsOf(
      { match: { op: "==", left: { fib: { result: "oif", flags: ["saddr", "iif"] } }, right: false } },
      { match: { op: "==", left: { fib: { result: "type", flags: "daddr" } }, right: "local" } },
    );
    expect(missing).toMatchObject({ left: { kind: "fib", result: "oif", flags: ["saddr", "iif"] }, right: { kind: "const", type: "boolean", value: 0, text: "missing" } });
    expect(type).toMatchObject({ left: { kind: "fib", result: "type", flags: ["daddr"] }, right: { kind: "const", type: "fib_addrtype" } });
  });

  it("ct original ip saddr: nft writes the family into the key (nft 1.0.6), the AST keeps it apart", () => {
    const [m] = stmtsOf({ match: { op: "==", left: { ct: { key: "ip saddr", dir: "original" } }, right: "10.0.0.1" } });
    expect(m).toMatchObject({ left: { kind: "ct", key: "saddr", dir: "original", family: "ip" }, right: { kind: "const", type: "ipv4_addr", value: "10.0.0.1" } });
  });

  it("ct with direction and family", () => {
    const [m] = stmtsOf({ match: { op: "==", left: { ct: { key: "saddr", dir: "original", family: "ip" } }, right: "10.0.0.1" } });
    expect(m).toMatchObject({ left: { kind: "ct", key: "saddr", dir: "original", family: "ip" } });
  });

  it("raw payload", () => {
    const [m] = stmtsOf({ match: { op: "==", left: { payload: { base: "nh", offset: 72, len: 32 } }, right: 1 } });
    expect(m).toMatchObject({ left: { kind: "payload", base: "nh", offset: 72, len: 32 } });
  });

  it("counters: with values, stateless (null), and named", () => {
    expect(stmtsOf({ counter: { packets: 3, bytes: 120 } })).toEqual([{ kind: "counter", packets: 3, bytes: 120 }]);
    expect(stmtsOf({ counter: null })).toEqual([{ kind: "counter" }]);
    expect(stmtsOf({ counter: "cnt1" })).toEqual([{ kind: "objref", type: "counter", name: { kind: "const", type: "string", value: "cnt1" } }]);
  });

  it("counter name tcp dport map { 22 : \"c2\" }: an object reference through a map", () => {
    const [s] = stmtsOf({ counter: { map: { key: tcpDport, data: { set: [[22, "c2"]] } } } });
    expect(noSpans(s)).toMatchObject({ kind: "objref", type: "counter", name: { kind: "map", map: { elements: [{ key: { value: 22 }, data: { value: "c2" } }] } } });
  });

  it("log, limit and quota", () => {
    const [log, lim, q, qn, ln] = stmtsOf(
      { log: { prefix: "syn: ", level: "info", flags: ["tcp sequence", "tcp options"], group: 2 } },
      { limit: { rate: 1, burst: 5, per: "second", inv: true } },
      { quota: { val: 100, val_unit: "mbytes", inv: true, used: 3, used_unit: "kbytes" } },
      { quota: "q1" },
      { limit: "lim1" },
    );
    expect(log).toEqual({ kind: "log", prefix: "syn: ", level: "info", group: 2, flags: ["tcp sequence", "tcp options"] });
    expect(lim).toEqual({ kind: "limit", rate: 1, per: "second", over: true, burst: 5 });
    // JSON gives sizes in the unit nft prints; the AST holds bytes, as the text reader does.
    expect(q).toEqual({ kind: "quota", bytes: 100 * 1024 * 1024, unit: "mbytes", over: true, used: 3 * 1024, usedUnit: "kbytes" });
    expect(qn).toMatchObject({ kind: "objref", type: "quota" });
    expect(ln).toMatchObject({ kind: "objref", type: "limit" });
  });

  it("a quota in a unit nft does not have is a located error, the statement kept as written", () => {
    const { ruleset, diagnostics } = parse(doc(rule([{ quota: { val: 1, val_unit: "tbytes" } }])));
    expect(diagnostics.map((d) => [d.message, d.expected])).toEqual([['quota unit "tbytes"', "bytes, kbytes, mbytes, gbytes"]]);
    expect(firstRule(ruleset).stmts[0]).toMatchObject({ kind: "other", name: "quota" });
  });

  it("a byte limit keeps its units", () => {
    const [lim] = stmtsOf({ limit: { rate: 10, rate_unit: "mbytes", per: "second", burst: 2, burst_unit: "kbytes" } });
    expect(lim).toEqual({ kind: "limit", rate: 10, per: "second", unit: "mbytes", burst: 2, burstUnit: "kbytes", over: false });
  });

  it("reject in its forms", () => {
    expect(stmtsOf({ reject: null })).toEqual([{ kind: "reject" }]);
    expect(stmtsOf({ reject: { type: "icmpx", expr: "admin-prohibited" } })).toEqual([{ kind: "reject", type: "icmpx", code: "admin-prohibited" }]);
    expect(stmtsOf({ reject: { type: "tcp reset" } })).toEqual([{ kind: "reject", type: "tcp reset" }]);
  });

  it("notrack, ct helper set, queue, xt", () => {
    expect(stmtsOf({ notrack: null })).toEqual([{ kind: "notrack" }]);
    expect(stmtsOf({ "ct helper": "ftp-standard" })).toEqual([{ kind: "objref", type: "ct helper", name: { kind: "const", type: "string", value: "ftp-standard" } }]);
    expect(stmtsOf({ queue: { num: 3, flags: "bypass" } })).toEqual([{ kind: "queue", num: "3", flags: ["bypass"] }]);
    expect(stmtsOf({ queue: { num: { range: [1, 3] }, flags: ["bypass", "fanout"] } })).toEqual([{ kind: "queue", num: "1-3", flags: ["bypass", "fanout"] }]);
    expect(stmtsOf({ xt: { type: "match", name: "recent" } })).toEqual([{ kind: "xt", type: "match", name: "recent" }]);
  });

  it("a rule with an xt statement marks its table as iptables-nft's (nft's own test for its warning)", () => {
    const { ruleset } = parse(doc(rule([{ xt: { type: "target", name: "MASQUERADE" } }])));
    expect(ruleset.tables[0]!.managedBy).toBe("iptables-nft");
    expect(parse(doc(rule([{ accept: null }]))).ruleset.tables[0]!.managedBy).toBeUndefined();
  });

  it("add/update @set: the element with its timeout and attached statements", () => {
    const set = { set: { family: "inet", name: "dyn", table: "t", type: "ipv4_addr", handle: 3, flags: ["timeout"], timeout: 30 } };
    const { ruleset, diagnostics } = parse(
      doc(set, rule([{ set: { op: "add", elem: { elem: { val: ipSaddr, timeout: 10 } }, set: "@dyn" } }, { set: { op: "update", elem: ipSaddr, set: "@dyn", stmt: [{ limit: { rate: 10, burst: 5, per: "second", inv: true } }] } }])),
    );
    expect(diagnostics).toEqual([]);
    const [add, update] = firstRule(ruleset).stmts;
    expect(add).toEqual({ kind: "setop", op: "add", set: "dyn", key: { kind: "payload", protocol: "ip", field: "saddr" }, timeout: 10000 });
    expect(update).toMatchObject({ kind: "setop", op: "update", set: "dyn", stmts: [{ kind: "limit", over: true }] });
  });

  it("a map statement carries the value", () => {
    const map = { map: { family: "inet", name: "m", table: "t", type: "ipv4_addr", map: "mark", handle: 3 } };
    const { ruleset, diagnostics } = parse(doc(map, rule([{ map: { op: "update", elem: ipSaddr, data: 1, map: "@m" } }])));
    expect(diagnostics).toEqual([]);
    expect(firstRule(ruleset).stmts[0]).toMatchObject({ kind: "setop", set: "m", data: { kind: "const", type: "mark", value: 1 } });
  });
});

describe("nft JSON: statements nft 1.0.6 writes as text", () => {
  const map = { map: { family: "inet", name: "m", table: "t", type: "ipv4_addr", map: "mark", handle: 3, flags: ["timeout"], timeout: 60 } };

  it("a map update (no JSON form in nft 1.0.6: its text, a string) is read by the text reader, typed by the map", () => {
    const { ruleset, diagnostics } = parse(doc(map, rule(["update @m { ip saddr : 0x00000001 }", "add @m { ip daddr timeout 30s : meta mark }", { accept: null }])));
    expect(diagnostics).toEqual([]);
    expect(noSpans(firstRule(ruleset).stmts)).toEqual([
      { kind: "setop", op: "update", set: "m", key: { kind: "payload", protocol: "ip", field: "saddr" }, data: { kind: "const", type: "mark", value: 1 } },
      { kind: "setop", op: "add", set: "m", key: { kind: "payload", protocol: "ip", field: "daddr" }, timeout: 30000, data: { kind: "meta", key: "mark" } },
      { kind: "verdict", verdict: "accept" },
    ]);
  });

  it("a chain binding (nft 1.0.6 writes `jump { RULES }` as text over several lines) is read, and said to be evaluated as unknown", () => {
    const { ruleset, diagnostics } = parse(doc(rule([{ match: { op: "==", left: { payload: { protocol: "th", field: "dport" } }, right: 53 } }, "jump {\n\t\t\tip6 saddr ::1 counter packets 0 bytes 0 accept\n\t\t}"])));
    expect(diagnostics.map((d) => [d.severity, d.message])).toEqual([["warning", expect.stringContaining("an anonymous chain (jump { ... })")]]);
    expect(firstRule(ruleset).stmts.map((s) => s.kind)).toEqual(["match", "other"]);
  });

  it("text that is not one statement, or not nft, is kept as written with a warning at the string", () => {
    const text = doc(map, rule(["accept } chain x { drop", "frobnicate @m"]));
    const { ruleset, diagnostics } = parse(text);
    expect(firstRule(ruleset).stmts).toEqual([
      { kind: "other", name: "accept", text: "accept } chain x { drop" },
      { kind: "other", name: "frobnicate", text: "frobnicate @m" },
    ]);
    expect(diagnostics.map((d) => [d.severity, d.col])).toEqual([
      ["warning", text.indexOf('"accept }') + 1],
      ["warning", text.indexOf('"frobnicate') + 1],
    ]);
  });
});

describe("nft JSON nat statements", () => {
  const natDoc = (family: string, ...expr: unknown[]) =>
    JSON.stringify({
      nftables: [
        { table: { family, name: "n", handle: 1 } },
        { map: { family, name: "dn", table: "n", type: ["ipv4_addr", "inet_service"], handle: 2, map: "ipv4_addr . inet_service" } },
        { chain: { family, table: "n", name: "pre", handle: 1, type: "nat", hook: "prerouting", prio: -100, policy: "accept" } },
        { rule: { family, table: "n", chain: "pre", handle: 3, expr } },
      ],
    });
  const natOf = (family: string, ...expr: unknown[]) => {
    const { ruleset, diagnostics } = parse(natDoc(family, ...expr));
    expect(diagnostics).toEqual([]);
    return noSpans(ruleset.tables[0]!.chains[0]!.rules[0]!.stmts);
  };

  it("dnat to ADDR:PORT and to ranges", () => {
    expect(natOf("ip", { dnat: { addr: "10.0.0.1", port: 8080 } })).toEqual([
      { kind: "nat", type: "dnat", flags: [], addr: { kind: "const", type: "ipv4_addr", value: "10.0.0.1" }, port: { kind: "const", type: "inet_service", value: 8080 } },
    ]);
    expect(natOf("ip", { dnat: { addr: { range: ["10.0.0.1", "10.0.0.5"] }, port: { range: [8080, 8090] } } })[0]).toMatchObject({ addr: { kind: "range" }, port: { kind: "range" } });
  });

  it("dnat ip to ip daddr . tcp dport map @dn: the named map's values give address and port", () => {
    const [st] = natOf("inet", { dnat: { family: "ip", addr: { map: { key: { concat: [{ payload: { protocol: "ip", field: "daddr" } }, tcpDport] }, data: "@dn" } } } });
    expect(st).toMatchObject({ kind: "nat", type: "dnat", family: "ip", addrPort: true, addr: { kind: "map", map: { kind: "setref", name: "dn" } } });
  });

  it("dnat to ip saddr map { 1.1.1.1 : 2.2.2.2 }: an address-only literal map, values typed as addresses", () => {
    const [st] = natOf("ip", { dnat: { addr: { map: { key: ipSaddr, data: { set: [["1.1.1.1", "2.2.2.2"]] } } } } });
    expect(st).toMatchObject({ addr: { map: { elements: [{ data: { kind: "const", type: "ipv4_addr", value: "2.2.2.2" } }] } } });
    expect(st).not.toHaveProperty("addrPort");
  });

  it("a literal map of address . port values yields both", () => {
    const [st] = natOf("ip", { dnat: { addr: { map: { key: ipSaddr, data: { set: [["1.1.1.1", { concat: ["2.2.2.2", 80] }]] } } } } });
    expect(st).toMatchObject({ addrPort: true, addr: { map: { elements: [{ data: { kind: "concat", parts: [{ type: "ipv4_addr" }, { type: "inet_service", value: 80 }] } }] } } });
  });

  it("masquerade and redirect: flags as a word or a list, ports", () => {
    expect(natOf("ip", { masquerade: null })).toEqual([{ kind: "nat", type: "masquerade", flags: [] }]);
    expect(natOf("ip", { masquerade: { flags: ["random", "persistent"] } })).toEqual([{ kind: "nat", type: "masquerade", flags: ["random", "persistent"] }]);
    expect(natOf("ip", { snat: { addr: "1.2.3.4", flags: "fully-random" } })[0]).toMatchObject({ type: "snat", flags: ["fully-random"] });
    expect(natOf("ip", { redirect: { port: 8080 } })[0]).toMatchObject({ type: "redirect", port: { value: 8080 } });
  });

  it("an ip6 table's nat address is an IPv6 address", () => {
    expect(natOf("ip6", { dnat: { addr: "fd00::1", port: 80 } })[0]).toMatchObject({ addr: { type: "ipv6_addr", value: "fd00::1" } });
  });
});

describe("nft JSON: what the reader does not evaluate is kept", () => {
  it("known expressions (rt, socket, exthdr...) are kept as written, without a warning", () => {
    const left = { exthdr: { name: "frag", field: "more-fragments" } };
    const { ruleset, diagnostics } = parse(doc(rule([{ match: { op: "==", left, right: 1 } }])));
    expect(diagnostics).toEqual([]);
    expect(firstRule(ruleset).stmts[0]).toMatchObject({ kind: "match", left: { kind: "other", name: "exthdr", text: JSON.stringify(left) } });
  });

  it("an unknown expression is kept as its JSON text, with a located warning", () => {
    const text = doc(rule([{ match: { op: "==", left: { wormhole: { key: "x" } }, right: 1 } }]));
    const { ruleset, diagnostics } = parse(text);
    expect(firstRule(ruleset).stmts[0]).toMatchObject({ left: { kind: "other", name: "wormhole", text: '{"wormhole":{"key":"x"}}' } });
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ severity: "warning", line: 1, col: text.indexOf('{"wormhole"') + 1 });
  });

  it("kept JSON text is the value as written, whitespace, escapes and brackets in strings included", () => {
    const text = '{"nftables": [{"table": {"family": "inet", "name": "t"}}, {"chain": {"family": "inet", "table": "t", "name": "c"}}, {"rule": {"family": "inet", "table": "t", "chain": "c", "expr": [ {"dup" : { "addr" : "a]\\"}" ,\n "x": [1, {}] } } , {"accept": null}]}}]}';
    const { ruleset, diagnostics } = parse(text);
    expect(diagnostics).toEqual([]);
    expect(firstRule(ruleset).stmts[0]).toEqual({ kind: "other", name: "dup", text: '{"dup" : { "addr" : "a]\\"}" ,\n "x": [1, {}] } }' });
  });

  it("an unknown statement is kept as its JSON text, with a warning; known ones (dup, tproxy, flow) without", () => {
    const { ruleset, diagnostics } = parse(doc(rule([{ teleport: { to: "mars" } }, { dup: { addr: "10.0.0.1" } }, { flow: { op: "add", flowtable: "@ft" } }])));
    expect(firstRule(ruleset).stmts).toEqual([
      { kind: "other", name: "teleport", text: '{"teleport":{"to":"mars"}}' },
      { kind: "other", name: "dup", text: '{"dup":{"addr":"10.0.0.1"}}' },
      { kind: "other", name: "flow", text: '{"flow":{"op":"add","flowtable":"@ft"}}' },
    ]);
    expect(diagnostics.map((d) => d.severity)).toEqual(["warning"]);
    expect(diagnostics[0]!.message).toContain('"teleport"');
  });

  it("a statement that cannot be read is reported and stays in the rule as written", () => {
    const { ruleset, diagnostics } = parse(doc(rule([{ match: { op: "~~", left: tcpDport, right: 1 } }, { accept: null }])));
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ severity: "error", message: 'unknown match operator "~~"' });
    expect(firstRule(ruleset).stmts.map((s) => s.kind)).toEqual(["other", "verdict"]);
  });
});
