/**
 * Expressions as nft 1.0.6 prints them, and their datatypes. Primary expressions (payload,
 * meta, ct...) print through their kind's file; constants through their datatype.
 */
import type { NftElement, NftExpr } from "../../model/nft.js";
import { expressionKind } from "../../extensions/nft/registry.js";
import { numericTime, printConst, printDuration, type PrintOptions } from "../datatypes.js";

/** One expression as nft prints it (`-n`: `opts.numeric`). */
export function printNftExpr(expr: NftExpr, opts: PrintOptions = {}): string {
  const sub = (e: NftExpr): string => printNftExpr(e, opts);
  switch (expr.kind) {
    case "const":
      return printConst(expr, opts);
    case "prefix":
      return `${printConst(expr.base, opts)}/${expr.len}`;
    case "range": {
      // nft prints range bounds numerically (`10-20` of inet_proto, not `10-hmp`).
      const n = { ...opts, numeric: true };
      return `${printConst(expr.lo, n)}-${printConst(expr.hi, n)}`;
    }
    case "concat":
      return expr.parts.map(sub).join(" . ");
    case "set":
      return expr.elements.length === 0 ? "{ }" : `{ ${expr.elements.map((el) => printNftElement(el, opts)).join(", ")} }`;
    case "setref":
      return `@${expr.name}`;
    case "map":
      return `${sub(expr.key)} map ${sub(expr.map)}`;
    case "binop":
      return `${sub(expr.left)} ${expr.op} ${sub(expr.right)}`;
    case "verdict":
      return expr.chain === undefined ? expr.verdict : `${expr.verdict} ${expr.chain}`;
    default: {
      const k = expressionKind(expr);
      return k ? k.print(expr, sub) : "";
    }
  }
}

/**
 * One element of a set or map as nft 1.0.6 lists it: the key, its counter, timeout, time left
 * and comment, then the map's value after ` : ` (`10.0.0.1 counter packets 0 bytes 0 : 0x1`).
 */
export function printNftElement(el: NftElement, opts: PrintOptions & { stateless?: boolean } = {}): string {
  let s = printNftExpr(el.key, opts);
  if (el.counter) s += opts.stateless ? " counter" : ` counter packets ${el.counter.packets} bytes ${el.counter.bytes}`;
  if (el.timeout !== undefined) s += ` timeout ${printDuration(el.timeout, numericTime(opts))}`;
  if (el.expires !== undefined) s += ` expires ${printDuration(el.expires, numericTime(opts))}`;
  if (el.comment !== undefined) s += ` comment "${el.comment}"`;
  if (el.data !== undefined) s += ` : ${printNftExpr(el.data, opts)}`;
  return s;
}

/**
 * The datatype(s) of an expression's value as nft names them: one per part of a
 * concatenation; a binop has its left side's; a constant its own. Undefined when it cannot be
 * told from the expression alone (a set or map reference, a map lookup).
 */
export function expressionType(expr: NftExpr): string[] | undefined {
  switch (expr.kind) {
    case "const":
      return [expr.type];
    case "prefix":
      return [expr.base.type];
    case "range":
      return [expr.lo.type];
    case "concat": {
      const out: string[] = [];
      for (const p of expr.parts) {
        const t = expressionType(p);
        if (t === undefined) return undefined;
        out.push(...t);
      }
      return out;
    }
    case "binop":
      return expressionType(expr.left);
    case "verdict":
      return ["verdict"];
    case "set": {
      const first = expr.elements[0];
      return first ? expressionType(first.key) : undefined;
    }
    case "setref":
    case "map":
      return undefined;
    default: {
      const k = expressionKind(expr);
      return k ? k.type(expr) : undefined;
    }
  }
}
