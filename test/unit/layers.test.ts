/**
 * The shape of the code, held over its import graph (issue 12):
 *   (a) no module imports from a layer above its own (the layers: test/support/layers.ts);
 *   (b) no import cycle, type-only imports included;
 *   (c) no module outside src/extensions/ names an extension: it neither imports an
 *       extension's file nor switches on an extension's name (what counts as naming one:
 *       `extensionNamesUsed` in test/support/import-graph.ts);
 *   (d) no module outside src/extensions/ names an nft statement kind (issue 15): it reaches
 *       the kinds' files only through their registry (and their contract, types.ts), and
 *       tells no statement apart by a kind the registry holds (`s.kind === "nat"`; what
 *       counts: `nodeKindsTested` in test/support/import-graph.ts). The rule's own structure
 *       (a relation, a verdict, a verdict map) is the readers', printer's and evaluator's.
 *
 * Today's code breaks these in known places, being reshaped on other branches. Each is in a
 * KNOWN list below with why it happens and which part of the issue removes it. The test
 * fails on anything not in the lists, and on any list entry that no longer happens: the lists
 * can only shrink. When your change removes one, delete its entry.
 */
import { afterAll, describe, expect, test } from "vitest";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cyclicComponents, extensionNamesUsed, nodeKindsTested, readImportGraph, shortestCycleThrough, type ImportGraph } from "../support/import-graph.js";
import { LAYERS, layerOf } from "../support/layers.js";
import { MATCHES, TARGETS } from "../../src/extensions/registry.js";
import { STATEMENT_KINDS } from "../../src/extensions/nft/statements/registry.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

interface Known {
  entries: readonly string[];
  /** Why the code does this today. */
  why: string;
  /** The part of issue 12 whose work removes it. */
  removedBy: string;
}

/** Imports into a higher layer, as `from -> to`. */
const KNOWN_UPWARD_IMPORTS: readonly Known[] = [];

/** Import cycles, as the modules of each (sorted, joined by ` <-> `). */
const KNOWN_CYCLES: readonly Known[] = [];

/** Extensions named outside src/extensions/, as `module: name` or `module imports extension-file`. */
const KNOWN_EXTENSION_NAMES: readonly Known[] = [];

/** nft statement kinds named outside src/extensions/, as `module: kind` or `module imports kind-file`. */
const KNOWN_STATEMENT_KINDS: readonly Known[] = [];

const graph: ImportGraph = readImportGraph(ROOT, ["src", "grammar"]);

/** What is found, each with where (for the failure message), against what is known. */
function compare(found: Map<string, string[]>, known: readonly Known[]): string[] {
  const knownKeys = new Set(known.flatMap((k) => k.entries));
  const problems: string[] = [];
  for (const [key, where] of [...found].sort(([a], [b]) => a.localeCompare(b))) {
    if (!knownKeys.has(key)) problems.push(`new: ${key}\n    ${where.join("\n    ")}`);
  }
  for (const key of [...knownKeys].sort()) {
    if (!found.has(key)) problems.push(`gone (delete it from the KNOWN list): ${key}`);
  }
  return problems;
}

function add(found: Map<string, string[]>, key: string, where: string): void {
  const list = found.get(key) ?? [];
  list.push(where);
  found.set(key, list);
}

describe("the layers", () => {
  test("every module of src/ and grammar/ has a layer", () => {
    const unplaced = [...graph.modules.keys()].filter((m) => layerOf(m) === undefined);
    expect(unplaced, "place these in test/support/layers.ts").toEqual([]);
  });

  test("every path of the layer map names something that exists", () => {
    const modules = [...graph.modules.keys()];
    const missing = LAYERS.flatMap((l) => l.paths.map((p) => p.path)).filter(
      (p) => !modules.some((m) => (p.endsWith("/") ? m.startsWith(p) : m === p)),
    );
    expect(missing).toEqual([]);
  });

  test("no import runs from a lower layer into a higher one", () => {
    const found = new Map<string, string[]>();
    for (const e of graph.edges) {
      const from = layerOf(e.from);
      const to = layerOf(e.to);
      if (from === undefined || to === undefined || to <= from) continue;
      add(
        found,
        `${e.from} -> ${e.to}`,
        `${e.from}:${e.line} (${LAYERS[from]!.name}) imports ${e.to} (${LAYERS[to]!.name})${e.typeOnly ? ", types only" : ""}`,
      );
    }
    expect(compare(found, KNOWN_UPWARD_IMPORTS), "upward imports").toEqual([]);
  });

  test("no import cycle", () => {
    const found = new Map<string, string[]>();
    for (const component of cyclicComponents(graph)) {
      const path = shortestCycleThrough(graph, component, component[0]!);
      add(found, component.join(" <-> "), `cycle: ${path.join(" -> ")}`);
    }
    expect(compare(found, KNOWN_CYCLES), "import cycles").toEqual([]);
  });

  test("no module outside src/extensions/ names an extension", () => {
    const names = new Set<string>();
    for (const e of [...MATCHES, ...TARGETS]) for (const n of [e.name, ...(e.aliases ?? [])]) names.add(n);
    const found = new Map<string, string[]>();
    for (const module of graph.modules.values()) {
      if (module.path.startsWith("src/extensions/")) continue;
      for (const { name, line } of extensionNamesUsed(module, names)) add(found, `${module.path}: ${name}`, `${module.path}:${line} "${name}"`);
    }
    for (const e of graph.edges) {
      if (e.from.startsWith("src/extensions/") || !/^src\/extensions\/(matches|targets)\//.test(e.to)) continue;
      add(found, `${e.from} imports ${e.to}`, `${e.from}:${e.line}`);
    }
    expect(compare(found, KNOWN_EXTENSION_NAMES), "extensions named outside src/extensions/").toEqual([]);
  });
});

describe("the nft statement kinds", () => {
  /** A kind the registry holds; `other` is also an expression's kind, told apart everywhere. */
  const kinds = new Set(STATEMENT_KINDS.map((k) => k.kind).filter((k) => k !== "other"));
  const CONTRACT = new Set(["src/extensions/nft/statements/registry.ts", "src/extensions/nft/statements/types.ts"]);

  test("no module outside src/extensions/ names one", () => {
    const found = new Map<string, string[]>();
    for (const module of graph.modules.values()) {
      if (module.path.startsWith("src/extensions/")) continue;
      for (const { name, line } of nodeKindsTested(module, kinds)) add(found, `${module.path}: ${name}`, `${module.path}:${line} "${name}"`);
    }
    for (const e of graph.edges) {
      if (e.from.startsWith("src/extensions/") || !e.to.startsWith("src/extensions/nft/statements/") || CONTRACT.has(e.to)) continue;
      add(found, `${e.from} imports ${e.to}`, `${e.from}:${e.line}`);
    }
    expect(compare(found, KNOWN_STATEMENT_KINDS), "nft statement kinds named outside src/extensions/").toEqual([]);
  });

  test("a kind's file imports nothing of the evaluator, the readers or the printer", () => {
    const found = new Map<string, string[]>();
    for (const e of graph.edges) {
      if (e.from.startsWith("src/extensions/nft/statements/") && !/^src\/(model|extensions)\//.test(e.to)) add(found, `${e.from} -> ${e.to}`, `${e.from}:${e.line}`);
    }
    expect([...found.keys()]).toEqual([]);
  });
});

/** The checks themselves, on small made-up sources: a check that cannot fail proves nothing. */
describe("the import graph reader", () => {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  function tree(files: Record<string, string>): string {
    const root = mkdtempSync(join(tmpdir(), "netfate-graph-"));
    made.push(root);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  }

  test("reads static, re-exported, dynamic and type imports, and ignores packages and comments", () => {
    const root = tree({
      "src/a.ts": [
        'import { b } from "./b.js";',
        'import type { C } from "./c.js";',
        'export * from "./d.js";',
        'import { type E } from "./e.js";',
        'import "node:fs";',
        '// import { x } from "./f.js";',
        'const s = "import { y } from \'./f.js\'";',
        'let t: import("./g.js").G;',
        'const h = async () => (await import("./h.js")).h;',
      ].join("\n"),
      "src/b.ts": "export const b = 1;",
      "src/c.ts": "export type C = 1;",
      "src/d.ts": "export const d = 1;",
      "src/e.ts": "export type E = 1;",
      "src/f.ts": "export const x = 1;",
      "src/g.ts": "export type G = 1;",
      "src/h.ts": "export const h = 1;",
    });
    const g = readImportGraph(root, ["src"]);
    const edges = g.edges.map((e) => `${e.to} line ${e.line}${e.typeOnly ? " type" : ""}${e.dynamic ? " dynamic" : ""}`);
    expect(edges.sort()).toEqual([
      "src/b.ts line 1",
      "src/c.ts line 2 type",
      "src/d.ts line 3",
      "src/e.ts line 4 type",
      "src/g.ts line 8 type",
      "src/h.ts line 9 dynamic",
    ]);
  });

  test("finds a cycle and the path around it, type-only edges included", () => {
    const root = tree({
      "src/a.ts": 'import { b } from "./b.js";',
      "src/b.ts": 'import { c } from "./sub/c.js";',
      "src/sub/c.ts": 'import type { A } from "../a.js";',
      "src/d.ts": 'import { b } from "./b.js";',
      "src/e.ts": 'import { e } from "./e.js";',
    });
    const g = readImportGraph(root, ["src"]);
    const components = cyclicComponents(g);
    expect(components).toEqual([["src/a.ts", "src/b.ts", "src/sub/c.ts"], ["src/e.ts"]]);
    expect(shortestCycleThrough(g, components[0]!, "src/a.ts")).toEqual(["src/a.ts", "src/b.ts", "src/sub/c.ts", "src/a.ts"]);
    expect(shortestCycleThrough(g, components[1]!, "src/e.ts")).toEqual(["src/e.ts", "src/e.ts"]);
  });

  test("tells a node's kind tested from the same word used otherwise", () => {
    const root = tree({
      "src/y.ts": [
        'if (s.kind === "nat") {}', //                        1: tested
        'switch (st.kind) { case "log": break; }', //         2: tested
        'if (kind === "log") {}', //                          3: a variable, not a node's kind
        'if (s.type === "nat") {}', //                        4: another field
        'const w = "nat";', //                                5: a word
      ].join("\n"),
    });
    const g = readImportGraph(root, ["src"]);
    expect(nodeKindsTested(g.modules.get("src/y.ts")!, new Set(["nat", "log"]))).toEqual([
      { name: "nat", line: 1 },
      { name: "log", line: 2 },
    ]);
  });

  test("tells an extension's name from the same word used otherwise", () => {
    const root = tree({
      "src/x.ts": [
        'if (m.name === "tcp") {}', //                        1: named
        'switch (t.name) { case "DNAT": break; }', //         2: named
        'const ext = findTarget("LOG", family);', //          3: named
        'const NEEDS = new Set(["conntrack", "IN"]);', //     4: named (tested with names below)
        "if (d.matchNames.some((n) => NEEDS.has(n))) {}",
        'if (typeof v === "string") {}', //                   6: a type name
        'if (p.proto === "tcp") {}', //                       7: a protocol
        'switch (field) { case "mark": break; }', //          8: a packet field
        'const FIELDS = ["mark", "ttl"];', //                 9: never tested with a name
        'if (FIELDS.includes(key)) {}',
        'const text = "policy";', //                         11: a word
      ].join("\n"),
    });
    const g = readImportGraph(root, ["src"]);
    const names = new Set(["tcp", "DNAT", "LOG", "conntrack", "string", "mark", "ttl", "policy"]);
    expect(extensionNamesUsed(g.modules.get("src/x.ts")!, names)).toEqual([
      { name: "tcp", line: 1 },
      { name: "DNAT", line: 2 },
      { name: "LOG", line: 3 },
      { name: "conntrack", line: 4 },
    ]);
  });
});
