/** `KEY map @m` / `KEY map { ... }`: the value the map holds for the key; no element stops the rule (nft_lookup: NFT_BREAK). */
import type { NftMapLookup } from "../../../model/nft.js";
import { absent, unknown } from "../../../model/nft-evaluation.js";
import type { NftEnv } from "./env.js";
import { findElement } from "./lookup.js";
import type { XVal } from "../../../model/nft-values.js";
import { exprText } from "../rule-text.js";

export function map(e: NftMapLookup, env: NftEnv): XVal {
  const k = env.eval(e.key);
  if (!("val" in k)) return k;
  const f = findElement(e.map, k.val, env);
  if ("indeterminate" in f) return unknown(f.indeterminate);
  if (!f.found) return absent(`${exprText(e.map)} has no element for the key`);
  if (f.data !== undefined) return { val: f.data };
  if (!f.element?.data) return unknown(`the element of ${exprText(e.map)} has no value`);
  return env.eval(f.element.data);
}
