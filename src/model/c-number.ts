/**
 * Numbers as the iptables tools read them. libxtables' `xtables_strtoui` is C's `strtoul` with
 * base 0 and a strict end: `0x1f` is hex, a leading `0` makes the rest octal (`010` is 8, and
 * `08` is refused: the octal number stops at the 8), anything else is decimal. Most options of
 * most extensions, `-p`, ports and every part of a dotted address go through it, so `-d
 * 010.0.0.1` is 8.0.0.1 to the kernel, not 10.0.0.1 (asked of iptables 1.8.9 in a network
 * namespace: test/kernel/number-spellings.test.ts).
 *
 * Refused here although C takes it: leading blanks and a `+` sign. A restore file's words carry
 * neither unless quoted; refusing is honest where guessing would not be.
 */

const HEX = /^0[xX][0-9a-fA-F]+$/;
const OCTAL = /^0[0-7]*$/;
const DECIMAL = /^[1-9][0-9]*$/;

/** The whole text as one base-0 number no greater than `max`, or undefined. */
export function cNumber(text: string, max = 0xffffffff): number | undefined {
  let n: number;
  if (DECIMAL.test(text)) n = Number(text);
  else if (HEX.test(text)) n = parseInt(text.slice(2), 16);
  else if (OCTAL.test(text)) n = text.length === 1 ? 0 : parseInt(text.slice(1), 8);
  else return undefined;
  return n <= max ? n : undefined;
}

/** The whole text as a decimal number no greater than `max` (options read with base 10: leading zeros are just zeros). */
export function decimalNumber(text: string, max = 0xffffffff): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}
