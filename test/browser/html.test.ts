/**
 * The trace page in a real headless Chromium (Debian's): it renders without a script to draw,
 * lights each outcome's path when chosen, shows rule text and rewrites without hovering, keeps
 * odd chain names as text, and cannot reach the network. Skipped with a reason where Chromium
 * is not installed; CI installs it and a skip there is a failure.
 *
 * Rewritten with the ELK-laid-out page: the old one's selectors (svg#graph g.node, rule text
 * only in <title>) described the hand-laid graph it replaced.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { chromiumMissing, launchChromium } from "../support/chromium.js";
import { htmlPage } from "../../src/explain/html.js";
import { loadNode, nodeFromTexts, packet } from "../../src/testing/load.js";
import type { Evaluation } from "../../src/netfilter/model.js";
import { ODD_NAMES_CHAINS, ODD_NAMES_SAVE } from "../support/odd-chain-names.js";
import { overlappingTexts, textsOutsideTheirBoxes, watch } from "./page-checks.js";

const why = chromiumMissing;
const sample = resolve(import.meta.dirname, "../../samples/kube-proxy-basic");

async function pageFile(e: Evaluation): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), "netfate-html-")), "trace.html");
  writeFileSync(file, await htmlPage(e));
  return `file://${file}`;
}

describe.skipIf(why !== undefined)(`trace HTML in Chromium${why ? ` (skipped: ${why})` : ""}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => browser?.close());

  const kubeProxy = () => loadNode({ rules: join(sample, "rules.save"), node: join(sample, "node.json") })
    .evaluate(packet("tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0"));

  it("draws the figure, lights each outcome's path, shows rules and rewrites, no console errors", async () => {
    const e = kubeProxy();
    expect(e.outcomes).toHaveLength(3);
    const page = await browser.newPage();
    const w = watch(page);
    await page.goto(await pageFile(e));
    // Drawn as markup: the boxes are there whether or not the script ran.
    expect(await page.locator("svg.nf-graph g.box.chain").count()).toBeGreaterThan(5);
    expect(await page.locator(".netfate-figure").getAttribute("data-shown")).toBe("0");
    await page.locator('button[data-outcome="2"]').click();
    expect(await page.locator(".netfate-figure").getAttribute("data-shown")).toBe("2");
    const lit = await page.locator("svg .box.on").evaluateAll((els) => els.map((x) => x.id));
    expect(lit.filter((id) => id.includes("KUBE_hSEP"))).toHaveLength(1);
    expect(lit).toContain("n_fate_2");
    // Rule text is visible, not only on hover; the DNAT is said on the edge that leaves its rule.
    expect(await page.locator("svg text.rule").allTextContents()).toContain("-A PREROUTING -m comment --comment \"kubernetes service portals\"");
    const rewrites = await page.locator("svg g.link text.rewrite").allTextContents();
    expect(rewrites).toEqual(expect.arrayContaining(["DNAT 10.96.45.12:80 → 10.244.1.5:8080", "DNAT 10.96.45.12:80 → 10.244.3.9:8080"]));
    // The hooks as lanes, in the order the packet meets them.
    const lanes = await page.locator("svg text.lane-title").evaluateAll((els) => els.map((t) => ({ t: t.textContent, y: t.getBoundingClientRect().top })));
    expect(lanes.sort((a, b) => a.y - b.y).map((l) => l.t)).toEqual(["PREROUTING", "routing decision", "FORWARD", "POSTROUTING", "leaves the node"]);
    // The routing decision with the route it chose; the end boxes green.
    expect(await page.locator("svg g.box.routing text.head").allTextContents()).toContain("input route: table main: 10.244.1.0/24 via 10.244.1.0 dev");
    expect(await page.locator("svg g.box.fate.through").count()).toBe(3);
    expect(await overlappingTexts(page)).toEqual([]);
    expect(await textsOutsideTheirBoxes(page)).toEqual([]);
    expect(w.errors).toEqual([]);
    expect(w.requests).toEqual([]);
  }, 60_000);

  it("a drop is a red end box", async () => {
    const dir = resolve(import.meta.dirname, "../../samples/host-firewall");
    const e = loadNode({ rules: join(dir, "rules.save"), node: join(dir, "node.json") }).evaluate(packet("tcp 203.0.113.7:51000 -> 192.168.0.11:22 in eth0"));
    expect(e.outcomes.map((o) => o.fate.kind)).toEqual(["dropped"]);
    const page = await browser.newPage();
    await page.goto(await pageFile(e));
    const fate = page.locator("svg g.box.fate.lost");
    expect(await fate.count()).toBe(1);
    const stroke = await fate.locator("rect.frame").evaluate((r) => getComputedStyle(r).stroke);
    expect(stroke).toBe("rgb(198, 40, 40)");
  }, 60_000);

  it("forbids the page any request: its Content-Security-Policy blocks a fetch", async () => {
    const page = await browser.newPage();
    const w = watch(page);
    await page.goto(await pageFile(kubeProxy()));
    const blocked = await page.evaluate(async () => {
      const seen = new Promise<string>((res) => document.addEventListener("securitypolicyviolation", (ev) => res(ev.violatedDirective)));
      const tried = await fetch("http://127.0.0.1:9/").then(() => "fetched", () => "refused");
      return { tried, directive: await seen };
    });
    expect(blocked).toEqual({ tried: "refused", directive: "connect-src" });
    expect(w.requests).toEqual([]);
  }, 60_000);

  it("shows chain names that look like markup as text, one box per chain", async () => {
    const node = nodeFromTexts({ rules: [{ file: "odd-names.save", text: ODD_NAMES_SAVE }] }, { ifaces: ["eth0=10.0.0.2/24"] });
    const e = node.evaluate(packet("tcp 10.0.0.1:1000 -> 10.0.0.2:80 in eth0"));
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    page.on("dialog", (d) => {
      errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(await pageFile(e));
    expect(await page.locator("b, img, svg script").count()).toBe(0);
    const titles = await page.locator("svg g.box.chain > text.title").allTextContents();
    expect(titles).toEqual(ODD_NAMES_CHAINS);
    // The one outcome's path lights every chain box: none is shared by two chains.
    expect(await page.locator("svg g.box.chain.on").count()).toBe(ODD_NAMES_CHAINS.length);
    expect(await page.locator("svg text.rule").allTextContents()).toContain('-A x&amp; -m comment --comment "<script>alert(1)</script> \\"x\\" \\\\N" -j DROP');
    expect(await overlappingTexts(page)).toEqual([]);
    expect(await textsOutsideTheirBoxes(page)).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);
});
