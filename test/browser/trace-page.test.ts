/**
 * Every packet of every sample as `trace --format html` draws it, in real Chromium: no two
 * labels overlap and none leaves its box, every step of every outcome is on the page and lit
 * when its outcome is chosen, outcomes are chosen with the keyboard alone (Tab, then Enter or
 * Space) with a visible focus, no console error and no request beyond the page's own file.
 * A full-page screenshot of each is kept in test-artifacts/screenshots/ for a person to look at.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser } from "playwright-core";
import { chromiumMissing, launchChromium } from "../support/chromium.js";
import { htmlPage } from "../../src/explain/html.js";
import { packet } from "../../src/testing/load.js";
import { chainPlaceText } from "../../src/explain/describe.js";
import { SAMPLES, SAMPLE_INPUTS, samplePackets } from "./sample-packets.js";
import { makeArtifactDirs, overlappingTexts, PAGES, SHOTS, textsOutsideTheirBoxes, watch } from "./page-checks.js";

const why = chromiumMissing;

describe("sample inputs", () => {
  it("knows how to load every sample that has packets", () => {
    expect(SAMPLES.filter((s) => !SAMPLE_INPUTS[s])).toEqual([]);
  });
});

describe.skipIf(why !== undefined)(`every sample's trace page in Chromium${why ? ` (skipped: ${why})` : ""}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    [browser] = await Promise.all([launchChromium(), makeArtifactDirs()]);
  }, 60_000);
  afterAll(async () => browser?.close());

  for (const sample of SAMPLES) {
    describe(sample, () => {
      for (const sp of samplePackets(sample)) {
        it(`${sp.index + 1}: ${sp.name}`, async () => {
          const e = sp.node().evaluate(packet(sp.packet));
          const base = `${sample}--${String(sp.index + 1).padStart(2, "0")}`;
          const file = resolve(PAGES, `${base}.html`);
          writeFileSync(file, await htmlPage(e));
          const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
          const w = watch(page);
          await page.goto(`file://${file}`);

          expect(await overlappingTexts(page)).toEqual([]);
          expect(await textsOutsideTheirBoxes(page)).toEqual([]);

          // Every matched step of every outcome has its row, marked as that outcome's.
          const rows = await page.locator("svg g.row[data-step]").evaluateAll((els) => els.map((el) => ({ step: el.getAttribute("data-step")!, o: el.getAttribute("data-o")!.split(" ") })));
          const missing: string[] = [];
          e.outcomes.forEach((o, i) => {
            for (const s of o.steps) {
              if (!s.matched) continue;
              const key = `${s.hook}|${chainPlaceText(s)}|${s.rule}`;
              if (!rows.some((r) => r.step === key && r.o.includes(String(i)))) missing.push(`outcome ${i + 1}: ${key}`);
            }
          });
          expect(missing).toEqual([]);
          // One end box per outcome, with the outcome's fate in it.
          expect(await page.locator("svg g.box.fate").count()).toBe(e.outcomes.length);

          // The keyboard alone: Tab to each outcome, Enter or Space to choose it.
          await page.locator("body").focus();
          for (let i = 0; i < e.outcomes.length; i++) {
            await page.keyboard.press("Tab");
            const focused = await page.evaluate(() => {
              const el = document.activeElement as HTMLElement;
              return { outcome: el.getAttribute("data-outcome"), outline: getComputedStyle(el).outlineStyle };
            });
            expect(focused.outcome).toBe(String(i));
            expect(focused.outline).not.toBe("none");
            await page.keyboard.press(i % 2 ? "Space" : "Enter");
            expect(await page.locator(".netfate-figure").getAttribute("data-shown")).toBe(String(i));
            expect(await page.locator(`button[data-outcome="${i}"]`).getAttribute("aria-pressed")).toBe("true");
            // The chosen outcome's steps and end box are lit.
            const lit = await page.locator("svg .on[data-step]").evaluateAll((els) => els.map((el) => el.getAttribute("data-step")));
            const want = e.outcomes[i]!.steps.filter((s) => s.matched).map((s) => `${s.hook}|${chainPlaceText(s)}|${s.rule}`);
            expect(want.filter((k) => !lit.includes(k))).toEqual([]);
            expect(await page.locator(`svg g.box.fate.on[data-outcome="${i}"]`).count()).toBe(1);
          }
          await page.locator('button[data-outcome="0"]').click();
          await page.screenshot({ path: resolve(SHOTS, `${base}.png`), fullPage: true });
          expect(w.errors).toEqual([]);
          expect(w.requests).toEqual([]);
          await page.close();
        }, 120_000);
      }
    });
  }
});
