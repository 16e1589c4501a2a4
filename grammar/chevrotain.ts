/**
 * chevrotain, loaded from the single-file build its package ships (`lib/chevrotain.mjs`), and
 * only when a line needs the grammar (grammar/read-line.ts).
 *
 * The package's entry point is an ES module graph of several hundred files (chevrotain's own
 * and lodash-es, one module per function): importing it costs about 0.3 s of CPU. The bundle
 * is the same release built into one file and costs about 0.015 s (Node 20, a whole process
 * against an empty one, medians of ten). The package's `exports` do not name it, so it is found next to the entry point; where it is
 * not there (a chevrotain that no longer ships it), the entry point is used, slower but the
 * same API.
 *
 * Node loads an ES module synchronously with `require` since 20.19 (`process.features
 * .require_module`): the grammar is then loaded at the first line the fast scanner declines,
 * in the middle of a synchronous parse. An older Node cannot; there it is imported with this
 * module, up front.
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

export type Chevrotain = typeof import("chevrotain");

const require = createRequire(import.meta.url);

/** Where the bundle is for the chevrotain this module resolves, if it ships one. */
export function chevrotainBundlePath(): string | undefined {
  try {
    // The entry point is lib/src/api.js; the bundle is lib/chevrotain.mjs.
    const entry = require.resolve("chevrotain");
    const bundle = join(dirname(entry), "..", "chevrotain.mjs");
    return existsSync(bundle) ? bundle : undefined;
  } catch {
    return undefined;
  }
}

/** chevrotain, imported (the bundle when there is one). */
export async function loadChevrotain(): Promise<Chevrotain> {
  const bundle = chevrotainBundlePath();
  if (bundle) return (await import(pathToFileURL(bundle).href)) as Chevrotain;
  return import("chevrotain");
}

const canRequireEsm = (process.features as { require_module?: boolean }).require_module === true;

let loaded: Chevrotain | undefined = canRequireEsm ? undefined : await loadChevrotain();

/** chevrotain, now. */
export function chevrotain(): Chevrotain {
  if (!loaded) {
    const bundle = chevrotainBundlePath();
    loaded = require(bundle ?? "chevrotain") as Chevrotain;
  }
  return loaded;
}
