/**
 * The text a trace shows for an nft rule, its statements, expressions and map elements: the
 * listing printer's own, so a trace names a rule exactly as `nft list ruleset` shows it.
 */
import type { NftElement, NftExpr, NftRule, NftStmt } from "../../model/nft.js";
import { printNftElement, printNftRule, printNftStmt } from "../../nft/print/index.js";
import { printNftExpr } from "../../nft/print/expr.js";

export function nftRuleText(rule: NftRule): string {
  return printNftRule(rule, { stateless: true });
}

export function exprText(e: NftExpr): string {
  return printNftExpr(e);
}

export function elementText(el: NftElement): string {
  return printNftElement(el, { stateless: true });
}

export function stmtText(s: NftStmt): string {
  return printNftStmt(s, { stateless: true });
}
