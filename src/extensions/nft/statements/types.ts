/**
 * The contract every nft statement kind fulfils (counter, log, limit, quota, nat, reject,
 * mangle, notrack, queue, set updates, object references, xt, and the statements kept as
 * written): one file per kind holds how nft text and libnftables JSON read it, how nft prints
 * it, and how it is evaluated; `registry.ts` lists them. The readers, the printer and the
 * evaluator reach a kind only through the registry.
 *
 * What stays with them is the rule's own structure: a relation (`EXPR OP VALUE`), a verdict,
 * a verdict map and an anonymous chain (`jump { RULES }`) are read, printed and evaluated where
 * expressions, sets and chains are, as the expression registry leaves constants, sets and maps
 * to them.
 */
import type { JsonField, JsonNode } from "../../../model/json.js";
import type { NftExpr, NftFamily, NftOtherStmt, NftStmt } from "../../../model/nft.js";
import type { NftStmtEnv, NftStmtOps, StmtResult } from "../../../model/nft-statement-evaluation.js";
import type { JsonFieldReader } from "../types.js";

/** The words of one rule as a statement kind reads them (the text reader's cursor and value reader). */
export interface StmtWordReader {
  /** The text of the token `ahead` on (0: the next), whatever it is; undefined past the input's end. */
  peek(ahead?: number): string | undefined;
  /** The token `ahead` on is a word (not a string, punctuation or the statement's end). */
  isWord(ahead?: number): boolean;
  /** The token `ahead` on is the word or punctuation `text`. */
  is(text: string, ahead?: number): boolean;
  accept(text: string): boolean;
  /** Consumes `text` or reports that it was expected. */
  expect(text: string): boolean;
  /** Consumes the next token and gives its text. */
  take(): string;
  /** The statement (the rule) ends `ahead` tokens on. */
  atEnd(ahead?: number): boolean;
  /** Reports, at the next token, that `expected` was expected there; returns undefined. */
  fail(expected: string): undefined;
  /** Where the reader stands (a token's index), for `warn`. */
  position(): number;
  /** A warning at the token at `at` (`found`: the words it concerns). */
  warn(at: number, message: string, found?: string): void;
  /** A string or a word. */
  string(what: string): string | undefined;
  /** A non-negative integer word (decimal or hex). */
  uint(what: string): number | undefined;
  /** `100 mbytes` (also glued, `100mbytes`): bytes and the unit it was written in. */
  amount(): { bytes: number; unit: string } | undefined;
  /** A byte unit nft knows (`bytes`, `kbytes`...). */
  isByteUnit(word: string): boolean;
  /** `10s`, `1h2m` as milliseconds. */
  duration(word: string): number | undefined;
  /** An expression (not a constant) starts at the next token. */
  startsExpression(): boolean;
  /** A value of the given datatypes: a constant, a set, an expression, a map lookup. */
  value(types: string[] | undefined): NftExpr | undefined;
  /** One constant of `type`. */
  atom(type: string | undefined): NftExpr | undefined;
  /** One expression (`ip saddr`), not a concatenation. */
  primary(): NftExpr | undefined;
  /** Part of the word just taken (`80-90` of `10.0.0.1:80-90`) as a value of `type`. */
  wordAs(type: string, text: string): NftExpr | undefined;
  /** The text of the token just taken. */
  last(): string;
  /** Another statement (one carried by a set element). */
  statement(): NftStmt | undefined;
  /** The words to the end of the rule (before a trailing comment), kept as written with the warning `why`. */
  keepToEnd(name: string, why: string): NftOtherStmt;
  /** Reads something that nests (braces), refusing past the depth limit. */
  nested<T>(read: () => T | undefined): T | undefined;
  /** The declared types of a named set or map of the table. */
  setTypes(name: string): { keyType: string[]; dataType?: string[] } | undefined;
  /** The datatype the reader gives a value whose type nothing says. */
  readonly rawType: string;
  /** An expression as nft prints it. */
  exprText(e: NftExpr): string;
  /** The datatypes of an expression's value, as nft names them. */
  typeOf(e: NftExpr): string[] | undefined;
  /** The family of the table the rule is in. */
  readonly family: NftFamily | undefined;
}

/** What a statement kind reads its JSON object with. */
export interface StmtJsonReader {
  r: JsonFieldReader & {
    warning(n: { at: number }, message: string): void;
    wrong(n: JsonNode, what: string, expected: string): undefined;
    str(f: Map<string, JsonField>, key: string, what: string): string | undefined;
    bool(f: Map<string, JsonField>, key: string, what: string): boolean | undefined;
  };
  /** The rule's table's family (which address type a nat statement without `"family"` takes). */
  family: string;
  /** The table's name, where known (says where a missing set was looked for). */
  table: string | undefined;
  /** A list's items, or undefined after saying it is not a list. */
  list(n: JsonNode, what: string, expected: string): JsonNode[] | undefined;
  /** An expression one level down; `hint` is the datatypes its value is expected to have. */
  expr(n: JsonNode, hint: readonly string[] | undefined, what: string): NftExpr | undefined;
  /** A set element (`{"elem": {"val", "timeout"}}` or the bare key). */
  element(n: JsonNode, keyHint: readonly string[] | undefined): { key: NftExpr; timeout?: number } | undefined;
  /** The declared types of a named set or map of the table. */
  setTypes(name: string): { key: string[]; data?: string[] } | undefined;
  /** Another statement (one carried by a set element). */
  stmt(n: JsonNode): NftStmt | undefined;
  /** The datatypes of an expression's value, as nft names them. */
  typesOf(e: NftExpr): string[] | undefined;
  /** An amount in `unit` as bytes (undefined for a unit nft does not know). */
  inBytes(value: number, unit: string | undefined): number | undefined;
  /** The byte units nft knows, for messages. */
  readonly byteUnits: readonly string[];
}

/** What a statement kind prints with: the listing's options and how the rest is printed. */
export interface StmtPrinter {
  expr(e: NftExpr): string;
  /** The datatypes of an expression's value. */
  type(e: NftExpr): string[] | undefined;
  /** Another statement (one carried by a set element). */
  stmt(s: NftStmt): string;
  /** `nft -s`: no counter values, no quota usage. */
  readonly stateless: boolean;
  /** The family of the rule's table. */
  readonly family: NftFamily | undefined;
  /** Milliseconds as nft prints a time (`-n`: in seconds). */
  duration(ms: number): string;
  /** A constant of `type` written `word`, as nft prints it (`byName`: as without any print options). */
  constText(type: string, word: string, byName?: boolean): string;
  /** Bytes in `unit` (`100 mbytes`). */
  amount(bytes: number, unit: string | undefined): string;
}

export interface StmtKind<S extends NftStmt = NftStmt> {
  /** The `kind` of the AST node it prints and evaluates. */
  kind: S["kind"];
  /** The first words of its nft text (a kind's reader may give another kind's node: `counter name "c"`). */
  words: readonly string[];
  /** Whether the statement starts here, when more than its first word says so. */
  starts?(r: StmtWordReader): boolean;
  /** Reads it; an error is reported through the reader and gives undefined. */
  read?(r: StmtWordReader): NftStmt | undefined;
  /** A word after an expression that makes this statement of it (`meta mark set 1`). */
  follows?: string;
  /** Reads the rest after `left` and that word. */
  readAfter?(left: NftExpr, r: StmtWordReader): NftStmt | undefined;
  /** The keys of its libnftables JSON object. */
  jsonKeys: readonly string[];
  /** Reads its JSON: `key` is the object's one key, `v` its value, `n` the whole object. */
  readJson?(key: string, v: JsonNode, n: JsonNode, j: StmtJsonReader): NftStmt | undefined;
  /** As nft lists it. */
  print(s: S, p: StmtPrinter): string;
  /**
   * What it does to the environment's branch, and whether the rule goes on. Called as a
   * plain function (no `this`).
   */
  evaluate(s: S, env: NftStmtEnv, ops: NftStmtOps): StmtResult;
  /**
   * `evaluate` for one statement, with what does not depend on the packet worked out once
   * (the walk prepares each rule's statements when a packet first reaches it): the same
   * answers as `evaluate`, without a side table's lookup or an expression's dispatch per packet.
   */
  prepare?(s: S, ops: NftStmtOps): (env: NftStmtEnv) => StmtResult;
  /** The named sets and maps it changes (`add @s { ... }`): lookups in them depend on its rule. */
  setsChanged?(s: S): readonly string[];
  /** Whether it makes the kernel turn conntrack on in its namespace (it takes a reference on it: nf_ct_netns_get). */
  needsConntrack?(s: S): boolean;
  /** The verdict a rule's step shows when the rule ends by this statement's own verdict (a dnat: DNAT). */
  stepWord?(s: S): string;
  /** Who manages a table holding this statement (an `xt` statement: iptables-nft). */
  tableManager?: "iptables-nft";
  /**
   * Completes what the statement's own words leave open, once every set and map of its table
   * is read (a listing may declare a map after the rule that uses it).
   */
  completeWithSets?(s: S, setTypes: (name: string) => { dataType?: readonly string[] } | undefined): void;
  /**
   * Packets worth asking about because of this statement, as the destination it gives them
   * (a dnat to a constant address: the packet after it): what `netfate diff` probes.
   */
  destinationsGiven?(s: S): Array<{ dst: string; dport?: number }>;
}
