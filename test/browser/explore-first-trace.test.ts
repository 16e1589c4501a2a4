/**
 * The explore page's first trace is drawn by `netfate explore` in Node and written into the
 * page, so it shows before any script runs. It must be what the page's own engine draws for the
 * same packet: for several samples (iptables, nft, ipsets and IPVS, a tunnel), the markup in the
 * page is compared, character for character, with the answer of a second engine Worker started
 * in the page from the page's own scripts. With scripts off, the trace is there and nothing in
 * its drawing overlaps. Skipped with a reason where Chromium is not installed; in CI a skip is a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { chromiumMissing, launchChromium } from "../support/chromium.js";
import { runCli } from "../support/cli-in-process.js";
import { SAMPLES_DIR, SAMPLE_INPUTS, samplePackets } from "./sample-packets.js";
import { overlappingTexts, textsOutsideTheirBoxes, watch } from "./page-checks.js";
import type { Reply } from "../../src/explore/engine.js";

const why = chromiumMissing;

/** Sample and packet (its index in packets.json). */
const CASES: Array<[string, number]> = [
  ["kube-proxy-basic", 0],
  ["000-calico-ipip-ipvs-policy", 0],
  ["002-flannel-vxlan-pod-to-pod", 0],
  ["006-kube-proxy-nftables", 0],
  ["009-iptables-nft-mixed", 0],
  ["host-firewall", 1],
];

/** The CLI's flags for a sample's files. */
function inputFlags(sample: string, index: number): { flags: string[]; packet: string } {
  const sp = samplePackets(sample)[index]!;
  const entries = JSON.parse(readFileSync(join(SAMPLES_DIR, sample, "packets.json"), "utf8")) as Array<{ name: string; packet: string; rules?: string; node?: string }>;
  const files = SAMPLE_INPUTS[sample]!(entries[index]!);
  const flags: string[] = [];
  const add = (flag: string, f: string | string[] | undefined) => {
    for (const x of f === undefined ? [] : typeof f === "string" ? [f] : f) flags.push(`--${flag}`, resolve(SAMPLES_DIR, sample, x));
  };
  add("rules", files.rules);
  add("ipsets", files.ipsets as string | string[] | undefined);
  add("node", files.node as string | string[] | undefined);
  add("ipvs", files.ipvs as string | string[] | undefined);
  return { flags, packet: sp.packet };
}

/** The first trace's markup as written in the page (between its element's tags). */
function embeddedTrace(html: string): string {
  const open = html.indexOf(`data-first="1">`);
  const close = html.indexOf(`</div>\n</section>\n<aside id="tools">`);
  expect(open).toBeGreaterThan(0);
  expect(close).toBeGreaterThan(open);
  return html.slice(open + `data-first="1">`.length, close);
}

describe.skipIf(why !== undefined)(`the explore page's first trace, drawn when written${why ? ` (skipped: ${why})` : ""}`, () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    browser = await launchChromium();
    dir = mkdtempSync(join(tmpdir(), "netfate-explore-first-"));
  }, 60_000);
  afterAll(async () => browser?.close());

  for (const [sample, index] of CASES) {
    it(`${sample} #${index + 1}: the page's engine draws the same trace, and it shows with scripts off`, async () => {
      const { flags, packet } = inputFlags(sample, index);
      const file = join(dir, `${sample}.html`);
      const r = await runCli(["explore", ...flags, "-q", "-o", file, packet]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      const embedded = embeddedTrace(readFileSync(file, "utf8"));
      expect(embedded).toContain(`class="netfate-figure"`);

      // A second engine from the page's own scripts, loaded with the page's inputs, asked for the same packet.
      const page = await browser.newPage();
      const w = watch(page);
      await page.goto(`file://${file}`);
      const reply = await page.evaluate(async (text) => {
        const url = (id: string) => URL.createObjectURL(new Blob([document.getElementById(id)!.textContent ?? ""], { type: "text/javascript" }));
        const engine = new Worker(url("netfate-engine"));
        const answers: Reply[] = [];
        const next = () => new Promise<Reply>((res) => (engine.onmessage = (ev: MessageEvent<Reply>) => res(ev.data)));
        let answer = next();
        engine.postMessage({ type: "load", data: document.getElementById("netfate-inputs")!.textContent, elk: document.getElementById("netfate-elk")!.textContent });
        answers.push(await answer);
        answer = next();
        engine.postMessage({ type: "trace", id: 1, text, verbose: false });
        // The trace in words first, then with its picture.
        answers.push(await answer);
        answer = next();
        answers.push(await answer);
        engine.terminate();
        return answers;
      }, packet);
      expect(reply[0]!.type).toBe("loaded");
      const [words, traced] = [reply[1]!, reply[2]!];
      expect(words, JSON.stringify(words).slice(0, 300)).toMatchObject({ type: "trace", ok: true, drawing: "pending" });
      expect(traced, JSON.stringify(traced).slice(0, 300)).toMatchObject({ type: "trace", ok: true });
      if (traced.type !== "trace" || !traced.ok || words.type !== "trace" || !words.ok) return;
      expect(traced.drawing).toBeUndefined();
      expect(traced.html).toBe(embedded);
      // The words are the drawn trace's own, without the picture.
      expect(traced.html.endsWith(words.html) && !words.html.includes("netfate-figure")).toBe(true);
      expect(await page.locator("#trace").getAttribute("data-fates")).toBe(traced.fates.join(","));
      expect(w.errors).toEqual([]);
      await page.close();

      // What a person sees before any script has run: the trace, drawn, nothing overlapping.
      const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1400, height: 900 } });
      const still = await context.newPage();
      await still.goto(`file://${file}`);
      expect(await still.locator("#trace .netfate-figure svg").count()).toBe(1);
      expect(await still.locator("#trace .outcome").count()).toBe(traced.fates.length);
      expect(await still.locator("#packet").inputValue()).toBe(packet);
      expect(await overlappingTexts(still)).toEqual([]);
      expect(await textsOutsideTheirBoxes(still)).toEqual([]);
      await context.close();
    }, 120_000);
  }
});
