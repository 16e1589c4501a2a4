/** nftables: datatypes, expressions and the stable API the text and JSON readers share. */
export { parseConst, printConst, isBitmaskType, datatype, typeBits, parseDuration, printDuration } from "./datatypes.js";
export type { NftDatatype, NftValue, PrintOptions } from "./datatypes.js";
export { printNftExpr, printNftElement, expressionType } from "./expressions/print.js";
export { EXPRESSION_KINDS, expressionKind, expressionKindAt } from "./expressions/registry.js";
