/**
 * nft values are numbers where a number holds them exactly and bigints beyond (values.ts): the
 * answers are those of the all-bigint arithmetic they replaced, at the edges too (2^32 - 1,
 * 2^53 - 1 and 2^53, 64-bit values, 128-bit IPv6 addresses). Each law checks the new code
 * against plain bigint arithmetic, which is what the evaluator used to do.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { anyBits, addressNum, bitAnd, bitOr, bitXor, constScalar, int, valKey } from "../../src/model/nft-values.js";
import { compileSet, lookup } from "../../src/netfilter/nft/sets.js";
import { binop } from "../../src/netfilter/nft/expr/binop.js";
import { constant } from "../../src/netfilter/nft/expr/constant.js";
import { planOf, relational } from "../../src/netfilter/nft/relational.js";
import type { NftEnv } from "../../src/netfilter/nft/expr/env.js";
import type { NftBinop, NftConst, NftExpr, NftMatch } from "../../src/model/nft.js";
import { ipToBigInt, ipToNum } from "../../src/model/address.js";

const P32 = 2n ** 32n;
const P53 = 2n ** 53n;
const EDGES = [0n, 1n, 0xffn, 0x4000n, 0xffffn, P32 - 2n, P32 - 1n, P32, P32 + 1n, P53 - 2n, P53 - 1n, P53, P53 + 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 127n, 2n ** 128n - 1n];

/** An integer from 0 to 2^128 - 1, edge values often. */
const wide = fc.oneof(
  fc.constantFrom(...EDGES),
  fc.bigInt({ min: 0n, max: P32 + 5n }),
  fc.bigInt({ min: P53 - 5n, max: P53 + 5n }),
  fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }),
);

const k = (value: number | bigint | string, type = "integer"): NftConst => ({ kind: "const", type, value });
/** The parser's own choice of representation: a number up to 2^53 - 1, a bigint beyond. */
const parsed = (b: bigint): number | bigint => (b <= P53 - 1n ? Number(b) : b);

/** An environment whose sub-expressions are constants (all binop's operands here are). */
const env = { eval: (e: NftExpr) => constant(e as NftConst, env as unknown as NftEnv) } as unknown as NftEnv;

describe("one representation per value", () => {
  it("int(): a number exactly when it is a safe integer, and the same integer", () => {
    fc.assert(fc.property(fc.oneof(wide, wide.map((x) => -x)), (b) => {
      const v = int(b);
      expect(typeof v === "number").toBe(b >= -(P53 - 1n) && b <= P53 - 1n);
      expect(BigInt(v)).toBe(b);
      // The same hash key as the bigint had.
      expect(valKey(v)).toBe(`n${b.toString(16)}`);
    }));
  });

  it("a constant reads the same whether the parser gave a number or a bigint", () => {
    fc.assert(fc.property(wide, (b) => {
      const a = constScalar(k(parsed(b)));
      const c = constScalar(k(b));
      expect(a).toBe(c);
      expect(BigInt(a as number | bigint)).toBe(b);
    }));
  });

  it("addresses: IPv4 as numbers, IPv6 as the 128-bit integer (a number below 2^53)", () => {
    for (const a of ["0.0.0.0", "10.96.0.10", "255.255.255.255", "::", "::1", "::ffff:ffff", "::20:0:0:0", "::1f:ffff:ffff:ffff", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]) {
      const n = addressNum(a)!;
      const want = ipToBigInt(ipToNum(a, a.includes(":") ? "ipv6" : "ipv4")!);
      expect(BigInt(n)).toBe(want);
      expect(n).toBe(int(want));
    }
  });
});

describe("arithmetic agrees with bigint arithmetic", () => {
  it("& | ^ and any-bits, at any width", () => {
    fc.assert(fc.property(wide, wide, (a, b) => {
      const x = int(a);
      const y = int(b);
      expect(bitAnd(x, y)).toBe(int(a & b));
      expect(bitOr(x, y)).toBe(int(a | b));
      expect(bitXor(x, y)).toBe(int(a ^ b));
      expect(anyBits(x, y)).toBe((a & b) !== 0n);
    }));
  });

  it("binop, shifts included (a 32-bit register loses the bits shifted out)", () => {
    const U32 = P32 - 1n;
    const old: Record<NftBinop["op"], (a: bigint, b: bigint) => bigint> = {
      "&": (a, b) => a & b, "|": (a, b) => a | b, "^": (a, b) => a ^ b,
      "<<": (a, b) => (a <= U32 ? (a << b) & U32 : a << b), ">>": (a, b) => a >> b,
    };
    fc.assert(fc.property(wide, wide, fc.bigInt({ min: 0n, max: 70n }), fc.constantFrom<NftBinop["op"]>("&", "|", "^", "<<", ">>"), (a, b, s, op) => {
      const right = op === "<<" || op === ">>" ? s : b;
      const r = binop({ kind: "binop", op, left: k(parsed(a)), right: k(parsed(right)) }, env);
      expect(r).toEqual({ val: int(old[op](a, right)) });
    }));
  });
});

describe("sets and tests agree with bigint comparisons", () => {
  it("a set of values, prefixes and ranges finds what bigint comparison finds", () => {
    const item = fc.oneof(
      wide.map((v) => ({ lo: v, hi: v })),
      fc.tuple(wide, wide).map(([x, y]) => (x <= y ? { lo: x, hi: y } : { lo: y, hi: x })),
    );
    fc.assert(fc.property(fc.array(item, { minLength: 1, maxLength: 8 }), fc.array(wide, { maxLength: 8 }), (items, probes) => {
      const s = compileSet("s", items.map((x) => ({ key: x.lo === x.hi ? k(parsed(x.lo)) : { kind: "range", lo: k(parsed(x.lo)), hi: k(parsed(x.hi)) } })));
      for (const v of [...probes, ...items.flatMap((x) => [x.lo, x.hi, x.lo - 1n, x.hi + 1n]).filter((x) => x >= 0n)]) {
        const want = items.findIndex((x) => x.lo <= v && v <= x.hi);
        // The value as the evaluator now makes it, and as a caller's bigint.
        expect(lookup(s, int(v))).toBe(want < 0 ? undefined : want);
        expect(lookup(s, v)).toBe(want < 0 ? undefined : want);
      }
    }));
  });

  it("a 32-bit prefix and a 128-bit prefix: ends and one past them", () => {
    const v4: NftExpr = { kind: "prefix", base: k("10.96.0.0", "ipv4_addr"), len: 12 };
    const v6: NftExpr = { kind: "prefix", base: k("2001:db8::", "ipv6_addr"), len: 32 };
    const s4 = compileSet("v4", [{ key: v4 }]);
    const s6 = compileSet("v6", [{ key: v6 }]);
    const lo6 = 0x20010db8n << 96n;
    expect([0x0a600000n - 1n, 0x0a600000n, 0x0a6fffffn, 0x0a700000n].map((v) => lookup(s4, int(v)))).toEqual([undefined, 0, 0, undefined]);
    expect([lo6 - 1n, lo6, lo6 + (1n << 96n) - 1n, lo6 + (1n << 96n)].map((v) => lookup(s6, int(v)))).toEqual([undefined, 0, 0, undefined]);
  });

  it("a test against one value, prefix or range answers as the one-element set's lookup", () => {
    const right = fc.oneof(
      wide.map((v): NftExpr => k(parsed(v))),
      fc.tuple(wide, wide).map(([x, y]): NftExpr => ({ kind: "range", lo: k(parsed(x <= y ? x : y)), hi: k(parsed(x <= y ? y : x)) })),
      fc.tuple(fc.bigInt({ min: 0n, max: P32 - 1n }), fc.integer({ min: 0, max: 32 })).map(([b, len]): NftExpr => ({ kind: "prefix", base: k(parsed(b), "ipv4_addr"), len })),
      fc.constantFrom<NftExpr>(k("eth0", "ifname"), k("veth", "ifname")),
    );
    const left = fc.oneof(wide.map((v) => int(v)), fc.constantFrom("eth0", "veth", ""));
    fc.assert(fc.property(right, left, fc.constantFrom<NftMatch["op"]>("==", "!="), (r, l, op) => {
      // (A name against a number is `iif 3`'s question, which has its own answer.)
      fc.pre(!(typeof l === "string" && r.kind === "const" && typeof r.value !== "string"));
      const m: NftMatch = { kind: "match", left: { kind: "meta", key: "mark" }, op, right: r };
      const set = compileSet("value", [{ key: r }]);
      const want = (lookup(set, l) !== undefined) !== (op === "!=");
      expect(relational(m, planOf(m), l, env)).toBe(want);
    }));
  });
});
