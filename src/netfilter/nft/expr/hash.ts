/**
 * `jhash EXPR mod N` and `symhash mod N`: the value depends on a seed (random unless given)
 * and on the kernel's hash function, which netfate does not compute: the N values are
 * alternatives, each said, never chances.
 */
import type { NftHash } from "../../../model/nft.js";
import { boundValue, unknown, value, type NftEnv } from "./env.js";
import { intOf, type Choice, type XVal } from "../../../model/nft-values.js";
import { exprText } from "../rule-text.js";
import { MAX_CHOICES } from "./numgen.js";

export function hash(e: NftHash, env: NftEnv): XVal {
  const bound = boundValue(env.bindings, e);
  if (bound !== undefined) return value(bound);
  let r = CHOICES.get(e);
  if (r === undefined) CHOICES.set(e, (r = choices(e)));
  return r;
}

/** What a hash gives, the same for every packet: worked out once per expression. */
const CHOICES = new WeakMap<NftHash, XVal>();

function choices(e: NftHash): XVal {
  const what = exprText(e);
  if (e.mod <= 0 || e.mod > MAX_CHOICES) return unknown(`${what}: netfate does not compute ${e.mode}`);
  const list: Choice[] = [];
  for (let i = 0; i < e.mod; i++) {
    const v = intOf(e.offset + i);
    list.push({ val: v, label: `${what} gives ${v} (netfate does not compute ${e.mode}${e.seed === undefined ? "; its seed is random" : ""})` });
  }
  return { choose: list, expr: e };
}
