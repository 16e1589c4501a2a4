/**
 * The packet family a rule can match, found once from its expressions: each expression kind
 * says for itself which family it belongs to (ExprKind.family: `ip6 saddr`, `icmpv6 type`,
 * `meta nfproto ipv4`). In an inet table such a rule never matches a packet of the other
 * family (nft adds the family test itself), so a trace can tell it apart from a rule that
 * nearly matched.
 */
import type { Family } from "../../model/ast.js";
import type { NftConst, NftExpr, NftStmt } from "../../model/nft.js";
import { expressionKind } from "../../extensions/nft/registry.js";

/** A family, or "none" when the rule asks for both (it matches no packet). */
export type RuleFamily = Family | "none";

/**
 * The family the rule's tests ask for, read up to its verdict: every relation's two sides and a
 * verdict map's key (an expression absent for the packet stops the rule there). Undefined: the
 * rule may match a packet of either family.
 */
export function ruleFamily(stmts: readonly NftStmt[]): RuleFamily | undefined {
  let v4 = false;
  let v6 = false;
  const note = (f: Family | undefined) => {
    if (f === "ipv4") v4 = true;
    else if (f === "ipv6") v6 = true;
  };
  for (const st of stmts) {
    if (st.kind === "match") {
      const equals = (st.op === "implicit" || st.op === "==") && st.right.kind === "const" ? st.right : undefined;
      exprFamilies(st.left, equals, note);
      exprFamilies(st.right, undefined, note);
    } else if (st.kind === "vmap") {
      exprFamilies(st.key, undefined, note);
      break;
    } else if (st.kind === "verdict") break;
  }
  return v4 && v6 ? "none" : v4 ? "ipv4" : v6 ? "ipv6" : undefined;
}

/**
 * The families asked for by `e` and what a relation evaluates along with it: the parts of a
 * concatenation, both sides of a binary operation, a map's key (an explicit work list: the
 * input says how deep they nest). `equals` goes with `e` itself only.
 */
function exprFamilies(e: NftExpr, equals: NftConst | undefined, note: (f: Family | undefined) => void): void {
  const work: NftExpr[] = [e];
  while (work.length) {
    const x = work.pop()!;
    switch (x.kind) {
      case "concat":
        work.push(...x.parts);
        break;
      case "binop":
        work.push(x.left, x.right);
        break;
      case "map":
        work.push(x.key);
        break;
      default:
        note(expressionKind(x)?.family?.(x, x === e ? equals : undefined));
    }
  }
}
