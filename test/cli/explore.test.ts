/**
 * `netfate explore` and `netfate trace --format html --interactive`: the page they write
 * carries the inputs as read, the engine and the page's script, under a policy that lets only
 * that script run; the packet is checked here; inputs with errors are refused as trace
 * refuses them, unless --keep-going.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli-in-process.js";
import type { ExploreData } from "../../src/explore/session.js";

const sample = resolve(import.meta.dirname, "../../samples/kube-proxy-basic");
const INPUTS = ["--rules", join(sample, "rules.save"), "--node", join(sample, "node.json")];
const PACKET = "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0";

/** The page's embedded inputs, the scripts that run (the drawing's, then the page's own), and its policy. */
function parts(page: string): { data: ExploreData; scripts: string[]; csp: string } {
  const data = /<script type="application\/json" id="netfate-inputs">([^<]*)<\/script>/.exec(page)![1]!;
  // Scripts that run have no type and follow the engine (carried as text/plain, its own "</script"
  // escaped, so its first "</script>" ends it); the engine's text may hold "<script>" in strings.
  const engine = page.indexOf('<script type="text/plain" id="netfate-engine">');
  const after = page.slice(page.indexOf("</script>", engine) + "</script>".length);
  const scripts = [...after.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  expect(scripts).toHaveLength(2);
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(page)![1]!.replace(/&#39;/g, "'");
  return { data: JSON.parse(data) as ExploreData, scripts, csp };
}

describe("netfate explore", () => {
  it("writes one page with the inputs as read, and a policy that lets only its own script run", async () => {
    const r = await runCli(["explore", ...INPUTS, "-q", PACKET]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out.startsWith("<!doctype html>")).toBe(true);
    const { data, scripts, csp } = parts(r.out);
    expect(data.rules).toEqual([{ file: join(sample, "rules.save"), text: readFileSync(join(sample, "rules.save"), "utf8") }]);
    expect(data.node.map((n) => n.file)).toEqual([join(sample, "node.json")]);
    expect(data.packet).toBe(PACKET);
    // Exactly the scripts in the page may run, each by its hash.
    const hashes = scripts.map((x) => `'sha256-${createHash("sha256").update(x, "utf8").digest("base64")}'`);
    expect(/script-src ([^;]*)/.exec(csp)![1]!.split(" ").sort()).toEqual(hashes.sort());
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'none'");
    // Nothing in the page's markup (scripts' text aside) names a place to load from.
    const markup = r.out.replace(/(<script[^>]*>)[\s\S]*?<\/script>/g, "$1</script>");
    // The page and the drawing's style, the form and panels: a few pages of markup, no more,
    // besides the first trace, drawn: the packet's outcomes and their figure.
    const trace = /<div id="trace" data-id="0" data-drawn="0" data-fates="([^"]*)" data-first="1">[\s\S]*?<\/div>\n<\/section>/.exec(markup);
    expect(trace?.[1]).toBe("forwarded,forwarded,forwarded");
    expect(trace![0]).toContain(`<svg`);
    expect(markup.replace(trace![0], "").length).toBeLessThan(20_000);
    expect(markup.match(/<[a-z]+[^>]+(?:src|href|action)=[^>]*>/)?.[0]).toBeUndefined();
  });

  it("writes to -o FILE, and opens without a packet", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "netfate-explore-cli-")), "page.html");
    const r = await runCli(["explore", ...INPUTS, "-q", "-o", file]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("");
    const page = readFileSync(file, "utf8");
    const { data } = parts(page);
    expect(data.packet).toBeUndefined();
    // No packet, no trace to draw: the page's engine traces what is typed.
    expect(page).toContain(`<div id="trace"></div>`);
    expect(page).not.toContain('<script type="application/json" id="netfate-first-trace">');
  });

  it("refuses a bad packet now, with its column", async () => {
    const r = await runCli(["explore", ...INPUTS, "tcp 1.2.3.4:1 -> 5.6.7.8:99999 in eth0"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^netfate: bad packet at column 18: bad port "99999"/m);
  });

  it("refuses inputs with errors unless --keep-going, and then every outcome will say what was left out", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netfate-explore-cli-"));
    const bad = join(dir, "bad.save");
    writeFileSync(bad, "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.300 -j ACCEPT\n-A INPUT -j ACCEPT\nCOMMIT\n");
    const refused = await runCli(["explore", "--rules", bad, "--iface", "eth0=10.0.0.2/24", "-q"]);
    expect(refused.code).toBe(2);
    expect(refused.out).toBe("");
    expect(refused.err).toMatch(/--keep-going/);
    const kept = await runCli(["explore", "--rules", bad, "--iface", "eth0=10.0.0.2/24", "-q", "--keep-going"]);
    expect(kept.code).toBe(0);
    expect(parts(kept.out).data.leftOut).toMatch(/^the lines with errors were left out \(--keep-going\): .*bad\.save:3/);
    expect(parts(kept.out).data.shortcuts.ifaces).toEqual(["eth0=10.0.0.2/24"]);
  });

  it("says what it does in its help", async () => {
    const r = await runCli(["explore", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: netfate explore/);
    expect((await runCli(["--help"])).out).toMatch(/^ {2}explore \[inputs\] \[PACKET\]/m);
  });
});

describe("netfate trace --format html --interactive", () => {
  it("writes the explore page opened on the packet", async () => {
    const r = await runCli(["trace", ...INPUTS, "-q", "--format", "html", "--interactive", PACKET]);
    expect(r.code).toBe(0);
    const { data } = parts(r.out);
    expect(data.packet).toBe(PACKET);
    const same = await runCli(["explore", ...INPUTS, "-q", PACKET]);
    expect(r.out).toBe(same.out);
  });

  it("goes with --format html only, and with one node", async () => {
    const text = await runCli(["trace", ...INPUTS, "--interactive", PACKET]);
    expect(text.code).toBe(2);
    expect(text.err).toBe("netfate: --interactive goes with trace --format html\n");
    const why = await runCli(["why-dropped", ...INPUTS, "--format", "html", "--interactive", PACKET]);
    expect(why.code).toBe(2);
  });
});
