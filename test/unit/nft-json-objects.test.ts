/**
 * The nft JSON reader's ruleset objects: tables, chains, sets and maps with their elements,
 * stateful objects, flowtables, and the command form `nft -j -f` takes. The listing JSON is
 * nft 1.0.6's (`nft -j list ruleset` in a netns); the flowtable's is written from
 * libnftables-json(5), as this kernel has no flowtable support to list one.
 */
import { describe, expect, it } from "vitest";
import { META, noSpans, parse } from "./nft-json-support.js";

const listing = (...items: unknown[]) => JSON.stringify({ nftables: [META, ...items] });
const table = (family = "inet", name = "t") => ({ table: { family, name, handle: 1 } });

describe("nft JSON tables and chains", () => {
  it("a table with flags and comment, a regular chain and base chains with named priorities", () => {
    const { ruleset, diagnostics } = parse(
      listing(
        { table: { family: "ip", name: "nat", handle: 7, flags: ["dormant"], comment: "mine" } },
        { chain: { family: "ip", table: "nat", name: "web", handle: 1, comment: "regular" } },
        { chain: { family: "ip", table: "nat", name: "pre", handle: 2, type: "nat", hook: "prerouting", prio: -110, policy: "accept" } },
        { chain: { family: "ip", table: "nat", name: "post", handle: 3, type: "nat", hook: "postrouting", prio: 100, policy: "accept" } },
        { chain: { family: "ip", table: "nat", name: "in", handle: 4, type: "filter", hook: "input", prio: 5, policy: "drop" } },
      ),
    );
    expect(diagnostics).toEqual([]);
    const t = ruleset.tables[0]!;
    expect(ruleset.source).toBe("json");
    expect(noSpans(t)).toMatchObject({ family: "ip", name: "nat", handle: 7, flags: ["dormant"], comment: "mine" });
    expect(noSpans(t.chains)).toEqual([
      { name: "web", handle: 1, comment: "regular", rules: [] },
      { name: "pre", handle: 2, rules: [], base: { type: "nat", hook: "prerouting", priority: -110, priorityText: "dstnat - 10", policy: "accept" } },
      { name: "post", handle: 3, rules: [], base: { type: "nat", hook: "postrouting", priority: 100, priorityText: "srcnat", policy: "accept" } },
      { name: "in", handle: 4, rules: [], base: { type: "filter", hook: "input", priority: 5, priorityText: "filter + 5", policy: "drop" } },
    ]);
    expect(t.span).toEqual({ line: 1, col: expect.any(Number), len: 0 });
  });

  it("a table flag nft does not know is said: nft 1.0.6 writes a lone flag from freed memory (a dormant table listed \"d\" in a netns)", () => {
    const { ruleset, diagnostics } = parse(listing({ table: { family: "ip", name: "d", handle: 33, flags: "d" } }));
    expect(diagnostics.map((d) => d.severity)).toEqual(["warning"]);
    expect(diagnostics[0]!.message).toContain("whether the table is dormant is unknown");
    expect(ruleset.tables[0]!.flags).toEqual(["d"]);
    expect(parse(listing({ table: { family: "ip", name: "d", handle: 33, flags: ["dormant", "owner"] } })).diagnostics).toEqual([]);
  });

  it("priorities print as nft names them: by family and hook, numbers beyond reach (nft 1.0.6 listings)", () => {
    const prioText = (family: string, hook: string, prio: number) => {
      const { ruleset } = parse(listing(table(family), { chain: { family, table: "t", name: "c", handle: 1, type: "filter", hook, prio, policy: "accept" } }));
      return ruleset.tables[0]!.chains[0]!.base!.priorityText;
    };
    expect(prioText("bridge", "forward", -200)).toBe("filter");
    expect(prioText("ip6", "output", -150)).toBe("mangle");
    expect(prioText("netdev", "ingress", -500)).toBe("-500");
    expect(prioText("ip", "input", -100)).toBe("-100"); // dstnat is not a name at input
    // nft 1.0.6 names dstnat at prerouting and srcnat at postrouting only (checked in a netns).
    expect(prioText("ip", "input", 100)).toBe("100");
    expect(prioText("ip", "output", -90)).toBe("-90");
    expect(prioText("ip", "prerouting", -90)).toBe("dstnat + 10");
    expect(prioText("inet", "forward", 11)).toBe("11");
  });

  it("a netdev chain's devices; nft 1.0.6 leaving them out is said, as information", () => {
    const withDev = parse(listing(table("netdev"), { chain: { family: "netdev", table: "t", name: "i", handle: 1, type: "filter", hook: "ingress", prio: 0, policy: "accept", dev: ["eth0", "eth1"] } }));
    expect(withDev.diagnostics).toEqual([]);
    expect(withDev.ruleset.tables[0]!.chains[0]!.base!.devices).toEqual(["eth0", "eth1"]);
    const without = parse(listing(table("netdev"), { chain: { family: "netdev", table: "t", name: "i", handle: 1, type: "filter", hook: "ingress", prio: -500, policy: "accept" } }));
    expect(without.diagnostics.map((d) => d.severity)).toEqual(["info"]);
    expect(without.ruleset.tables[0]!.chains[0]!.base!.devices).toBeUndefined();
  });

  it("a chain of an undeclared table and a rule of an undeclared chain are located errors", () => {
    const text = listing({ chain: { family: "ip", table: "nope", name: "c", handle: 1 } }, table(), { rule: { family: "inet", table: "t", chain: "zz", handle: 2, expr: [] } });
    const { diagnostics } = parse(text);
    expect(diagnostics.map((d) => [d.severity, d.message])).toEqual([
      ["error", "chain c: no table ip nope before it"],
      ["error", "no chain zz in table inet t"],
    ]);
    expect(diagnostics[1]!.col).toBe(text.indexOf('{"family":"inet","table":"t","chain":"zz"') + 1);
  });
});

describe("nft JSON sets and maps", () => {
  const parseTable = (...items: unknown[]) => {
    const { ruleset, diagnostics } = parse(listing(table(), ...items));
    expect(diagnostics).toEqual([]);
    return noSpans(ruleset.tables[0]!.sets);
  };

  it("an interval set of prefixes, ranges and addresses", () => {
    const [s] = parseTable({ set: { family: "inet", name: "allowed", table: "t", type: "ipv4_addr", handle: 7, flags: ["interval"], elem: [{ prefix: { addr: "10.0.0.0", len: 8 } }, "172.16.0.1", { range: ["192.168.1.1", "192.168.1.9"] }] } });
    expect(s).toEqual({
      kind: "set",
      name: "allowed",
      handle: 7,
      keyType: ["ipv4_addr"],
      flags: ["interval"],
      elements: [
        { key: { kind: "prefix", base: { kind: "const", type: "ipv4_addr", value: "10.0.0.0" }, len: 8 } },
        { key: { kind: "const", type: "ipv4_addr", value: "172.16.0.1" } },
        { key: { kind: "range", lo: { kind: "const", type: "ipv4_addr", value: "192.168.1.1" }, hi: { kind: "const", type: "ipv4_addr", value: "192.168.1.9" } } },
      ],
    });
  });

  it("a concatenated set types each part, also prefixes and ranges within", () => {
    const [s] = parseTable({ set: { family: "inet", name: "tsz", table: "t", type: ["ipv4_addr", "inet_service"], handle: 10, flags: ["interval"], elem: [{ concat: [{ prefix: { addr: "10.0.0.0", len: 24 } }, { range: [80, 90] }] }] } });
    expect(s!.elements[0]!.key).toEqual({
      kind: "concat",
      parts: [
        { kind: "prefix", base: { kind: "const", type: "ipv4_addr", value: "10.0.0.0" }, len: 24 },
        { kind: "range", lo: { kind: "const", type: "inet_service", value: 80 }, hi: { kind: "const", type: "inet_service", value: 90 } },
      ],
    });
  });

  it("maps: verdict values, a concatenated value written as one string (nft 1.0.6), mark values", () => {
    const [vm, nat, marks] = parseTable(
      { chain: { family: "inet", table: "t", name: "web", handle: 20 } },
      { map: { family: "inet", name: "portmap", table: "t", type: "inet_service", handle: 11, map: "verdict", elem: [[22, { accept: null }], [80, { jump: { target: "web" } }]] } },
      { map: { family: "inet", name: "natmap", table: "t", type: ["ipv4_addr", "inet_service"], handle: 12, map: "ipv4_addr . inet_service", elem: [[{ concat: ["1.2.3.4", 80] }, { concat: ["10.0.0.1", 8080] }]] } },
      { map: { family: "inet", name: "marks", table: "t", type: "ifname", handle: 13, map: "mark", flags: ["interval"], elem: [["eth0", 1], ["veth*", 2]] } },
    );
    expect(vm).toMatchObject({ kind: "map", dataType: ["verdict"], elements: [{ key: { value: 22 }, data: { kind: "verdict", verdict: "accept" } }, { data: { verdict: "jump", chain: "web" } }] });
    expect(nat).toMatchObject({ keyType: ["ipv4_addr", "inet_service"], dataType: ["ipv4_addr", "inet_service"], elements: [{ data: { kind: "concat", parts: [{ type: "ipv4_addr" }, { type: "inet_service", value: 8080 }] } }] });
    expect(marks).toMatchObject({ elements: [{ key: { value: "eth0" }, data: { type: "mark", value: 1 } }, { key: { value: "veth", wildcard: true }, data: { value: 2 } }] });
  });

  it("set attributes: times in seconds become milliseconds; size, policy, auto-merge, comment, counter", () => {
    const [s] = parseTable({
      set: { family: "inet", name: "dyn", table: "t", type: "ipv4_addr", handle: 9, size: 65535, flags: ["dynamic", "timeout"], timeout: 30, "gc-interval": 5, policy: "memory", "auto-merge": true, comment: "c", stmt: [{ counter: null }] },
    });
    expect(s).toEqual({ kind: "set", name: "dyn", handle: 9, keyType: ["ipv4_addr"], flags: ["dynamic", "timeout"], timeout: 30000, gcInterval: 5000, size: 65535, policy: "memory", autoMerge: true, comment: "c", counter: true, elements: [] });
  });

  it("elements with timeout, expires, comment and counter", () => {
    const [s] = parseTable({ set: { family: "inet", name: "w", table: "t", type: "ipv4_addr", handle: 14, flags: ["timeout"], elem: [{ elem: { val: "1.1.1.1", timeout: 60, expires: 42, comment: "hi", counter: { packets: 1, bytes: 2 } } }] } });
    expect(s!.elements).toEqual([{ key: { kind: "const", type: "ipv4_addr", value: "1.1.1.1" }, timeout: 60000, expires: 42000, comment: "hi", counter: { packets: 1, bytes: 2 } }]);
  });

  it("a stateless listing's element counter (null) is read without complaint (the AST keeps no counter without values)", () => {
    const [s] = parseTable({ set: { family: "inet", name: "w", table: "t", type: "ipv4_addr", handle: 14, elem: [{ elem: { val: "1.1.1.1", comment: "hi", counter: null } }], stmt: [{ counter: null }] } });
    expect(s!.elements).toEqual([{ key: { kind: "const", type: "ipv4_addr", value: "1.1.1.1" }, comment: "hi" }]);
  });

  it("the catch-all element \"*\" (nft 1.0.6 listing), kept as the text reader keeps it", () => {
    const [s] = parseTable({ set: { family: "inet", name: "y", table: "t", type: "ipv4_addr", handle: 1, elem: [{ elem: { val: "1.1.1.1", counter: { packets: 0, bytes: 0 } } }, { elem: { val: "*", counter: { packets: 0, bytes: 0 } } }, "*"] } });
    expect(s!.elements.map((e) => e.key)).toEqual([{ kind: "const", type: "ipv4_addr", value: "1.1.1.1" }, { kind: "const", type: "raw", value: "*" }, { kind: "const", type: "raw", value: "*" }]);
  });

  it("a map element with attributes: [{elem: {...}}, VALUE]", () => {
    const [m] = parseTable({ map: { family: "inet", name: "m", table: "t", type: "ipv4_addr", map: "verdict", handle: 3, elem: [[{ elem: { val: "10.0.0.1", comment: "x" } }, { drop: null }]] } });
    expect(m!.elements).toEqual([{ key: { kind: "const", type: "ipv4_addr", value: "10.0.0.1" }, comment: "x", data: { kind: "verdict", verdict: "drop" } }]);
  });

  it("a typeof declaration (newer nft) keeps its expressions and takes their types", () => {
    const [s] = parseTable({ set: { family: "inet", name: "ty", table: "t", type: { typeof: { concat: [{ payload: { protocol: "ip", field: "saddr" } }, { payload: { protocol: "tcp", field: "dport" } }] } }, handle: 3, elem: [{ concat: ["10.0.0.1", 22] }] } });
    expect(s).toMatchObject({ keyType: ["ipv4_addr", "inet_service"], keyTypeof: [{ kind: "payload", field: "saddr" }, { kind: "payload", field: "dport" }], elements: [{ key: { parts: [{ type: "ipv4_addr" }, { type: "inet_service" }] } }] });
  });

  it("a typeof whose datatype is not known is said, and its elements read untyped rather than given a type", () => {
    const { ruleset, diagnostics } = parse(listing(table(), { set: { family: "inet", name: "ty", table: "t", type: { typeof: { map: { key: { meta: { key: "mark" } }, data: { set: [] } } } }, handle: 3, elem: [7] } }));
    expect(diagnostics.map((d) => d.message)).toEqual(['set ty "type": the datatype of this typeof expression is not known; its elements are read untyped']);
    expect(ruleset.tables[0]!.sets[0]).toMatchObject({ keyType: [], elements: [{ key: { kind: "const", type: "integer", value: 7 } }] });
  });

  it("an element the set's type does not take is a located error, kept as written", () => {
    const text = listing(table(), { set: { family: "inet", name: "s", table: "t", type: "ipv4_addr", handle: 3, elem: ["10.0.0.300"] } });
    const { ruleset, diagnostics } = parse(text);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ severity: "error", line: 1, col: text.indexOf('"10.0.0.300"') + 1, found: "10.0.0.300" });
    expect(ruleset.tables[0]!.sets[0]!.elements[0]!.key).toEqual({ kind: "const", type: "ipv4_addr", value: "10.0.0.300" });
  });
});

describe("nft JSON stateful objects and flowtables", () => {
  it("objects keep their properties as the lines of their block in nft 1.0.6's listing (one per line: first word, rest)", () => {
    const { ruleset, diagnostics } = parse(
      listing(
        table(),
        { counter: { family: "inet", name: "cnt1", table: "t", handle: 3, packets: 3, bytes: 100 } },
        { quota: { family: "inet", name: "q1", table: "t", handle: 4, bytes: 104857600, used: 10485760, inv: true } },
        { quota: { family: "inet", name: "q2", table: "t", handle: 4, bytes: 1000, used: 0, inv: false } },
        { limit: { family: "inet", name: "lim1", table: "t", handle: 5, rate: 10, per: "second", burst: 5 } },
        { limit: { family: "inet", name: "lim2", table: "t", handle: 5, rate: 2, per: "minute", burst: 7, inv: true } },
        { limit: { family: "inet", name: "lim3", table: "t", handle: 5, rate: 10, rate_unit: "mbytes", per: "second", burst: 2, burst_unit: "kbytes" } },
        { "ct helper": { family: "inet", name: "ftp-standard", table: "t", handle: 6, type: "ftp", protocol: "tcp", l3proto: "inet" } },
        { "ct timeout": { family: "inet", name: "cttime", table: "t", handle: 2, protocol: "tcp", l3proto: "ip", policy: { established: 120, close: 20 } } },
        { "ct expectation": { family: "inet", name: "cte", table: "t", handle: 3, protocol: "tcp", dport: 21, timeout: 10000, size: 8, l3proto: "ip" } },
        { synproxy: { family: "inet", name: "sp", table: "t", handle: 4, mss: 1460, wscale: 7, flags: ["timestamp", "sack-perm"] } },
        { secmark: { family: "inet", name: "sm", table: "t", handle: 7, context: "system_u:object_r:ssh_server_packet_t:s0" } },
        { counter: { family: "inet", name: "c2", table: "t", handle: 5, comment: "a counter", packets: 0, bytes: 0 } },
      ),
    );
    expect(diagnostics).toEqual([]);
    const props = (p: Array<{ key: string; value: string | number }>) => p.map((x) => (x.key === "" || x.value === "" ? `${x.key}${x.value}` : typeof x.value === "number" ? [x.key, x.value] : `${x.key} ${x.value}`));
    expect(ruleset.tables[0]!.objects.map((o) => [o.type, o.name, props(o.props)])).toEqual([
      ["counter", "cnt1", [["packets", 3], ["bytes", 100]]],
      ["quota", "q1", ["over 100 mbytes used 10 mbytes"]],
      ["quota", "q2", ["1000 bytes"]],
      ["limit", "lim1", ["rate 10/second"]],
      ["limit", "lim2", ["rate over 2/minute burst 7 packets"]],
      ["limit", "lim3", ["rate 10 mbytes/second burst 2 kbytes"]],
      ["ct helper", "ftp-standard", ['type "ftp" protocol tcp', "l3proto inet"]],
      ["ct timeout", "cttime", ["protocol tcp", "l3proto ip", "policy = { established : 120, close : 20 }"]],
      ["ct expectation", "cte", ["protocol tcp", "dport 21", "timeout 10s", "size 8", "l3proto ip"]],
      ["synproxy", "sp", ["mss 1460", "wscale 7", "timestamp sack-perm"]],
      ["secmark", "sm", ['"system_u:object_r:ssh_server_packet_t:s0"']],
      ["counter", "c2", [["packets", 0], ["bytes", 0]]],
    ]);
    expect(ruleset.tables[0]!.objects.at(-1)).toMatchObject({ handle: 5, comment: "a counter" });
  });

  it("an object's field of the wrong kind is a located error", () => {
    const { diagnostics } = parse(listing(table(), { counter: { family: "inet", name: "c", table: "t", handle: 3, packets: [1], bytes: 0 } }));
    expect(diagnostics.map((d) => [d.message, d.expected])).toEqual([['counter c "packets": found a list', "a number or a string"]]);
  });

  it("a flowtable: hook, priority, one device as a string or several as a list", () => {
    const { ruleset, diagnostics } = parse(
      listing(table(), { flowtable: { family: "inet", name: "ft", table: "t", handle: 2, hook: "ingress", prio: 0, dev: "eth0" } }, { flowtable: { family: "inet", name: "f2", table: "t", handle: 3, hook: "ingress", prio: 10, dev: ["eth0", "eth1"] } }),
    );
    expect(diagnostics).toEqual([]);
    expect(noSpans(ruleset.tables[0]!.flowtables)).toEqual([
      { name: "ft", handle: 2, hook: "ingress", priority: 0, priorityText: "filter", devices: ["eth0"], flags: [] },
      { name: "f2", handle: 3, hook: "ingress", priority: 10, priorityText: "filter + 10", devices: ["eth0", "eth1"], flags: [] },
    ]);
  });
});

describe("nft JSON commands (nft -j -f input)", () => {
  const cmds = (...items: unknown[]) => JSON.stringify({ nftables: items });
  const t = { family: "inet", name: "t" };
  const c = { family: "inet", table: "t", name: "c" };
  const r = (n: number, extra: Record<string, unknown> = {}) => ({ family: "inet", table: "t", chain: "c", expr: [{ match: { op: "==", left: { meta: { key: "mark" } }, right: n } }], ...extra });
  const marks = (text: string) => {
    const { ruleset, diagnostics } = parse(text);
    expect(diagnostics).toEqual([]);
    return ruleset.tables[0]!.chains[0]!.rules.map((x) => (x.stmts[0] as { right: { value: number } }).right.value);
  };

  it("add appends, insert puts first", () => {
    expect(marks(cmds({ add: { table: t } }, { add: { chain: c } }, { add: { rule: r(3) } }, { add: { rule: r(4) } }, { insert: { rule: r(2) } }, { insert: { rule: r(1) } }))).toEqual([1, 2, 3, 4]);
  });

  it("a command's handle is the kernel's: an add's is ignored, an insert by handle refused, a replace or delete by handle not applied (nft 1.0.6, in a netns)", () => {
    const listed = [{ table: { ...t, handle: 1 } }, { chain: { ...c, handle: 1 } }, { rule: r(10, { handle: 5 }) }];
    expect(marks(cmds(...listed, { add: { rule: r(20, { handle: 5 }) } }, { add: { rule: r(30) } }))).toEqual([10, 20, 30]);
    const insert = parse(cmds(...listed, { insert: { rule: r(1, { handle: 5 }) } }));
    expect(insert.diagnostics.map((d) => [d.severity, d.message])).toEqual([["error", expect.stringMatching(/^insert rule by handle 5: nft looks it up among the rules the kernel had before the batch/)]]);
    for (const cmd of [{ replace: { rule: r(1, { handle: 5 }) } }, { delete: { rule: { family: "inet", table: "t", chain: "c", handle: 5 } } }]) {
      const { ruleset, diagnostics } = parse(cmds(...listed, cmd));
      expect(diagnostics.map((d) => [d.severity, d.message])).toEqual([["warning", expect.stringMatching(/^(replace|delete) rule by handle 5 is not applied/)]]);
      expect(ruleset.tables[0]!.chains[0]!.rules).toHaveLength(1);
    }
  });

  it("a rule positioned by index; add puts it after, insert before", () => {
    expect(marks(cmds({ add: { table: t } }, { add: { chain: c } }, { add: { rule: r(1) } }, { add: { rule: r(3) } }, { add: { rule: r(2, { index: 0 }) } }, { insert: { rule: r(0, { index: 0 }) } }))).toEqual([0, 1, 2, 3]);
    const beyond = parse(cmds({ add: { table: t } }, { add: { chain: c } }, { add: { rule: r(1) } }, { add: { rule: r(2, { index: 1 }) } }));
    expect(beyond.diagnostics.map((d) => d.message)).toEqual(["no rule at index 1 in chain c (it has 1)"]);
  });

  it("flush and delete", () => {
    const text = cmds(
      { add: { table: t } },
      { add: { chain: c } },
      { add: { chain: { ...c, name: "d" } } },
      { add: { rule: r(1) } },
      { flush: { chain: c } },
      { add: { rule: r(2) } },
      { delete: { chain: { ...c, name: "d" } } },
      { add: { set: { family: "inet", table: "t", name: "s", type: "ipv4_addr" } } },
      { add: { element: { family: "inet", table: "t", name: "s", elem: ["10.0.0.1", "10.0.0.2"] } } },
    );
    const { ruleset, diagnostics } = parse(text);
    expect(diagnostics).toEqual([]);
    expect(ruleset.tables[0]!.chains.map((x) => x.name)).toEqual(["c"]);
    expect(ruleset.tables[0]!.chains[0]!.rules).toHaveLength(1);
    expect(ruleset.tables[0]!.sets[0]!.elements.map((e) => (e.key as { value: string }).value)).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(parse(cmds({ add: { table: t } }, { flush: { ruleset: null } })).ruleset.tables).toEqual([]);
  });

  it("what nft refuses in a batch: a rule naming a set or a chain its table lacks (also in a map), located", () => {
    const text = cmds(
      { add: { table: t } },
      { add: { chain: c } },
      { add: { rule: { ...r(1), expr: [{ match: { op: "==", left: { meta: { key: "mark" } }, right: "@nope" } }, { jump: { target: "gone" } }] } } },
      { add: { rule: { ...r(2), expr: [{ set: { op: "add", elem: { meta: { key: "mark" } }, set: "@nope2" } }, { vmap: { key: { meta: { key: "mark" } }, data: { set: [[1, { goto: { target: "c" } }], [2, { goto: { target: "gone2" } }]] } } }] } } },
    );
    const { diagnostics } = parse(text);
    expect(diagnostics.map((d) => [d.message, d.col])).toEqual([
      ['no set or map "nope" in table inet t', text.indexOf('"@nope"') + 1],
      ['jump to chain "gone", which table inet t does not have', text.indexOf('{"family":"inet","table":"t","chain":"c","expr":[{"match"') + 1],
      ['no set or map "nope2" in table inet t', text.indexOf('"@nope2"') + 1],
      ['goto to chain "gone2", which table inet t does not have', text.indexOf("[2,{") + 1],
    ]);
  });

  it("create of an existing table is refused, as nft refuses it; add is not", () => {
    expect(parse(cmds({ add: { table: t } }, { add: { table: t } })).diagnostics).toEqual([]);
    expect(parse(cmds({ add: { table: t } }, { create: { table: t } })).diagnostics.map((d) => d.message)).toEqual(["table inet t exists already"]);
  });

  it("a base chain's priority may be given by name in a command", () => {
    const { ruleset, diagnostics } = parse(cmds({ add: { table: t } }, { add: { chain: { ...c, type: "nat", hook: "prerouting", prio: "dstnat - 10", policy: "accept" } } }));
    expect(diagnostics).toEqual([]);
    expect(ruleset.tables[0]!.chains[0]!.base).toMatchObject({ priority: -110, priorityText: "dstnat - 10" });
  });

  it("commands that change nothing kept here are said to be not applied", () => {
    const { diagnostics } = parse(cmds({ add: { table: t } }, { list: { ruleset: null } }));
    expect(diagnostics.map((d) => [d.severity, d.message])).toEqual([["warning", "the list command is not applied"]]);
  });
});
