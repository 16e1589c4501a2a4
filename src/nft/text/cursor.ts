/**
 * A position in the token list with the few moves the recursive-descent reader needs, the
 * diagnostics sink, and the nesting guard: every construct that can nest (blocks, set
 * literals, parentheses) enters and leaves through `enter`, which refuses past MAX_DEPTH so no
 * input can exhaust the stack.
 */
import { DiagnosticSink } from "../../model/diagnostics.js";
import type { NftFamily } from "../../model/nft.js";
import type { Span } from "../../model/span.js";
import type { WordReader } from "../../extensions/nft/types.js";
import { spanOf, type Token } from "./tokens.js";

export const MAX_DEPTH = 64;

export class Cursor {
  pos = 0;
  depth = 0;
  /** The family of the table being read (types `ct original saddr`, `dnat to` addresses). */
  family: NftFamily | undefined;
  private readonly end: Token;

  constructor(readonly toks: readonly Token[], readonly sink: DiagnosticSink) {
    const last = toks[toks.length - 1];
    this.end = { type: "nl", text: "", line: last ? last.line : 1, col: last ? last.col + last.text.length : 1 };
  }

  peekTok(ahead = 0): Token | undefined {
    return this.toks[this.pos + ahead];
  }

  /** The next token, or an empty pseudo-token at the end of the input. */
  cur(): Token {
    return this.toks[this.pos] ?? this.end;
  }

  atEof(): boolean {
    return this.pos >= this.toks.length;
  }

  next(): Token {
    const t = this.cur();
    if (this.pos < this.toks.length) this.pos++;
    return t;
  }

  /** The next token is the word (or punctuation) `text`. */
  is(text: string, ahead = 0): boolean {
    const t = this.toks[this.pos + ahead];
    return t !== undefined && (t.type === "word" || t.type === "punct") && t.text === text;
  }

  accept(text: string): boolean {
    if (!this.is(text)) return false;
    this.pos++;
    return true;
  }

  /** Whether a statement ends here: newline, `;`, `}`, a comment, the end. */
  atStmtEnd(ahead = 0): boolean {
    const t = this.toks[this.pos + ahead];
    return t === undefined || t.type === "nl" || t.type === "comment" || (t.type === "punct" && (t.text === ";" || t.text === "}"));
  }

  span(t: Token = this.cur()): Span {
    return spanOf(t);
  }

  /** Reports at the next token that `expected` was expected; returns undefined. */
  fail(expected: string, message?: string): undefined {
    const t = this.cur();
    const found = this.pos >= this.toks.length ? "end of input" : t.type === "nl" ? "end of line" : t.text;
    this.sink.error(spanOf(t), message ?? `unexpected ${found}`, expected, found);
    return undefined;
  }

  /** Consumes `text` or reports what was expected. */
  expect(text: string, what = `"${text}"`): boolean {
    if (this.accept(text)) return true;
    this.fail(what);
    return false;
  }

  /** Skips newlines (and the comments on their own lines) inside a brace block or a list. */
  skipBlank(): void {
    while (this.pos < this.toks.length) {
      const t = this.toks[this.pos]!;
      if (t.type === "nl" || (t.type === "comment" && !isHandleComment(t))) this.pos++;
      else break;
    }
  }

  /**
   * Skips what is left of a statement after an error: to its end, passing over whole brace
   * blocks (iteratively) so that an error inside `{ ... }` does not end the enclosing block.
   */
  skipStatement(): void {
    let depth = 0;
    while (this.pos < this.toks.length) {
      const t = this.toks[this.pos]!;
      if (t.type === "punct" && t.text === "{") depth++;
      else if (t.type === "punct" && t.text === "}") {
        if (depth === 0) return;
        depth--;
      } else if (depth === 0 && (t.type === "nl" || (t.type === "punct" && t.text === ";"))) return;
      this.pos++;
    }
  }

  /** Enters a nesting construct; false (reported) when it is nested too deeply. */
  enter(): boolean {
    if (this.depth >= MAX_DEPTH) {
      this.fail(`at most ${MAX_DEPTH} levels of nesting`, `nesting deeper than ${MAX_DEPTH} levels`);
      return false;
    }
    this.depth++;
    return true;
  }

  leave(): void {
    this.depth--;
  }

  /** How a jhash key is read (set by the value reader). */
  readConcat: () => ReturnType<WordReader["readConcat"]> = () => undefined;

  /** The view of the words of the current statement that expression kinds read through (one per cursor). */
  readonly words: WordReader = ((self: Cursor): WordReader => ({
    peek(ahead = 0) {
      for (let i = 0; i <= ahead; i++) if (self.atStmtEnd(i)) return undefined;
      return self.toks[self.pos + ahead]!.text;
    },
    take() {
      return self.next().text;
    },
    fail(expected) {
      return self.fail(expected);
    },
    readConcat() {
      return self.readConcat();
    },
    get family() {
      return self.family;
    },
  }))(this);
}

/** `# handle 5`, as `nft -a` prints after a rule or an opening brace. */
export function isHandleComment(t: Token): boolean {
  return t.type === "comment" && /^#\s*handle\s+[0-9]+\s*$/.test(t.text);
}

export function handleOf(t: Token): number {
  return Number(/[0-9]+/.exec(t.text)![0]);
}
