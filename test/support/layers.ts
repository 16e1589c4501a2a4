/**
 * The layers of netfate, bottom to top: the one place they are written down. A module may
 * import from its own layer and from any layer below it, never from one above
 * (test/unit/layers.test.ts holds this over the import graph, type-only imports included: a
 * type is a dependency of the design even when the compiler erases it). The README's "How it
 * is built" is written from this list.
 *
 * Each entry is a folder (ending in "/") or a file, relative to the repository root. Every
 * module of src/ and grammar/ must fall in exactly one: a new folder or top-level file is
 * placed here on purpose, not by accident.
 */
export interface Layer {
  name: string;
  /** What the layer is for, in one line (for the README). */
  role: string;
  paths: ReadonlyArray<{ path: string; what: string }>;
}

export const LAYERS: readonly Layer[] = [
  {
    name: "model",
    role: "the shared vocabulary every other layer speaks; imports nothing of netfate",
    paths: [
      { path: "src/model/", what: "AST, spans, diagnostics, packets" },
      // A helper with no knowledge of anything: it sits at the bottom so anyone may use it.
      { path: "src/append-all.ts", what: "appending without spreading arguments (large lists)" },
      { path: "src/block-list.ts", what: "a list cheap to change in the middle (scripts inserting and deleting rules)" },
    ],
  },
  {
    name: "extensions",
    role: "one file per iptables match and target (registry.ts), per nft expression kind (nft/registry.ts) and per nft statement kind (nft/statements/registry.ts); knows the model only",
    paths: [{ path: "src/extensions/", what: "options, binding, both printings and evaluation of each extension; each nft expression and statement kind's text and JSON reading, printing and evaluation" }],
  },
  {
    name: "readers",
    role: "text in, model out (and the model back to text); dispatch to extensions through the registry",
    paths: [
      { path: "grammar/", what: "the dump line structure: chevrotain grammar and the fast scanner" },
      { path: "src/syntax/", what: "words → AST: option binder, table inference, listings, extraction from prose" },
      { path: "src/print/", what: "canonical iptables-save, -S and -L printers" },
      { path: "src/facts/", what: "node facts (node.json, ip -j addr/route, ip route, sysctl)" },
      { path: "src/ipset/", what: "ipset save/list and set lookups" },
      { path: "src/ipvs/", what: "ipvsadm -Ln (and --stats/--rate) and ipvsadm-save -n, and the save form back" },
      { path: "src/packet/", what: "packets from text, JSON and kernel LOG lines" },
      { path: "src/nft/", what: "nftables: nft list ruleset text, nft -f scripts and nft -j JSON, datatypes and statements, and the listing printed back (expression kinds through extensions/nft)" },
      // Format detection decides which reader a text goes to, and syntax/extract shares its
      // line-shape predicates: it is part of reading.
      { path: "src/detect.ts", what: "which dump format a text is" },
      // The front doors of reading: text → AST + diagnostics, for the library and the CLI.
      { path: "src/parse.ts", what: "parseRules" },
      { path: "src/inputs.ts", what: "one input file in any format → ruleset, sets or dumps in prose" },
      { path: "src/text-file.ts", what: "a file read whole as text (refusing binaries)" },
    ],
  },
  {
    name: "evaluator",
    role: "rulesets and node views → outcomes of a packet",
    paths: [
      { path: "src/netfilter/", what: "compiled rulesets, chain indexes, traversal, hook path, routing view, NAT and conntrack" },
      // It builds the views buildNode takes (node view, ipset view) from parsed inputs, so it
      // sits with the evaluator, below everything that loads files.
      { path: "src/assemble.ts", what: "texts → the rulesets and views an evaluation needs" },
      { path: "src/assemble-cluster.ts", what: "texts of several nodes and their pods → a cluster's inputs" },
    ],
  },
  {
    name: "renderings",
    role: "outcomes → text, JSON, HTML, graphs; outcomes compared",
    paths: [
      { path: "src/explain/", what: "text, JSON, HTML, mermaid and dot renderers of a trace" },
      { path: "src/diff/", what: "what changed between two rulesets, and packets that show it" },
      { path: "src/explore/", what: "the interactive page: the node and evaluator in a browser Worker, rule search, mentions, chains" },
    ],
  },
  {
    name: "entry points",
    role: "what users call: the CLI, the testing helpers, the library's front door",
    paths: [
      { path: "src/cli/", what: "argument wiring only" },
      { path: "src/testing/", what: "helpers and vitest matchers for users' own regression tests" },
      { path: "src/index.ts", what: "the library's exports" },
    ],
  },
];

/** The layer a module belongs to (its index in LAYERS), or undefined when none is given. */
export function layerOf(module: string): number | undefined {
  let best: { layer: number; length: number } | undefined;
  LAYERS.forEach((layer, i) => {
    for (const { path } of layer.paths) {
      const hit = path.endsWith("/") ? module.startsWith(path) : module === path;
      // The most specific entry wins, should a file ever be placed apart from its folder.
      if (hit && (!best || path.length > best.length)) best = { layer: i, length: path.length };
    }
  });
  return best?.layer;
}
