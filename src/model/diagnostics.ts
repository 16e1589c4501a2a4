import type { Span } from "./span.js";

export type Severity = "error" | "warning" | "info";

/**
 * A problem found in an input, always located. Errors mean the input was not understood
 * (the construct is left out of the AST, or kept as generic); warnings mean it was
 * understood with a caveat (an inferred table, a repaired line, a lossy listing).
 */
export interface Diagnostic {
  severity: Severity;
  file: string;
  line: number;
  col: number;
  message: string;
  expected?: string;
  found?: string;
}

/** Collects diagnostics for one input file; parsers never throw on bad input. */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  private errors = 0;
  /**
   * `keep: false` counts errors but keeps nothing: for binding again what was bound and
   * reported before (a deferred chain's rules), where the diagnostics would be repeats.
   */
  constructor(readonly file: string, private readonly keep = true) {}

  error(span: Span, message: string, expected?: string, found?: string): void {
    this.push("error", span, message, expected, found);
  }
  warning(span: Span, message: string, expected?: string, found?: string): void {
    this.push("warning", span, message, expected, found);
  }
  info(span: Span, message: string): void {
    this.push("info", span, message);
  }

  /** Diagnostics a reader of its own (the nft readers) reported for the same file, counted as if reported here. */
  take(ds: readonly Diagnostic[]): void {
    for (const d of ds) {
      if (d.severity === "error") this.errors++;
      if (this.keep) this.items.push(d);
    }
  }

  private push(severity: Severity, span: Span, message: string, expected?: string, found?: string): void {
    if (severity === "error") this.errors++;
    if (!this.keep) return;
    const d: Diagnostic = { severity, file: this.file, line: span.line, col: span.col, message };
    if (expected !== undefined) d.expected = expected;
    if (found !== undefined) d.found = found;
    this.items.push(d);
  }

  /** Errors so far; a binder compares it before and after a rule to know whether the rule failed. */
  get errorCount(): number {
    return this.errors;
  }
}

/** Past this many characters a word of the input is shown by its ends (see clipLongWords). */
const LONGEST_WORD_SHOWN = 120;
const LONG_WORD = new RegExp(`\\S{${LONGEST_WORD_SHOWN + 1},}`, "g");

/**
 * A message quotes the words it complains about, and a hostile or broken input can hold a word
 * of a hundred thousand characters (a number, a name, a line with no space): shown whole, one
 * diagnostic fills the terminal. Such a word keeps its first and last characters and says how
 * long it was; the diagnostic itself (JSON, the library) keeps the whole text.
 */
export function clipLongWords(text: string): string {
  if (text.length <= LONGEST_WORD_SHOWN) return text;
  const keep = LONGEST_WORD_SHOWN / 2 - 10;
  return text.replace(LONG_WORD, (w) => `${w.slice(0, keep)}…(${w.length} characters)…${w.slice(-keep)}`);
}

export function formatDiagnostic(d: Diagnostic): string {
  // The file's name is the user's own, never clipped; a quoted word is clipped before it is quoted.
  let s = `${d.file}:${d.line}:${d.col}: ${d.severity}: ${clipLongWords(d.message)}`;
  const found = d.found === undefined ? undefined : JSON.stringify(clipLongWords(d.found));
  if (d.expected !== undefined) s += ` (expected ${clipLongWords(d.expected)}${found !== undefined ? `, found ${found}` : ""})`;
  else if (found !== undefined) s += ` (found ${found})`;
  return s;
}
