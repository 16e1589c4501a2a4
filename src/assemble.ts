/**
 * Everything an evaluation needs, from texts: rule dumps in any format, ipsets, node facts
 * and the --iface/--route/--local-addr shortcuts, assembled into the rulesets and views
 * `buildNode` takes. The CLI (src/cli/load.ts) and the testing helpers (src/testing/load.ts)
 * both read files and hand the texts here, so they cannot disagree on what a dump means.
 */
import type { Ruleset, TableName } from "./model/ast.js";
import { DiagnosticSink, type Diagnostic } from "./model/diagnostics.js";
import type { IpsetView, NodeView } from "./model/evaluation.js";
import { ipsetsOf, ipvsOf, nftOf, readInput, rulesetsOf, type InputCache, type ParsedInput } from "./inputs.js";
import type { NftRuleset } from "./model/nft.js";
import type { NodeInputs } from "./netfilter/model.js";
import { ipvsServiceName, type IpvsTable } from "./model/ipvs.js";
import { mergeRulesets, type SourcedRuleset } from "./syntax/merge.js";
import { emptyFacts, type NodeFacts } from "./facts/model.js";
import { applyShortcuts, readFacts, type FactsFormat } from "./facts/parse.js";
import { nodeViewFromFacts } from "./netfilter/node-view.js";
import { ipsetView, parseIpsets, type IpSet, type IpSetCollection } from "./ipset/index.js";
import { appendAll } from "./append-all.js";

export interface TextInput {
  file: string;
  text: string;
  /** What node facts the text is, when the caller knows (a bundle's files, by name); detected otherwise. */
  format?: FactsFormat;
  /** The command that printed it, when known (a collect bundle's manifest says). */
  command?: readonly string[];
}

export interface Shortcuts {
  /** NAME=CIDR, e.g. eth0=192.168.0.11/24. */
  ifaces: string[];
  localAddrs: string[];
  /** `ip route` lines. */
  routes: string[];
}

export interface AssembleSpec {
  rules: TextInput[];
  ipsets?: TextInput[];
  node?: TextInput[];
  shortcuts?: Partial<Shortcuts>;
  /** The table of dumps that do not name it (-S, -L output). */
  table?: TableName;
  /** ipvsadm-save -n or ipvsadm -Ln output (an ipvsadm text among `rules` is read as this too). */
  ipvs?: TextInput[];
  /** Parsed rule dumps kept between runs (cli/cache.ts). */
  cache?: InputCache;
}

export interface AssembledInputs {
  rulesets: Ruleset[];
  /** nftables rulesets (`nft list ruleset`, `nft -j list ruleset`, `nft -f` scripts), run on the same hooks. */
  nft: NftRuleset[];
  node?: NodeView;
  /** The facts the node view was built from (a cluster finds its links and pods in them). */
  facts?: NodeFacts;
  ipsets?: IpsetView;
  /** The IPVS virtual servers, when ipvsadm output was given. */
  ipvs?: IpvsTable;
  diagnostics: Diagnostic[];
  /** What a user should be told: formats detected, facts missing. */
  notes: string[];
}

/** An input that cannot be used at all (no rules in a rules file, a bad shortcut): one line. */
export class InputError extends Error {}

export function assembleInputs(spec: AssembleSpec): AssembledInputs {
  if (spec.rules.length === 0) throw new InputError("no rules given");
  const out: AssembledInputs = { rulesets: [], nft: [], diagnostics: [], notes: [] };
  const read: SourcedRuleset[] = [];
  // ipset blocks pasted with the rules (an issue with `ipset save` and `iptables-save`) count
  // as given ipsets, before the --ipsets files.
  const setSources: SourcedSets[] = [];
  const ipvsSources: SourcedIpvs[] = [];
  for (const f of spec.rules) {
    const r = readInput(f.text, { file: f.file, ...(spec.table ? { table: spec.table } : {}), ...(spec.cache ? { cache: spec.cache } : {}) });
    out.notes.push(`${f.file}: ${r.formatNote}`);
    appendAll(out.diagnostics, r.diagnostics);
    const found = rulesetsOf(r.input);
    for (const t of ipvsOf(r.input)) ipvsSources.push({ table: t, file: f.file });
    const nft = nftOf(r.input);
    appendAll(out.nft, nft);
    if (found.length === 0 && (ipvsOf(r.input).length > 0 || nft.length > 0)) continue;
    if (found.length === 0) throw new InputError(`${f.file}: no iptables or nftables rules found in it (${r.formatNote})`);
    for (const rs of found) read.push({ ruleset: rs, file: f.file });
    for (const sets of ipsetsOf(r.input)) setSources.push({ sets, file: f.file });
  }
  if (read.length === 0 && out.nft.length === 0) throw new InputError("no iptables or nftables rules given: only ipvsadm output");
  for (const f of spec.ipvs ?? []) {
    // Given as ipvsadm output: read as that whatever it looks like, so what is wrong is said line by line.
    const r = readInput(f.text, { file: f.file, format: "ipvsadm" });
    out.notes.push(`${f.file}: ${r.formatNote}`);
    appendAll(out.diagnostics, r.diagnostics);
    // `ipvsadm -S -n --nosort` (what collect runs) lists the real servers in the kernel's order.
    const nosort = f.command?.includes("--nosort") === true;
    for (const t of ipvsOf(r.input)) ipvsSources.push({ table: nosort ? { ...t, kernelOrder: true } : t, file: f.file });
  }
  if (ipvsSources.length) {
    const v = mergeIpvs(ipvsSources);
    appendAll(out.diagnostics, v.diagnostics);
    out.ipvs = v.table;
  }
  const merged = mergeRulesets(read);
  out.rulesets = merged.rulesets;
  appendAll(out.diagnostics, merged.diagnostics);
  const shortcuts: Shortcuts = { ifaces: [], localAddrs: [], routes: [], ...spec.shortcuts };
  const node = nodeFromInputs(spec.node ?? [], shortcuts);
  appendAll(out.diagnostics, node.diagnostics);
  if (node.view) out.node = node.view;
  if (node.facts) out.facts = node.facts;
  if (!node.view) out.notes.push("no node facts given: routing and local-address questions are indeterminate (give --node, --bundle or --iface NAME=CIDR)");
  if (setSources.length) out.notes.push(`ipsets read from the --rules input${new Set(setSources.map((s) => s.file)).size === 1 ? "" : "s"} too: ${[...new Set(setSources.map((s) => s.file))].join(", ")}`);
  for (const f of spec.ipsets ?? []) {
    const r = readInput(f.text, { file: f.file });
    const found = ipsetsOf(r.input);
    if (r.input.kind === "unparsed") {
      // Nothing that looks like ipset output: read it as ipset output anyway, so that what is
      // wrong with it is reported line by line.
      const p = parseIpsets(f.text, { file: f.file });
      appendAll(out.diagnostics, p.diagnostics);
      setSources.push({ sets: p.value, file: f.file });
      continue;
    }
    out.notes.push(`${f.file}: ${r.formatNote}`);
    appendAll(out.diagnostics, setDiagnostics(r.input, r.diagnostics));
    if (rulesetsOf(r.input).length && !spec.rules.some((x) => x.file === f.file)) out.notes.push(`${f.file}: the iptables rules in it are not read (it was given as --ipsets; give it as --rules too)`);
    if (found.length === 0) out.diagnostics.push({ severity: "warning", file: f.file, line: 1, col: 1, message: "no ipset save or ipset list output found in it" });
    for (const sets of found) setSources.push({ sets, file: f.file });
  }
  if (setSources.length) {
    const s = mergeIpsets(setSources);
    appendAll(out.diagnostics, s.diagnostics);
    out.ipsets = s.view;
  }
  return out;
}

/** What `buildNode` takes from assembled inputs: every caller builds its node the same way. */
export function nodeInputsOf(a: Pick<AssembledInputs, "rulesets" | "nft" | "node" | "ipsets" | "ipvs">): NodeInputs {
  return {
    rulesets: a.rulesets,
    ...(a.nft.length ? { nft: a.nft } : {}),
    ...(a.node ? { node: a.node } : {}),
    ...(a.ipsets ? { ipsets: a.ipsets } : {}),
    ...(a.ipvs ? { ipvs: a.ipvs } : {}),
  };
}

/**
 * The node view and facts from node-facts texts and the shortcuts; neither when nothing is
 * given. A node of a cluster may have facts and no rules: it is read here alone.
 */
export function nodeFromInputs(files: TextInput[], s: Shortcuts): { view?: NodeView; facts?: NodeFacts; diagnostics: Diagnostic[] } {
  if (files.length === 0 && s.ifaces.length === 0 && s.localAddrs.length === 0 && s.routes.length === 0) return { diagnostics: [] };
  const facts = emptyFacts();
  const diagnostics: Diagnostic[] = [];
  for (const f of files) {
    const sink = new DiagnosticSink(f.file);
    readFacts(f.text, f.file, facts, sink, f.format);
    appendAll(diagnostics, sink.items);
  }
  const sink = new DiagnosticSink("<command line>");
  applyShortcuts(facts, s, sink);
  if (sink.errorCount) throw new InputError(sink.items.find((d) => d.severity === "error")!.message);
  // Interfaces without routes give their subnets' routes, not the node's: where anything else
  // goes stays indeterminate until routes of its family are given (Fib.routesGiven).
  return { view: nodeViewFromFacts(facts), facts, diagnostics };
}

/**
 * What reading an --ipsets input reported about its ipset blocks: the rule dumps in it are not
 * read, so what they report is not said (nor said twice when the file is a --rules input too).
 */
function setDiagnostics(input: ParsedInput, diagnostics: Diagnostic[]): Diagnostic[] {
  if (input.kind !== "mixed") return input.kind === "sets" ? diagnostics : [];
  const ranges = input.blocks.filter((b) => b.input.kind !== "rules").map((b) => [b.firstLine, b.lastLine] as const);
  const inRules = input.blocks.filter((b) => b.input.kind === "rules").map((b) => [b.firstLine, b.lastLine] as const);
  const within = (rs: ReadonlyArray<readonly [number, number]>, line: number) => rs.some(([a, z]) => line >= a && line <= z);
  return diagnostics.filter((d) => within(ranges, d.line) || !within(inRules, d.line));
}

interface SourcedIpvs {
  table: IpvsTable;
  file: string;
}

/**
 * What several inputs give, by name: one given twice keeps the later one, and a warning says
 * so (the same file given twice, as --rules and --ipsets, holds it once: no warning).
 */
function laterWins<T extends { span: { line: number; col: number } }>(
  sources: ReadonlyArray<{ items: readonly T[]; file: string }>,
  nameOf: (t: T) => string,
  diagnostics: Diagnostic[],
): T[] {
  const byName = new Map<string, { item: T; file: string }>();
  for (const src of sources) {
    for (const item of src.items) {
      const name = nameOf(item);
      const before = byName.get(name);
      if (before && (before.file !== src.file || before.item.span.line !== item.span.line)) {
        diagnostics.push({
          severity: "warning", file: src.file, line: item.span.line, col: item.span.col,
          message: `${name} was also given at ${before.file}:${before.item.span.line}; the later one, here, is used`,
        });
      }
      byName.delete(name);
      byName.set(name, { item, file: src.file });
    }
  }
  return [...byName.values()].map((x) => x.item);
}

/** The services of several ipvsadm outputs, the later kept (laterWins); in the kernel's order only if every one is. */
function mergeIpvs(sources: SourcedIpvs[]): { table: IpvsTable; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const services = laterWins(sources.map((s) => ({ items: s.table.services, file: s.file })), ipvsServiceName, diagnostics);
  const kernelOrder = sources.every((s) => s.table.kernelOrder === true);
  return { table: { services, ...(kernelOrder ? { kernelOrder } : {}) }, diagnostics };
}

interface SourcedSets {
  sets: IpSetCollection;
  file: string;
}

/** Set collections merged; a set named twice keeps the later one, and a warning says so. */
function mergeIpsets(sources: SourcedSets[]): { view: IpsetView; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const sets = laterWins(sources.map((s) => ({ items: s.sets.sets, file: s.file })), (s: IpSet) => `set ${s.name}`, diagnostics);
  return { view: ipsetView({ sets }), diagnostics };
}
