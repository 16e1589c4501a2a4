/**
 * One loaded node in the interactive page: the inputs the CLI read, as texts, assembled and
 * built the way `netfate trace` builds them (src/assemble.ts), once; then any number of
 * packets traced on it. Browser-safe: it runs in the page's Worker (engine-worker.ts), and in
 * Node for the tests.
 */
import { assembleInputs, nodeInputsOf, type AssembledInputs, type Shortcuts, type TextInput } from "../assemble.js";
import type { TableName } from "../model/ast.js";
import type { StateAssumptions } from "../model/evaluation.js";
import { buildNode, type Evaluation, type NetfilterNode } from "../netfilter/model.js";
import { parsePacketText } from "../packet/parse.js";

/** What the page carries: the node's inputs as the CLI read them, and how to trace on them. */
export interface ExploreData {
  rules: TextInput[];
  ipsets: TextInput[];
  node: TextInput[];
  ipvs?: TextInput[];
  shortcuts: Shortcuts;
  table?: TableName;
  /** Notes the CLI made while reading (a bundle's), shown with the assembly's own. */
  notes: string[];
  /** `--assume` as given. */
  assume?: StateAssumptions;
  /** With --keep-going over inputs with errors: the assumption every outcome states (the CLI's wording). */
  leftOut?: string;
  /** The packet the page opens on, as typed on the command line. */
  packet?: string;
}

export type TraceAnswer =
  | { ok: true; evaluation: Evaluation; notes: string[] }
  | { ok: false; error: string; col?: number };

export class ExploreSession {
  readonly inputs: AssembledInputs;
  readonly node: NetfilterNode;

  /** `assembled`: the CLI's own assembly of the same texts (it has read them already), rather than a second one. */
  constructor(readonly data: ExploreData, assembled?: AssembledInputs) {
    this.inputs = assembled ?? assembleInputs({
      rules: data.rules, ipsets: data.ipsets, node: data.node, shortcuts: data.shortcuts,
      ...(data.table ? { table: data.table } : {}), ...(data.ipvs ? { ipvs: data.ipvs } : {}),
    });
    this.node = buildNode(nodeInputsOf(this.inputs));
  }

  /** Notes for the person: the CLI's, then the assembly's (formats detected, facts missing). */
  notes(): string[] {
    return [...this.data.notes, ...this.inputs.notes];
  }

  /** The packet typed (text, LOG line or JSON) traced on the node, or where the text is wrong. */
  trace(text: string, opts: { verbose?: boolean } = {}): TraceAnswer {
    const pk = parsePacketText(text);
    if (!pk.ok) return { ok: false, error: pk.error, ...(pk.col ? { col: pk.col } : {}) };
    if (!this.node.hasRules(pk.packet.family)) {
      const v6 = pk.packet.family === "ipv6";
      return { ok: false, error: `the packet is ${v6 ? "IPv6" : "IPv4"} but the rules loaded are all ${v6 ? "IPv4" : "IPv6"} rules` };
    }
    const e = this.node.evaluate(pk.packet, { verbose: opts.verbose ?? false, ...(this.data.assume ? { assume: this.data.assume } : {}) });
    if (this.data.leftOut) for (const o of e.outcomes) o.assumptions.push(this.data.leftOut);
    return { ok: true, evaluation: e, notes: pk.notes };
  }
}
