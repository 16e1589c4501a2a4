/** Where a piece of the AST came from: 1-based line and column, length in characters. */
export interface Span {
  line: number;
  col: number;
  len: number;
}
