/**
 * A relational statement's test: equality and membership (constants, prefixes, ranges,
 * wildcard names, concatenations of them, anonymous and named sets) through one lookup path,
 * bitmask types' "any of these bits" for the implicit operator, and ordering comparisons.
 */
import type { NftExpr, NftMatch } from "../../model/nft.js";
import { compileSet, type CompiledSet } from "./sets.js";
import { lookup } from "./sets.js";
import { BITMASK_TYPES, constScalar, type PartialBits, type Val, type XVal } from "./values.js";
import type { NftEnv } from "./expr/env.js";
import { findElement } from "./expr/lookup.js";

export type Test = boolean | { indeterminate: string } | Extract<XVal, { choose: unknown }>;

const single = new WeakMap<NftExpr, CompiledSet>();

/** A constant, prefix, range or concatenation as a one-element set, compiled once. */
function asSet(e: NftExpr): CompiledSet {
  let s = single.get(e);
  if (!s) {
    s = compileSet("value", [{ key: e }]);
    single.set(e, s);
  }
  return s;
}

/** Whether every leaf of `e` is a literal a set element may hold. */
function literal(e: NftExpr): boolean {
  if (e.kind === "const" || e.kind === "prefix" || e.kind === "range") return true;
  return e.kind === "concat" && e.parts.every(literal);
}

const truthy = (v: Val): boolean => (typeof v === "bigint" ? v !== 0n : typeof v === "string" ? v !== "" : v.length > 0);

export function relational(m: NftMatch, left: Val, env: NftEnv): Test {
  const r = m.right;
  const negate = m.op === "!=";
  if (r.kind === "set" || r.kind === "setref") {
    if (m.op !== "implicit" && m.op !== "==" && m.op !== "!=") return { indeterminate: `${m.op} against a set` };
    const f = findElement(r, left, env);
    if ("indeterminate" in f) return f;
    return f.found !== negate;
  }
  if (typeof left === "string" && r.kind === "const" && r.type !== "boolean" && typeof r.value !== "string") {
    // `iif 3`: an interface by index, which names do not give.
    return { indeterminate: `${r.type} ${r.value}: the node facts do not give interface indexes` };
  }
  if (r.kind === "const" && r.type === "boolean") {
    // `exists` / `missing`: whether the expression found anything.
    const want = constScalar(r) !== 0n;
    return (truthy(left) === want) !== negate;
  }
  if (r.kind === "const" && BITMASK_TYPES.has(r.type) && (m.op === "implicit" || m.op === "!=") && typeof left === "bigint") {
    const bits = constScalar(r) as bigint;
    // nft compiles both to a masked compare: any of the bits (implicit), none of them (!=).
    return ((left & bits) !== 0n) !== negate;
  }
  if (m.op === "<" || m.op === ">" || m.op === "<=" || m.op === ">=") {
    const rv = rightValue(r, env);
    if (!("val" in rv)) return "absent" in rv ? false : rv;
    const a = left;
    const b = rv.val;
    if (typeof a !== "bigint" || typeof b !== "bigint") return { indeterminate: `${m.op} between values that are not numbers` };
    return m.op === "<" ? a < b : m.op === ">" ? a > b : m.op === "<=" ? a <= b : a >= b;
  }
  if (literal(r)) return (lookup(asSet(r), left) !== undefined) !== negate;
  const rv = rightValue(r, env);
  if (!("val" in rv)) return "absent" in rv ? false : rv;
  return (sameVal(left, rv.val)) !== negate;
}

/**
 * A test of a bitmask some of whose bits are unknown: decided when the known bits decide it
 * (any-of with a known bit set, or only known bits tested; equality already broken by a known
 * bit), else undefined.
 */
export function partialTest(m: NftMatch, p: PartialBits): boolean | undefined {
  const r = m.right;
  if (r.kind !== "const") return undefined;
  const want = constScalar(r);
  if (typeof want !== "bigint") return undefined;
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
