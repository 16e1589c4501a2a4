/** `ip daddr . tcp dport`: the parts' values in order; any part absent or unknown makes the whole so. */
import type { NftConcat } from "../../../model/nft.js";
import { value } from "../../../model/nft-evaluation.js";
import type { NftEnv } from "./env.js";
import type { Scalar, XVal } from "../../../model/nft-values.js";

export function concat(e: NftConcat, env: NftEnv): XVal {
  const parts: Scalar[] = [];
  for (const p of e.parts) {
    const v = env.eval(p);
    if (!("val" in v)) return v;
    if (Array.isArray(v.val)) parts.push(...v.val);
    else parts.push(v.val as Scalar);
  }
  return value(parts);
}
