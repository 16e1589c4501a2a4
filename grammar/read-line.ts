/**
 * The one way into grammar/: `readSaveLine` reads one line of iptables-save / restore input or
 * of `iptables -S` output (save-line.ts says what it gives).
 *
 * The hand-written scanner (save-fast.ts) reads the common lines several times faster than
 * the chevrotain grammar (save.ts) and declines the unusual ones; the grammar reads those. It is
 * loaded and built the first time a line is declined, not before: loading chevrotain's bundle
 * (chevrotain.ts) and building the grammar cost about 30 ms of CPU, a sixth of a whole
 * `netfate parse` of a small file (about 175 ms; medians of twenty paired runs), and the
 * scanner reads every line of most dumps.
 */
import { chevrotain } from "./chevrotain.js";
import { buildSaveGrammar, type SaveGrammar } from "./save.js";
import { scanSaveLine } from "./save-fast.js";
import type { SaveLine, SaveLineError } from "./save-line.js";

export type { Arg, SaveLine, SaveLineError } from "./save-line.js";

let grammar: SaveGrammar | undefined;

/** The grammar's reading of a text that starts at the beginning of line `firstLine`. */
export function grammarLines(text: string, firstLine: number): { lines: SaveLine[]; errors: SaveLineError[] } {
  grammar ??= buildSaveGrammar(chevrotain());
  return grammar(text, firstLine);
}

/**
 * Reads text[start, end), one line without its newline, numbered `line`: null when it is blank.
 * What cannot be read goes to `onError`, with where it is; the rest of the line is still read.
 */
export function readSaveLine(text: string, start: number, end: number, line: number, onError: (e: SaveLineError) => void): SaveLine | null {
  const fast = scanSaveLine(text, start, end, line);
  if (fast !== undefined) return fast;
  const { lines, errors } = grammarLines(text.slice(start, end), line);
  for (const e of errors) onError(e);
  // Text without a newline is one line: the grammar's line rule takes all of it.
  if (lines.length > 1) throw new Error(`internal error: the grammar read line ${line} as ${lines.length} lines`);
  return lines[0] ?? null;
}
