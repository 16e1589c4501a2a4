/**
 * What one line of iptables-save / iptables-restore input or of `iptables -S` output is, as
 * read by the fast scanner (save-fast.ts) or the grammar (save.ts): a table header, a chain
 * declaration, COMMIT, a comment, or a command line (`-A CHAIN ...`, `-N`, `-P`, `-I`) as
 * argv-like words. What the words of a command mean is decided in `src/syntax/`, because
 * iptables binds options to extensions by data (which `-m` modules are loaded), not by a
 * context-free grammar.
 */

/** One argument of a command line: its raw text, its value after quote processing, its column. */
export interface Arg {
  raw: string;
  value: string;
  col: number;
  quoted: boolean;
  /** Set for a word with a `"` that never closes. */
  unterminated?: boolean;
}

export type SaveLine =
  | { kind: "comment"; line: number; col: number; text: string }
  | { kind: "table"; line: number; col: number; name: string; extra: Arg[] }
  | { kind: "chain"; line: number; col: number; name: string; args: Arg[] }
  | { kind: "commit"; line: number; col: number; extra: Arg[] }
  | { kind: "command"; line: number; col: number; counters?: Arg; args: Arg[] };

/** Something the grammar could not read, where it is. */
export interface SaveLineError {
  line: number;
  col: number;
  message: string;
}
