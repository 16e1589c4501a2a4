/**
 * grammar/chevrotain.ts loads chevrotain's single-file build rather than its entry point
 * (about 0.015 s of CPU to import against 0.3 s). That build must be there for the chevrotain we pin, and be the
 * same release as the entry point, or netfate would quietly parse with another chevrotain.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { chevrotainBundlePath, loadChevrotain } from "../../grammar/chevrotain.js";

describe("chevrotain's single-file build", () => {
  it("ships with the pinned chevrotain and is the same release as its entry point", async () => {
    const bundle = chevrotainBundlePath();
    expect(bundle, "chevrotain no longer ships lib/chevrotain.mjs: grammar/chevrotain.ts falls back to the slow entry point").toBeDefined();
    const entry = createRequire(import.meta.url).resolve("chevrotain");
    const pkg = JSON.parse(readFileSync(join(dirname(entry), "..", "..", "package.json"), "utf8")) as { name: string; version: string };
    expect(pkg.name).toBe("chevrotain");
    const loaded = await loadChevrotain();
    const fromEntry = await import(pathToFileURL(entry).href) as typeof loaded;
    expect(loaded.VERSION).toBe(pkg.version);
    expect(fromEntry.VERSION).toBe(pkg.version);
    // What the grammar uses is there under the same names.
    for (const name of ["createToken", "EmbeddedActionsParser", "Lexer"] as const) expect(typeof loaded[name]).toBe("function");
    expect(loaded.Lexer.SKIPPED).toBe(fromEntry.Lexer.SKIPPED);
  });
});
