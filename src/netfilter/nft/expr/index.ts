/**
 * One evaluation function per expression: the kinds' (payload, meta, ct...) from their files
 * through the registry (src/extensions/nft/), the structures' (binop, concat, map lookups,
 * constants) from the files beside this one; looked up here.
 */
import { KIND_EVALUATORS, KIND_READERS } from "../../../extensions/nft/registry.js";
import type { NftExpr } from "../../../model/nft.js";
import type { XVal } from "../../../model/nft-values.js";
import type { NftEnv } from "./env.js";
import { binop, binopReader } from "./binop.js";
import { concat } from "./concat.js";
import { map } from "./map.js";
import { constant, notAValue } from "./constant.js";
import { exprText } from "../rule-text.js";

/** The kinds' evaluations as module constants: each call below is direct, as to a function of this module. */
const { payload, meta, ct, fib, numgen, hash, other } = KIND_EVALUATORS;

/** Each takes, third, how a trace names an expression (kinds label their alternatives with it). */
type Evaluators = { [K in NftExpr["kind"]]: (e: Extract<NftExpr, { kind: K }>, env: NftEnv, text: (e: NftExpr) => string) => XVal };

export const EXPRESSIONS: Evaluators = {
  payload, meta, ct, fib, numgen, hash, binop, concat, map, other,
  const: constant,
  prefix: notAValue, range: notAValue, set: notAValue, setref: notAValue, verdict: notAValue,
};

/** Nesting deeper than this is not followed (no input may exhaust the stack). */
const MAX_DEPTH = 64;

/** How deep the evaluation now is: evaluation is synchronous, so one counter serves every walk. */
let depth = 0;

/** Evaluates `e` for the environment's branch; sub-expressions come back through `env.eval`, here. */
export function evaluateExpr(e: NftExpr, env: NftEnv): XVal {
  if (depth >= MAX_DEPTH) return { indeterminate: `expression nested deeper than ${MAX_DEPTH}` };
  depth++;
  try {
    return dispatch(e, env);
  } finally {
    depth--;
  }
}

/**
 * EXPRESSIONS' evaluator of `e`'s kind, the common ones called directly: a call through the
 * registry object is one call site for every kind (megamorphic, never inlined), and a packet
 * evaluates a few hundred expressions.
 */
function dispatch(e: NftExpr, env: NftEnv): XVal {
  switch (e.kind) {
    case "payload":
      return payload(e, env, exprText);
    case "meta":
      return meta(e, env, exprText);
    case "ct":
      return ct(e, env, exprText);
    case "const":
      return constant(e, env);
    case "concat":
      return concat(e, env);
    case "binop":
      return binop(e, env);
    case "map":
      return map(e, env);
    case "numgen":
      return numgen(e, env, exprText);
    default:
      return (EXPRESSIONS[e.kind] as (e: NftExpr, env: NftEnv, text: (e: NftExpr) => string) => XVal)(e, env, exprText);
  }
}

/**
 * How a statement reads `e`, worked out once per statement: a header field, a meta or ct key
 * (leaves, which nest nothing: no depth to count) by its kind's reader, a leaf and a constant
 * joined by an operator (`meta mark & 0x4000`) by binopReader; anything else through
 * evaluateExpr.
 */
export function readerOf(e: NftExpr): (env: NftEnv) => XVal {
  switch (e.kind) {
    case "payload":
      return KIND_READERS.payload(e);
    case "meta":
      return KIND_READERS.meta(e);
    case "ct":
      return KIND_READERS.ct(e);
    case "binop":
      return binopReader(e, leafReader) ?? ((env) => env.eval(e));
    default:
      return (env) => env.eval(e);
  }
}

/** A leaf's reader (readerOf's), or undefined for anything that nests. */
function leafReader(e: NftExpr): ((env: NftEnv) => XVal) | undefined {
  return e.kind === "payload" || e.kind === "meta" || e.kind === "ct" ? readerOf(e) : undefined;
}
