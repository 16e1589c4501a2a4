/**
 * `numgen random mod N offset O`: each of O..O+N-1 with chance 1/N (nft_ng_random_eval:
 * reciprocal_scale of a random u32, exact up to 2^-32). `numgen inc`: a counter shared by
 * every packet the rule sees; the input does not show where it stands, so the N values are
 * alternatives, not chances (a fresh rule's first packet gets O: checked in a netns,
 * test/kernel/nft-semantics.test.ts).
 */
import type { NftNumgen } from "../../../model/nft.js";
import { boundValue, unknown, value, type NftEnv } from "./env.js";
import { intOf, type Choice, type XVal } from "../../../model/nft-values.js";
import { exprText } from "../rule-text.js";

/** More values than this are not spelled out one by one. */
export const MAX_CHOICES = 256;

export function numgen(e: NftNumgen, env: NftEnv): XVal {
  const bound = boundValue(env.bindings, e);
  if (bound !== undefined) return value(bound);
  let r = CHOICES.get(e);
  if (r === undefined) CHOICES.set(e, (r = choices(e)));
  return r;
}

/** What a numgen gives, the same for every packet: worked out once per expression. */
const CHOICES = new WeakMap<NftNumgen, XVal>();

function choices(e: NftNumgen): XVal {
  const what = exprText(e);
  if (e.mod <= 0) return unknown(`${what}: modulus 0`);
  if (e.mod > MAX_CHOICES) return unknown(`${what}: more than ${MAX_CHOICES} values are not followed one by one`);
  const list: Choice[] = [];
  for (let i = 0; i < e.mod; i++) {
    const v = intOf(e.offset + i);
    list.push(e.mode === "random"
      ? { val: v, probability: 1 / e.mod, label: `${what}: ${v}` }
      : { val: v, label: `${what} gives ${v} (where the counter stands is not in the input; a fresh rule's first packet gets ${e.offset})` });
  }
  return { choose: list, expr: e };
}
