/**
 * Text into HTML for the page's own markup (kept here rather than borrowed from the static
 * page's module, which is being rewritten), and the trace's text palette as markup: the same
 * wording the terminal gets (src/explain/text.ts), its colours as classes.
 */
import { PLAIN, type Palette } from "../explain/colour.js";

/** Text for HTML: the five characters markup reads, escaped. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/**
 * Lines text.ts writes with a palette, as HTML with the colours as classes. text.ts joins
 * coloured pieces with plain ones it does not pass through the palette, so the lines are
 * written with markers (private-use characters) instead of tags, escaped whole, and the
 * markers then become tags: no text from the inputs reaches the page unescaped. Should the
 * inputs themselves hold a marker character, the lines are shown without colours.
 */
const OPEN = "\uE000";
const SEP = "\uE001";
const CLOSE = "\uE002";

const MARKED: Palette = {
  bold: (s) => `${OPEN}b${SEP}${s}${CLOSE}`,
  dim: (s) => `${OPEN}dim${SEP}${s}${CLOSE}`,
  red: (s) => `${OPEN}red${SEP}${s}${CLOSE}`,
  green: (s) => `${OPEN}green${SEP}${s}${CLOSE}`,
  yellow: (s) => `${OPEN}yellow${SEP}${s}${CLOSE}`,
  cyan: (s) => `${OPEN}cyan${SEP}${s}${CLOSE}`,
};

export function paletteHtml(write: (c: Palette) => string): string {
  const plain = write(PLAIN);
  if (/[\uE000-\uE002]/.test(plain)) return escapeHtml(plain);
  return escapeHtml(write(MARKED))
    .replace(/\uE000(b|dim|red|green|yellow|cyan)\uE001/g, (_m, cls: string) => `<span class="${cls}">`)
    .replace(/\uE002/g, "</span>");
}

/** What a screen reader says of a trace: its outcomes in a line (page.ts for the first trace, ui.ts for the others). */
export function outcomesSaid(fates: string[]): string {
  return `${fates.length} outcome${fates.length === 1 ? "" : "s"}: ${fates.join(", ")}`;
}

/** The notes under the packet line. */
export function notesText(notes: string[]): string {
  return notes.map((n) => `note: ${n}`).join("\n");
}
