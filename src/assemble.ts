/**
 * Everything an evaluation needs, from texts: rule dumps in any format, ipsets, node facts
 * and the --iface/--route/--local-addr shortcuts, assembled into the rulesets and views
 * `buildNode` takes. The CLI (src/cli/load.ts) and the testing helpers (src/testing/load.ts)
 * both read files and hand the texts here, so they cannot disagree on what a dump means.
 */
import type { Ruleset, TableName } from "./model/ast.js";
import { DiagnosticSink, type Diagnostic } from "./model/diagnostics.js";
import type { IpsetView, NodeView } from "./netfilter/types.js";
import { readInput, rulesetsOf } from "./inputs.js";
import { emptyFacts } from "./facts/model.js";
import { applyShortcuts, readFacts } from "./facts/parse.js";
import { nodeViewFromFacts } from "./netfilter/node-view.js";
import { noIpsets } from "./netfilter/unknown-facts.js";
import { ipsetView, parseIpsets, type IpSetCollection } from "./ipset/index.js";
import { appendAll } from "./append-all.js";

export interface TextInput {
  file: string;
  text: string;
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
}

export interface AssembledInputs {
  rulesets: Ruleset[];
  node?: NodeView;
  ipsets?: IpsetView;
  diagnostics: Diagnostic[];
  /** What a user should be told: formats detected, facts missing. */
  notes: string[];
}

/** An input that cannot be used at all (no rules in a rules file, a bad shortcut): one line. */
export class InputError extends Error {}

export function assembleInputs(spec: AssembleSpec): AssembledInputs {
  if (spec.rules.length === 0) throw new InputError("no rules given");
  const out: AssembledInputs = { rulesets: [], diagnostics: [], notes: [] };
  for (const f of spec.rules) {
    const r = readInput(f.text, { file: f.file, ...(spec.table ? { table: spec.table } : {}) });
    out.notes.push(`${f.file}: ${r.formatNote}`);
    appendAll(out.diagnostics, r.diagnostics);
    const found = rulesetsOf(r.input);
    if (found.length === 0) throw new InputError(`${f.file}: no iptables rules found in it (${r.formatNote})`);
    appendAll(out.rulesets, found);
  }
  const shortcuts: Shortcuts = { ifaces: [], localAddrs: [], routes: [], ...spec.shortcuts };
  const node = nodeFromInputs(spec.node ?? [], shortcuts);
  appendAll(out.diagnostics, node.diagnostics);
  if (node.view) out.node = node.view;
  else out.notes.push("no node facts given: routing and local-address questions are indeterminate (give --node, --bundle or --iface NAME=CIDR)");
  if (spec.ipsets?.length) {
    const s = ipsetsFromInputs(spec.ipsets);
    appendAll(out.diagnostics, s.diagnostics);
    out.ipsets = s.view;
  }
  return out;
}

function nodeFromInputs(files: TextInput[], s: Shortcuts): { view?: NodeView; diagnostics: Diagnostic[] } {
  if (files.length === 0 && s.ifaces.length === 0 && s.localAddrs.length === 0 && s.routes.length === 0) return { diagnostics: [] };
  const facts = emptyFacts();
  const diagnostics: Diagnostic[] = [];
  for (const f of files) {
    const sink = new DiagnosticSink(f.file);
    readFacts(f.text, f.file, facts, sink);
    appendAll(diagnostics, sink.items);
  }
  const sink = new DiagnosticSink("<command line>");
  applyShortcuts(facts, s, sink);
  if (sink.errorCount) throw new InputError(sink.items.find((d) => d.severity === "error")!.message);
  // Interfaces without routes: the connected routes are all a node has.
  return { view: nodeViewFromFacts(facts), diagnostics };
}

/** `ipset save` / `ipset list` texts, merged; a set named twice keeps the later one. */
function ipsetsFromInputs(files: TextInput[]): { view: IpsetView; diagnostics: Diagnostic[] } {
  const sets: IpSetCollection = { sets: [] };
  const diagnostics: Diagnostic[] = [];
  for (const f of files) {
    const r = parseIpsets(f.text, { file: f.file });
    appendAll(diagnostics, r.diagnostics);
    for (const s of r.value.sets) {
      sets.sets = sets.sets.filter((x) => x.name !== s.name);
      sets.sets.push(s);
    }
  }
  return { view: files.length ? ipsetView(sets) : noIpsets(), diagnostics };
}
