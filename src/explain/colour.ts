/** ANSI colours, on only for terminals and never when NO_COLOR is set (FORCE_COLOR forces them). */
export interface Palette {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const wrap = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;

export const COLOURS: Palette = { bold: wrap("1"), dim: wrap("2"), red: wrap("31"), green: wrap("32"), yellow: wrap("33"), cyan: wrap("36") };
const id = (s: string) => s;
export const PLAIN: Palette = { bold: id, dim: id, red: id, green: id, yellow: id, cyan: id };

export function paletteFor(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): Palette {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return PLAIN;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return COLOURS;
  return isTTY ? COLOURS : PLAIN;
}
