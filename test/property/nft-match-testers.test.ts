/**
 * A relational statement's tester (testOf: its plan's kind of test chosen once per statement)
 * answers exactly what relational answers, for every right side and operator (bitmasks,
 * values, prefixes, ranges, sets, orderings, interface names, booleans) and every left value,
 * of the type the test expects or not.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { planOf, relational, testOf } from "../../src/netfilter/nft/relational.js";
import { evaluateExpr } from "../../src/netfilter/nft/expr/index.js";
import type { NftEnv } from "../../src/netfilter/nft/expr/env.js";
import type { NftExpr, NftMatch, NftOp } from "../../src/model/nft.js";
import type { Val } from "../../src/model/nft-values.js";
import { ctState, ifname, ip4, k, mark, match, port, prefix, range, set } from "../support/nft-build.js";

const rightArb: fc.Arbitrary<NftExpr> = fc.constantFrom<NftExpr>(
  ctState("new"), ctState("established", "related"), mark(0x4000), mark(0), k("integer", 2 ** 40),
  ip4("10.96.0.10"), prefix(ip4("10.96.0.0"), 12), range(port(80), port(90)), port(80),
  set(port(80), port(443)), set(ip4("10.96.0.10"), prefix(ip4("10.244.0.0"), 16)),
  ifname("eth0"), ifname("veth*"), k("boolean", 1), k("boolean", 0), k("integer", 3),
);
const opArb = fc.constantFrom<NftOp>("implicit", "==", "!=", "<", ">=");

const leftArb: fc.Arbitrary<Val> = fc.oneof(
  fc.constantFrom<Val>(0, 8, 2, 0x4000, 0x4001, 80, 85, 443, 0x0a60000a, 0x0af40001, 0xffffffff, 2 ** 40, 2n ** 70n, "eth0", "veth12", "", [80, 6]),
  fc.integer({ min: 0, max: 0xffffffff }),
);

/** What relational reads of the environment: the expression evaluator (a right side's value), nothing else for literals. */
const env = { eval(e: NftExpr) { return evaluateExpr(e, env); } } as unknown as NftEnv;

describe("a match's tester equals relational", () => {
  it("on every right side, operator and left value", () => {
    fc.assert(fc.property(rightArb, opArb, fc.array(leftArb, { minLength: 1, maxLength: 6 }), (right, op, lefts) => {
      const m: NftMatch = match({ kind: "meta", key: "mark" }, right, op);
      const test = testOf(m);
      for (const left of lefts) expect(test(left, env)).toEqual(relational(m, planOf(m), left, env));
    }), { numRuns: 3000 });
  });
});
