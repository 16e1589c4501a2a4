/**
 * Anonymous chains bound to a rule (`jump { RULES }`). The AST has no node for them yet, so
 * the reader keeps the statement as `other` (evaluated as indeterminate) and remembers its
 * rules here, for the printer to print them with the options of the listing (`-a`, `-s`, `-n`).
 */
import type { NftOtherStmt, NftRule } from "../model/nft.js";

export const boundChainRules = new WeakMap<NftOtherStmt, NftRule[]>();
