/**
 * A first check of the commonest `-A` lines of a dump, done on the text itself: no words, no
 * argument objects, no bound rule. It accepts a line only when it recognises all of it as one
 * of the shapes kube-proxy and iptables-save print —
 *
 *   -A CHAIN [! ]-s/-d A.B.C.D[/N], -p tcp|udp, -m comment --comment TEXT,
 *   -m tcp|udp [--sport N] [--dport N], -m statistic --mode random --probability 0.N,
 *   -j ACCEPT|RETURN|DROP|CHAIN, -j DNAT --to-destination A.B.C.D[:PORT]
 *
 * — each option in a form the binder (rule-binder.ts) takes without a word of diagnostic and
 * binds to exactly one rule. For such a line it gives the chain and what the chain's digest
 * needs (the matches loaded, in order, and the target); the rule itself is bound, as before,
 * when its chain is first read. Anything else, however slightly different (a tab, a quote
 * escape, a leading zero, an option it does not know), is declined, and the line is read by
 * the scanner and the binder as it always was: the fast path never decides what a line
 * means, only that the binder would find nothing to say about it.
 *
 * Held to the binder by test/property/fast-append.test.ts: every line accepted here binds
 * there with no diagnostic, to one rule with the same digest.
 */
import type { ChainTarget, MatchNode, Rule, TableName } from "../model/ast.js";
import { findTarget, IPTABLES_TARGET_NAMES } from "../extensions/registry.js";

const SP = 32, QUOTE = 34, BANG = 33, DASH = 45, DOT = 46, SLASH = 47, COLON = 58, BACKSLASH = 92;
const ZERO = 48, NINE = 57;

/**
 * What the fast path needs of the table the line is in. Chains are named by a number, their
 * id: the table keeps what it knows of each in arrays by id, not in an object per chain.
 */
export interface FastTable {
  readonly table: { readonly name: TableName };
  /** The id of the chain (declared so far in the table) whose name is text[start, end), or -1. */
  chainIdAt(start: number, end: number): number;
  /** Whether a line may jump to chain `id` on the fast path (see `fastJumpable`). */
  jumpable(id: number): boolean;
}

/** The matches the fast path knows, by code: what `FastAppend.matches` holds. */
export const FAST_MATCH_NAMES = ["comment", "tcp", "udp", "statistic"] as const;
const COMMENT = 0, TCP = 1, UDP = 2, STATISTIC = 3;

/** What an accepted line's rule ends in: nothing, a verdict (ACCEPT, RETURN, DROP), DNAT, or a jump to a user chain. */
export const NO_TARGET = 0, VERDICT = 1, DNAT = 2, JUMP = 3;
export type FastTarget = typeof NO_TARGET | typeof VERDICT | typeof DNAT | typeof JUMP;

/** An accepted line, as the chain's digest needs it (reused from call to call: read it before the next). */
export interface FastAppend {
  /** The id of the chain the line adds to. */
  chain: number;
  /** How many matches the rule loads; their codes (FAST_MATCH_NAMES), in order, in `matches`. */
  matchCount: number;
  readonly matches: Uint8Array;
  target: FastTarget;
  /** The chain jumped to, for JUMP. */
  jumpTo: number;
  /**
   * The one IPv4 address `-d` requires, as a number (`-d A.B.C.D` or `A.B.C.D/32`, not negated);
   * -1 when it requires none (no `-d`, `! -d`, a network): what a chain index files the rule under first.
   */
  dst: number;
  /** The first `--dport` of the line's tcp/udp matches (-1: none): what a chain index files the rule under else. */
  dport: number;
}

/**
 * Whether a rule may jump to the chain `name` on the fast path: a user chain (a jump to a
 * built-in one, or to a name some target has, is the binder's to judge).
 */
export function fastJumpable(name: string, builtin: boolean): boolean {
  return !builtin && !VERDICT_NAMES.has(name) && !findTarget(name, "ipv4") && !IPTABLES_TARGET_NAMES.has(name);
}

/** `-j` of these is a verdict to the binder even when a chain has the name (`:QUEUE - [0:0]`). */
const VERDICT_NAMES: ReadonlySet<string> = new Set(["ACCEPT", "DROP", "RETURN", "QUEUE"]);

/** Most lines load at most this many matches; a line with more is declined. */
const MAX_MATCHES = 6;
const RESULT: FastAppend = { chain: -1, matchCount: 0, matches: new Uint8Array(MAX_MATCHES), target: NO_TARGET, jumpTo: -1, dst: -1, dport: -1 };

// The rule of an accepted line as the digest (model/chain-rules.ts `digestRule`) reads it: a
// match's kind and name, a target's kind and name or chain. For a chain whose digest is kept
// whole (it has lines the fast path declined) and for tests.
const STUB_SPAN = Object.freeze({ line: 0, col: 0, len: 0 });
const STUB_MATCHES = FAST_MATCH_NAMES.map((name) => Object.freeze({ kind: "match", name, data: undefined, span: STUB_SPAN }) as MatchNode);
const DNAT_TARGET = Object.freeze({ kind: "target", name: "DNAT", data: undefined, span: STUB_SPAN }) as Rule["target"];
const STANDARD_TARGET = Object.freeze({ kind: "standard", verdict: "ACCEPT", span: STUB_SPAN }) as Rule["target"];

/** A rule-shaped digest source for `f`; `chainName` names a chain by id. Made anew: a slow path's. */
export function fastDigestRule(f: FastAppend, chainName: (id: number) => string): Rule {
  const matches: MatchNode[] = [];
  for (let k = 0; k < f.matchCount; k++) matches.push(STUB_MATCHES[f.matches[k]!]!);
  const target: Rule["target"] =
    f.target === JUMP ? ({ kind: "chain", chain: chainName(f.jumpTo), span: STUB_SPAN } as ChainTarget)
    : f.target === DNAT ? DNAT_TARGET
    : f.target === VERDICT ? STANDARD_TARGET
    : null;
  return { span: STUB_SPAN, matches, target, goto: false };
}

/** A printable ASCII character other than space, `"` and `\`: what a plain word is made of. */
function plain(c: number): boolean {
  return c > SP && c < 127 && c !== QUOTE && c !== BACKSLASH;
}

/** The end of the plain word at `i` (i itself when there is none); -1 when a character not plain comes before a space or the end. */
function wordEnd(text: string, i: number, end: number): number {
  let k = i;
  while (k < end) {
    const c = text.charCodeAt(k);
    if (c === SP) break;
    if (!plain(c)) return -1;
    k++;
  }
  return k;
}

/**
 * Whether `word` is at text[s]. A loop rather than `startsWith`: the words are short, and the
 * builtin's call cost more than the comparison (measured in the profile of a 117k-line dump).
 * A word without a newline never matches past the end of its line.
 */
function at(text: string, s: number, word: string): boolean {
  const n = word.length;
  if (s + n > text.length) return false;
  for (let k = 0; k < n; k++) if (text.charCodeAt(s + k) !== word.charCodeAt(k)) return false;
  return true;
}

/** Whether text[s, e) is `word`. */
function is(text: string, s: number, e: number, word: string): boolean {
  return e - s === word.length && at(text, s, word);
}

/** A decimal number without leading zeros, 1..max, at text[s, e); -1 if not. */
function positive(text: string, s: number, e: number, max: number): number {
  if (e <= s || e - s > 5) return -1;
  let n = 0;
  for (let k = s; k < e; k++) {
    const c = text.charCodeAt(k);
    if (c < ZERO || c > NINE || (k === s && c === ZERO)) return -1;
    n = n * 10 + (c - ZERO);
  }
  return n >= 1 && n <= max ? n : -1;
}

/** The address the last dotted quad `dottedQuadEnd` accepted is, as a number (address.ts's). */
let quadValue = 0;

/** The end of a canonical dotted quad (no leading zeros) starting at `s`, or -1; its value in `quadValue`. */
function dottedQuadEnd(text: string, s: number, e: number): number {
  let k = s;
  let value = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (k >= e || text.charCodeAt(k) !== DOT) return -1;
      k++;
    }
    const from = k;
    let n = 0;
    while (k < e && k - from < 3) {
      const c = text.charCodeAt(k);
      if (c < ZERO || c > NINE) break;
      n = n * 10 + (c - ZERO);
      k++;
    }
    if (k === from || n > 255 || (k - from > 1 && text.charCodeAt(from) === ZERO)) return -1;
    value = value * 256 + n;
  }
  quadValue = value;
  return k;
}

/** The length of `A.B.C.D` (32) or `A.B.C.D/N` (N 0..32, no leading zero) that is exactly text[s, e), or -1; the address in `quadValue`. */
function cidrLength(text: string, s: number, e: number): number {
  const k = dottedQuadEnd(text, s, e);
  if (k < 0) return -1;
  if (k === e) return 32;
  if (text.charCodeAt(k) !== SLASH) return -1;
  return is(text, k + 1, e, "0") ? 0 : positive(text, k + 1, e, 32);
}

/** `0.DIGITS`: a probability the statistic match takes as it is. */
function probability(text: string, s: number, e: number): boolean {
  if (e - s < 3 || text.charCodeAt(s) !== ZERO || text.charCodeAt(s + 1) !== DOT) return false;
  for (let k = s + 2; k < e; k++) {
    const c = text.charCodeAt(k);
    if (c < ZERO || c > NINE) return false;
  }
  return true;
}

/**
 * The end of the comment text at `i`: a plain word, or one double-quoted run of printable ASCII
 * without `"` or `\` and nothing glued after it. -1 when it is neither, or longer than the
 * 255 bytes the comment match takes without a word.
 */
function commentEnd(text: string, i: number, end: number): number {
  if (i >= end) return -1;
  if (text.charCodeAt(i) !== QUOTE) {
    const k = wordEnd(text, i, end);
    return k > i && k - i <= 255 && !is(text, i, k, "!") ? k : -1;
  }
  let k = i + 1;
  for (;;) {
    if (k >= end) return -1;
    const c = text.charCodeAt(k);
    if (c === QUOTE) break;
    if (c < SP || c >= 127 || c === BACKSLASH) return -1;
    k++;
  }
  if (k - i - 1 > 255) return -1;
  k++;
  return k === end || text.charCodeAt(k) === SP ? k : -1;
}

/**
 * The `-A` line text[start, end) of an IPv4 table `t`, when the fast path recognises all of it (see
 * the file's comment); undefined when the scanner and the binder must read it.
 */
export function fastAppend(text: string, start: number, end: number, t: FastTable): FastAppend | undefined {
  if (end - start < 4 || text.charCodeAt(start) !== DASH || text.charCodeAt(start + 1) !== 65 /* A */ || text.charCodeAt(start + 2) !== SP) return undefined;
  let i = start + 3;
  let w = wordEnd(text, i, end);
  if (w <= i || text.charCodeAt(i) === DASH) return undefined;
  const chain = t.chainIdAt(i, w);
  if (chain < 0) return undefined;
  const codes = RESULT.matches;
  let matches = 0;
  let src = false, dst = false, proto = 0, negated = false;
  let target: FastTarget = NO_TARGET;
  let jumpTo = -1;
  let exactDst = -1, firstDport = -1;
  while (w < end) {
    // Exactly one space between words, none at the end.
    if (text.charCodeAt(w) !== SP || target !== NO_TARGET) return undefined;
    i = w + 1;
    w = wordEnd(text, i, end);
    if (w <= i) return undefined;
    const len = w - i;
    if (len === 1 && text.charCodeAt(i) === BANG) {
      if (negated) return undefined;
      negated = true;
      continue;
    }
    if (len !== 2 || text.charCodeAt(i) !== DASH) return undefined;
    const flag = text.charCodeAt(i + 1);
    // Every option here takes a value: the next word.
    if (w >= end || text.charCodeAt(w) !== SP) return undefined;
    i = w + 1;
    if (flag === 115 /* s */ || flag === 100 /* d */) {
      w = wordEnd(text, i, end);
      const length = w <= i ? -1 : cidrLength(text, i, w);
      if (length < 0) return undefined;
      if (flag === 115 ? src : dst) return undefined;
      if (flag === 115) src = true;
      else {
        dst = true;
        if (!negated && length === 32) exactDst = quadValue;
      }
      negated = false;
      continue;
    }
    if (negated) return undefined;
    w = wordEnd(text, i, end);
    if (w <= i) return undefined;
    if (flag === 112 /* p */) {
      if (proto !== 0) return undefined;
      if (is(text, i, w, "tcp")) proto = 6;
      else if (is(text, i, w, "udp")) proto = 17;
      else return undefined;
      continue;
    }
    if (flag === 109 /* m */) {
      if (matches === MAX_MATCHES) return undefined;
      let m: number;
      if (is(text, i, w, "comment")) {
        // --comment TEXT, required.
        if (!at(text, w, " --comment ")) return undefined;
        i = w + 11;
        w = commentEnd(text, i, end);
        if (w < 0) return undefined;
        m = COMMENT;
      } else if (is(text, i, w, "statistic")) {
        if (!at(text, w, " --mode random --probability ")) return undefined;
        i = w + 29;
        w = wordEnd(text, i, end);
        if (w <= i || !probability(text, i, w)) return undefined;
        m = STATISTIC;
      } else if ((is(text, i, w, "tcp") && proto === 6) || (is(text, i, w, "udp") && proto === 17)) {
        m = proto === 6 ? TCP : UDP;
        // [--sport N] [--dport N], each once, in any order.
        let sport = false, dport = false;
        while (w < end && at(text, w, " --") && (at(text, w, " --sport ") || at(text, w, " --dport "))) {
          const isDport = text.charCodeAt(w + 3) === 100;
          if (isDport ? dport : sport) return undefined;
          if (isDport) dport = true;
          else sport = true;
          i = w + 9;
          w = wordEnd(text, i, end);
          const port = w <= i ? -1 : positive(text, i, w, 65535);
          if (port < 0) return undefined;
          if (isDport && firstDport < 0) firstDport = port;
        }
      } else return undefined;
      codes[matches++] = m;
      continue;
    }
    if (flag === 106 /* j */) {
      if (is(text, i, w, "ACCEPT") || is(text, i, w, "RETURN") || (is(text, i, w, "DROP") && t.table.name !== "nat")) {
        target = VERDICT;
        continue;
      }
      if (is(text, i, w, "DNAT")) {
        // --to-destination A.B.C.D[:PORT], the last words of the line; a port needs -p tcp or udp.
        if (t.table.name !== "nat" || !at(text, w, " --to-destination ")) return undefined;
        i = w + 18;
        w = wordEnd(text, i, end);
        if (w !== end) return undefined;
        const q = dottedQuadEnd(text, i, w);
        if (q < 0 || (q !== w && (text.charCodeAt(q) !== COLON || proto === 0 || positive(text, q + 1, w, 65535) < 0))) return undefined;
        target = DNAT;
        continue;
      }
      // A user chain declared before the line (a built-in one, or a name that is no chain yet, is the binder's to judge).
      if (text.charCodeAt(i) === DASH) return undefined;
      jumpTo = t.chainIdAt(i, w);
      if (jumpTo < 0 || !t.jumpable(jumpTo)) return undefined;
      target = JUMP;
      continue;
    }
    return undefined;
  }
  if (negated) return undefined;
  RESULT.chain = chain;
  RESULT.matchCount = matches;
  RESULT.target = target;
  RESULT.jumpTo = jumpTo;
  RESULT.dst = exactDst;
  RESULT.dport = firstDport;
  return RESULT;
}

/**
 * The end of NAME in a chain declaration `:NAME - [0:0]` that is exactly text[start, end)
 * (NAME plain, 1 to 28 characters: no longer one is taken without a word), or -1. What the
 * declaration means (a built-in chain, one declared twice) is the caller's to judge.
 */
export function fastDeclaration(text: string, start: number, end: number): number {
  if (text.charCodeAt(start) !== COLON) return -1;
  const e = wordEnd(text, start + 1, end);
  if (e <= start + 1 || e - start - 1 > 28 || end - e !== DECLARATION_TAIL.length || !at(text, e, DECLARATION_TAIL)) return -1;
  return e;
}
const DECLARATION_TAIL = " - [0:0]";
