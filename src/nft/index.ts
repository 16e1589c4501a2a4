/**
 * nftables: the text reader and the printer, and the datatypes and expression kinds every nft
 * reader shares (the JSON reader resolves its constants through `parseConst` and
 * `expressionType`).
 */
export { parseNftText } from "./text/index.js";
export { printNftRuleset, printNftTable, printNftRule, printNftStmt, printNftElement } from "./print/index.js";
export type { RulesetPrintOptions, RulePrintOptions } from "./print/index.js";
export { parseConst, printConst, isBitmaskType, datatype, typeBits, parseDuration, printDuration } from "./datatypes.js";
export type { NftDatatype, NftValue, PrintOptions } from "./datatypes.js";
export { printNftExpr, expressionType } from "./print/expr.js";
export { EXPRESSION_KINDS, expressionKind, expressionKindAt } from "../extensions/nft/registry.js";
export { printPriority, priorityNumber } from "./text/priority.js";
