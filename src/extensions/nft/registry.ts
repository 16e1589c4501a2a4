/**
 * Every nft expression kind netfate knows, listed explicitly: the text reader asks which kind
 * starts at a word and lets it read itself, the JSON reader finds a kind by its object's key,
 * the printer and `expressionType` by the AST's `kind` (and `name`, for kinds kept as
 * written), and the evaluator takes each kind's evaluation from here. Adding a kind means one
 * new file and one line here.
 */
import type { NftExpr, NftOtherExpr } from "../../model/nft.js";
import type { NftExprEnv } from "../../model/nft-evaluation.js";
import { ct } from "./ct.js";
import { dccpOption } from "./dccp-option.js";
import { exthdr } from "./exthdr.js";
import { fib } from "./fib.js";
import { hash } from "./hash.js";
import { ipOption } from "./ip-option.js";
import { ipsec } from "./ipsec.js";
import { UNKNOWN_KIND } from "./kept.js";
import { meta } from "./meta.js";
import { numgen } from "./numgen.js";
import { osf } from "./osf.js";
import { payload } from "./payload.js";
import { rt } from "./rt.js";
import { sctpChunk } from "./sctp-chunk.js";
import { socket } from "./socket.js";
import { tcpOption } from "./tcp-option.js";
import { tunnel } from "./tunnel.js";
import type { ExprKind, TextExprKind, WordReader } from "./types.js";

/** The kinds kept as written (`kind: "other"`), by `name`. */
const KEPT: readonly ExprKind<NftOtherExpr>[] = [tcpOption, ipOption, rt, exthdr, socket, osf, ipsec, sctpChunk, dccpOption, tunnel];

/**
 * Every kind, in the order the text reader tries them: the kept kinds come before payload so
 * that `tcp option` and `ip option` are not read as the (missing) fields `option` of tcp and
 * ip, and `rt nexthop` before the extension header `rt type`.
 */
export const EXPRESSION_KINDS: readonly ExprKind[] = [...KEPT, payload, meta, ct, fib, numgen, hash] as ExprKind[];

const TEXT_KINDS = EXPRESSION_KINDS.filter((k): k is TextExprKind => k.starts !== undefined && k.read !== undefined);

const BY_KIND = new Map<string, ExprKind>(EXPRESSION_KINDS.filter((k) => k.kind !== "other").map((k) => [k.kind, k]));

const BY_OTHER_NAME = new Map<string, ExprKind>(KEPT.map((k) => [k.name!, k as ExprKind]));

const BY_KEYWORD = new Map<string, TextExprKind>(TEXT_KINDS.flatMap((k) => k.keywords.map((w) => [w, k] as const)));

const BY_JSON_KEY = new Map<string, ExprKind>(EXPRESSION_KINDS.flatMap((k) => k.jsonKeys.map((w) => [w, k] as const)));

/** The kind a word starts whatever follows it (`meta`, `ct`, `ip`, `tcp`...): its reader says what key it expected. */
export function expressionKindByKeyword(word: string): TextExprKind | undefined {
  return BY_KEYWORD.get(word);
}

/** The kind of expression that starts at the reader's next word, if any. */
export function expressionKindAt(r: WordReader): TextExprKind | undefined {
  return TEXT_KINDS.find((k) => k.starts(r));
}

/** The kind of a libnftables JSON expression object by its key (`payload`, `jhash`, `tcp option`). */
export function expressionKindByJsonKey(key: string): ExprKind | undefined {
  return BY_JSON_KEY.get(key);
}

/** The kind that prints, types and evaluates `e`, when it is not a constant or a structure (set, map, binop...). */
export function expressionKind(e: NftExpr): ExprKind | undefined {
  return e.kind === "other" ? otherKind(e) : BY_KIND.get(e.kind);
}

/** A kept kind by its name; one nft itself does not know is still printed as written. */
function otherKind(e: NftOtherExpr): ExprKind {
  return BY_OTHER_NAME.get(e.name) ?? (UNKNOWN_KIND as ExprKind);
}

/**
 * Each kind's evaluation, for the evaluator's dispatch, by the AST's `kind`: the evaluator
 * keeps its switch over them (a call through one table site for every kind is megamorphic,
 * never inlined).
 */
export const KIND_EVALUATORS = {
  payload: payload.evaluate,
  meta: meta.evaluate,
  ct: ct.evaluate,
  fib: fib.evaluate,
  numgen: numgen.evaluate,
  hash: hash.evaluate,
  other: (e: NftOtherExpr, env: NftExprEnv, text: (e: NftExpr) => string) => otherKind(e).evaluate(e, env, text),
} as const;

/** The leaf kinds' readers (ExprKind.reader), for the statements that read them directly. */
export const KIND_READERS = {
  payload: payload.reader!,
  meta: meta.reader!,
  ct: ct.reader!,
} as const;
