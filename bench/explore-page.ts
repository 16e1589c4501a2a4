/**
 * The interactive page's cost, in Debian's headless Chromium: the size of its scripts and of
 * the page, how long it takes from opening the file to the first trace visible (the first frame
 * once the parser has put it in, when it is written into the page; else the engine's first answer) and to the node
 * loaded (the page answers edits), a further trace after an edit and one after another, the first rule search (which prints every rule once),
 * a later one, a first search made 3 s after the first trace, and a "mentions" question. For kube-proxy-basic and the generated dump of N
 * services (default 10,000). The reference, measured in the same run: the shipped CLI's
 * `why-dropped` of the same first packet on the same inputs, whole process (what the page's
 * first trace stands in for). Run after `npm run build`:
 *   node dist/bench/explore-page.js [SERVICES] [RUNS]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Page } from "playwright-core";
import { main } from "../src/cli/app.js";
import type { CommandIO } from "../src/cli/io.js";
import { kubeProxyDump } from "./gen-kube-proxy.js";

const ROOT = resolve(import.meta.dirname, "../..");
const services = Number(process.argv[2] ?? 10000);
const runs = Number(process.argv[3] ?? 3);

const quiet: CommandIO = { out: () => {}, err: () => {}, readStdin: () => "", isTTY: false };

async function page(args: string[], file: string): Promise<void> {
  const code = await main(["explore", "-q", "-o", file, ...args], quiet);
  if (code !== 0) throw new Error(`explore exited ${code}`);
}

/** A test run in the page (a function, not a string: the page's policy forbids eval). */
type Done = [(arg: string | null) => boolean, string | null];

/** Milliseconds until `done` holds in the page, measured in the page from navigation start. */
async function until(p: Page, [done, arg]: Done): Promise<number> {
  await p.waitForFunction(done, arg, { timeout: 120_000, polling: 10 });
  return p.evaluate(() => performance.now());
}

/** Milliseconds the page takes to answer after `act`, until `done` holds. */
async function timed(p: Page, act: () => Promise<void>, done: Done): Promise<number> {
  const t0 = await p.evaluate(() => performance.now());
  await act();
  return (await until(p, done)) - t0;
}

type Watched = Window & { netfateTraceFrame?: number };

/**
 * Run before the page's own scripts (the browser's, not subject to the page's policy): notes the
 * start of the first frame after the parser has put in the whole trace section (the element
 * after it exists), i.e. the frame that paints a trace written into the page.
 */
function watchFirstTrace(): void {
  const seen = new MutationObserver(() => {
    if (!document.getElementById("tools")) return;
    seen.disconnect();
    requestAnimationFrame((t) => ((window as Watched).netfateTraceFrame = t));
  });
  seen.observe(document, { childList: true, subtree: true });
}

const ready: Done = [() => document.body.dataset.ready === "1", null];
const traced = (prev: string | null): Done => [(x) => document.getElementById("trace")!.dataset.id !== (x ?? undefined), prev];
/** The picture of the trace after `prev` is drawn (the page shows a trace in words first). */
const drawn = (prev: string | null): Done => [(x) => {
  const t = document.getElementById("trace")!;
  return t.dataset.id !== (x ?? undefined) && t.dataset.drawn === t.dataset.id;
}, prev];
const listed = (list: string): Done => [(x) => document.getElementById(x!)!.dataset.total !== undefined, list];

/** Median wall milliseconds of the shipped CLI's why-dropped over `runs` runs (its exit code says the fate, not a failure). */
function cliFirstAnswer(args: string[]): number {
  const cli = join(ROOT, "dist", "netfate.mjs");
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [cli, "why-dropped", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    times.push(performance.now() - t0);
    if (r.status === null || r.status > 3) throw new Error(`why-dropped failed (${r.status}): ${r.stderr.toString()}`);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

async function measure(name: string, file: string, packet2: string, cliArgs: string[]): Promise<void> {
  const reference = cliFirstAnswer(cliArgs);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
  const rows: Record<string, number[]> = {};
  const add = (k: string, v: number) => (rows[k] ??= []).push(v);
  for (let i = 0; i < runs; i++) {
    const p = await browser.newPage();
    await p.addInitScript(watchFirstTrace);
    await p.goto(`file://${file}`);
    const dcl = await p.evaluate(() => (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming).domContentLoadedEventEnd);
    add("DOMContentLoaded", dcl);
    const fcp = await p.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN);
    add("first contentful paint", fcp);
    // A trace written into the page (explore draws the first one) is there in the first frame
    // after the parser put it in, and not before anything is painted; otherwise it is there when
    // the engine has loaded the node and answered.
    const written = await p.evaluate(() => document.getElementById("trace")!.dataset.first === "1");
    const frame = async () => {
      await until(p, [() => (window as Watched).netfateTraceFrame !== undefined, null]);
      return Math.max(fcp, await p.evaluate(() => (window as Watched).netfateTraceFrame!));
    };
    add("first trace visible", written ? await frame() : await until(p, traced(null)));
    add("node loaded (editable)", await until(p, ready));
    const id = await p.locator("#trace").getAttribute("data-id");
    // An edit: its trace in words, then its picture.
    const t0 = await p.evaluate(() => performance.now());
    await p.locator("#packet").fill(packet2);
    add("next trace (edit)", (await until(p, traced(id))) - t0);
    add("… its picture", (await until(p, drawn(id))) - t0);
    // Another edit once the page has drawn one: the layout engine is warm, the packet new (another source port).
    const id2 = await p.locator("#trace").getAttribute("data-id");
    const t1 = await p.evaluate(() => performance.now());
    await p.locator("#packet").fill(packet2.replace(":40000 ", ":40001 "));
    add("a later edit", (await until(p, traced(id2))) - t1);
    add("… the later one's picture", (await until(p, drawn(id2))) - t1);
    add("first search", await timed(p, () => p.locator("#search").fill("KUBE-MARK-MASQ"), listed("search-results")));
    add("next search", await timed(p, async () => {
      await p.evaluate(() => delete document.getElementById("search-results")!.dataset.total);
      await p.locator("#search").fill("DNAT 10.244.0.9");
    }, listed("search-results")));
    add("mentions 10.96.0.0/24", await timed(p, async () => {
      await p.locator("#mention-addr").fill("10.96.0.0/24");
      await p.locator("#mentions-form button").click();
    }, listed("mentions-results")));
    await p.close();
    // A person reads the first trace before searching: the rules are printed meanwhile.
    const q = await browser.newPage();
    await q.goto(`file://${file}`);
    await until(q, traced(null));
    await q.waitForTimeout(3000);
    add("search, 3 s after", await timed(q, () => q.locator("#search").fill("KUBE-MARK-MASQ"), listed("search-results")));
    await q.close();
  }
  await browser.close();
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(`\n${name}: page ${kib(statSync(file).size)}`);
  for (const [k, v] of Object.entries(rows)) {
    const s = [...v].sort((a, b) => a - b);
    const median = s[Math.floor(s.length / 2)]!;
    console.log(`  ${k.padEnd(24)} min ${s[0]!.toFixed(0).padStart(6)} ms   median ${median.toFixed(0).padStart(6)} ms   × CLI ${(median / reference).toFixed(2)}`);
  }
  console.log(`  reference: the CLI's why-dropped of the first packet, whole process, median ${reference.toFixed(0)} ms`);
}

const dist = join(ROOT, "dist", "browser");
for (const f of ["explore-engine.js", "explore-ui.js", "explore-elk.js"]) if (existsSync(join(dist, f))) console.log(`${f}: ${(statSync(join(dist, f)).size / 1024).toFixed(0)} KiB`);
const dir = mkdtempSync(join(tmpdir(), "netfate-explore-bench-"));
const basic = join(ROOT, "samples", "kube-proxy-basic");
const small = join(dir, "basic.html");
const basicArgs = ["--rules", join(basic, "rules.save"), "--node", join(basic, "node.json"), "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0"];
await page(basicArgs, small);
await measure("kube-proxy-basic", small, "tcp 192.168.0.50:40000 -> 10.96.200.1:80 in eth0", basicArgs);
const dump = join(dir, `kube-${services}.save`);
writeFileSync(dump, kubeProxyDump({ services }));
const large = join(dir, `kube-${services}.html`);
const largeArgs = ["--rules", dump, "--node", join(basic, "node.json"), "tcp 192.168.0.50:40000 -> 10.96.0.10:80 in eth0"];
await page(largeArgs, large);
console.log(`dump ${(readFileSync(dump).length / 1024 / 1024).toFixed(1)} MiB`);
await measure(`generated ${services} services`, large, "tcp 192.168.0.50:40000 -> 10.96.30.200:80 in eth0", largeArgs);
