/**
 * A relational statement's test: equality and membership (constants, prefixes, ranges,
 * wildcard names, concatenations of them, anonymous and named sets) through one lookup path,
 * bitmask types' "any of these bits" for the implicit operator, and ordering comparisons.
 */
import type { NftConst, NftExpr, NftMatch, NftSetLiteral, NftSetRef } from "../../model/nft.js";
import { compileSet, type CompiledSet } from "./sets.js";
import { lookup, loneInterval } from "./sets.js";
import { anyBits, BITMASK_TYPES, constScalar, isInt, type PartialBits, type Scalar, type Val, type XVal } from "../../model/nft-values.js";
import type { NftEnv } from "./expr/env.js";
import { findElement, setMemo } from "./expr/lookup.js";

export type Test = boolean | { indeterminate: string } | Extract<XVal, { choose: unknown }>;

/**
 * What a relational statement's right side calls for, found once per statement: a packet's
 * walk meets the same few tests over and over, and telling their kind apart (a datatype's
 * name in a set, literals walked for a one-element set) cost more than the tests.
 */
export interface Plan {
  /** A set or map on the right (membership), or why the operator cannot test one. */
  set: boolean;
  badSetOp: boolean;
  /** A number where the left may be an interface name (`iif 3`). */
  ifIndex: boolean;
  /** `exists` / `missing`: whether the expression should have found something. */
  want: boolean | undefined;
  /** A bitmask type's "any of these bits" (implicit) or "none of them" (!=). */
  bits: number | bigint | undefined;
  ordering: boolean;
  /** A constant, prefix, range or concatenation of them, as a one-element set. */
  literal: CompiledSet | undefined;
  /**
   * The literal's test without the set, where it is one value (not a wildcard name) or one
   * interval: what the lookup would answer for a number or a name on the left, in a compare.
   */
  one: { kind: "value"; v: Scalar } | { kind: "interval"; lo: number | bigint; hi: number | bigint } | undefined;
}

const PLANS = new WeakMap<NftMatch, Plan>();

export function planOf(m: NftMatch): Plan {
  let p = PLANS.get(m);
  if (!p) PLANS.set(m, (p = makePlan(m)));
  return p;
}

function makePlan(m: NftMatch): Plan {
  const r = m.right;
  const lit = literal(r) ? compileSet("value", [{ key: r }]) : undefined;
  const set = r.kind === "set" || r.kind === "setref";
  const isConst = r.kind === "const";
  return {
    set,
    badSetOp: set && m.op !== "implicit" && m.op !== "==" && m.op !== "!=",
    ifIndex: isConst && r.type !== "boolean" && typeof r.value !== "string",
    want: isConst && r.type === "boolean" ? constScalar(r) !== 0 : undefined,
    bits: isConst && BITMASK_TYPES.has(r.type) && (m.op === "implicit" || m.op === "!=") ? bitsOf(constScalar(r)) : undefined,
    ordering: m.op === "<" || m.op === ">" || m.op === "<=" || m.op === ">=",
    literal: lit,
    one: lit === undefined || lit.problems.length ? undefined
      : r.kind === "const" ? (r.wildcard ? undefined : { kind: "value", v: constScalar(r) })
      : r.kind === "prefix" || r.kind === "range" ? intervalOf(loneInterval(lit)) : undefined,
  };
}

const intervalOf = (x: { lo: number | bigint; hi: number | bigint } | undefined): Plan["one"] => (x ? { kind: "interval", lo: x.lo, hi: x.hi } : undefined);

/**
 * The literal's test on a number or a name (a list, a bigint: through the lookup). Values have
 * one representation each (values.ts), so the lookup's keys are equal exactly when the values
 * are; a name is never in an interval.
 */
function oneTest(one: NonNullable<Plan["one"]>, left: Val): boolean | undefined {
  if (typeof left === "number") return one.kind === "value" ? left === one.v : one.lo <= left && left <= one.hi;
  if (typeof left === "string") return one.kind === "value" ? left === one.v : false;
  return undefined;
}

/** Whether every leaf of `e` is a literal a set element may hold. */
function literal(e: NftExpr): boolean {
  if (e.kind === "const" || e.kind === "prefix" || e.kind === "range") return true;
  return e.kind === "concat" && e.parts.every(literal);
}

/** A bitmask constant's bits (a name there, which no reader gives, tests nothing, as before). */
const bitsOf = (v: Scalar): number | bigint | undefined => (isInt(v) ? v : undefined);

const truthy = (v: Val): boolean => (typeof v === "number" ? v !== 0 : typeof v === "bigint" ? v !== 0n : typeof v === "string" ? v !== "" : v.length > 0);

/** The test of `m` (its plan, planOf's) on its left side's value. */
export function relational(m: NftMatch, plan: Plan, left: Val, env: NftEnv): Test {
  const r = m.right;
  const negate = m.op === "!=";
  if (plan.set) {
    if (plan.badSetOp) return { indeterminate: `${m.op} against a set` };
    const f = findElement(r as NftSetLiteral | NftSetRef, left, env);
    if ("indeterminate" in f) return f;
    return f.found !== negate;
  }
  if (plan.ifIndex && typeof left === "string") {
    // `iif 3`: an interface by index, which names do not give.
    const c = r as NftConst;
    return { indeterminate: `${c.type} ${c.value}: the node facts do not give interface indexes` };
  }
  if (plan.want !== undefined) {
    // `exists` / `missing`: whether the expression found anything.
    return (truthy(left) === plan.want) !== negate;
  }
  if (plan.bits !== undefined && isInt(left)) {
    // nft compiles both to a masked compare: any of the bits (implicit), none of them (!=).
    return anyBits(left, plan.bits) !== negate;
  }
  if (plan.ordering) {
    const rv = rightValue(r, env);
    if (!("val" in rv)) return "absent" in rv ? false : rv;
    const a = left;
    const b = rv.val;
    if (!isInt(a) || !isInt(b)) return { indeterminate: `${m.op} between values that are not numbers` };
    // (A number and a bigint compare exactly: values of either representation order as integers.)
    return m.op === "<" ? a < b : m.op === ">" ? a > b : m.op === "<=" ? a <= b : a >= b;
  }
  if (plan.literal) {
    const t = plan.one !== undefined ? oneTest(plan.one, left) : undefined;
    return (t ?? lookup(plan.literal, left) !== undefined) !== negate;
  }
  const rv = rightValue(r, env);
  if (!("val" in rv)) return "absent" in rv ? false : rv;
  return (sameVal(left, rv.val)) !== negate;
}

/** A relational statement's test on its left side's value: relational with its plan, specialized once. */
export type Tester = (left: Val, env: NftEnv) => Test;

/**
 * relational for `m`, its plan's kind of test chosen once per statement instead of per packet:
 * a membership, a bitmask's bits of an integer, one value or interval of a number; any other
 * case (a left side of another type, another operator) is relational's own.
 */
export function testOf(m: NftMatch): Tester {
  const plan = planOf(m);
  const negate = m.op === "!=";
  const general: Tester = (left, env) => relational(m, plan, left, env);
  if (plan.set) {
    if (plan.badSetOp) return general;
    const set = m.right as NftSetLiteral | NftSetRef;
    const memo = setMemo();
    return (left, env) => {
      const f = findElement(set, left, env, memo);
      if ("indeterminate" in f) return f;
      return f.found !== negate;
    };
  }
  // relational's order: a number on the left passes the interface-index test untouched.
  if (plan.want !== undefined) return general;
  const bits = plan.bits;
  if (bits !== undefined) return (left, env) => (isInt(left) ? anyBits(left, bits) !== negate : general(left, env));
  const one = plan.one;
  if (plan.ordering || !plan.literal || one === undefined) return general;
  if (one.kind === "value") {
    const v = one.v;
    // A number constant compared as one: a compare of values of any type is the engine's generic (and slower) equality.
    if (typeof v === "number") return (left, env) => (typeof left === "number" ? (left === v) !== negate : general(left, env));
    // A number is never strictly equal to a bigint or a name.
    return (left, env) => (typeof left === "number" ? negate : general(left, env));
  }
  const { lo, hi } = one;
  return (left, env) => (typeof left === "number" ? (lo <= left && left <= hi) !== negate : general(left, env));
}

/**
 * A test of a bitmask some of whose bits are unknown: decided when the known bits decide it
 * (any-of with a known bit set, or only known bits tested; equality already broken by a known
 * bit), else undefined.
 */
export function partialTest(m: NftMatch, p: PartialBits): boolean | undefined {
  const r = m.right;
  if (r.kind !== "const") return undefined;
  const c = constScalar(r);
  if (!isInt(c)) return undefined;
  const want = BigInt(c);
  const negate = m.op === "!=";
  const known = ~p.unknown;
  if (BITMASK_TYPES.has(r.type) && (m.op === "implicit" || m.op === "!=")) {
    if ((p.bits & want & known) !== 0n) return !negate;
    return (want & p.unknown) === 0n ? negate : undefined;
  }
  if (m.op === "implicit" || m.op === "==" || m.op === "!=") {
    if (((p.bits ^ want) & known) !== 0n) return negate;
    return undefined;
  }
  return undefined;
}

function rightValue(r: NftExpr, env: NftEnv): XVal {
  return env.eval(r);
}

function sameVal(a: Val, b: Val): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => x === b[i]);
  }
  return a === b;
}
