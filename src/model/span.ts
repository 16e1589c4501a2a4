/** Where a piece of the AST came from: 1-based line and column, length in characters. */
export interface Span {
  line: number;
  col: number;
  len: number;
}

export const NO_SPAN: Span = Object.freeze({ line: 0, col: 0, len: 0 });

export function spanOf(line: number, col: number, len: number): Span {
  return { line, col, len };
}
