/**
 * The words of nft text. nft's own lexer knows addresses, ranges and names by their shape;
 * this one keeps a word whole while its characters can belong to one (`10.0.0.0/8`,
 * `2001:db8::1`, `1024-65535`, `nd-neighbor-solicit`, `$var`, `@set`, `@nh,16,16`) and makes
 * every operator its own token, so `ip daddr . tcp dport` and `10.0.0.1 . tcp . 53` split on
 * the spaced dots while addresses keep theirs. Newlines are tokens (they end statements);
 * comments are tokens (`# handle 5` is data in `nft -a` output).
 */
import type { Span } from "../../model/span.js";

export type TokenType = "word" | "string" | "punct" | "nl" | "comment";

export interface Token {
  type: TokenType;
  /** As written (a string with its quotes; a comment with its `#`). */
  text: string;
  line: number;
  col: number;
  /** A string's content with escapes undone. */
  value?: string;
  /** No whitespace between this token and the previous one (`"10:00"-"11:00"`, `:8080`). */
  glued?: boolean;
  /**
   * Two or more spaces between this token and the previous one on its line: where nft 1.0.6
   * printed an iptables-nft match whose translation is empty (`tcp dport 22  counter`).
   */
  wide?: boolean;
}

const PUNCT2 = new Set(["==", "!=", "<=", ">=", "<<", ">>"]);
const PUNCT1 = new Set(["{", "}", "(", ")", ";", ",", ".", ":", "/", "=", "!", "<", ">", "&", "|", "^", "+", "-", "*"]);

/** Character classes by code unit, built once: the tokenizer looks at every character. */
const WORD = new Uint8Array(128);
const ALNUM = new Uint8Array(128);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$") {
  WORD[ch.charCodeAt(0)] = 1;
  ALNUM[ch.charCodeAt(0)] = 1;
}
for (const ch of "@[]%~*\\") WORD[ch.charCodeAt(0)] = 1;
ALNUM["[".charCodeAt(0)] = 1;

function isWordChar(c: string): boolean {
  const k = c.charCodeAt(0);
  return k < 128 && WORD[k] === 1;
}

function isAlnum(c: string | undefined): boolean {
  if (c === undefined) return false;
  const k = c.charCodeAt(0);
  return k < 128 && ALNUM[k] === 1;
}

/** Tokens joined back into text: a space between them unless they were written glued. */
export function joinTokens(toks: readonly Token[]): string {
  let s = "";
  for (const t of toks) s += s === "" || t.glued ? t.text : ` ${t.text}`;
  return s;
}

/** Every token with the same fields in the same order (one shape for the engine: a listing has millions). */
function token(type: TokenType, text: string, line: number, col: number, value?: string): Token {
  return { type, text, line, col, value, glued: false, wide: false };
}

export function spanOf(t: Token): Span {
  return { line: t.line, col: t.col, len: t.text.length };
}

/**
 * Splits text into tokens, in one pass. An unterminated string ends at its line's end (the
 * parser reports it through `unterminated`).
 */
export function tokenize(text: string): { tokens: Token[]; unterminated: Token[] } {
  const tokens: Token[] = [];
  const unterminated: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let lastEnd = -1;
  const n = text.length;
  const push = (t: Token, start: number): void => {
    if (start === lastEnd) t.glued = true;
    else if (lastEnd >= 0 && start - lastEnd >= 2 && text.slice(lastEnd, start) === " ".repeat(start - lastEnd)) t.wide = true;
    tokens.push(t);
  };
  while (i < n) {
    const c = text[i]!;
    const col = i - lineStart + 1;
    if (c === "\n") {
      tokens.push(token("nl", "\n", line, col));
      i++;
      line++;
      lineStart = i;
      lastEnd = -1;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") {
      i++;
      continue;
    }
    // A backslash before a newline continues the line.
    if (c === "\\" && (text[i + 1] === "\n" || (text[i + 1] === "\r" && text[i + 2] === "\n"))) {
      i += text[i + 1] === "\n" ? 2 : 3;
      line++;
      lineStart = i;
      continue;
    }
    const start = i;
    if (c === "#") {
      let j = i;
      while (j < n && text[j] !== "\n") j++;
      push(token("comment", text.slice(i, j).replace(/\r$/, ""), line, col), start);
      i = j;
      lastEnd = i;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let value = "";
      let closed = false;
      while (j < n && text[j] !== "\n") {
        if (text[j] === "\\" && j + 1 < n && text[j + 1] !== "\n") {
          value += text[j + 1];
          j += 2;
          continue;
        }
        if (text[j] === '"') {
          closed = true;
          j++;
          break;
        }
        value += text[j];
        j++;
      }
      const t = token("string", text.slice(i, j), line, col, value);
      if (!closed) unterminated.push(t);
      push(t, start);
      i = j;
      lastEnd = i;
      continue;
    }
    // Raw payload and tcp option offsets: `@nh,16,16`, `@th,0,16`.
    if (c === "@") {
      const m = /^@[a-z0-9]+,[0-9]+,[0-9]+/y;
      m.lastIndex = 0;
      const rest = text.slice(i, i + 40);
      const hit = m.exec(rest);
      if (hit) {
        push(token("word", hit[0], line, col), start);
        i += hit[0].length;
        lastEnd = i;
        continue;
      }
    }
    const two = text.slice(i, i + 2);
    if (PUNCT2.has(two)) {
      push(token("punct", two, line, col), start);
      i += 2;
      lastEnd = i;
      continue;
    }
    // A `:` right after a closing brace separates (`map { ... }:tcp dport map { ... }`, as nft prints a nat port).
    const afterClose = c === ":" && (text[i - 1] === "}" || text[i - 1] === ")");
    if (isWordChar(c) || ((c === "-" || (c === ":" && !afterClose) || c === ".") && (isAlnum(text[i + 1]) || text[i + 1] === ":"))) {
      let j = i + 1;
      while (j < n) {
        const d = text[j]!;
        if (isWordChar(d)) {
          j++;
          continue;
        }
        // Inside a word: `-`, `.`, `/` and `:` join when a word character (or `:`) follows.
        if ((d === "-" || d === "." || d === "/" || d === ":") && (isAlnum(text[j + 1]) || (d === ":" && text[j + 1] === ":"))) {
          j++;
          continue;
        }
        // `::` ending an address (`fe80::`), `:` of an IPv6 address before a `/`, and a range
        // whose high end starts with `::` (`::1-::2`, as nft lists it).
        if ((d === ":" && (text[j - 1] === ":" || text[j + 1] === "/")) || (d === "-" && text[j + 1] === ":" && text[j + 2] === ":")) {
          j++;
          continue;
        }
        break;
      }
      push(token("word", text.slice(i, j), line, col), start);
      i = j;
      lastEnd = i;
      continue;
    }
    if (PUNCT1.has(c)) {
      push(token("punct", c, line, col), start);
      i++;
      lastEnd = i;
      continue;
    }
    // Anything else is a one-character word the parser will report where it stands.
    push(token("word", c, line, col), start);
    i++;
    lastEnd = i;
  }
  return { tokens, unterminated };
}
