/**
 * The expression kinds nft text is made of, in one place: the parser asks which kind starts at
 * a word and lets it read itself; the printer and `expressionType` dispatch on `kind`.
 */
import type { NftExpr } from "../../model/nft.js";
import { ctKind } from "./ct.js";
import { fibKind } from "./fib.js";
import { hashKind } from "./hash.js";
import { metaKind } from "./meta.js";
import { numgenKind } from "./numgen.js";
import { otherKind } from "./other.js";
import { payloadKind } from "./payload.js";
import type { ExprKind, WordReader } from "./types.js";

/**
 * In the order they are tried: the `other` kinds come before payload so that `tcp option` and
 * `ip option` are not read as the (missing) fields `option` of tcp and ip.
 */
export const EXPRESSION_KINDS: readonly ExprKind[] = [
  otherKind as ExprKind,
  payloadKind as ExprKind,
  metaKind as ExprKind,
  ctKind as ExprKind,
  fibKind as ExprKind,
  numgenKind as ExprKind,
  hashKind as ExprKind,
];

const BY_KIND = new Map<string, ExprKind>(EXPRESSION_KINDS.map((k) => [k.kind, k]));

const BY_KEYWORD = new Map<string, ExprKind>(EXPRESSION_KINDS.flatMap((k) => k.keywords.map((w) => [w, k] as const)));

/** The kind a word starts whatever follows it (`meta`, `ct`, `ip`, `tcp`...): its reader says what key it expected. */
export function expressionKindByKeyword(word: string): ExprKind | undefined {
  return BY_KEYWORD.get(word);
}

/** The kind of expression that starts at the reader's next word, if any. */
export function expressionKindAt(r: WordReader): ExprKind | undefined {
  return EXPRESSION_KINDS.find((k) => k.starts(r));
}

/** The kind that reads and prints expressions of AST kind `kind` (payload, meta, ct, fib, numgen, hash, other). */
export function expressionKind(kind: NftExpr["kind"]): ExprKind | undefined {
  return BY_KIND.get(kind);
}
