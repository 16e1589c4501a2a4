/**
 * Node facts and ipsets for the CLI: parses what was given and wraps it in the views the
 * evaluator asks (src/netfilter/types.ts NodeView, IpsetView).
 */
import type { Diagnostic } from "../model/diagnostics.js";
import { DiagnosticSink } from "../model/diagnostics.js";
import type { IpsetView, NodeView } from "../netfilter/types.js";
import { emptyFacts } from "../facts/model.js";
import { applyShortcuts, readFacts } from "../facts/parse.js";
import { nodeViewFromFacts } from "../netfilter/node-view.js";
import { noIpsets } from "../netfilter/unknown-facts.js";
import { ipsetView, parseIpsets, type IpSetCollection } from "../ipset/index.js";
import { UsageError } from "./args.js";

export interface FactsInput {
  file: string;
  text: string;
}

export interface Shortcuts {
  ifaces: string[];
  localAddrs: string[];
  routes: string[];
}

export function nodeFromInputs(files: FactsInput[], s: Shortcuts): { view?: NodeView; diagnostics: Diagnostic[] } {
  if (files.length === 0 && s.ifaces.length === 0 && s.localAddrs.length === 0 && s.routes.length === 0) return { diagnostics: [] };
  const facts = emptyFacts();
  const diagnostics: Diagnostic[] = [];
  for (const f of files) {
    const sink = new DiagnosticSink(f.file);
    readFacts(f.text, f.file, facts, sink);
    diagnostics.push(...sink.items);
  }
  const sink = new DiagnosticSink("<command line>");
  applyShortcuts(facts, s, sink);
  if (sink.errorCount) throw new UsageError(sink.items.find((d) => d.severity === "error")!.message);
  // --iface without --route: the connected routes are all a node has.
  return { view: nodeViewFromFacts(facts), diagnostics };
}

/** `ipset save` / `ipset list` files, merged; a set named twice keeps the later one. */
export function ipsetsFromInputs(files: FactsInput[]): { view: IpsetView; diagnostics: Diagnostic[] } {
  const sets: IpSetCollection = { sets: [] };
  const diagnostics: Diagnostic[] = [];
  for (const f of files) {
    const r = parseIpsets(f.text, { file: f.file });
    diagnostics.push(...r.diagnostics);
    for (const s of r.value.sets) {
      sets.sets = sets.sets.filter((x) => x.name !== s.name);
      sets.sets.push(s);
    }
  }
  return { view: files.length ? ipsetView(sets) : noIpsets(), diagnostics };
}
