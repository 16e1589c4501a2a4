/** `meta mark & 0xff`, `ct mark | 0x4000`, `meta mark >> 8`: bitwise arithmetic on 32-bit-or-wider integers. */
import type { NftBinop } from "../../../model/nft.js";
import { unknown, value, type NftEnv } from "./env.js";
import type { XVal } from "../values.js";

const U32 = 0xffffffffn;

export function binop(e: NftBinop, env: NftEnv): XVal {
  const l = env.eval(e.left);
  if (!("val" in l)) return l;
  const r = env.eval(e.right);
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
