/**
 * chevrotain, loaded from the single-file build its package ships (`lib/chevrotain.mjs`).
 *
 * The package's entry point is an ES module graph of several hundred files (chevrotain's own
 * and lodash-es, one module per function): importing it takes 0.37 s on the machines here,
 * and every program that parses pays it — a user's test file, each vitest worker, the CLI
 * when a line needs the grammar. The bundle is the same release built into one file and
 * loads in 0.01 s. The package's `exports` do not name it, so it is found next to the entry
 * point; where it is not there (a chevrotain that no longer ships it), the entry point is
 * used, slower but the same API.
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

type Chevrotain = typeof import("chevrotain");

/** Where the bundle is for the chevrotain this module resolves, if it ships one. */
export function chevrotainBundlePath(): string | undefined {
  try {
    // The entry point is lib/src/api.js; the bundle is lib/chevrotain.mjs.
    const entry = createRequire(import.meta.url).resolve("chevrotain");
    const bundle = join(dirname(entry), "..", "chevrotain.mjs");
    return existsSync(bundle) ? bundle : undefined;
  } catch {
    return undefined;
  }
}

export async function loadChevrotain(): Promise<Chevrotain> {
  const bundle = chevrotainBundlePath();
  if (bundle) return (await import(pathToFileURL(bundle).href)) as Chevrotain;
  return import("chevrotain");
}
