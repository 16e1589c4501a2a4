/** Constants, and what can only stand on the right of a comparison (prefixes, ranges, sets, verdicts) when met elsewhere. */
import type { NftConst, NftExpr } from "../../../model/nft.js";
import { constVal } from "../../../model/nft-values.js";
import { unknown } from "../../../model/nft-evaluation.js";
import type { NftEnv } from "./env.js";
import type { XVal } from "../../../model/nft-values.js";
import { exprText } from "../rule-text.js";

export function constant(e: NftConst, _env: NftEnv): XVal {
  return constVal(e);
}

export function notAValue(e: NftExpr, _env: NftEnv): XVal {
  return unknown(`${exprText(e)} (${e.kind}) does not give one value here`);
}
