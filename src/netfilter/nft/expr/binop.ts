/** `meta mark & 0xff`, `ct mark | 0x4000`, `meta mark >> 8`: bitwise arithmetic on 32-bit-or-wider integers. */
import type { NftBinop } from "../../../model/nft.js";
import { unknown, value } from "../../../model/nft-evaluation.js";
import type { NftEnv } from "./env.js";
import { bitAnd, bitOr, bitXor, int, intVal, isInt, type XVal } from "../../../model/nft-values.js";

const U32 = 0xffffffffn;

export function binop(e: NftBinop, env: NftEnv): XVal {
  const l = env.eval(e.left);
  const r = env.eval(e.right);
  if ("indeterminate" in l && l.partial && e.op === "&" && "val" in r && isInt(r.val)) {
    // Masking out the unknown bits decides the value.
    const mask = BigInt(r.val);
    const unknownLeft = l.partial.unknown & mask;
    return unknownLeft === 0n ? value(int(l.partial.bits & mask)) : { indeterminate: l.indeterminate, partial: { bits: l.partial.bits & mask, unknown: unknownLeft } };
  }
  if (!("val" in l)) return l;
  if (!("val" in r)) return r;
  const a = l.val;
  const b = r.val;
  if (!isInt(a) || !isInt(b)) return unknown(`${e.op} of values that are not numbers`);
  switch (e.op) {
    // (A mark's bits, read for rule after rule: a value below 2^16 is one object, not one per read.)
    case "&":
      return intVal(bitAnd(a, b));
    case "|":
      return intVal(bitOr(a, b));
    case "^":
      return intVal(bitXor(a, b));
    case "<<": {
      // Marks and the like are 32-bit registers: bits shifted out are lost (nft_bitwise).
      const x = BigInt(a);
      const y = BigInt(b);
      return value(int(x <= U32 ? (x << y) & U32 : x << y));
    }
    case ">>":
      return value(int(BigInt(a) >> BigInt(b)));
  }
}
