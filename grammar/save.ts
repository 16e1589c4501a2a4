/**
 * The chevrotain grammar for the lines of iptables-save / iptables-restore input and of
 * `iptables -S` output (save-line.ts says what a line is). It reads every line the fast
 * scanner (save-fast.ts) declines; grammar/read-line.ts decides which, and builds it with
 * the chevrotain it loads (chevrotain.ts) the first time one is declined.
 */
import type { IToken, TokenType } from "chevrotain";
import type { Chevrotain } from "./chevrotain.js";
import type { Arg, SaveLine, SaveLineError } from "./save-line.js";

function atLineStart(text: string, offset: number): boolean {
  for (let i = offset - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 10) return true;
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** JavaScript's `\s`, which separates words. */
export function isJsSpace(c: number): boolean {
  return (c >= 9 && c <= 13) || c === 32 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * End of a word: non-space non-quote characters, up to and including a closed `"..."`
 * segment. The closing quote ends the word, as in iptables-restore's tokenizer: `a"b"c` is two
 * arguments, `ab` and `c` (both backends refuse the `c`; checked with 1.8.9).
 */
function scanUnits(text: string, offset: number): number {
  let i = offset;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (isJsSpace(c)) break;
    if (c !== 34) {
      i++;
      continue;
    }
    // A quoted segment counts only if it closes before the end of the line.
    const j = quotedRunEnd(text, i + 1);
    if (j < text.length && text.charCodeAt(j) === 34) i = j + 1;
    break;
  }
  return i;
}

/** From just after an opening `"`: where the quoted run stops (a `"`, a newline, or a dangling `\`). */
function quotedRunEnd(text: string, from: number): number {
  let j = from;
  while (j < text.length) {
    const d = text.charCodeAt(j);
    if (d === 34 || d === 10) break;
    if (d === 92) {
      if (j + 1 >= text.length || text.charCodeAt(j + 1) === 10) break;
      j += 2;
      continue;
    }
    j++;
  }
  return j;
}

function matchOf(text: string, start: number, end: number): RegExpExecArray {
  return [text.slice(start, end)] as unknown as RegExpExecArray;
}

/** Strips the quoting iptables-restore understands: inside `"..."`, `\x` is `x`; outside, `\` is literal. */
export function unquote(raw: string): { value: string; quoted: boolean } {
  if (raw.indexOf('"') < 0) return { value: raw, quoted: false };
  let out = "";
  let inQuote = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '"') {
      inQuote = !inQuote;
      continue;
    }
    if (c === "\\" && inQuote && i + 1 < raw.length) {
      out += raw[++i];
      continue;
    }
    out += c;
  }
  return { value: out, quoted: true };
}

/** Reads a text that starts at the beginning of line `firstLine`: its lines, and what it could not read. */
export type SaveGrammar = (text: string, firstLine: number) => { lines: SaveLine[]; errors: SaveLineError[] };

/** Where `offset` of a text that starts at line `firstLine` is (1-based line and column). */
function positionOf(text: string, offset: number, firstLine: number): { line: number; col: number } {
  const before = text.lastIndexOf("\n", offset - 1);
  let line = firstLine;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return { line, col: offset - before };
}

/** The grammar, built with the chevrotain given (building it is most of its cost: read-line.ts). */
export function buildSaveGrammar(cv: Chevrotain): SaveGrammar {
  const { createToken, EmbeddedActionsParser, Lexer } = cv;
  const Newline = createToken({ name: "Newline", pattern: /\r?\n/, line_breaks: true });
  const Spaces = createToken({ name: "Spaces", pattern: /[ \t\r\f\v]+/, group: Lexer.SKIPPED });
  /** `#` only starts a comment at the beginning of a line, as in iptables-restore. */
  const LineComment = createToken({
    name: "LineComment",
    pattern: {
      exec(text: string, offset: number) {
        if (text.charCodeAt(offset) !== 35 || !atLineStart(text, offset)) return null;
        let end = text.indexOf("\n", offset);
        if (end < 0) end = text.length;
        if (end > offset && text.charCodeAt(end - 1) === 13) end--;
        const m = [text.slice(offset, end)] as unknown as RegExpExecArray;
        return m;
      },
    },
    start_chars_hint: ["#"],
    line_breaks: false,
  });
  /**
   * Any argument; double-quoted parts may hold spaces and backslash escapes. Scanned by hand
   * rather than by a regular expression so a 10 MB argument costs linear time and no stack.
   */
  const Word = createToken({
    name: "Word",
    pattern: {
      exec(text: string, offset: number) {
        const e = scanUnits(text, offset);
        return e > offset ? matchOf(text, offset, e) : null;
      },
    },
    line_breaks: false,
  });
  /** A word whose last double quote is never closed on its line. */
  const OpenQuote = createToken({
    name: "OpenQuote",
    pattern: {
      exec(text: string, offset: number) {
        const e = scanUnits(text, offset);
        if (text.charCodeAt(e) !== 34) return null;
        return matchOf(text, offset, quotedRunEnd(text, e + 1));
      },
    },
    line_breaks: false,
  });
  const Counters = createToken({ name: "Counters", pattern: /\[[0-9]+:[0-9]+\](?=[ \t\r\n]|$)/, longer_alt: Word });
  const TableHeader = createToken({ name: "TableHeader", pattern: /\*[A-Za-z0-9_-]+(?=[ \t\r\n]|$)/, longer_alt: Word });
  const ChainDecl = createToken({ name: "ChainDecl", pattern: /:[^\s"]+/, longer_alt: Word });
  const Commit = createToken({ name: "Commit", pattern: /COMMIT(?=[ \t\r\n]|$)/, longer_alt: Word });

  const allTokens: TokenType[] = [Newline, Spaces, LineComment, Counters, TableHeader, ChainDecl, Commit, Word, OpenQuote];

  const lexer = new Lexer(allTokens, {
    positionTracking: "onlyOffset",
    ensureOptimizations: false,
    skipValidations: true,
  });

  class SaveParser extends EmbeddedActionsParser {
    private lineNo = 1;
    private lineStart = 0;
    private lines: SaveLine[] = [];

    constructor() {
      super(allTokens, { recoveryEnabled: false, skipValidations: true });
      this.performSelfAnalysis();
    }

    startAt(firstLine: number, firstLineStart: number): void {
      this.lineNo = firstLine;
      this.lineStart = firstLineStart;
      this.lines = [];
    }

    take(): SaveLine[] {
      const l = this.lines;
      this.lines = [];
      return l;
    }

    private col(t: IToken): number {
      return t.startOffset - this.lineStart + 1;
    }

    private arg(t: IToken): Arg {
      const col = this.col(t);
      if (t.tokenType === OpenQuote) {
        return { raw: t.image, value: unquote(t.image + '"').value, col, quoted: true, unterminated: true };
      }
      const u = unquote(t.image);
      return { raw: t.image, value: u.value, col, quoted: u.quoted };
    }

    private endLine(nl: IToken | undefined): void {
      if (nl !== undefined) {
        this.lineNo++;
        this.lineStart = nl.startOffset + nl.image.length;
      }
    }

    public dump = this.RULE("dump", () => {
      this.MANY(() => this.SUBRULE(this.line));
    });

    private anyArg = this.RULE("anyArg", () =>
      this.OR([
        { ALT: () => this.CONSUME(Word) },
        { ALT: () => this.CONSUME(OpenQuote) },
        { ALT: () => this.CONSUME(Counters) },
        { ALT: () => this.CONSUME(TableHeader) },
        { ALT: () => this.CONSUME(ChainDecl) },
        { ALT: () => this.CONSUME(Commit) },
      ]),
    );

    private argList = this.RULE("argList", () => {
      const out: Arg[] = [];
      this.MANY(() => {
        const t = this.SUBRULE(this.anyArg);
        this.ACTION(() => out.push(this.arg(t)));
      });
      return out;
    });

    private lineEnd = this.RULE("lineEnd", () => {
      const nl = this.OPTION(() => this.CONSUME(Newline));
      this.ACTION(() => this.endLine(nl));
    });

    private line = this.RULE("line", () => {
      this.OR([
        {
          ALT: () => {
            const nl = this.CONSUME2(Newline);
            this.ACTION(() => this.endLine(nl));
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(LineComment);
            this.ACTION(() => this.lines.push({ kind: "comment", line: this.lineNo, col: this.col(t), text: t.image }));
            this.SUBRULE(this.lineEnd);
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(TableHeader);
            const extra = this.SUBRULE2(this.argList);
            this.ACTION(() => this.lines.push({ kind: "table", line: this.lineNo, col: this.col(t), name: t.image.slice(1), extra }));
            this.SUBRULE2(this.lineEnd);
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(ChainDecl);
            const args = this.SUBRULE3(this.argList);
            this.ACTION(() => this.lines.push({ kind: "chain", line: this.lineNo, col: this.col(t), name: t.image.slice(1), args }));
            this.SUBRULE3(this.lineEnd);
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(Commit);
            const extra = this.SUBRULE4(this.argList);
            this.ACTION(() => this.lines.push({ kind: "commit", line: this.lineNo, col: this.col(t), extra }));
            this.SUBRULE4(this.lineEnd);
          },
        },
        {
          ALT: () => {
            const c = this.CONSUME(Counters);
            const args = this.SUBRULE5(this.argList);
            this.ACTION(() => this.lines.push({ kind: "command", line: this.lineNo, col: this.col(c), counters: this.arg(c), args }));
            this.SUBRULE5(this.lineEnd);
          },
        },
        {
          ALT: () => {
            const first = this.OR2([{ ALT: () => this.CONSUME2(Word) }, { ALT: () => this.CONSUME2(OpenQuote) }]);
            const rest = this.SUBRULE6(this.argList);
            this.ACTION(() => {
              const a = this.arg(first);
              this.lines.push({ kind: "command", line: this.lineNo, col: a.col, args: [a, ...rest] });
            });
            this.SUBRULE6(this.lineEnd);
          },
        },
      ]);
    });
  }

  const parser = new SaveParser();

  return (text, firstLine) => {
    const lexed = lexer.tokenize(text);
    const errors: SaveLineError[] = [];
    for (const e of lexed.errors) {
      errors.push({ ...positionOf(text, e.offset, firstLine), message: `unexpected character ${JSON.stringify(text[e.offset])}` });
    }
    parser.input = lexed.tokens;
    parser.startAt(firstLine, 0);
    parser.dump();
    for (const e of parser.errors) {
      const at = Number.isFinite(e.token.startOffset) ? positionOf(text, e.token.startOffset, firstLine) : { line: firstLine, col: 1 };
      errors.push({ ...at, message: e.message });
    }
    return { lines: parser.take(), errors };
  };
}
