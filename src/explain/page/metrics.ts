/**
 * How much room text takes in the figure. Every label is set in one monospace face at fixed
 * sizes, so a line's width is its length times one advance; the advance is a little wider than
 * DejaVu Sans Mono's and Liberation Mono's (0.602 em), so a box sized here holds its text in
 * either (the browser test checks every label against its box).
 */
export const FONT_FAMILY = `"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace`;
export const FONT_SIZE = 12;
export const ADVANCE = 7.4;
export const LINE = 16;
export const PAD = 8;

export function textWidth(line: string): number {
  return [...line].length * ADVANCE;
}

export function linesWidth(lines: readonly string[]): number {
  return lines.reduce((w, l) => Math.max(w, textWidth(l)), 0);
}

/** Breaks prose into lines of at most `columns` characters, at spaces where it can. */
export function wrapProse(text: string, columns: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    let w = word;
    while ([...w].length > columns) {
      if (line) out.push(line), (line = "");
      out.push([...w].slice(0, columns).join(""));
      w = [...w].slice(columns).join("");
    }
    if (!line) line = w;
    else if ([...line].length + 1 + [...w].length <= columns) line += ` ${w}`;
    else out.push(line), (line = w);
  }
  if (line || !out.length) out.push(line);
  return out;
}
