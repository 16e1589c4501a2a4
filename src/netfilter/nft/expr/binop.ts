/** `meta mark & 0xff`, `ct mark | 0x4000`, `meta mark >> 8`: bitwise arithmetic on 32-bit-or-wider integers. */
import type { NftBinop, NftExpr } from "../../../model/nft.js";
import { unknown, value } from "../../../model/nft-evaluation.js";
import type { NftEnv } from "./env.js";
import { bitAnd, bitOr, bitXor, constVal, int, intVal, isInt, type XVal } from "../../../model/nft-values.js";

const U32 = 0xffffffffn;

export function binop(e: NftBinop, env: NftEnv): XVal {
  return combine(e, env.eval(e.left), env.eval(e.right));
}

/**
 * binop for `meta mark & 0x4000`, `ct mark ^ 0x1` and the like, worked out once per statement:
 * its left side read by the leaf's own reader and its constant right side's value taken once,
 * in place of two evaluations through the registry for each packet (kube-proxy's masquerade
 * chain tests and flips the mark on every history of every packet). Any other binop gives
 * undefined: the caller evaluates it as it is. (Only a leaf and a constant: a reader nests no
 * further, whatever the input nests.)
 */
export function binopReader(e: NftBinop, leafReader: (e: NftExpr) => ((env: NftEnv) => XVal) | undefined): ((env: NftEnv) => XVal) | undefined {
  if (e.right.kind !== "const") return undefined;
  const read = leafReader(e.left);
  if (read === undefined) return undefined;
  const right = constVal(e.right);
  return (env) => combine(e, read(env), right);
}

/** binop of its two sides' values. */
function combine(e: NftBinop, l: XVal, r: XVal): XVal {
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
      // (A shift past the register leaves 0, without making the shifted number: `<< 4294901760` made one too big to hold.)
      if (x <= U32) return value(int(y >= 32n ? 0n : (x << y) & U32));
      // A wider value (an IPv6 address) has at most 128 bits.
      if (y > 128n) return unknown(`<< by ${y} bits, more than any register holds`);
      return value(int(x << y));
    }
    case ">>":
      return value(int(BigInt(a) >> BigInt(b)));
  }
}
