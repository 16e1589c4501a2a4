/**
 * Every sample's cluster packets as `trace --cluster ... --reply --format html` draws them, in
 * real Chromium: no two labels overlap and none leaves its box, every hop of every way (request
 * and reply) has its box, no console error and no request beyond the page's own file. A
 * full-page screenshot of each is kept in test-artifacts/screenshots/cluster-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser } from "playwright-core";
import { chromiumMissing, launchChromium } from "../support/chromium.js";
import { clusterHtmlPage } from "../../src/explain/cluster-html.js";
import { loadCluster } from "../../src/cli/cluster-load.js";
import { buildCluster } from "../../src/netfilter/cluster.js";
import type { ClusterOutcome } from "../../src/model/cluster.js";
import { packet } from "../../src/testing/load.js";
import { SAMPLES_DIR } from "./sample-packets.js";
import { makeArtifactDirs, overlappingTexts, PAGES, SHOTS, textsOutsideTheirBoxes, watch } from "./page-checks.js";

const why = chromiumMissing;

interface Entry {
  name: string;
  cluster?: string;
  at?: string;
  packet: string;
}

const samples = readdirSync(SAMPLES_DIR).filter((d) => existsSync(resolve(SAMPLES_DIR, d, "cluster-packets.json"))).sort();

/** Every way of an evaluation, replies after the request they answer. */
const ways = (ws: readonly ClusterOutcome[]): ClusterOutcome[] => ws.flatMap((w) => [w, ...ways(w.reply ?? [])]);

describe.skipIf(why !== undefined)(`every cluster sample's page in Chromium${why ? ` (skipped: ${why})` : ""}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    [browser] = await Promise.all([launchChromium(), makeArtifactDirs()]);
  }, 60_000);
  afterAll(async () => browser?.close());

  it("has cluster samples to draw", () => {
    expect(samples.length).toBeGreaterThan(0);
  });

  for (const sample of samples) {
    const dir = resolve(SAMPLES_DIR, sample);
    const entries: Entry[] = JSON.parse(readFileSync(resolve(dir, "cluster-packets.json"), "utf8"));
    describe(sample, () => {
      entries.forEach((e, index) => {
        it(`${index + 1}: ${e.name}`, async () => {
          const loaded = loadCluster(resolve(dir, e.cluster ?? "cluster.json"));
          const cluster = buildCluster(loaded.inputs);
          const start = cluster.placeNamed(e.at ?? "");
          if (typeof start === "string") throw new Error(start);
          const ev = cluster.evaluate(packet(e.packet), start, { reply: true });
          const base = `cluster-${sample}--${String(index + 1).padStart(2, "0")}`;
          const file = resolve(PAGES, `${base}.html`);
          writeFileSync(file, clusterHtmlPage(ev));
          const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
          const w = watch(page);
          await page.goto(`file://${file}`);
          // Offline by policy too: the page may fetch nothing.
          expect(await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute("content")).toContain("default-src 'none'");
          expect(await overlappingTexts(page)).toEqual([]);
          expect(await textsOutsideTheirBoxes(page)).toEqual([]);
          const all = ways(ev.outcomes);
          expect(await page.locator("svg g.box.hop").count()).toBe(all.reduce((n, x) => n + x.hops.length, 0));
          expect(await page.locator("svg g.box.fate").count()).toBe(all.length);
          await page.screenshot({ path: resolve(SHOTS, `${base}.png`), fullPage: true });
          expect(w.errors).toEqual([]);
          expect(w.requests).toEqual([]);
          await page.close();
        }, 120_000);
      });
    });
  }
});
