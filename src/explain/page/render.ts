/**
 * The placed figure as SVG markup: lanes and table groups behind, links, then boxes with their
 * rows. Every element an outcome passes carries `data-o` (the outcomes, space separated), which
 * the figure's script uses to light one outcome's path. Text is escaped here and nowhere else.
 */
import type { Placed, PlacedBox, PlacedLink, TextLine } from "./layout.js";

/** Text for HTML and SVG: the five characters markup reads escaped. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const r1 = (n: number): string => String(Math.round(n * 10) / 10);
const outs = (s: Set<number>): string => [...s].join(" ");

function text(t: TextLine): string {
  return `<text class="${t.cls}" x="${r1(t.x)}" y="${r1(t.y)}">${esc(t.text)}</text>`;
}

function rect(r: { x: number; y: number; w: number; h: number }, cls: string, rx = 0): string {
  return `<rect class="${cls}" x="${r1(r.x)}" y="${r1(r.y)}" width="${r1(r.w)}" height="${r1(r.h)}"${rx ? ` rx="${rx}"` : ""}/>`;
}

function box(p: PlacedBox): string {
  const b = p.box;
  const cls = b.kind === "fate" ? `box fate ${b.verdict}` : `box ${b.kind}`;
  const rows = p.rows.map((r) => {
    const title = r.row.elided ? `<title>${esc(r.row.full)}</title>` : "";
    const step = r.row.step !== undefined ? ` data-step="${esc(r.row.step)}"` : "";
    return `<g class="row" id="${r.row.id}" data-o="${outs(r.row.outcomes)}"${step}>${title}${rect(r.rect, "row-bg")}${r.text.map(text).join("")}</g>`;
  }).join("");
  const focus = b.kind === "fate" ? ` data-outcome="${b.outcome}" tabindex="-1"` : "";
  return `<g class="${cls}" id="${b.id}" data-o="${outs(b.outcomes)}"${focus}>${rect(p.rect, "frame", b.kind === "fate" || b.kind === "start" ? 10 : 4)}${p.text.map(text).join("")}${rows}</g>`;
}

function link(p: PlacedLink): string {
  const l = p.link;
  const d = p.points.map((pt, k) => `${k ? "L" : "M"}${r1(pt.x)},${r1(pt.y)}`).join(" ");
  const label = p.label ? `<g class="label">${rect(p.label.rect, "label-bg", 3)}${p.label.text.map(text).join("")}</g>` : "";
  return `<g class="link ${l.kind}" id="${l.id}" data-o="${outs(l.outcomes)}"><path d="${d}" marker-end="url(#nf-arrow-${l.kind})"/>${label}</g>`;
}

export function figureSvg(p: Placed, title: string): string {
  const markers = ["jump", "goto", "return", "flow"].map((k) =>
    `<marker id="nf-arrow-${k}" class="arrow ${k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>`).join("");
  const frames = p.frames.map((f) => `<g class="${f.kind}">${rect(f.rect, "frame", f.kind === "lane" ? 6 : 4)}</g>`).join("\n");
  // Lane and table titles last, haloed: an edge entering a lane passes under its title, not over it.
  const titles = p.frames.map((f) => `<g class="${f.kind}-title-g">${text(f.text)}</g>`).join("\n");
  return `<svg class="nf-graph" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(title)}" width="${p.width}" height="${p.height}" viewBox="0 0 ${p.width} ${p.height}">
<defs>${markers}</defs>
${frames}
${p.links.map(link).join("\n")}
${p.boxes.map(box).join("\n")}
${titles}
</svg>`;
}
