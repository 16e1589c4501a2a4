/**
 * Binding again a `-A` line the fast path (fast-append.ts) recognises, without the scanner's
 * words and the binder's search for each option's owner: the line's shape is known, so each
 * word's place says what it is. What it builds is the binder's own draft (rule-binder.ts), and
 * the binder finishes it — the extensions parse their options, and the rule is assembled — so
 * the rule is the one `bindCommand` makes of the line. Binding KUBE-SERVICES (10k rules) for a
 * first answer went mostly to reading its words again and routing its options.
 *
 * Held to the binder by test/property/fast-append.test.ts (every line the fast path accepts
 * binds here to the rules `bindCommand` gives, equal down to the order of their keys).
 */
import type { AddressMatch, Rule } from "../model/ast.js";
import type { Span } from "../model/span.js";
import { parseAddress } from "../model/address.js";
import { findMatch, findTarget } from "../extensions/registry.js";
import { protocolName } from "../extensions/protocols.js";
import { is } from "./fast-append.js";
import { append, finishRule, RuleDraft, type BindEnv, type PendingMatch, type PendingTarget } from "./rule-binder.js";

const SP = 32, QUOTE = 34, BANG = 33;

/**
 * The words fast-append.ts knows, as constant strings: a word of the line that is one of them
 * is taken from here rather than cut out of the text (a new string, hashed again to find its
 * extension, for each of 10k rules).
 */
const KNOWN = ["comment", "tcp", "udp", "statistic", "--comment", "--sport", "--dport", "--mode", "random", "--probability", "--to-destination", "ACCEPT", "DROP", "RETURN", "DNAT"];

/** Each word of the line: start, end (a quoted word: of its text inside the quotes), and where the word starts. */
const MAX_WORDS = 128;
const WORDS = new Int32Array(MAX_WORDS * 3);

/** Splits an accepted line into WORDS; the number of words, or -1 when there are too many. */
function split(text: string, start: number, end: number): number {
  let n = 0;
  let i = start;
  while (i < end) {
    if (n === MAX_WORDS) return -1;
    const o = n * 3;
    WORDS[o + 2] = i;
    if (text.charCodeAt(i) === QUOTE) {
      const close = text.indexOf('"', i + 1);
      WORDS[o] = i + 1;
      WORDS[o + 1] = close;
      i = close + 1;
    } else {
      let k = i;
      while (k < end && text.charCodeAt(k) !== SP) k++;
      WORDS[o] = i;
      WORDS[o + 1] = k;
      i = k;
    }
    n++;
    i++; // the one space between words
  }
  return n;
}

/**
 * The rules of the `-A` line text[start, end), numbered `line`, which fastAppend accepted for
 * the table that `env` binds in; undefined when it has more words than this reads (the
 * binder then reads it).
 */
export function bindAccepted(text: string, start: number, end: number, env: BindEnv): Rule[] | undefined {
  const n = split(text, start, end);
  if (n < 0) return undefined;
  const { line, family, sink } = env;
  const errorsBefore = sink.errorCount;
  const word = (k: number) => text.slice(WORDS[k * 3]!, WORDS[k * 3 + 1]!);
  // A match or target name, an option's flag: one of KNOWN when the line is one fast-append.ts accepts.
  const name = (k: number) => {
    const s = WORDS[k * 3]!, e = WORDS[k * 3 + 1]!;
    for (const w of KNOWN) if (is(text, s, e, w)) return w;
    return text.slice(s, e);
  };
  // A word's span, as the binder gives it: where it starts, and its length as written.
  const spanOf = (k: number): Span => {
    const at = WORDS[k * 3 + 2]!;
    const close = WORDS[k * 3 + 1]!;
    return { line, col: at - start + 1, len: (text.charCodeAt(at) === QUOTE ? close + 1 : close) - at };
  };
  const r = new RuleDraft(undefined);
  let negated = false;
  let k = 2;
  while (k < n) {
    const ws = WORDS[k * 3]!;
    if (WORDS[k * 3 + 1]! - ws === 1 && text.charCodeAt(ws) === BANG) {
      negated = true;
      k++;
      continue;
    }
    const flag = text.charCodeAt(ws + 1);
    const span = spanOf(k);
    const v = flag === 109 /* m */ || flag === 106 /* j */ || flag === 112 /* p */ ? name(k + 1) : word(k + 1);
    k += 2;
    switch (flag) {
      case 115 /* s */:
      case 100 /* d */: {
        const p = parseAddress(v, family);
        if (!p.ok) return undefined;
        const m: AddressMatch = { negated, address: p.value.address, prefixLength: p.value.prefixLength, mask: p.value.mask };
        if (flag === 115) {
          r.sources = [m];
          r.srcNeg = negated;
        } else {
          r.destinations = [m];
          r.dstNeg = negated;
        }
        negated = false;
        break;
      }
      case 112 /* p */: {
        const number = v === "tcp" ? 6 : 17;
        r.proto = { negated: false, number, name: protocolName(number) };
        break;
      }
      case 109 /* m */: {
        const pm: PendingMatch = { ext: findMatch(v, family), name: v, options: [], span };
        // The match's options follow it: `--flag value` pairs (fast-append.ts says which).
        while (k + 1 < n && text.charCodeAt(WORDS[k * 3]!) === 45 && text.charCodeAt(WORDS[k * 3]! + 1) === 45) {
          const f = name(k);
          pm.options = append(pm.options, { flag: f, negated: false, values: [f === "--mode" ? name(k + 1) : word(k + 1)], span: spanOf(k) });
          k += 2;
        }
        r.matches = append(r.matches, pm);
        r.lastLoaded = pm;
        break;
      }
      case 106 /* j */: {
        r.goto = false;
        if (v === "ACCEPT" || v === "DROP" || v === "RETURN") r.targetSimple = { kind: "standard", verdict: v, span };
        else if (v === "DNAT") {
          const t: PendingTarget = { ext: findTarget(v, family), name: v, options: [], span };
          t.options = append(t.options, { flag: name(k), negated: false, values: [word(k + 1)], span: spanOf(k) });
          k += 2;
          r.target = t;
          r.lastLoaded = t;
        } else r.targetSimple = { kind: "chain", chain: v, span };
        break;
      }
      default:
        return undefined;
    }
  }
  return finishRule(r, env, { line, col: 1, len: 2 }, errorsBefore);
}
