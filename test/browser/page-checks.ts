/**
 * What every netfate page must pass in the browser, as lists of what is wrong (empty: all
 * well), so a failing test says which label and where.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Page } from "playwright-core";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts");
/** Where the sample tests leave what a person may want to look at (ignored by git). */
export const SHOTS = resolve(ARTIFACTS, "screenshots");
export const PAGES = resolve(ARTIFACTS, "pages");

export function makeArtifactDirs(): void {
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(PAGES, { recursive: true });
}

/** Pairs of SVG text elements whose boxes overlap, as "a / b". Pairwise: pages are small. */
export async function overlappingTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const texts = [...document.querySelectorAll("svg text")].map((t) => ({ t: t.textContent ?? "", r: t.getBoundingClientRect() }));
    const out: string[] = [];
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i]!.r, b = texts[j]!.r;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        // Lines of one block touch at their em boxes: overlap must be more than a pixel each way.
        if (w > 1 && h > 1) out.push(`${texts[i]!.t} / ${texts[j]!.t}`);
      }
    }
    return out;
  });
}

/**
 * Texts that run out of the shape they belong to: a box's text out of its frame, a link
 * label's out of its background, a lane's or group's title out of its frame.
 */
export async function textsOutsideTheirBoxes(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const check = (owner: Element, frame: Element | null, texts: Element[]) => {
      if (!frame) return void out.push(`${owner.id || owner.getAttribute("class")}: no frame`);
      const f = frame.getBoundingClientRect();
      for (const t of texts) {
        const r = t.getBoundingClientRect();
        if (r.left < f.left - 0.5 || r.right > f.right + 0.5 || r.top < f.top - 0.5 || r.bottom > f.bottom + 0.5) {
          out.push(`${t.textContent}: ${r.left.toFixed(0)}..${r.right.toFixed(0)} × ${r.top.toFixed(0)}..${r.bottom.toFixed(0)} outside ${f.left.toFixed(0)}..${f.right.toFixed(0)} × ${f.top.toFixed(0)}..${f.bottom.toFixed(0)}`);
        }
      }
    };
    for (const g of document.querySelectorAll("svg g.box")) check(g, g.querySelector(":scope > rect"), [...g.querySelectorAll("text")]);
    for (const g of document.querySelectorAll("svg g.label")) check(g, g.querySelector(":scope > rect"), [...g.querySelectorAll("text")]);
    // A lane's or table group's title is drawn after everything else (over the edges), in the order of the frames.
    const frames = [...document.querySelectorAll("svg g.lane, svg g.group")];
    const titles = [...document.querySelectorAll("svg g.lane-title-g, svg g.group-title-g")];
    frames.forEach((g, i) => check(g, g.querySelector(":scope > rect"), titles[i] ? [...titles[i]!.querySelectorAll("text")] : []));
    const svg = document.querySelector("svg")!.getBoundingClientRect();
    for (const t of document.querySelectorAll("svg text")) {
      const r = t.getBoundingClientRect();
      if (r.left < svg.left || r.right > svg.right || r.top < svg.top || r.bottom > svg.bottom) out.push(`${t.textContent}: outside the figure`);
    }
    return out;
  });
}

/** Collects console errors, page errors and any request that is not for the page itself (file:, data:). */
export function watch(page: Page): { errors: string[]; requests: string[] } {
  const w = { errors: [] as string[], requests: [] as string[] };
  page.on("console", (m) => {
    if (m.type() === "error") w.errors.push(m.text());
  });
  page.on("pageerror", (err) => w.errors.push(String(err)));
  page.on("request", (r) => {
    if (!/^(file|data):/.test(r.url())) w.requests.push(r.url());
  });
  return w;
}
