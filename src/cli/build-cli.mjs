/**
 * Bundles the shipped CLI (run by `npm run build`, after tsc): dist/netfate.mjs and
 * dist/why-dropped.mjs, the two `bin`s of package.json, with the code they share in
 * dist/chunks/. Node loads ~200 ES modules one by one (resolve, read, compile, link each):
 * about 0.1 s of every run of the unbundled CLI (dist/src/cli/main.js) before it reads a byte
 * of input. A few files do the same work at once.
 *
 * What stays out of start-up: each command is imported when it is asked for (cli/app.ts), and
 * esbuild's code splitting keeps a command's own code in its own chunk, so `why-dropped` does
 * not load `collect` or `diff`. chevrotain (loaded only for a line the fast scanner declines,
 * grammar/chevrotain.ts) and elkjs (the HTML figure's layout, imported when a page is drawn)
 * are not bundled: Node finds them in node_modules (they are dependencies) when they are used.
 *
 * The input is tsc's output (dist/src), so the bundle runs the very code the unbundled CLI
 * runs; esbuild follows tsc's source maps, so the bundle's maps (dist/**.map) point at src/*.ts:
 * with NETFATE_DEBUG set, cli/main.ts turns source maps on and an internal error's stack names
 * the TypeScript lines. Minified: measured about 4% less CPU at start-up than unminified
 * (31 paired runs), and the maps make up for the names.
 *
 * The build's identity (the cache keys entries by it, cli/cache.ts): a SHA-256 over every
 * output file, written into the bundle in place of a placeholder of the same length.
 */
import { build } from "esbuild";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dist = join(root, "dist");

/** Packages resolved at run time from node_modules, never copied into the bundle. */
const EXTERNAL = ["chevrotain", "elkjs"];

/**
 * Other people's code the bundle carries, with the notice its licence asks the copy to keep (the
 * minifier drops their own comments). A package not listed here that ends up in the bundle
 * fails the build: its licence has to be read first.
 */
const version = (pkg) => JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")).version;
const BUNDLED = { "ipaddr.js": `ipaddr.js ${version("ipaddr.js")}: Copyright (C) 2011-2017 whitequark <whitequark@whitequark.org>, MIT licence (https://github.com/whitequark/ipaddr.js)` };
const NOTICE = `/* netfate (Apache-2.0). Bundled with: ${Object.values(BUNDLED).join("; ")} */`;

/** The worker threads' entry modules (started through cli/worker-file.ts), by folder under src/cli. */
const WORKERS = [
  { dir: "commands", name: "batch-worker" },
  { dir: "commands", name: "diff-helper" },
  { dir: "serve", name: "serve-worker" },
];

/** Replaced by the build's identity once every output is known (the same length, so the maps still fit). */
const PLACEHOLDER = `netfate-build-${"0".repeat(50)}`;

const r = await build({
  entryPoints: {
    netfate: join(dist, "src", "cli", "main.js"),
    "why-dropped": join(dist, "src", "cli", "why-dropped.js"),
    // Worker threads' entries, where cli/worker-file.ts looks for them in the bundle.
    ...Object.fromEntries(WORKERS.map((w) => [`chunks/${w.name}`, join(dist, "src", "cli", w.dir, `${w.name}.js`)])),
  },
  outdir: dist,
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minify: true,
  sourcemap: "linked",
  sourcesContent: false,
  legalComments: "none",
  banner: { js: NOTICE },
  external: EXTERNAL,
  define: { NETFATE_BUILD_ID: JSON.stringify(PLACEHOLDER), NETFATE_BUNDLED: "true" },
  metafile: true,
  write: false,
  logLevel: "warning",
});

for (const input of Object.keys(r.metafile.inputs)) {
  const pkg = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
  if (pkg && !Object.hasOwn(BUNDLED, pkg)) throw new Error(`${input} would be bundled, but build-cli.mjs has no licence notice for ${pkg}: add one to BUNDLED, or make it external`);
}

const code = r.outputFiles.filter((f) => f.path.endsWith(".mjs"));
const id = createHash("sha256");
for (const f of code) id.update(`${relative(dist, f.path)}\0${f.text.length}\0`).update(f.text);
const buildId = `netfate-build-${id.digest("hex").slice(0, 50)}`;
const holders = code.filter((f) => f.text.includes(PLACEHOLDER));
if (holders.length !== 1) throw new Error(`the build id placeholder is in ${holders.length} output files, not one`);

// Chunks are named by their content: the old ones go, so dist/chunks holds this build only.
rmSync(join(dist, "chunks"), { recursive: true, force: true });
for (const f of r.outputFiles) {
  mkdirSync(dirname(f.path), { recursive: true });
  writeFileSync(f.path, holders.includes(f) ? f.text.replace(PLACEHOLDER, buildId) : f.contents);
}
for (const bin of ["netfate.mjs", "why-dropped.mjs"]) chmodSync(join(dist, bin), 0o755);
if (process.env.NETFATE_BUILD_VERBOSE) console.log(code.map((f) => `${relative(dist, f.path)} ${(f.contents.length / 1024).toFixed(0)} KiB`).join(", "));
