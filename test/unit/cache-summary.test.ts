/**
 * `parse --summary` of a dump read from --cache counts the table from its stored form
 * (cli/cache-format.ts storedTableCounts) without making its chains: the counts are the ones
 * the parsed dump gives, unknown extensions included.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { FileCache } from "../../src/cli/cache.js";
import { storedTableCounts } from "../../src/cli/cache-format.js";
import { summarize } from "../../src/cli/commands/parse.js";
import { readInput, rulesetsOf } from "../../src/inputs.js";

const root = resolve(import.meta.dirname, "../..");

const UNKNOWN = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:X - [0:0]
-A INPUT -m frobnicate --level 3 -j X
-A INPUT -s 10.0.0.1,10.0.0.2 -j ACCEPT
-A X -j WOBBLE --hard
-A X -j ACCEPT
COMMIT
`;

describe("a summary of a dump read from the cache", () => {
  it.each([
    ["unknown extensions and a line of two rules", UNKNOWN],
    ["samples/kube-proxy-basic/rules.save", readFileSync(join(root, "samples/kube-proxy-basic/rules.save"), "utf8")],
  ])("%s: counts what parsing counts, without making a chain", (_name, text) => {
    const cache = new FileCache(mkdtempSync(join(tmpdir(), "netfate-summary-")), () => {});
    const fresh = readInput(text, { file: "r.save" });
    readInput(text, { file: "r.save", cache });
    const warm = readInput(text, { file: "r.save", cache });
    const tables = rulesetsOf(warm.input).flatMap((rs) => rs.tables);
    expect(tables.length).toBeGreaterThan(0);
    expect(tables.every((t) => storedTableCounts(t) !== undefined)).toBe(true);
    const summary = summarize("r.save", warm.input, warm.diagnostics);
    expect(summary).toEqual(summarize("r.save", fresh.input, fresh.diagnostics));
    expect(summary.unknownExtensions.length + summary.rules).toBeGreaterThan(0);
  });
});
