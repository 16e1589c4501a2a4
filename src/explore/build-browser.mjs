/**
 * Bundles the interactive page's two scripts for the browser (run by `npm run build`, after tsc):
 *   dist/browser/explore-engine.js  netfate's readers and evaluator, run in a Worker of the page
 *   dist/browser/explore-ui.js      the page's own script (DOM only)
 *   dist/browser/explore-elk.js     ELK's own worker script (elkjs's elk-worker.min.js, as shipped),
 *                                   which the engine starts in a Worker of its own (elk-browser.ts)
 * `netfate explore` inlines the three into the page it writes (src/cli/commands/explore.ts).
 * ELK is 1.6 MB of the page's scripts: kept out of the engine, it is not compiled nor run before
 * the engine starts reading the node, but beside it, in a thread of its own, where it lays out.
 *
 * The browser has no Node: grammar/chevrotain.ts finds chevrotain's single-file build with
 * node:fs and node:module, so here its importers get src/explore/chevrotain-browser.ts, which
 * imports that same file statically. Any other `node:` import fails the build (platform
 * "browser" cannot resolve it), so Node code cannot slip into the page unnoticed.
 */
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const out = join(root, "dist", "browser");
const require = createRequire(import.meta.url);
// chevrotain's package `exports` do not name its single-file build: found beside the entry point.
const chevrotainBundle = join(dirname(require.resolve("chevrotain")), "..", "chevrotain.mjs");

/** grammar/chevrotain.js → the browser's stand-in; chevrotain → its single-file build. */
const browserStandIns = {
  name: "netfate-browser-stand-ins",
  setup(b) {
    b.onResolve({ filter: /\/chevrotain\.js$/ }, (args) =>
      args.importer.includes(`${"/"}grammar${"/"}`) ? { path: join(root, "src", "explore", "chevrotain-browser.ts") } : undefined,
    );
    b.onResolve({ filter: /^chevrotain$/ }, () => ({ path: chevrotainBundle }));
    // layout.ts's in-process ELK → one that lays out in ELK's own worker.
    b.onResolve({ filter: /^elkjs\/lib\/elk\.bundled\.js$/ }, () => ({ path: join(root, "src", "explore", "elk-browser.ts") }));
  },
};

/**
 * The engine carries other people's code, whose licences ask that the copy says so; its own
 * notices are not kept by the minifier (they are not marked as legal comments), so they are
 * given here, with where each source is.
 */
const version = (pkg) => JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")).version;
const ELK_NOTICE = ` *   elkjs ${version("elkjs")}, the Eclipse Layout Kernel: Copyright (c) Kiel University and others,
 *     Eclipse Public License 2.0 (https://www.eclipse.org/legal/epl-2.0), secondary licence GPL-3.0;
 *     source: https://github.com/kieler/elkjs`;
const ENGINE_NOTICE = `/*
 * netfate's readers and evaluator (Apache-2.0), bundled with:
${ELK_NOTICE} (its API; the layout runs in explore-elk.js)
 *   chevrotain ${version("chevrotain")} (Apache-2.0), with lodash-es (MIT): https://github.com/chevrotain/chevrotain
 *   ipaddr.js ${version("ipaddr.js")} (MIT): https://github.com/whitequark/ipaddr.js
 */`;

mkdirSync(out, { recursive: true });
const sizes = [];
for (const [entry, file] of [["engine-worker.ts", "explore-engine.js"], ["ui.ts", "explore-ui.js"]]) {
  const r = await build({
    entryPoints: [join(root, "src", "explore", entry)],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    charset: "utf8",
    write: false,
    logLevel: "warning",
    plugins: [browserStandIns],
    ...(file === "explore-engine.js" ? { banner: { js: ENGINE_NOTICE } } : {}),
  });
  const code = r.outputFiles[0].text;
  writeFileSync(join(out, file), code);
  sizes.push(`${file} ${(code.length / 1024).toFixed(0)} KiB`);
}
const elkWorker = readFileSync(join(root, "node_modules", "elkjs", "lib", "elk-worker.min.js"), "utf8");
const elk = `/*\n * ELK's layout worker, as elkjs ships it:\n${ELK_NOTICE}\n */\n${elkWorker}`;
writeFileSync(join(out, "explore-elk.js"), elk);
sizes.push(`explore-elk.js ${(elk.length / 1024).toFixed(0)} KiB`);
if (process.env.NETFATE_BUILD_VERBOSE) console.log(sizes.join(", "));
