/** `meta mark & 0xff`, `ct mark | 0x4000`, `meta mark >> 8`: bitwise arithmetic on 32-bit-or-wider integers. */
import type { NftBinop } from "../../../model/nft.js";
import { unknown, value, type NftEnv } from "./env.js";
import type { XVal } from "../values.js";

const U32 = 0xffffffffn;

export function binop(e: NftBinop, env: NftEnv): XVal {
  const l = env.eval(e.left);
  const r = env.eval(e.right);
  if ("indeterminate" in l && l.partial && e.op === "&" && "val" in r && typeof r.val === "bigint") {
    // Masking out the unknown bits decides the value.
    const unknownLeft = l.partial.unknown & r.val;
    return unknownLeft === 0n ? value(l.partial.bits & r.val) : { indeterminate: l.indeterminate, partial: { bits: l.partial.bits & r.val, unknown: unknownLeft } };
  }
  if (!("val" in l)) return l;
  if (!("val" in r)) return r;
  const a = l.val;
  const b = r.val;
  if (typeof a !== "bigint" || typeof b !== "bigint") return unknown(`${e.op} of values that are not numbers`);
  switch (e.op) {
    case "&":
      return value(a & b);
    case "|":
      return value(a | b);
    case "^":
      return value(a ^ b);
    case "<<":
      // Marks and the like are 32-bit registers: bits shifted out are lost (nft_bitwise).
      return value(a <= U32 ? (a << b) & U32 : a << b);
    case ">>":
      return value(a >> b);
  }
}
