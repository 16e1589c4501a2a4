/**
 * What nft text says that the AST (src/model/nft.ts) has no field for yet, remembered by the
 * reader for the printer, keyed by the AST node. Kept out of the AST so the shared model is
 * unchanged; when the model grows the fields these go.
 */
import type { NftOtherStmt, NftRule, NftSet } from "../model/nft.js";

/**
 * Anonymous chains bound to a rule (`jump { RULES }`): the reader keeps the statement as
 * `other` (evaluated as indeterminate) and its rules here, for the printer to print them with
 * the options of the listing (`-a`, `-s`, `-n`).
 */
export const boundChainRules = new WeakMap<NftOtherStmt, NftRule[]>();

/**
 * Maps declared with values of ranges (`type ipv4_addr : interval ipv4_addr`): NftSet has no
 * field for it yet, and nft lists it even when the map is empty (or listed with `-t`).
 */
export const intervalDataMaps = new WeakSet<NftSet>();
