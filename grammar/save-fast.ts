/**
 * A hand-written scanner for the common lines of iptables-save output, producing exactly
 * what the chevrotain grammar in save.ts produces for them — five to nine times faster on the
 * lines of a kube-proxy dump (measured on 120k of them), which is much of what lets a
 * 100k-rule dump parse in about a second. It declines (returns undefined) on anything
 * unusual — unterminated quotes, Unicode spaces, form feeds — and readSaveLine (read-line.ts)
 * then has the grammar read that line. A property test (test/property/save-fast.test.ts)
 * holds the two to the same answers.
 */
import type { Arg, SaveLine } from "./save-line.js";

const SP = 32, TAB = 9, CR = 13, FF = 12, VT = 11, QUOTE = 34, HASH = 35, BACKSLASH = 92;

function isSpace(c: number): boolean {
  return c === SP || c === TAB || c === CR || c === FF || c === VT;
}

/**
 * What each ASCII character is to the word loop: one table read per character instead of a
 * row of comparisons (the loop reads every character of a 17 MB dump).
 */
const WORD = 0, SPACE = 1, DECLINE = 2, QUOTED = 3;
const CLASS = new Uint8Array(128);
CLASS[SP] = CLASS[TAB] = CLASS[CR] = SPACE;
// Form feeds and vertical tabs change how the grammar's lookaheads split words.
CLASS[FF] = CLASS[VT] = DECLINE;
CLASS[QUOTE] = QUOTED;

/** Unicode whitespace that the grammar's `\s` excludes from words but its Spaces token does not skip. */
const ODD_SPACE = /[\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\u0085]/;

/**
 * Scans text[start, end) — one line without its newline — numbered `line`. Returns null for a
 * blank line, undefined when the line must go to the chevrotain parser.
 */
export function scanSaveLine(text: string, start: number, end: number, line: number): SaveLine | null | undefined {
  let i = start;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === FF || c === VT) return undefined;
    if (!isSpace(c)) break;
  }
  if (i >= end) return null;
  const first = text.charCodeAt(i);
  if (first === HASH) {
    let e = end;
    if (e > i && text.charCodeAt(e - 1) === CR) e--;
    // The grammar's comment token ends at the newline only (a CR before it is dropped).
    return { kind: "comment", line, col: i - start + 1, text: text.slice(i, e) };
  }
  const args: Arg[] = [];
  let nonAscii = false;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === FF || c === VT) return undefined;
    if (isSpace(c)) {
      i++;
      continue;
    }
    const ws = i;
    let quoted = false;
    let value = "";
    let segStart = i;
    while (i < end) {
      const d = text.charCodeAt(i);
      const k = d < 0x80 ? CLASS[d]! : WORD;
      if (k === WORD) {
        if (d >= 0x80) nonAscii = true;
        i++;
        continue;
      }
      if (k === SPACE) break;
      if (k === DECLINE) return undefined;
      // k === QUOTED
      {
        // A quoted run: `\x` stands for x; it must close on this line (else the grammar
        // reads an open quote).
        quoted = true;
        value += text.slice(segStart, i);
        let j = i + 1;
        let from = j;
        for (;;) {
          if (j >= end) return undefined;
          const q = text.charCodeAt(j);
          if (q === QUOTE) break;
          if (q === BACKSLASH) {
            if (j + 1 >= end) return undefined;
            value += text.slice(from, j) + text[j + 1];
            j += 2;
            from = j;
            continue;
          }
          j++;
        }
        value += text.slice(from, j);
        // The closing quote ends the word, as in iptables-restore's tokenizer: `a"b"c` is two
        // arguments, `ab` and `c` (both backends refuse the `c`; checked with 1.8.9).
        i = j + 1;
        segStart = i;
        break;
      }
    }
    const raw = text.slice(ws, i);
    value = quoted ? value + text.slice(segStart, i) : raw;
    args.push({ raw, value, col: ws - start + 1, quoted });
  }
  if (nonAscii && ODD_SPACE.test(text.slice(start, end))) return undefined;
  const a0 = args[0]!;
  const r0 = a0.raw;
  const c0 = r0.charCodeAt(0);
  if (c0 === 42 /* * */) {
    if (!/^\*[A-Za-z0-9_-]+$/.test(r0)) return undefined;
    return { kind: "table", line, col: a0.col, name: r0.slice(1), extra: args.slice(1) };
  }
  if (c0 === 58 /* : */ && r0.length > 1) {
    if (a0.quoted) return undefined;
    return { kind: "chain", line, col: a0.col, name: r0.slice(1), args: args.slice(1) };
  }
  if (r0 === "COMMIT") return { kind: "commit", line, col: a0.col, extra: args.slice(1) };
  if (c0 === 91 /* [ */ && /^\[[0-9]+:[0-9]+\]$/.test(r0)) {
    return { kind: "command", line, col: a0.col, counters: a0, args: args.slice(1) };
  }
  return { kind: "command", line, col: a0.col, args };
}
