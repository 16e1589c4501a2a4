/**
 * Every nft statement kind netfate knows, listed explicitly: the text reader asks which kind
 * starts at a word (or follows an expression, `meta mark set 1`) and lets it read itself, the
 * JSON reader finds a kind by its object's key, and the printer and the evaluator by the AST's
 * `kind`. Adding a kind means one new file and one line here.
 */
import type { NftStmt } from "../../../model/nft.js";
import { counter } from "./counter.js";
import { kept } from "./kept.js";
import { limit } from "./limit.js";
import { log } from "./log.js";
import { mangle } from "./mangle.js";
import { nat } from "./nat.js";
import { notrack } from "./notrack.js";
import { objref } from "./objref.js";
import { queue } from "./queue.js";
import { quota } from "./quota.js";
import { reject } from "./reject.js";
import { setop } from "./setop.js";
import type { StmtKind, StmtWordReader } from "./types.js";
import { xt } from "./xt.js";

/** Every kind; where two start with the same word (`ct helper set`, `ct count`), the first whose `starts` holds reads. */
export const STATEMENT_KINDS: readonly StmtKind[] = [counter, log, limit, quota, nat, reject, notrack, queue, xt, setop, objref, mangle, kept] as StmtKind[];

const BY_WORD = new Map<string, StmtKind[]>();
for (const k of STATEMENT_KINDS) for (const w of k.words) (BY_WORD.get(w) ?? BY_WORD.set(w, []).get(w)!).push(k);

const BY_FOLLOWING_WORD = new Map<string, StmtKind>(STATEMENT_KINDS.filter((k) => k.follows !== undefined).map((k) => [k.follows!, k]));

const BY_JSON_KEY = new Map<string, StmtKind>(STATEMENT_KINDS.flatMap((k) => k.jsonKeys.map((w) => [w, k] as const)));

const BY_KIND = new Map<string, StmtKind>(STATEMENT_KINDS.map((k) => [k.kind, k]));

/** The kind of statement that starts at the reader's next word `word`, if any. */
export function statementKindAt(word: string, r: StmtWordReader): StmtKind | undefined {
  return BY_WORD.get(word)?.find((k) => k.starts === undefined || k.starts(r));
}

/** The kind of statement an expression followed by `word` makes (`meta mark set`), if any. */
export function statementKindAfter(word: string): StmtKind | undefined {
  return BY_FOLLOWING_WORD.get(word);
}

/** The kind of a libnftables JSON statement object by its key. */
export function statementKindByJsonKey(key: string): StmtKind | undefined {
  return BY_JSON_KEY.get(key);
}

/**
 * The kind that prints and evaluates `s`; undefined for the rule's own structure (a relation,
 * a verdict, a verdict map), which the readers, printer and evaluator keep.
 */
export function statementKind<S extends NftStmt>(s: S): StmtKind<S> | undefined {
  return BY_KIND.get(s.kind) as StmtKind<S> | undefined;
}
