/**
 * The nftables corpus (test/corpus/nft) as the real nft sees it: every file whose format is
 * `nft`, `nft-a` or `script` in SOURCES.md is loaded with `nft -c -f` (check only: the kernel
 * is asked, nothing is committed) in a fresh network namespace that has only `lo`, and what nft
 * says must be what expected.json records — accepted, or refused with that first error line
 * and exit code. The nft parsers are tested against the same list: an accepted file must
 * parse, a refused one must fail honestly. When nft or the kernel changes its mind this test
 * fails, and the list (and SOURCES.md) is brought up to date on purpose.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { constants } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { freshNamespaceName, kernelSkipReason } from "./harness.js";

const CORPUS = join(dirname(fileURLToPath(import.meta.url)), "..", "corpus", "nft");
const LOADED_FORMATS = new Set(["nft", "nft-a", "script"]);

interface Expectation {
  nft: "accepts" | "refuses";
  error?: string;
  exit?: number;
}

/** Every file of the corpus but its two lists, as paths relative to the corpus directory. */
function corpusFiles(dir = CORPUS): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...corpusFiles(path));
    else if (dir !== CORPUS || (name !== "SOURCES.md" && name !== "expected.json")) out.push(relative(CORPUS, path));
  }
  return out.sort();
}

/** file → format, from the SOURCES.md table (first column the file in backticks, fourth the format). */
function formatsOfSources(): Map<string, string> {
  const formats = new Map<string, string>();
  for (const line of readFileSync(join(CORPUS, "SOURCES.md"), "utf8").split("\n")) {
    const m = /^\| `([^`]+)` \|/.exec(line);
    if (!m) continue;
    // Cells hold no unescaped "|" (error texts escape theirs), so a plain split finds the columns.
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    formats.set(m[1]!, cells[4]!);
  }
  return formats;
}

const expected = JSON.parse(readFileSync(join(CORPUS, "expected.json"), "utf8")) as Record<string, Expectation>;
const formats = formatsOfSources();

describe("the nftables corpus and its lists", () => {
  it("SOURCES.md has one row for every file, and no row without a file", () => {
    expect([...formats.keys()].sort()).toEqual(corpusFiles());
  });

  it("expected.json lists exactly the files of a format nft loads", () => {
    const loaded = [...formats].filter(([, f]) => LOADED_FORMATS.has(f)).map(([file]) => file).sort();
    expect(Object.keys(expected).sort()).toEqual(loaded);
    for (const [file, e] of Object.entries(expected)) {
      if (e.nft === "accepts") expect({ error: e.error, exit: e.exit }, file).toEqual({ error: undefined, exit: undefined });
      else expect(e.error, file).toMatch(/\S/);
    }
  });

  it("keeps every file under 200 KB", () => {
    for (const file of corpusFiles()) expect(statSync(join(CORPUS, file)).size, file).toBeLessThan(200_000);
  });
});

const why = kernelSkipReason();

describe.skipIf(why !== undefined)(`nft -c -f on the corpus${why ? ` (skipped: ${why})` : ""}`, () => {
  let ns: string | undefined;
  afterEach(() => {
    if (ns) spawnSync("ip", ["netns", "del", ns]);
    ns = undefined;
  });

  it.each(Object.keys(expected))("%s", (file) => {
    expect(existsSync(join(CORPUS, file))).toBe(true);
    ns = freshNamespaceName();
    const add = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8" });
    if (add.status !== 0) throw new Error(`ip netns add ${ns}: ${add.stderr}`);
    // Run from the corpus directory with the relative path, as the list was made: nft names the
    // file in its error lines, and relative includes resolve (or fail) the same way.
    const r = spawnSync("ip", ["netns", "exec", ns, "nft", "-c", "-f", file], { cwd: CORPUS, encoding: "utf8" });
    const now: Expectation = r.status === 0 ? { nft: "accepts" } : { nft: "refuses", error: (r.stderr || r.stdout).split("\n")[0]! };
    // A crash (nft 1.0.6 aborts on an assertion for one file) is recorded as a shell would: 128 + signal.
    const exit = r.status ?? 128 + (r.signal ? constants.signals[r.signal] : 0);
    if (exit !== 0 && exit !== 1) now.exit = exit;
    expect(now).toEqual(expected[file]);
  });
});
