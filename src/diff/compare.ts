/**
 * Two dumps of one node, the same packets through both: which packets end differently.
 *
 * Outcomes are compared by what the packet experiences — how it ends, where it leaves, what
 * it looks like then, with what probability — and, when it is stopped, by the text of the
 * rule that stopped it. Rule numbers are left out on purpose: an upgrade that inserts one
 * rule at the top renumbers every rule below it without changing any packet's fate.
 */
import type { Family, Ruleset } from "../model/ast.js";
import type { PacketSpec } from "../model/packet.js";
import type { NodeFacts } from "../facts/model.js";
import type { IpSetCollection } from "../ipset/index.js";
import { ipsetView } from "../ipset/index.js";
import { buildNode, type Evaluation, type NodeInputs } from "../netfilter/model.js";
import { nodeViewFromFacts } from "../netfilter/node-view.js";
import type { IpsetView, NodeView, Outcome } from "../netfilter/types.js";
import { stepRuleText } from "../explain/describe.js";
import { candidatePackets, type CandidateOptions } from "./candidates.js";

export interface DiffOptions extends CandidateOptions {
  /** The node as both sides see it, when a side does not bring its own (else built from `facts`). */
  node?: NodeView;
  /** Set lookups for both sides, when a side does not bring its own (else built from `sets`). */
  ipsets?: IpsetView;
  /** Stop after this many differences (default: all). */
  stopAfter?: number;
}

/** A side: its dumps alone, or its dumps with its own node and sets. */
export type DiffSide = readonly Ruleset[] | NodeInputs;

/** One outcome reduced to what a user would call its fate. */
export interface OutcomeSummary {
  /** `dropped`, `forwarded out eth0`, `rejected (icmp-port-unreachable)`, ... */
  fate: string;
  /** For a stopped packet: the rule (as iptables-save prints it) or policy that stopped it. */
  decidedBy?: string;
  /** The packet as it then is: addresses and ports after NAT, marks, the interface it leaves by. */
  final: string;
  probability: number;
}

export interface FateDifference {
  packet: PacketSpec;
  old: Evaluation;
  new: Evaluation;
  oldSummary: OutcomeSummary[];
  newSummary: OutcomeSummary[];
}

export interface DiffResult {
  /** How many packets were asked. */
  candidates: number;
  differences: FateDifference[];
}

function decidingRule(o: Outcome, family: Family): string | undefined {
  const f = o.fate;
  if (f.kind !== "dropped" && f.kind !== "rejected" && f.kind !== "queued") return undefined;
  // The deciding step is the last one recorded in the fate's chain: match it by place, print it by text.
  for (let i = o.steps.length - 1; i >= 0; i--) {
    const s = o.steps[i]!;
    if (s.table === f.table && s.chain === f.chain && s.rule === f.rule) return stepRuleText(s, family);
  }
  return `${f.table} ${f.chain} ${f.rule === "policy" ? "policy" : "rule"}`;
}

function fateWords(o: Outcome): string {
  const f = o.fate;
  switch (f.kind) {
    case "delivered":
      return `delivered${f.iface ? ` (in ${f.iface})` : ""}`;
    case "forwarded":
    case "sent":
      return `${f.kind} out ${f.iface}${f.via ? ` via ${f.via}` : ""}`;
    case "dropped":
      return `dropped in ${f.table} ${f.chain} (${f.hook})`;
    case "rejected":
      return `rejected (${f.with}) in ${f.table} ${f.chain} (${f.hook})`;
    case "queued":
      return `queued${f.queue ? ` (${f.queue})` : ""} in ${f.table} ${f.chain}`;
    default:
      return `${f.kind}: ${f.reason}`;
  }
}

function finalWords(o: Outcome): string {
  const p = o.final;
  const ep = (a: string, port?: number) => (port === undefined ? a : a.includes(":") ? `[${a}]:${port}` : `${a}:${port}`);
  // Zero marks are left out, as the traces do: absent reads (and compares) as 0x0.
  let s = `${ep(p.src, p.sport)} -> ${ep(p.dst, p.dport)}`;
  if (p.mark !== "0x0") s += ` mark ${p.mark}`;
  if (p.ctmark !== "0x0") s += ` ctmark ${p.ctmark}`;
  if (p.outIface) s += ` out ${p.outIface}`;
  for (const e of o.encapsulated ?? []) s += `; outer ${finalWords(e)}, ${fateWords(e)}`;
  return s;
}

/**
 * The outcomes as a sorted list, equal ones (same fate, same deciding rule, same final packet)
 * merged with their probabilities added, so two evaluations compare by value.
 */
export function summarise(e: Evaluation): OutcomeSummary[] {
  const byKey = new Map<string, OutcomeSummary>();
  for (const o of e.outcomes) {
    const decidedBy = decidingRule(o, e.packet.family);
    const s: OutcomeSummary = { fate: fateWords(o), ...(decidedBy ? { decidedBy } : {}), final: finalWords(o), probability: o.probability };
    const k = `${s.fate}\n${s.decidedBy ?? ""}\n${s.final}`;
    const had = byKey.get(k);
    if (had) had.probability += s.probability;
    else byKey.set(k, s);
  }
  return [...byKey.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, v]) => v);
}

/** Probabilities are sums of products of the kernel's 31-bit fractions: equal within 1e-9. */
function sameSummary(a: readonly OutcomeSummary[], b: readonly OutcomeSummary[]): boolean {
  return a.length === b.length && a.every((x, i) => {
    const y = b[i]!;
    return x.fate === y.fate && x.decidedBy === y.decidedBy && x.final === y.final && Math.abs(x.probability - y.probability) < 1e-9;
  });
}

function evaluateSafely(node: ReturnType<typeof buildNode>, p: PacketSpec): Evaluation {
  try {
    return node.evaluate(p);
  } catch (e) {
    // One packet the evaluator cannot take must not hide the differences of all the others.
    const reason = `evaluation failed: ${(e as Error).message}`;
    const final = { src: p.src ?? "", dst: p.dst, mark: "0x0", ctmark: "0x0", ctstate: "NEW" as const };
    return { packet: p, outcomes: [{ probability: 1, assumptions: [], fate: { kind: "error", reason }, steps: [], final }], problems: [] };
  }
}

function sideInputs(side: DiffSide, o: DiffOptions): NodeInputs {
  const inputs: NodeInputs = "rulesets" in side ? side : { rulesets: side as readonly Ruleset[] };
  const node = inputs.node ?? o.node ?? (o.facts ? nodeViewFromFacts(o.facts) : undefined);
  const ipsets = inputs.ipsets ?? o.ipsets ?? (o.sets ? ipsetView(o.sets as IpSetCollection) : undefined);
  return { rulesets: inputs.rulesets, ...(node ? { node } : {}), ...(ipsets ? { ipsets } : {}) };
}

/** Differences between packets' fates under `oldSide` and `newSide`, in candidate order. */
export function diffRulesets(oldSide: DiffSide, newSide: DiffSide, options: DiffOptions = {}): DiffResult {
  const a = sideInputs(oldSide, options);
  const b = sideInputs(newSide, options);
  const oldNode = buildNode(a);
  const newNode = buildNode(b);
  const families = new Set([...a.rulesets, ...b.rulesets].map((r) => r.family));
  const packets = candidatePackets([a.rulesets, b.rulesets], options);
  const differences: FateDifference[] = [];
  let asked = 0;
  for (const p of packets) {
    if (differences.length >= (options.stopAfter ?? Infinity)) break;
    asked++;
    if (!families.has(p.family)) continue;
    const oe = evaluateSafely(oldNode, p);
    const ne = evaluateSafely(newNode, p);
    const os = summarise(oe);
    const ns = summarise(ne);
    if (!sameSummary(os, ns)) differences.push({ packet: p, old: oe, new: ne, oldSummary: os, newSummary: ns });
  }
  return { candidates: asked, differences };
}

/**
 * The differences with one of each kind first (the same pair of summaries counts as one
 * kind), so a short listing shows every way the dumps disagree before repeating one.
 */
export function kindsFirst(ds: readonly FateDifference[]): { ordered: FateDifference[]; kinds: number } {
  const seen = new Set<string>();
  const first: FateDifference[] = [];
  const rest: FateDifference[] = [];
  for (const d of ds) {
    const k = JSON.stringify([d.oldSummary.map((s) => [s.fate, s.decidedBy]), d.newSummary.map((s) => [s.fate, s.decidedBy])]);
    if (seen.has(k)) rest.push(d);
    else {
      seen.add(k);
      first.push(d);
    }
  }
  return { ordered: [...first, ...rest], kinds: seen.size };
}
