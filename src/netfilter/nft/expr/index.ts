/** One evaluation function per expression kind, each in its own file, looked up here. */
import type { NftExpr } from "../../../model/nft.js";
import type { XVal } from "../values.js";
import type { NftEnv } from "./env.js";
import { payload } from "./payload.js";
import { meta } from "./meta.js";
import { ct } from "./ct.js";
import { fib } from "./fib.js";
import { numgen } from "./numgen.js";
import { hash } from "./hash.js";
import { binop } from "./binop.js";
import { concat } from "./concat.js";
import { map } from "./map.js";
import { constant, notAValue, other } from "./constant.js";

type Evaluators = { [K in NftExpr["kind"]]: (e: Extract<NftExpr, { kind: K }>, env: NftEnv) => XVal };

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
    return (EXPRESSIONS[e.kind] as (e: NftExpr, env: NftEnv) => XVal)(e, env);
  } finally {
    depth--;
  }
}
