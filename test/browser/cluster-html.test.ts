/**
 * The cluster page in a real headless Chromium (Debian's), as test/browser/html.test.ts runs
 * it: it loads nothing from elsewhere, logs no console errors, shows every hop of every way,
 * and no two boxes or texts overlap. Skipped with a reason where Chromium is not installed;
 * CI installs it and a skip there is a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { chromiumMissing, launchChromium } from "../support/chromium.js";
import { clusterHtmlPage } from "../../src/explain/cluster-html.js";
import type { ClusterOutcome } from "../../src/model/cluster.js";
import type { ClusterEvaluation } from "../../src/netfilter/cluster.js";
import { seed001, seed002, seed002Dropped, seed003, seed003ReplyDropped, twoWays } from "../support/cluster-fixtures.js";

const why = chromiumMissing;

/** Every way in drawing order: each request, then its replies. */
function ways(ev: ClusterEvaluation): Array<{ w: ClusterOutcome; dir: "request" | "reply" }> {
  return ev.outcomes.flatMap((w) => [{ w, dir: "request" as const }, ...(w.reply ?? []).map((r) => ({ w: r, dir: "reply" as const }))]);
}

interface Rect {
  what: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Pairs of rectangles that overlap, found by sweeping along y (sorted by top). */
function overlaps(rects: Rect[]): string[] {
  const sorted = [...rects].sort((a, b) => a.y - b.y);
  const out: string[] = [];
  const active: Rect[] = [];
  for (const r of sorted) {
    for (let i = active.length - 1; i >= 0; i--) if (active[i]!.y + active[i]!.h <= r.y) active.splice(i, 1);
    for (const a of active) if (a.x < r.x + r.w && r.x < a.x + a.w) out.push(`${a.what} / ${r.what}`);
    active.push(r);
  }
  return out;
}

async function open(browser: Browser, ev: ClusterEvaluation): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const file = join(mkdtempSync(join(tmpdir(), "netfate-cluster-html-")), "cluster.html");
  writeFileSync(file, clusterHtmlPage(ev));
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
  });
  page.on("pageerror", (err) => errors.push(String(err)));
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(`file://${file}`);
  return { page, errors, requests: requests.filter((u) => u !== `file://${file}`) };
}

describe.skipIf(why !== undefined)(`cluster HTML in Chromium${why ? ` (skipped: ${why})` : ""}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => browser?.close());

  for (const [name, make] of [["seed 002 (flannel VXLAN, reply delivered)", seed002], ["seed 001 (reply lost to rp_filter)", seed001], ["a request dropped on node2", seed002Dropped], ["two alternative ways", twoWays], ["seed 003 by the cluster evaluator", () => seed003()], ["seed 003, reply dropped on node-01", seed003ReplyDropped]] as const) {
    it(`${name}: every hop drawn on its node, nothing overlaps, nothing loaded, no console errors`, async () => {
      const ev = make();
      const { page, errors, requests } = await open(browser, ev);
      // Every hop of every way is a box, on the node (and in the pod) it happened on.
      const drawn = await page.locator("svg g.box.hop").evaluateAll((gs) => gs.map((g) => [g.id, g.getAttribute("data-node"), g.getAttribute("data-pod")]));
      const expected = ways(ev).flatMap(({ w }, wi) => w.hops.map((h, hi) => [`w${wi}-h${hi}`, h.at.node, h.at.pod ?? null]));
      expect(drawn).toEqual(expected);
      // Each hop's rewrites (DNAT, SNAT...) are on its box.
      const shown = await page.locator("svg g.box.hop").evaluateAll((gs) => gs.map((g) => [...g.querySelectorAll("text.rewrite")].map((t) => t.textContent).join(" ")));
      const made = ways(ev).flatMap(({ w }) => w.hops.map((h) => h.outcome.steps.filter((s) => s.matched).flatMap((s) => s.rewrites ?? []).slice(0, 3).join(" ")));
      expect(shown).toEqual(made);
      // Each hop box lies inside its node's box (and its pod's).
      const outside = await page.locator("svg g.box").evaluateAll((gs) => gs.flatMap((g) => {
        const r = (g.querySelector("rect") as SVGGraphicsElement).getBBox();
        const holders = [...document.querySelectorAll(`svg g.node[data-node="${g.getAttribute("data-node")}"]`), ...(g.getAttribute("data-pod") !== null ? [...document.querySelectorAll(`svg g.pod[data-pod="${g.getAttribute("data-pod")}"]`)] : [])];
        return holders.length === 0 ? [`${g.id}: no holder`] : holders.flatMap((hold) => {
          const o = (hold.querySelector("rect") as SVGGraphicsElement).getBBox();
          return r.x >= o.x && r.y >= o.y && r.x + r.width <= o.x + o.width && r.y + r.height <= o.y + o.height ? [] : [`${g.id} outside ${hold.getAttribute("data-pod") ?? hold.getAttribute("data-node")}`];
        });
      }));
      expect(outside).toEqual([]);
      // One end box per way, coloured by that way's own fate.
      const ends = await page.locator("svg g.box.fate").evaluateAll((gs) => gs.map((g) => g.getAttribute("class")));
      const verdict = (k: string) => (["dropped", "rejected", "martian", "unroutable", "reply-lost"].includes(k) ? "lost" : ["indeterminate", "error", "queued"].includes(k) ? "unknown" : "through");
      expect(ends).toEqual(ways(ev).map(({ w, dir }) => `box fate ${dir} ${verdict(w.fate.kind)}`));
      // No two boxes overlap, no two texts overlap, and every box's text stays in its box.
      const rects = await page.locator("svg g.box rect").evaluateAll((rs) => rs.map((r) => {
        const b = (r as SVGGraphicsElement).getBBox();
        return { what: r.parentElement!.id, x: b.x, y: b.y, w: b.width, h: b.height };
      }));
      expect(overlaps(rects)).toEqual([]);
      const texts = await page.locator("svg text").evaluateAll((ts) => ts.map((t) => {
        const b = (t as SVGGraphicsElement).getBBox();
        return { what: t.textContent ?? "", x: b.x, y: b.y, w: b.width, h: b.height };
      }));
      expect(texts.length).toBeGreaterThan(ev.outcomes[0]!.hops.length * 2);
      expect(overlaps(texts)).toEqual([]);
      const spilled = await page.locator("svg g.box").evaluateAll((gs) => gs.flatMap((g) => {
        const box = (g.querySelector("rect") as SVGGraphicsElement).getBBox();
        return [...g.querySelectorAll("text")].flatMap((t) => {
          const b = (t as SVGGraphicsElement).getBBox();
          return b.x < box.x || b.x + b.width > box.x + box.width || b.y < box.y || b.y + b.height > box.y + box.height ? [`${t.textContent}`] : [];
        });
      }));
      expect(spilled).toEqual([]);
      // Request and reply edges are told apart by colour and dash.
      const styles = await page.locator("svg g.edge path").evaluateAll((ps) => ps.map((p) => {
        const s = getComputedStyle(p);
        return [p.parentElement!.getAttribute("class")!.split(" ")[1], `${s.stroke} ${s.strokeDasharray}`];
      }));
      const byDir = new Map<string, Set<string>>();
      for (const [dir, style] of styles) if (dir === "request" || dir === "reply") byDir.set(dir, (byDir.get(dir) ?? new Set()).add(style!));
      for (const [a, b] of [[byDir.get("request"), byDir.get("reply")]]) if (a && b) for (const s of a) expect(b.has(s)).toBe(false);
      expect(await page.locator("script[src], link[href], img, iframe, object").count()).toBe(0);
      expect(requests).toEqual([]);
      expect(errors).toEqual([]);
    }, 60_000);
  }

  it("seed 002: each VXLAN crossing is a tunnel edge from the hop that sends into flannel.1 to the hop that takes it out", async () => {
    const { page } = await open(browser, seed002());
    const tunnels = await page.locator("svg g.edge.tunnel title").allTextContents();
    expect(tunnels).toEqual(["tunnel flannel.1 (vxlan) → flannel.1", "tunnel flannel.1 (vxlan) → flannel.1"]);
    const underlay = await page.locator("svg g.edge.underlay text").allTextContents();
    expect(underlay).toEqual(["underlay ens192 → ens192", "underlay ens192 → ens192"]);
    expect(await page.locator("svg g.pod").evaluateAll((ps) => ps.map((p) => p.textContent))).toEqual(["pod net-test1", "pod net-test2"]);
  }, 60_000);
});
