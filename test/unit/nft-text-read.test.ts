/** The nft text reader, construct by construct; refusals are the ones nft 1.0.6 makes (checked with nft -c -f in a netns). */
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../../src/model/diagnostics.js";
import type { NftRule, NftRuleset, NftStmt } from "../../src/model/nft.js";
import { parseNftText } from "../../src/nft/text/index.js";

function read(text: string): { rs: NftRuleset; errors: Diagnostic[]; warnings: Diagnostic[] } {
  const { ruleset, diagnostics } = parseNftText(text, "t.nft");
  return { rs: ruleset, errors: diagnostics.filter((d) => d.severity === "error"), warnings: diagnostics.filter((d) => d.severity === "warning") };
}

/** The rules of the first chain of `table ip t { chain c { ... } }`. */
function rules(body: string, family = "ip"): NftRule[] {
  const { rs, errors } = read(`table ${family} t {\n\tchain c {\n${body}\n\t}\n}\n`);
  expect(errors).toEqual([]);
  return rs.tables[0]!.chains[0]!.rules;
}

function stmts(rule: string, family = "ip"): NftStmt[] {
  return rules(`\t\t${rule}`, family)[0]!.stmts;
}

const strip = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x) => (k === "span" ? undefined : x)));

describe("nft text reader: tables and chains", () => {
  it("reads a base chain: type, hook, priority by name and offset, policy", () => {
    const { rs, errors } = read("table inet f {\n\tchain input {\n\t\ttype filter hook input priority filter + 10; policy drop;\n\t}\n}\n");
    expect(errors).toEqual([]);
    expect(rs.source).toBe("list");
    expect(rs.tables[0]!.chains[0]!.base).toEqual({ type: "filter", hook: "input", priority: 10, priorityText: "filter + 10", policy: "drop" });
  });

  it("priority names are per family: bridge has its own numbers", () => {
    const { rs } = read("table bridge b {\n\tchain f {\n\t\ttype filter hook forward priority filter; policy accept;\n\t}\n\tchain o {\n\t\ttype filter hook output priority out; policy accept;\n\t}\n}\n");
    expect(rs.tables[0]!.chains.map((c) => c.base!.priority)).toEqual([-200, 100]);
  });

  it("reads devices of netdev chains, table flags and comments, handles of nft -a", () => {
    const { rs, errors } = read(`table netdev n { # handle 4
\tflags dormant
\tcomment "edge"
\tchain i { # handle 1
\t\ttype filter hook ingress devices = { d0, d1 } priority filter; policy accept;
\t\tcounter packets 1 bytes 2 accept # handle 7
\t}
}
`);
    expect(errors).toEqual([]);
    const t = rs.tables[0]!;
    expect([t.handle, t.flags, t.comment]).toEqual([4, ["dormant"], "edge"]);
    expect(t.chains[0]!.handle).toBe(1);
    expect(t.chains[0]!.base!.devices).toEqual(["d0", "d1"]);
    expect(t.chains[0]!.rules[0]!.handle).toBe(7);
  });

  it("marks tables iptables-nft manages, wherever nft's warning landed", () => {
    const { rs } = read("table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t\txt match set counter packets 0 bytes 0\n\t}\n}# Warning: table ip filter is managed by iptables-nft, do not touch!\n");
    expect(rs.tables[0]!.managedBy).toBe("iptables-nft");
    expect(rs.tables[0]!.chains[0]!.rules[0]!.stmts[0]).toEqual({ kind: "xt", type: "match", name: "set" });
  });
});

describe("nft text reader: iptables-nft's silent -m comment", () => {
  it("two spaces in a rule of a table iptables-nft manages are an xt comment match; elsewhere just spacing", () => {
    const listing = "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp dport 22  counter packets 0 bytes 0 accept\n\t}\n}\n";
    const managed = read(listing + "# Warning: table ip filter is managed by iptables-nft, do not touch!\n").rs;
    expect(managed.tables[0]!.chains[0]!.rules[0]!.stmts.map((s) => s.kind)).toEqual(["match", "xt", "counter", "verdict"]);
    expect(read(listing).rs.tables[0]!.chains[0]!.rules[0]!.stmts.map((s) => s.kind)).toEqual(["match", "counter", "verdict"]);
  });
});

describe("nft text reader: values resolve against the left side's datatype", () => {
  it("ct state lists are one bitmask, matched implicitly (any of the bits)", () => {
    expect(strip(stmts("ct state established,related accept")[0])).toEqual({
      kind: "match", left: { kind: "ct", key: "state" }, op: "implicit", right: { kind: "const", type: "ct_state", value: 6 },
    });
  });

  it("ports in an anonymous set are inet_service, service names resolve", () => {
    const m = stmts("tcp dport { 22, http, 443 } accept")[0]!;
    expect(m.kind === "match" && m.right.kind === "set" && m.right.elements.map((e) => e.key.kind === "const" && e.key.value)).toEqual([22, 80, 443]);
  });

  it("a concatenation vmap and a map element with a goto", () => {
    const { rs, errors } = read(`table ip k {
\tmap service-ips {
\t\ttype ipv4_addr . inet_proto . inet_service : verdict
\t\telements = { 10.96.0.10 . tcp . 53 : goto service-X }
\t}

\tchain services {
\t\tip daddr . meta l4proto . th dport vmap @service-ips
\t}
}
`);
    expect(errors).toEqual([]);
    const el = rs.tables[0]!.sets[0]!.elements[0]!;
    expect(strip(el)).toEqual({
      key: { kind: "concat", parts: [{ kind: "const", type: "ipv4_addr", value: "10.96.0.10" }, { kind: "const", type: "inet_proto", value: 6 }, { kind: "const", type: "inet_service", value: 53 }] },
      data: { kind: "verdict", verdict: "goto", chain: "service-X" },
    });
    expect(rs.tables[0]!.chains[0]!.rules[0]!.stmts[0]!.kind).toBe("vmap");
  });

  it("numgen and jhash", () => {
    expect(strip(stmts("numgen random mod 2 vmap { 0 : goto a, 1 : goto b }")[0])).toMatchObject({ kind: "vmap", key: { kind: "numgen", mode: "random", mod: 2, offset: 0 } });
    expect(strip(stmts("jhash ip saddr . tcp sport mod 2 seed 0x1 offset 3 3 accept")[0])).toMatchObject({
      kind: "match", left: { kind: "hash", mode: "jhash", mod: 2, seed: 1, offset: 3 }, right: { kind: "const", type: "integer", value: 3 },
    });
  });

  it("mark set mark or 0x4000 is a mangle of meta mark with a binop", () => {
    expect(strip(stmts("mark set mark or 0x4000")[0])).toEqual({
      kind: "mangle", target: { kind: "meta", key: "mark" },
      value: { kind: "binop", op: "|", left: { kind: "meta", key: "mark" }, right: { kind: "const", type: "mark", value: 0x4000 } },
    });
  });

  it("tcp flags VALUE / MASK is a masked comparison", () => {
    expect(strip(stmts("tcp flags syn / fin,syn,rst,ack")[0])).toEqual({
      kind: "match", op: "==", right: { kind: "const", type: "tcp_flag", value: 2 },
      left: { kind: "binop", op: "&", left: { kind: "payload", protocol: "tcp", field: "flags" }, right: { kind: "const", type: "tcp_flag", value: 0x17 } },
    });
  });

  it("prefixes, ranges, ranges of quoted strings, exists/missing", () => {
    expect(strip(stmts("ip saddr != 10.0.0.0/8")[0])).toMatchObject({ op: "!=", right: { kind: "prefix", len: 8 } });
    expect(strip(stmts("tcp dport 1024-65535")[0])).toMatchObject({ right: { kind: "range", lo: { value: 1024 }, hi: { value: 65535 } } });
    expect(strip(stmts('meta hour "10:00"-"11:00"')[0])).toMatchObject({ right: { kind: "range", lo: { value: 36000 }, hi: { value: 39600 } } });
    expect(strip(stmts("fib saddr . iif oif missing drop")[0])).toMatchObject({ right: { kind: "const", type: "boolean", value: 0 } });
  });

  it("interface names: quoted, unquoted and wildcards", () => {
    expect(stmts('oifname "veth*" iifname eth0').map((s) => (s as { right: unknown }).right)).toEqual([
      { kind: "const", type: "ifname", value: "veth", wildcard: true },
      { kind: "const", type: "ifname", value: "eth0" },
    ]);
  });

  it("says which datatype a wrong value is not", () => {
    const { errors } = read("table ip t {\n\tchain c {\n\t\tct state bogus accept\n\t}\n}\n");
    expect(errors[0]).toMatchObject({ line: 3, col: 12, message: "bogus is not a value of type ct_state", found: "bogus" });
  });
});

describe("nft text reader: statements", () => {
  it("nat: addresses with ports, ranges, IPv6 in brackets, maps giving address and port", () => {
    expect(strip(stmts("dnat ip to 10.0.0.1:8080", "inet")[0])).toEqual({
      kind: "nat", type: "dnat", family: "ip", flags: [], addr: { kind: "const", type: "ipv4_addr", value: "10.0.0.1" }, port: { kind: "const", type: "inet_service", value: 8080 },
    });
    expect(strip(stmts("dnat to 10.0.0.1-10.0.0.5:80-90 random,persistent")[0])).toMatchObject({ addr: { kind: "range" }, port: { kind: "range" }, flags: ["random", "persistent"] });
    expect(strip(stmts("snat ip6 to [2001:db8::1]:80", "inet")[0])).toMatchObject({ addr: { type: "ipv6_addr", value: "2001:db8::1" }, port: { value: 80 } });
    expect(strip(stmts("redirect to :8080")[0])).toEqual({ kind: "nat", type: "redirect", flags: [], port: { kind: "const", type: "inet_service", value: 8080 } });
    const { rs } = read("table ip k {\n\tmap m {\n\t\ttype ipv4_addr : ipv4_addr . inet_service\n\t}\n\n\tchain c {\n\t\tdnat to ip daddr map @m\n\t}\n}\n");
    expect(rs.tables[0]!.chains[0]!.rules[0]!.stmts[0]).toMatchObject({ kind: "nat", addrPort: true, addr: { kind: "map" } });
  });

  it("counter, log, limit, quota, reject, queue, objrefs, set statements", () => {
    const s = stmts('counter packets 1 bytes 2 log prefix "x " level info group 2 limit rate over 10/second burst 20 packets quota over 100 mbytes used 1 kbytes');
    expect(strip(s)).toEqual([
      { kind: "counter", packets: 1, bytes: 2 },
      { kind: "log", prefix: "x ", level: "info", group: 2 },
      { kind: "limit", rate: 10, per: "second", over: true, burst: 20 },
      { kind: "quota", bytes: 100 * 1024 * 1024, unit: "mbytes", over: true, used: 1024, usedUnit: "kbytes" },
    ]);
    expect(strip(stmts("reject with icmp type port-unreachable")[0])).toEqual({ kind: "reject", type: "icmp", code: "port-unreachable" });
    expect(strip(stmts('ct helper set "ftp"')[0])).toEqual({ kind: "objref", type: "ct helper", name: { kind: "const", type: "ct helper", value: "ftp" } });
    expect(strip(stmts("update @s { ip saddr timeout 10s limit rate over 10/second }")[0])).toMatchObject({
      kind: "setop", op: "update", set: "s", key: { kind: "payload" }, timeout: 10000, stmts: [{ kind: "limit" }],
    });
    expect(strip(stmts("queue flags bypass to 1-3")[0])).toEqual({ kind: "queue", flags: ["bypass"], num: "1-3" });
  });

  it("keeps what it does not model as other, with a warning, and the rule goes on being read", () => {
    const { rs, warnings } = read("table ip t {\n\tchain c {\n\t\tct count over 3 drop\n\t\tdup to 10.0.0.1 device \"eth0\"\n\t}\n}\n");
    const [a, b] = rs.tables[0]!.chains[0]!.rules;
    expect(a!.stmts).toEqual([{ kind: "other", name: "ct count", text: "ct count over 3" }, { kind: "verdict", verdict: "drop" }]);
    expect(b!.stmts).toEqual([{ kind: "other", name: "dup", text: 'dup to 10.0.0.1 device "eth0"' }]);
    expect(warnings.length).toBe(2);
  });

  it("a rule that cannot be read is kept as written, with its handle, and reported", () => {
    const { rs, errors } = read('table ip t {\n\tchain c {\n\t\ticmp type echo-request ip saddr . "lo" @s counter packets 1 bytes 84 # handle 4\n\t\taccept # handle 5\n\t}\n}\n');
    expect(errors.length).toBe(1);
    expect(rs.tables[0]!.chains[0]!.rules.map((r) => [r.handle, r.stmts])).toEqual([
      [4, [{ kind: "other", name: "rule", text: 'icmp type echo-request ip saddr . "lo" @s counter packets 1 bytes 84' }]],
      [5, [{ kind: "verdict", verdict: "accept" }]],
    ]);
  });

  it("a rule comment and an expression kept as other (tcp option)", () => {
    const r = rules('\t\ttcp option maxseg size 1460 accept comment "mss"')[0]!;
    expect(r.comment).toBe("mss");
    expect(r.stmts[0]).toMatchObject({ left: { kind: "other", name: "tcp option", text: "tcp option maxseg size" } });
  });
});

describe("nft text reader: sets, maps, objects, flowtables", () => {
  it("set declarations with typeof, flags, timeout and element options", () => {
    const { rs, errors } = read(`table ip t {
\tset s {
\t\ttypeof ip saddr . tcp dport
\t\tsize 1000
\t\tflags timeout
\t\ttimeout 1h
\t\telements = { 1.2.3.4 . 80 timeout 10s expires 9s992ms,
\t\t\t     5.6.7.8 . 443 counter packets 1 bytes 2 comment "hi" }
\t}
}
`);
    expect(errors).toEqual([]);
    const s = rs.tables[0]!.sets[0]!;
    expect([s.keyType, s.size, s.flags, s.timeout]).toEqual([["ipv4_addr", "inet_service"], 1000, ["timeout"], 3600000]);
    expect(s.elements.map((e) => [e.timeout, e.expires, e.counter, e.comment])).toEqual([[10000, 9992, undefined, undefined], [undefined, undefined, { packets: 1, bytes: 2 }, "hi"]]);
  });

  it("objects and flowtables", () => {
    const { rs, errors } = read(`table inet o {
\tcounter c {
\t\tpackets 5 bytes 300
\t}

\tct helper h {
\t\ttype "ftp" protocol tcp
\t\tl3proto ip
\t}

\tflowtable f {
\t\thook ingress priority filter
\t\tdevices = { d0, d1 }
\t}
}
`);
    expect(errors).toEqual([]);
    const t = rs.tables[0]!;
    expect(t.objects.map((o) => [o.type, o.name, o.props])).toEqual([
      ["counter", "c", [{ key: "packets", value: 5 }, { key: "bytes", value: 300 }]],
      ["ct helper", "h", [{ key: "type", value: '"ftp" protocol tcp' }, { key: "l3proto", value: "ip" }]],
    ]);
    expect(strip(t.flowtables[0])).toEqual({ name: "f", hook: "ingress", priority: 0, priorityText: "filter", devices: ["d0", "d1"], flags: [] });
  });
});

describe("nft text reader: scripts", () => {
  it("applies commands: add, insert, define, delete, flush, include", () => {
    const { rs, errors, warnings } = read(`#!/usr/sbin/nft -f
define web = { 80, 443 }
include "/etc/nftables.d/*.nft"
flush ruleset
add table inet f
add chain inet f input { type filter hook input priority 0; policy drop; }
add rule inet f input tcp dport $web accept
insert rule inet f input ct state established,related accept
add set inet f blocked { type ipv4_addr; }
add element inet f blocked { 10.0.0.1, 10.0.0.2 }
delete element inet f blocked { 10.0.0.1 }
add table ip gone
delete table ip gone
`);
    expect(errors).toEqual([]);
    expect(warnings.map((w) => w.message)).toEqual(['include "/etc/nftables.d/*.nft" is not followed: what it adds is missing from this ruleset']);
    expect(rs.source).toBe("script");
    expect(rs.includes).toEqual([{ file: "/etc/nftables.d/*.nft", span: { line: 3, col: 1, len: 7 } }]);
    expect(rs.defines?.map((d) => [d.name, d.value])).toEqual([["web", "{ 80, 443 }"]]);
    expect(rs.tables.map((t) => t.name)).toEqual(["f"]);
    const chain = rs.tables[0]!.chains[0]!;
    expect(chain.rules.map((r) => r.stmts[0]!.kind === "match" && r.stmts[0]!.left.kind)).toEqual(["ct", "payload"]);
    expect(rs.tables[0]!.sets[0]!.elements.map((e) => e.key.kind === "const" && e.key.value)).toEqual(["10.0.0.2"]);
  });

  it("block syntax with ;-separated statements on one line", () => {
    const { rs, errors } = read("table ip t { chain c { type filter hook input priority 0; policy accept; tcp dport 22 accept; drop; }; }\n");
    expect(errors).toEqual([]);
    expect(rs.tables[0]!.chains[0]!.rules.length).toBe(2);
  });

  it("refuses what nft refuses: commands on missing tables, unknown variables, redefinitions", () => {
    expect(read("add rule ip nosuch c accept\n").errors[0]).toMatchObject({ line: 1, col: 13, message: "table ip nosuch does not exist (add it first)" });
    expect(read("add table ip t\nadd chain ip t c\nadd rule ip t c tcp dport $nope accept\n").errors[0]).toMatchObject({ line: 3, col: 27, message: "$nope is not defined" });
    expect(read("define p = 22\ndefine p = 23\n").errors[0]).toMatchObject({ line: 2, col: 8 });
  });

  it("nft 1.0.6 wants a newline or ; before a closing brace after an item (same columns as nft -c)", () => {
    for (const [text, col] of [
      ["table ip t { chain c { accept } }", 31],
      ["table ip t { chain c { accept; } }", 34],
      ["table ip t { set s { type ipv4_addr } }", 37],
      ["table ip t { flags dormant }", 28],
      ["table ip t { chain c { type filter hook input priority 0; policy drop } ; }", 71],
    ] as const) {
      // nft stops at its first syntax error; the reader goes on, so compare the first.
      expect(read(text + "\n").errors.map((e) => [e.line, e.col])[0]).toEqual([1, col]);
    }
    for (const text of ["table ip t { chain c { accept; }; }", "table ip t { set s { type ipv4_addr; elements = { 1.1.1.1 } }; }", "table ip t { chain c { }; }"]) {
      expect(read(text + "\n").errors).toEqual([]);
    }
  });

  it("names are unquoted in nft 1.0.6: quoted table, chain, set names and jump targets are refused", () => {
    const { errors } = read('table ip "t" {\n\tchain "c" {\n\t\tjump "d"\n\t}\n}\n');
    expect(errors.map((e) => [e.line, e.col, e.message])).toEqual([
      [1, 10, "nft 1.0.6 takes a table name unquoted"],
      [2, 8, "nft 1.0.6 takes a chain name unquoted"],
      [3, 8, "nft 1.0.6 takes the chain name unquoted"],
    ]);
  });

  it("a known expression with an unknown key is refused at the key, as nft does", () => {
    expect(read("table ip t { chain c { meta constructor 1; }; }\n").errors[0]).toMatchObject({ col: 29, found: "constructor" });
    expect(read("table ip t { chain c { ip foo 1; }; }\n").errors[0]).toMatchObject({ col: 27, found: "foo" });
  });
});

describe("nft text reader: pasted text, limits", () => {
  it("finds the ruleset inside prose with a prompt and a fence; positions stay the original ones", () => {
    const text = "My firewall drops everything, here is the ruleset:\n\n```\n# nft list ruleset\ntable ip t {\n\tchain c {\n\t\ttcp dport bogus accept\n\t}\n}\n```\nAny idea?\n";
    const { rs, errors } = read(text);
    expect(rs.tables.map((t) => t.name)).toEqual(["t"]);
    expect(errors.map((e) => [e.line, e.col])).toEqual([[7, 13]]);
    const info = parseNftText(text, "t.nft").diagnostics.find((d) => d.severity === "info");
    expect(info?.message).toMatch(/lines 1, 3-4, 10-11/);
  });

  it("reads a ruleset quoted in markdown (> ...), columns kept", () => {
    const { rs, errors } = read("> table ip t {\n> \tchain c {\n> \t\ttcp dport bogus\n> \t}\n> }\n");
    expect(rs.tables.length).toBe(1);
    expect(errors.map((e) => [e.line, e.col])).toEqual([[3, 15]]);
  });

  it("no input overflows the stack: 100k nested braces and parentheses are refused past the depth limit", () => {
    for (const text of ["{".repeat(100_000), `table ip t { chain c { ip saddr ${"{".repeat(100_000)}`, `table ip t { chain c { meta mark ${"(".repeat(100_000)}`, `table ip t { chain c { ${"jump { ".repeat(100_000)}`]) {
      expect(() => parseNftText(text, "deep.nft")).not.toThrow();
    }
    expect(read(`table ip t { chain c { ip saddr ${"{".repeat(100_000)}`).errors[0]!.message).toBe("nesting deeper than 64 levels");
  });

  it("defines cannot grow without bound", () => {
    const text = Array.from({ length: 40 }, (_, i) => (i === 0 ? "define a0 = { 1, 2 }" : `define a${i} = { $a${i - 1}, $a${i - 1} }`)).join("\n");
    expect(read(text).errors[0]!.message).toMatch(/defines expand to more than/);
  });

  it("reads nothing from text without nft", () => {
    expect(read("hello there, nothing to see\n").errors[0]!.message).toBe("no nftables ruleset or script found");
  });
});
