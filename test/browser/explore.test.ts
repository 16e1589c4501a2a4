/**
 * The interactive page (`netfate explore`) in a real headless Chromium (Debian's): it loads a
 * sample's node in its Worker and traces the packet it was opened on; editing the packet (a
 * field, the line, a pasted kernel LOG line) traces again; rule search, "mentions" and a step's
 * whole chain work, with the keyboard too; no console errors; and nothing but the file itself
 * is ever requested (the page's policy forbids the network, which is checked as well).
 * Skipped with a reason where Chromium is not installed; in CI a skip is a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { chromiumMissing, launchChromium } from "../support/chromium.js";
import { runCli } from "../support/cli-in-process.js";

const why = chromiumMissing;
const sample = resolve(import.meta.dirname, "../../samples/kube-proxy-basic");
const PACKET = "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0";
const LOG_LINE = "kernel: [ 1234.5678] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=192.168.0.50 DST=10.96.0.10 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=4242 DF PROTO=UDP SPT=53000 DPT=53 LEN=40";

interface Watched {
  page: Page;
  errors: string[];
  requests: string[];
}

async function open(browser: Browser, file: string): Promise<Watched> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => requests.push(r.url()));
  page.on("dialog", (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(`file://${file}`);
  return { page, errors, requests };
}

/** The fates of the trace shown once the trace after `previous` (an id) is there. */
async function nextFates(page: Page, previous: string | null): Promise<string> {
  await page.waitForFunction((prev) => {
    const t = document.getElementById("trace")!;
    return t.dataset.fates !== undefined && t.dataset.id !== prev;
  }, previous);
  return (await page.locator("#trace").getAttribute("data-fates")) ?? "";
}

describe.skipIf(why !== undefined)(`the explore page in Chromium${why ? ` (skipped: ${why})` : ""}`, () => {
  let browser: Browser;
  let file: string;
  beforeAll(async () => {
    browser = await launchChromium();
    file = join(mkdtempSync(join(tmpdir(), "netfate-explore-")), "explore.html");
    const r = await runCli(["explore", "--rules", join(sample, "rules.save"), "--node", join(sample, "node.json"), "-q", "-o", file, PACKET]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  }, 60_000);
  afterAll(async () => browser?.close());

  it("traces the packet it opened on, and again at each edit: a field, the line, a pasted LOG line", async () => {
    const { page, errors, requests } = await open(browser, file);
    expect(await nextFates(page, null)).toBe("forwarded,forwarded,forwarded");
    // The first trace is the one written into the page; the engine loads the node meanwhile and does not trace it again.
    expect(await page.locator("#trace").getAttribute("data-first")).toBe("1");
    await page.waitForFunction(() => document.body.dataset.ready === "1");
    expect(await page.locator("#status").textContent()).toMatch(/^Loaded \d+ rules/);
    expect(await page.locator("#trace").getAttribute("data-id")).toBe("0");
    expect(await page.locator("#f-dst").inputValue()).toBe("10.96.45.12");
    // The fields write the line: a service without endpoints is rejected by KUBE-SERVICES.
    let id = await page.locator("#trace").getAttribute("data-id");
    await page.locator("#f-dst").fill("10.96.200.1");
    expect(await nextFates(page, id)).toBe("rejected");
    expect(await page.locator("#packet").inputValue()).toBe("tcp 192.168.0.50:40000 -> 10.96.200.1:80 in eth0");
    expect(await page.locator(".outcome.lost h3").textContent()).toContain("REJECTED (icmp-port-unreachable) by filter KUBE-SERVICES");
    // The words come first; the picture follows: one, of this packet, not dimmed.
    await page.waitForFunction(() => {
      const t = document.getElementById("trace")!;
      return t.dataset.drawn === t.dataset.id;
    });
    expect(await page.locator("#trace .netfate-figure").count()).toBe(1);
    expect(await page.locator("#trace .netfate-figure.stale").count()).toBe(0);
    expect(await page.locator("#trace .netfate-figure svg").getAttribute("aria-label")).toContain("10.96.200.1");
    // A line that does not parse says where, and keeps the last trace (dimmed).
    await page.locator("#packet").fill("tcp 192.168.0.50:40000 -> 10.96.200.1:99999 in eth0");
    await expect.poll(() => page.locator("#packet-error").textContent()).toMatch(/^column \d+: bad port "99999"/);
    expect(await page.locator("#packet").getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator("#trace").getAttribute("class")).toContain("stale");
    // A kernel LOG line, pasted: kube-dns over UDP, two endpoints; the fields follow it.
    id = await page.locator("#trace").getAttribute("data-id");
    await page.locator("#packet").fill(LOG_LINE);
    expect((await nextFates(page, id)).split(",")).toHaveLength(2);
    expect(await page.locator("#packet-error").textContent()).toBe("");
    expect(await page.locator("#f-proto").inputValue()).toBe("udp");
    expect(await page.locator("#f-dport").inputValue()).toBe("53");
    expect(await page.locator("#trace .outcome").count()).toBe(2);
    await page.screenshot({ path: join(file, "..", "explore.png"), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith("blob:"))).toEqual([`file://${file}`]);
  }, 60_000);

  it("searches the rules as iptables-save prints them, finds the rules that mention an address or port", async () => {
    const { page, errors, requests } = await open(browser, file);
    await nextFates(page, null);
    await page.locator("#search").fill("noendpoints reject");
    await expect.poll(() => page.locator("#search-results li").count()).toBe(2);
    const texts = await page.locator("#search-results pre").allTextContents();
    expect(texts.every((t) => t.startsWith("-A ") && t.includes("-j REJECT"))).toBe(true);
    expect(await page.locator("#search-count").textContent()).toBe("2 rules hold it");
    // 10.96.45.12 is named by -d 10.96.45.12/32 rules; no text search for "10.96.0.0/16" would find them.
    await page.locator("#mention-addr").fill("10.96.45.0/24");
    await page.locator("#mentions-form button").click();
    await expect.poll(() => page.locator("#mentions-results li").count()).toBeGreaterThan(0);
    const why = await page.locator("#mentions-results .why").allTextContents();
    expect(why.some((w) => w.includes("-d 10.96.45.12/32"))).toBe(true);
    // A port: the DNAT targets to 8080 and nothing else of port 8080.
    await page.locator("#mention-addr").fill("");
    await page.locator("#mention-port").fill("8080");
    await page.locator("#mentions-form button").click();
    await expect.poll(async () => (await page.locator("#mentions-results pre").allTextContents()).join("\n")).toMatch(/--to-destination 10\.244\.1\.5:8080/);
    const rules = await page.locator("#mentions-results pre").allTextContents();
    expect(rules.every((t) => t.includes(":8080"))).toBe(true);
    expect(await page.locator("#approximate").textContent()).toMatch(/^A mention is not a match/);
    // A question that is not one is answered in words.
    await page.locator("#mention-addr").fill("10.96.0.300");
    await page.locator("#mentions-form button").click();
    await expect.poll(() => page.locator("#mentions-count").textContent()).toMatch(/is not an address or network/);
    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith("blob:"))).toEqual([`file://${file}`]);
  }, 60_000);

  it("opens a step's whole chain with its rule highlighted, by mouse and by keyboard", async () => {
    const { page, errors } = await open(browser, file);
    await nextFates(page, null);
    // The statistic step of KUBE-SVC-...: the chain has all three endpoints' rules.
    const step = page.locator(".outcome").first().locator("button.open-chain", { hasText: /nat +KUBE-SVC-/ }).first();
    await step.click();
    await expect.poll(() => page.locator("#chain-rules li").count()).toBeGreaterThan(2);
    expect(await page.locator("#chain-name").textContent()).toMatch(/^nat KUBE-SVC-/);
    const hit = page.locator("#chain-rules li.hit");
    expect(await hit.count()).toBe(1);
    expect(await hit.locator("pre").textContent()).toMatch(/^-A KUBE-SVC-/);
    expect(await hit.locator("button").getAttribute("aria-current")).toBe("true");
    // Keyboard: every step is a button; focus one, press Enter, the chain panel takes the focus.
    const all = page.locator("[data-chain]");
    expect(await all.evaluateAll((els) => els.every((e) => e.tagName === "BUTTON"))).toBe(true);
    const policyStep = page.locator(".outcome").first().locator("button.open-chain", { hasText: "policy" }).first();
    await policyStep.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#chain-rules li.hit pre").textContent()).toMatch(/^:\S+ ACCEPT$/);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("chain-panel");
    // Tab from the packet line reaches the fields in order.
    await page.locator("#packet").focus();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("f-proto");
    expect(errors).toEqual([]);
  }, 60_000);

  it("cannot reach the network: its policy refuses a fetch from the page and from its worker", async () => {
    const { page, requests } = await open(browser, file);
    await nextFates(page, null);
    const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute("content");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'none'");
    const fetched = await page.evaluate(async () => {
      try {
        await fetch("http://127.0.0.1:9/leak");
        return "fetched";
      } catch (e) {
        return `refused: ${(e as Error).name}`;
      }
    });
    expect(fetched).toMatch(/^refused/);
    const fromWorker = await page.evaluate(async () => {
      const w = new Worker(URL.createObjectURL(new Blob(['fetch("http://127.0.0.1:9/leak").then(() => postMessage("fetched"), (e) => postMessage("refused: " + e.name))'], { type: "text/javascript" })));
      return new Promise<string>((res) => (w.onmessage = (ev) => res(String(ev.data))));
    });
    expect(fromWorker).toMatch(/^refused/);
    expect(requests.filter((u) => !u.startsWith("blob:"))).toEqual([`file://${file}`]);
  }, 60_000);
});
