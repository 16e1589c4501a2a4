/**
 * The HTML page in a real headless Chromium (Debian's): it renders, shows an outcome's path,
 * switches paths on click, and logs no console errors. Skipped with a reason where Chromium is
 * not installed; CI installs it and a skip there is a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { readInput, rulesetsOf } from "../../src/inputs.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { buildNode } from "../../src/netfilter/model.js";
import { htmlPage } from "../../src/explain/html.js";
import { readFileSync } from "node:fs";

const CHROMIUM = "/usr/bin/chromium";
const why = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium)`;
if (why && process.env.CI) throw new Error(`the browser test must run in CI but cannot: ${why}`);

const sample = resolve(import.meta.dirname, "../../samples/kube-proxy-basic");

describe.skipIf(why !== undefined)(`trace HTML in Chromium${why ? ` (skipped: ${why})` : ""}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  }, 60_000);
  afterAll(async () => browser?.close());

  it("renders the graph, highlights each outcome's path, no console errors", async () => {
    const r = readInput(readFileSync(join(sample, "rules.save"), "utf8"), { file: "rules.save" });
    const { facts } = factsFromTexts([{ file: "node.json", text: readFileSync(join(sample, "node.json"), "utf8") }]);
    const node = buildNode({ rulesets: rulesetsOf(r.input), node: nodeViewFromFacts(facts) });
    const e = node.evaluate({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "10.96.45.12", proto: 6, sport: 40000, dport: 80, tcpFlags: 2 });
    expect(e.outcomes).toHaveLength(3);
    const dir = mkdtempSync(join(tmpdir(), "netfate-html-"));
    const file = join(dir, "trace.html");
    writeFileSync(file, htmlPage(e));
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (err) => errors.push(String(err)));
    await page.goto(`file://${file}`);
    expect(await page.locator("svg#graph g.node").count()).toBeGreaterThan(5);
    expect(await page.locator("body").getAttribute("data-shown")).toBe("0");
    const lit0 = await page.locator("svg .node.on").count();
    expect(lit0).toBeGreaterThan(3);
    await page.locator('button[data-outcome="2"]').click();
    expect(await page.locator("body").getAttribute("data-shown")).toBe("2");
    // A different endpoint chain is lit for the third outcome.
    const litIds = await page.locator("svg .node.on").evaluateAll((els) => els.map((x) => x.id));
    expect(litIds.some((id) => id.includes("KUBE_SEP"))).toBe(true);
    // Rule text is there on hover (SVG <title>).
    expect(await page.locator("svg g.node title").first().textContent()).toMatch(/^-A /);
    const shot = join(dir, "trace.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).toBe(true);
    expect(errors).toEqual([]);
  }, 60_000);
});
