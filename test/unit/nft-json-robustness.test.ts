/**
 * The nft JSON reader on bad and hostile input: every error located with what was expected,
 * no input crashing it, nesting bounded, big rulesets read in one linear pass.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_EXPR_DEPTH } from "../../src/nft/json/reader.js";
import { doc, parse, rule } from "./nft-json-support.js";

const REAL = readFileSync(resolve(import.meta.dirname, "../fixtures/nft-json/inet-filter-nat.json"), "utf8");

describe("nft JSON errors are located", () => {
  it("text that is not JSON: where it stops being JSON", () => {
    const { ruleset, diagnostics } = parse('{"nftables": [\n  {"table": {"family": "ip",, "name": "t"}}]}');
    expect(ruleset.tables).toEqual([]);
    expect(diagnostics).toEqual([expect.objectContaining({ severity: "error", line: 2, col: 29, message: expect.stringContaining("not valid JSON") })]);
  });

  it("JSON without the nftables list", () => {
    expect(parse('{"tables": []}').diagnostics.map((d) => [d.line, d.col, d.message, d.expected])).toEqual([[1, 1, 'no "nftables" list', '{"nftables": [...]}']]);
    expect(parse("[1, 2]").diagnostics.map((d) => d.expected)).toEqual(["an object"]);
  });

  it("a wrong or missing field says which and what was expected, at the value", () => {
    const text = '{"nftables": [\n{"table": {"family": "ipx", "name": "t"}},\n{"table": {"family": "ip"}},\n{"table": {"family": "ip", "name": 7}}]}';
    expect(parse(text).diagnostics.map((d) => [d.line, d.col, d.message])).toEqual([
      [2, 22, 'table: unknown family "ipx"'],
      [3, 11, 'table has no "name"'],
      [4, 36, 'table "name": found the number 7'],
    ]);
  });

  it("missing parts of an expression or statement are named, at the object", () => {
    const text = doc(rule([{ match: { op: "==", left: { meta: { key: "mark" } } } }, { vmap: {} }]));
    expect(parse(text).diagnostics.map((d) => [d.message, d.expected, d.col])).toEqual([
      ['match has no "right"', '"left", "right"', text.indexOf('{"op":"=="') + 1],
      ['vmap statement has no "key" and "data"', '"key", "data"', text.indexOf('{"vmap":{}}') + 9],
    ]);
  });

  it("an object with several keys where one is expected", () => {
    const { diagnostics } = parse(doc(rule([{ accept: null, drop: null }])));
    expect(diagnostics.map((d) => [d.message, d.expected])).toEqual([["statement: found an object with 2 keys", "an object with one key, the statement's kind"]]);
  });

  it("a value of the wrong type for its left side", () => {
    const { diagnostics } = parse(doc(rule([{ match: { op: "==", left: { payload: { protocol: "tcp", field: "dport" } }, right: "not-a-port-name" } }])));
    expect(diagnostics).toEqual([expect.objectContaining({ severity: "error", expected: "a value of type inet_service", found: "not-a-port-name" })]);
  });

  it("a keyword nft does not take: which field, what it says, what nft takes", () => {
    const { ruleset, diagnostics } = parse(doc(rule([{ match: { op: "in", left: { ct: { key: "state", dir: "sideways" } }, right: "new" } }, { reject: { type: "icmpz" } }])));
    expect(diagnostics.map((d) => [d.message, d.expected])).toEqual([
      ['ct expression "dir": unknown "sideways"', '"original", "reply"'],
      ['reject statement "type": unknown "icmpz"', '"icmp", "icmpv6", "icmpx", "tcp reset"'],
    ]);
    // Both statements stay in the rule, as written, so it is evaluated as unknown.
    expect(ruleset.tables[0]!.chains[0]!.rules[0]!.stmts.map((s) => s.kind)).toEqual(["other", "other"]);
  });

  it("a newer JSON schema than nft 1.0.6's is said", () => {
    const { diagnostics } = parse(JSON.stringify({ nftables: [{ metainfo: { version: "9.9", json_schema_version: 2 } }] }));
    expect(diagnostics.map((d) => d.severity)).toEqual(["warning"]);
    expect(diagnostics[0]!.message).toContain("JSON schema version 2");
  });

  it("a key given twice", () => {
    const { diagnostics } = parse('{"nftables": [{"table": {"family": "ip", "name": "a", "name": "b"}}]}');
    expect(diagnostics.map((d) => d.message)).toEqual(['"name" given twice in table']);
  });
});

describe("nft JSON nesting is bounded", () => {
  it("100 000 nested lists: an error, no stack overflow", () => {
    const text = `{"nftables": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const { diagnostics } = parse(text);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]!.message).toMatch(/nested deeper than/);
  });

  it("100 000 nested expressions in a rule: an error, no stack overflow", () => {
    const text = doc(rule([{ match: { op: "==", left: { meta: { key: "mark" } }, right: 0 } }])).replace('"right":0', `"right":${'{"|":['.repeat(100_000)}1${",1]}".repeat(100_000)}`);
    const { diagnostics } = parse(text);
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(diagnostics[0]!.message).toMatch(/nested deeper than/);
  });

  it("expressions deeper than the reader's own limit, though within JSON's: a located error, the rule kept", () => {
    const deep = (n: number): unknown => (n === 0 ? 1 : { "|": [deep(n - 1), 1] });
    const { ruleset, diagnostics } = parse(doc(rule([{ mangle: { key: { meta: { key: "mark" } }, value: deep(MAX_EXPR_DEPTH + 5) } }])));
    expect(diagnostics.map((d) => d.message)).toEqual([expect.stringContaining(`nested deeper than ${MAX_EXPR_DEPTH} levels`)]);
    expect(ruleset.tables[0]!.chains[0]!.rules[0]!.stmts[0]!.kind).toBe("other");
  });
});

describe("nft JSON reads any input without crashing", () => {
  it("a real listing cut short anywhere, or with a character changed, gives diagnostics, never an exception", () => {
    // A fixed pseudo-random sequence, so a failure reproduces.
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const chars = ['"', "{", "}", "[", "]", ",", ":", "0", "-", "a", "@", " ", "null", "true", "1e999", "\\u0000"];
    for (let k = 0; k < 400; k++) {
      const at = next() % REAL.length;
      const mutated = k % 2 ? REAL.slice(0, at) : REAL.slice(0, at) + chars[next() % chars.length] + REAL.slice(at + 1);
      expect(() => parse(mutated)).not.toThrow();
    }
  });

  it("every ruleset object and statement of a real listing replaced by each JSON value kind", () => {
    const values = ["null", "true", "1", '"x"', "[]", "{}", '{"a":1,"b":2}', "[[1,2]]", "-1", "1.5", "99999999999999999999"];
    const spots = [...REAL.matchAll(/"(table|chain|set|map|rule|expr|match|left|right|elem|prefix|range|concat|payload|meta|ct|fib|numgen|jhash|vmap|data|key|value|addr|port|flags|dnat|snat|counter|limit|quota|log|reject|mangle|jump|type|prio|policy|handle|timeout|val|op)": /g)];
    // Every sixth spot: each kind of key is still hit many times over.
    for (const m of spots.filter((_, k) => k % 6 === 0)) {
      const start = m.index! + m[0].length;
      for (const v of values) {
        const text = REAL.slice(0, start) + v + skipValue(REAL, start);
        expect(() => parse(text)).not.toThrow();
      }
    }
  });
});

/** The text after the JSON value starting at `at` (a scan of brackets and strings; the fixture is valid JSON). */
function skipValue(text: string, at: number): string {
  let depth = 0;
  let i = at;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (depth === 0) return text.slice(i + 1);
    } else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (depth === 0) return text.slice(i);
      if (--depth === 0) return text.slice(i + 1);
    } else if (depth === 0 && c === ",") return text.slice(i);
  }
  return "";
}

describe("nft JSON scales linearly", () => {
  it("10 000 chains added and deleted by commands (removals are applied once, at the end)", () => {
    const N = 10_000;
    const chain = (k: number) => ({ family: "inet", table: "t", name: `c${k}` });
    const items: unknown[] = [{ add: { table: { family: "inet", name: "t" } } }];
    for (let k = 0; k < N; k++) items.push({ add: { chain: chain(k) } });
    for (let k = 1; k < N; k++) items.push({ delete: { chain: chain(k) } });
    const { ruleset, diagnostics } = parse(JSON.stringify({ nftables: items }));
    expect(diagnostics).toEqual([]);
    expect(ruleset.tables[0]!.chains.map((c) => c.name)).toEqual(["c0"]);
  });

  it("a kube-proxy-like ruleset of 10 000 services: every rule in its chain, every element in its map", () => {
    const N = 10_000;
    const items: unknown[] = [
      { table: { family: "ip", name: "kube-proxy", handle: 1 } },
      {
        map: {
          family: "ip",
          name: "service-ips",
          table: "kube-proxy",
          type: ["ipv4_addr", "inet_proto", "inet_service"],
          handle: 2,
          map: "verdict",
          elem: Array.from({ length: N }, (_, k) => [{ concat: [`10.96.${k >> 8}.${k & 255}`, "tcp", 80] }, { goto: { target: `service-${k}` } }]),
        },
      },
      { chain: { family: "ip", table: "kube-proxy", name: "services", handle: 3 } },
    ];
    for (let k = 0; k < N; k++) items.push({ chain: { family: "ip", table: "kube-proxy", name: `service-${k}`, handle: 10 + k } });
    for (let k = 0; k < N; k++) {
      items.push({
        rule: {
          family: "ip",
          table: "kube-proxy",
          chain: `service-${k}`,
          handle: 20_000 + k,
          expr: [{ vmap: { key: { numgen: { mode: "random", mod: 2, offset: 0 } }, data: { set: [[0, { goto: { target: `service-${(k + 1) % N}` } }], [1, { goto: { target: "services" } }]] } } }],
        },
      });
    }
    items.push({ rule: { family: "ip", table: "kube-proxy", chain: "services", handle: 3, expr: [{ vmap: { key: { concat: [{ payload: { protocol: "ip", field: "daddr" } }, { meta: { key: "l4proto" } }, { payload: { protocol: "th", field: "dport" } }] }, data: "@service-ips" } }] } });
    const { ruleset, diagnostics } = parse(JSON.stringify({ nftables: items }));
    expect(diagnostics).toEqual([]);
    const t = ruleset.tables[0]!;
    expect(t.sets[0]!.elements).toHaveLength(N);
    expect(t.chains).toHaveLength(N + 1);
    expect(t.chains.every((c) => c.rules.length === 1)).toBe(true);
    expect(t.chains[N]!.rules[0]!.handle).toBe(20_000 + N - 1);
  });
});
