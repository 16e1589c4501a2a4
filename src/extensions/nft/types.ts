/**
 * The contract every nft expression kind fulfils (payload, meta, ct, fib, numgen, hash, and
 * the kinds kept as written): one file per kind holds how nft text and libnftables JSON read
 * it, its datatype, how nft prints it, and how it is evaluated; `registry.ts` lists them. The
 * text and JSON readers, the printer and the evaluator reach a kind only through the registry;
 * nothing outside a kind's file names its keys.
 */
import type { JsonField, JsonNode } from "../../model/json.js";
import type { Family } from "../../model/ast.js";
import type { NftConst, NftExpr, NftFamily } from "../../model/nft.js";
import type { NftExprEnv } from "../../model/nft-evaluation.js";
import type { XVal } from "../../model/nft-values.js";

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

/**
 * What a kind reads its JSON object with: the JSON reader's (src/nft/json/reader.ts) field
 * readers, each reporting what is wrong where (and then giving undefined).
 */
export interface JsonFieldReader {
  error(n: { at: number }, message: string, expected?: string, found?: string): void;
  /** The object's fields, or undefined after saying it is not an object. */
  fields(n: JsonNode, what: string): Map<string, JsonField> | undefined;
  /** The values of keys the object must have, or undefined after saying which is missing. */
  need(obj: JsonNode, f: Map<string, JsonField>, keys: readonly string[], what: string): JsonNode[] | undefined;
  needStr(obj: JsonNode, f: Map<string, JsonField>, key: string, what: string): string | undefined;
  /** One of `allowed`; undefined when absent, null after saying it is another value. */
  oneOf<T extends string>(f: Map<string, JsonField>, key: string, what: string, allowed: readonly T[]): T | undefined | null;
  int(f: Map<string, JsonField>, key: string, what: string, min?: number, max?: number): number | undefined;
  strings(f: Map<string, JsonField>, key: string, what: string): string[] | undefined;
  /** The node's text as the input wrote it. */
  source(n: JsonNode): string;
}

/** What a kind's JSON reading may use besides its own value. */
export interface JsonExprReader {
  r: JsonFieldReader;
  /** Reads a nested expression (jhash's key) one level deeper. */
  sub(n: JsonNode, what: string): NftExpr | undefined;
}

export interface ExprKind<E extends NftExpr = NftExpr> {
  /** The `kind` of the AST node it reads and prints. */
  kind: E["kind"];
  /** For a kind kept as written (`kind: "other"`): its `name`, as nft names it (`exthdr`, `tcp option`). */
  name?: string;
  /** The first words of this kind's expressions: after one, an unknown key is an error, not something to keep. */
  keywords: readonly string[];
  /** Whether a word (the next one) starts this expression; absent: netfate reads no nft text of this kind. */
  starts?(r: WordReader): boolean;
  /** Reads it; an error is reported through the reader and gives undefined. */
  read?(r: WordReader): E | undefined;
  /** The keys of its libnftables JSON object (`{"payload": {...}}`, `{"jhash": {...}}`). */
  jsonKeys: readonly string[];
  /**
   * Reads its JSON: `key` is the object's one key, `v` its value, `n` the whole object.
   * An error is reported through the reader and gives undefined.
   */
  readJson(key: string, v: JsonNode, n: JsonNode, j: JsonExprReader): E | undefined;
  /** The datatype(s) of its value, as nft names them; undefined when unknown. */
  type(e: E): string[] | undefined;
  /** As nft prints it (whatever the print options: `-n` changes constants only); `sub` prints a nested expression (jhash's key). */
  print(e: E, sub: (e: NftExpr) => string): string;
  /**
   * Its value for the environment's packet, as the kernel's expression computes it: a value,
   * absent (the kernel stops the rule: NFT_BREAK), indeterminate with the reason, or
   * alternatives to fork on. `text` is how a trace names an expression (the listing's text),
   * for labels. Called as a plain function (no `this`).
   */
  evaluate(e: E, env: NftExprEnv, text: (e: NftExpr) => string): XVal;
  /**
   * The one packet family a rule holding `e` can match, when there is one: `e` is a header
   * only that family's packets carry (`ip6 saddr`, `icmpv6 type`: in an inet table nft makes
   * the rule test `meta nfproto` first, and evaluate gives absent for the other family), or,
   * when the rule compares `e` with the constant `equals` (`==` or no operator), the
   * comparison holds only for that family (`meta nfproto ipv6`). Undefined: either family.
   */
  family?(e: E, equals: NftConst | undefined): Family | undefined;
  /**
   * For a kind whose expressions nest nothing (a header field, a meta or ct key): `evaluate`
   * worked out once for `e`, for a statement to keep. What it gives is evaluate's answer for
   * every environment; the names `e` holds (read from the input: telling them apart is a
   * string compare, not an identity check) are looked at once, not per packet.
   */
  reader?(e: E): (env: NftExprEnv) => XVal;
}

/** A kind nft text is read into: one with a grammar. */
export type TextExprKind = ExprKind & Required<Pick<ExprKind, "starts" | "read">>;

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
