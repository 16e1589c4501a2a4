/**
 * What every expression kind file provides: the words that start it in nft text, the
 * datatype(s) of its value, how nft prints it, and how it is read from a stream of words.
 * The registry lists the kinds; nothing outside a kind's file names its keys.
 */
import type { NftExpr, NftFamily } from "../../model/nft.js";

/** A read-only view of the words of one statement, for an expression kind's reader. */
export interface WordReader {
  /** The word `ahead` words on (0: the next one), or undefined at the end of the statement. */
  peek(ahead?: number): string | undefined;
  /** Consumes and returns the next word (call only after `peek` said there is one). */
  take(): string;
  /** Reports, at the next word, that `expected` was expected there; returns undefined. */
  fail(expected: string): undefined;
  /** Reads a concatenation of primary expressions (`ip saddr . tcp dport`): jhash's key. */
  readConcat(): NftExpr | undefined;
  /** The family of the table the rule is in (types `ct original saddr`). */
  family: NftFamily | undefined;
}

export interface ExprKind<E extends NftExpr = NftExpr> {
  /** The `kind` of the AST node it reads and prints. */
  kind: E["kind"];
  /** The first words of this kind's expressions: after one, an unknown key is an error, not something to keep. */
  keywords: readonly string[];
  /** Whether a word (the next one) starts this expression. */
  starts(r: WordReader): boolean;
  /** Reads it; an error is reported through the reader and gives undefined. */
  read(r: WordReader): E | undefined;
  /** The datatype(s) of its value, as nft names them; undefined when unknown. */
  type(e: E): string[] | undefined;
  /** As nft prints it (whatever the print options: `-n` changes constants only); `sub` prints a nested expression (jhash's key). */
  print(e: E, sub: (e: NftExpr) => string): string;
}

/**
 * A lookup table keyed by words of the input: without a prototype, so `constructor` or
 * `__proto__` in the input is no key of it.
 */
export function wordTable<T extends object>(o: T): T {
  return Object.assign(Object.create(null) as object, o) as T;
}

/** A non-negative integer word (decimal or hex), else undefined. */
export function readUint(word: string | undefined): number | undefined {
  if (word === undefined || !/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(word)) return undefined;
  const n = Number(word);
  return Number.isSafeInteger(n) && n <= 0xffffffff ? n : undefined;
}
