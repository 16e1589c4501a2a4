/**
 * The HTML page in a real headless Chromium (Debian's): it renders, shows an outcome's path,
 * switches paths on click, and logs no console errors. Skipped with a reason where Chromium is
 * not installed; CI installs it and a skip there is a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { chromiumMissing, launchChromium } from "../support/chromium.js";
import { readInput, rulesetsOf } from "../../src/inputs.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { buildNode } from "../../src/netfilter/model.js";
import { htmlPage } from "../../src/explain/html.js";
import { readFileSync } from "node:fs";
import { nodeFromTexts, packet } from "../../src/testing/load.js";
import { ODD_NAMES_CHAINS, ODD_NAMES_SAVE } from "../support/odd-chain-names.js";

const why = chromiumMissing;

const sample = resolve(import.meta.dirname, "../../samples/kube-proxy-basic");

describe.skipIf(why !== undefined)(`trace HTML in Chromium${why ? ` (skipped: ${why})` : ""}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
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
    expect(litIds.some((id) => id.includes("KUBE_hSEP"))).toBe(true);
    // Rule text is there on hover (SVG <title>).
    expect(await page.locator("svg g.node title").first().textContent()).toMatch(/^-A /);
    // Every label inside its box: a long fate ("forwarded out flannel.1 via 10.244.3.0") was
    // cut on the left.
    expect(await textOutsideBoxes(page)).toEqual([]);
    const shot = join(dir, "trace.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).toBe(true);
    expect(errors).toEqual([]);
  }, 60_000);

  it("shows chain names that look like markup as text, one node per chain", async () => {
    const node = nodeFromTexts({ rules: [{ file: "odd-names.save", text: ODD_NAMES_SAVE }] }, { ifaces: ["eth0=10.0.0.2/24"] });
    const e = node.evaluate(packet("tcp 10.0.0.1:1000 -> 10.0.0.2:80 in eth0"));
    const file = join(mkdtempSync(join(tmpdir(), "netfate-html-")), "odd.html");
    writeFileSync(file, htmlPage(e));
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    page.on("dialog", (d) => {
      errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(`file://${file}`);
    expect(await page.locator("b, img, svg script").count()).toBe(0);
    const firstLines = await page.locator("svg g.node text:first-of-type").allTextContents();
    expect(firstLines).toEqual(["packet", ...ODD_NAMES_CHAINS.map((c) => `filter ${c}`), "DROPPED by filter x&amp; rule 1 (hook INPUT)"]);
    // The one outcome's path lights every node: none is shared by two chains.
    expect(await page.locator("svg .node.on").count()).toBe(ODD_NAMES_CHAINS.length + 2);
    expect(await page.locator("svg g.node title").last().textContent()).toBe('-A x&amp; -m comment --comment "<script>alert(1)</script> \\"x\\" \\\\N" -j DROP');
    expect(await textOutsideBoxes(page)).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);
});

/** The nodes whose text runs outside their box (or off the page), as "label: why". */
async function textOutsideBoxes(page: Page): Promise<string[]> {
  return page.locator("svg g.node").evaluateAll((nodes) =>
    nodes.flatMap((g) => {
      const box = (g.querySelector("rect") as SVGGraphicsElement).getBBox();
      return [...g.querySelectorAll("text")].flatMap((t) => {
        const b = (t as SVGGraphicsElement).getBBox();
        return b.x < Math.max(0, box.x) || b.x + b.width > box.x + box.width ? [`${t.textContent}: ${b.x.toFixed(0)}..${(b.x + b.width).toFixed(0)} in ${box.x}..${box.x + box.width}`] : [];
      });
    }));
}
