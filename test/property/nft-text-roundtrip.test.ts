/**
 * The nft printer and text reader are each other's oracle: a generated ruleset AST prints,
 * reads back to itself, and printing what was read gives the same text (a fixpoint).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NftChain, NftElement, NftExpr, NftRule, NftRuleset, NftSet, NftStmt, NftTable } from "../../src/model/nft.js";
import { printNftRuleset } from "../../src/nft/print/index.js";
import { printPriority } from "../../src/nft/text/priority.js";
import { parseNftText } from "../../src/nft/text/index.js";

const S = { line: 1, col: 1, len: 1 };

const strip = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x) => (k === "span" ? undefined : x)));

const octet = fc.integer({ min: 0, max: 255 });
const addr = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));
const c = (type: string, value: number | string): NftExpr => ({ kind: "const", type, value });
const port = fc.integer({ min: 0, max: 65535 });
const name = fc.constantFrom("a", "b", "c1", "svc-1", "x_y");

/** A relation in the form nft lists it (no `==` where it would print implicit). */
const matchArb: fc.Arbitrary<NftStmt> = fc.oneof(
  fc.tuple(addr, fc.constantFrom<"implicit" | "!=">("implicit", "!=")).map(([a, op]) => ({ kind: "match", left: { kind: "payload", protocol: "ip", field: "saddr" }, op, right: c("ipv4_addr", a) }) as NftStmt),
  fc.tuple(addr, fc.integer({ min: 0, max: 32 })).map(([a, len]) => ({ kind: "match", left: { kind: "payload", protocol: "ip", field: "daddr" }, op: "implicit", right: { kind: "prefix", base: { kind: "const", type: "ipv4_addr", value: a }, len } }) as NftStmt),
  fc.tuple(port, port).map(([lo, hi]) => ({ kind: "match", left: { kind: "payload", protocol: "tcp", field: "dport" }, op: "implicit", right: { kind: "range", lo: { kind: "const", type: "inet_service", value: Math.min(lo, hi) }, hi: { kind: "const", type: "inet_service", value: Math.max(lo, hi) } } }) as NftStmt),
  fc.uniqueArray(port, { minLength: 1, maxLength: 6 }).map((ps) => ({ kind: "match", left: { kind: "payload", protocol: "udp", field: "dport" }, op: "implicit", right: { kind: "set", elements: ps.map((p) => ({ key: c("inet_service", p) })) } }) as NftStmt),
  fc.constantFrom(2, 4, 6, 8, 1, 64, 14).map((bits) => ({ kind: "match", left: { kind: "ct", key: "state" }, op: "implicit", right: c("ct_state", bits) }) as NftStmt),
  fc.nat({ max: 0xffffffff }).map((m) => ({ kind: "match", left: { kind: "meta", key: "mark" }, op: "!=", right: c("mark", m) }) as NftStmt),
  fc.constantFrom(6, 17, 1, 47).map((p) => ({ kind: "match", left: { kind: "meta", key: "l4proto" }, op: "implicit", right: c("inet_proto", p) }) as NftStmt),
  fc.tuple(fc.constantFrom("eth0", "lo", "veth1"), fc.boolean()).map(([n, wild]) => {
    const right: NftExpr = wild ? { kind: "const", type: "ifname", value: n, wildcard: true } : c("ifname", n);
    return { kind: "match", left: { kind: "meta", key: "iifname" }, op: "implicit", right } as NftStmt;
  }),
);

const actionArb = (chains: string[]): fc.Arbitrary<NftStmt> =>
  fc.oneof(
    fc.tuple(fc.nat(1000), fc.nat(100000)).map(([packets, bytes]) => ({ kind: "counter", packets, bytes }) as NftStmt),
    fc.constantFrom<NftStmt>({ kind: "verdict", verdict: "accept" }, { kind: "verdict", verdict: "drop" }, { kind: "verdict", verdict: "return" }, { kind: "notrack" }),
    fc.constantFrom(...chains).map((ch) => ({ kind: "verdict", verdict: "jump", chain: ch }) as NftStmt),
    fc.nat({ max: 0xffffffff }).map((m) => ({ kind: "mangle", target: { kind: "meta", key: "mark" }, value: c("mark", m) }) as NftStmt),
    fc.constantFrom("in: ", "x").map((prefix) => ({ kind: "log", prefix }) as NftStmt),
  );

const ruleArb = (chains: string[]): fc.Arbitrary<NftRule> =>
  fc.tuple(fc.array(matchArb, { maxLength: 3 }), fc.array(actionArb(chains), { minLength: 1, maxLength: 2 }), fc.option(fc.constantFrom("ok", "svc a"), { nil: undefined }))
    .map(([m, a, comment]) => {
      const r: NftRule = { stmts: [...m, ...a], span: S };
      if (comment !== undefined) r.comment = comment;
      return r;
    });

const setArb: fc.Arbitrary<NftSet> = fc.tuple(fc.uniqueArray(addr, { maxLength: 8 }), fc.boolean()).map(([as, counter]) => {
  const s: NftSet = { kind: "set", name: "blocked", keyType: ["ipv4_addr"], flags: [], elements: as.map((a): NftElement => ({ key: c("ipv4_addr", a) })), span: S };
  if (counter) s.counter = true;
  return s;
});

const tableArb: fc.Arbitrary<NftTable> = fc
  .tuple(fc.constantFrom<"ip" | "inet">("ip", "inet"), fc.uniqueArray(name, { minLength: 1, maxLength: 3 }), fc.option(setArb, { nil: undefined }), fc.integer({ min: -20, max: 20 }))
  .chain(([family, names, set, prio]) =>
    fc.tuple(...names.map(() => fc.array(ruleArb(names), { maxLength: 4 }))).map((ruleLists) => {
      const chains: NftChain[] = names.map((n, i) => ({ name: n, rules: ruleLists[i]!, span: S }));
      chains[0]!.base = { type: "filter", hook: "input", priority: prio, priorityText: printPriority(prio, family, "input"), policy: "drop" };
      return { family, name: "t", flags: [], chains, sets: set ? [set] : [], objects: [], flowtables: [], span: S } as NftTable;
    }),
  );

describe("nft printer and text reader round trip", () => {
  it("parse(print(ast)) is ast, and print(parse(text)) is text", () => {
    fc.assert(
      fc.property(tableArb, (table) => {
        const rs: NftRuleset = { source: "list", tables: [table] };
        const text = printNftRuleset(rs);
        const back = parseNftText(text, "generated.nft");
        expect(back.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
        expect(strip(back.ruleset)).toEqual(strip(rs));
        expect(printNftRuleset(back.ruleset)).toBe(text);
        expect(printNftRuleset(back.ruleset, { handles: true, numeric: true })).toBe(printNftRuleset(parseNftText(printNftRuleset(back.ruleset, { handles: true, numeric: true }), "n.nft").ruleset, { handles: true, numeric: true }));
      }),
      { numRuns: 300 },
    );
  });

  it("no input crashes the reader: random mixes of nft words and punctuation", () => {
    const word = fc.constantFrom("table", "ip", "inet", "t", "chain", "c", "{", "}", ";", "\n", "type", "filter", "hook", "input", "priority", "0", "policy", "drop", "tcp", "dport", "22", "ct", "state", "established", ",", "meta", "mark", "set", "or", "0x1", "@s", "map", "vmap", ":", ".", "jump", "define", "$x", "=", "add", "rule", "\"s\"", "#", "(", ")", "/", "-", "elements", "dnat", "to", "10.0.0.1:80", "counter", "flags");
    fc.assert(
      fc.property(fc.array(word, { maxLength: 60 }), (ws) => {
        const r = parseNftText(ws.join(" "), "fuzz.nft");
        expect(Array.isArray(r.diagnostics)).toBe(true);
        printNftRuleset(r.ruleset);
      }),
      { numRuns: 500 },
    );
  });
});
