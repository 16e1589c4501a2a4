/**
 * Node facts and ipsets for the CLI: parses what was given and wraps it in the views the
 * evaluator asks (src/netfilter/types.ts NodeView, IpsetView).
 */
import type { Diagnostic } from "../model/diagnostics.js";
import type { IpsetView, NodeView } from "../netfilter/types.js";
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
  throw new UsageError("node facts are not readable yet in this build");
}

export function ipsetsFromInputs(files: FactsInput[]): { view: IpsetView; diagnostics: Diagnostic[] } {
  void files;
  throw new UsageError("ipsets are not readable yet in this build");
}
