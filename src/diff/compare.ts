/**
 * Two dumps of one node, the same packets through both: which packets end differently.
 *
 * Outcomes are compared by what the packet experiences — how it ends, where it leaves, what
 * it looks like then, with what probability — and, when it is stopped, by the rule that
 * stopped it, as iptables-save prints it. Rule numbers are left out on purpose: an upgrade
 * that inserts one rule at the top renumbers every rule below it without changing any
 * packet's fate. The comparison is on the fields (fateKey, finalKey); the words of the
 * summaries are for reading only.
 *
 * An outcome's probability is a chance only among outcomes resting on the same assumptions
 * (one scenario, summing to 1); outcomes under different assumptions are alternatives, so
 * they are grouped by assumption set and never added together. A packet whose fate is
 * unknown under either dump (an indeterminate or error outcome) is not compared: it is
 * counted, so "no differences" is never said of packets that could not be asked.
 */
import { nftPacketFamilies } from "../model/nft.js";
import type { Family, Ruleset } from "../model/ast.js";
import type { PacketSpec } from "../model/packet.js";
import type { IpSetCollection } from "../ipset/index.js";
import { ipsetView } from "../ipset/index.js";
import { buildNode, type Evaluation, type NodeInputs } from "../netfilter/model.js";
import { nodeViewFromFacts } from "../netfilter/node-view.js";
import type { Fate, IpsetView, NodeView, Outcome } from "../model/evaluation.js";
import { chainPlaceText, packetText, stepRuleText } from "../explain/describe.js";
import { candidatePackets, type CandidateOptions } from "./candidates.js";
import { UnchangedPaths } from "./unchanged-path.js";

export interface DiffOptions extends CandidateOptions {
  /** The node as both sides see it, when a side does not bring its own (else built from `facts`). */
  node?: NodeView;
  /** Set lookups for both sides, when a side does not bring its own (else built from `sets`). */
  ipsets?: IpsetView;
  /** Stop after this many differences (default: all). */
  stopAfter?: number;
  /**
   * Ask the new side about every packet, also those whose old path met no change (see
   * unchanged-path.ts), and fail if one of those ends differently: for tests.
   */
  checkUnchanged?: boolean;
}

/**
 * A side: its dumps alone (the node and sets then come from the options), or its dumps with
 * its own node and sets, taken as they are: a side without a node has no node facts, and its
 * routing questions stay indeterminate rather than being asked of an empty node.
 */
export type DiffSide = readonly Ruleset[] | NodeInputs;

/** One outcome reduced to what a user would call its fate. */
export interface OutcomeSummary {
  /** What the outcome rests on; `probability` is its chance given exactly these. */
  assumptions: string[];
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
  /**
   * What the difference is, as a comparable key: each side's fates and deciding rules.
   * Differences with equal keys differ the same way (see kindsFirst).
   */
  kind: string;
  old: Evaluation;
  new: Evaluation;
  oldSummary: OutcomeSummary[];
  newSummary: OutcomeSummary[];
}

/** A packet that was not compared, and why (the first unknown fate's reason). */
export interface NotCompared {
  packet: PacketSpec;
  side: "old" | "new";
  reason: string;
}

export interface DiffResult {
  /** How many packets were asked. */
  candidates: number;
  differences: FateDifference[];
  /** How many of them could not be compared: their fate is unknown under one dump or both. */
  notCompared: number;
  /** The first of those. */
  notComparedExample?: NotCompared;
  /** What each side's dumps leave unsaid or get wrong (a policy not shown, a jump to no chain). */
  problems: { old: Evaluation["problems"]; new: Evaluation["problems"] };
}

function decidingRule(o: Outcome, family: Family): string | undefined {
  const f = o.fate;
  if (f.kind !== "dropped" && f.kind !== "rejected" && f.kind !== "queued") return undefined;
  // The deciding step is the last one recorded in the fate's chain: match it by place, print it by text.
  for (let i = o.steps.length - 1; i >= 0; i--) {
    const s = o.steps[i]!;
    if (s.table === f.table && s.chain === f.chain && s.rule === f.rule && s.nft?.table === f.nft?.table) return stepRuleText(s, family);
  }
  return `${chainPlaceText(f)} ${f.rule === "policy" ? "policy" : "rule"}`;
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
      return `dropped in ${chainPlaceText(f)} (${f.hook})`;
    case "rejected":
      return `rejected (${f.with}) in ${chainPlaceText(f)} (${f.hook})`;
    case "queued":
      return `queued${f.queue ? ` (${f.queue})` : ""} in ${chainPlaceText(f)}`;
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
 * What a fate is, for comparing: every field but the rule number (the deciding rule is
 * compared as iptables-save prints it, see decidingRule).
 */
function fateKey(f: Fate): unknown[] {
  switch (f.kind) {
    case "delivered":
      return [f.kind, f.iface];
    case "forwarded":
    case "sent":
      return [f.kind, f.iface, f.via];
    case "dropped":
      return [f.kind, chainPlaceText(f), f.hook];
    case "rejected":
      return [f.kind, chainPlaceText(f), f.hook, f.with];
    case "queued":
      return [f.kind, chainPlaceText(f), f.hook, f.queue];
    default:
      return [f.kind, f.reason];
  }
}

/**
 * The packet as it then is, for comparing: the fields finalWords shows (an absent mark reads
 * as 0x0 there and is 0x0 here), and each encapsulated leg's packet and fate.
 */
function finalKey(o: Outcome): unknown[] {
  const p = o.final;
  const legs = (o.encapsulated ?? []).map((e) => [finalKey(e), fateKey(e.fate)]);
  return [p.src, p.sport ?? null, p.dst, p.dport ?? null, p.mark, p.ctmark, p.outIface || null, legs];
}

interface Keyed {
  summary: OutcomeSummary;
  /** The assumption set, as one comparable string. */
  scenario: string;
  /** The outcome apart from its assumptions and probability: how it ends, by which rule, as what packet. */
  fate: string;
  /** How it ends and by which rule, for telling kinds of difference apart. */
  ending: unknown[];
}

/** Outcomes are listed in the order of their printed summaries, so listings do not move. */
function printedOrder(k: Keyed): string {
  return `${k.scenario}\n${JSON.stringify([k.ending[0], k.ending[1], k.summary.final])}`;
}

function keyed(e: Evaluation): Keyed[] {
  const byKey = new Map<string, Keyed>();
  for (const o of e.outcomes) {
    const decidedBy = decidingRule(o, e.packet.family);
    const assumptions = [...o.assumptions].sort();
    const scenario = JSON.stringify(assumptions);
    const ending = [fateKey(o.fate), decidedBy ?? null];
    const fate = JSON.stringify([...ending, finalKey(o)]);
    const k = `${scenario}\n${fate}`;
    const had = byKey.get(k);
    // Equal outcomes of one scenario are one outcome: their chances add. Never across scenarios.
    if (had) had.summary.probability += o.probability;
    else {
      const summary: OutcomeSummary = { assumptions, fate: fateWords(o), ...(decidedBy ? { decidedBy } : {}), final: finalWords(o), probability: o.probability };
      byKey.set(k, { summary, scenario, fate, ending });
    }
  }
  const list = [...byKey.values()];
  if (list.length < 2) return list;
  const order = new Map(list.map((x) => [x, printedOrder(x)]));
  return list.sort((a, b) => (order.get(a)! < order.get(b)! ? -1 : order.get(a)! > order.get(b)! ? 1 : 0));
}

/**
 * The outcomes as a sorted list, grouped by assumption set; within a set, equal ones (same
 * fate, same deciding rule, same final packet) merged with their probabilities added, so two
 * evaluations compare by value.
 */
export function summarise(e: Evaluation): OutcomeSummary[] {
  return keyed(e).map((k) => k.summary);
}

/** Probabilities are sums of products of the kernel's 31-bit fractions: equal within 1e-9. */
function sameOutcomes(a: readonly Keyed[], b: readonly Keyed[], withScenario: boolean): boolean {
  return a.length === b.length && a.every((x, i) => {
    const y = b[i]!;
    return (!withScenario || x.scenario === y.scenario) && x.fate === y.fate && Math.abs(x.summary.probability - y.summary.probability) < 1e-9;
  });
}

/** The scenarios of one side (outcomes of one assumption set), each its outcomes in order. */
function scenarios(k: readonly Keyed[]): Keyed[][] {
  const by = new Map<string, Keyed[]>();
  for (const x of k) {
    const list = by.get(x.scenario);
    if (list) list.push(x);
    else by.set(x.scenario, [x]);
  }
  return [...by.values()];
}

/**
 * Same fate under both dumps. When neither side's fate depends on what is assumed (every
 * scenario has the same outcomes), the assumptions themselves may differ (a new rule may
 * bring a new one) and the fates still agree; otherwise each scenario must match its twin.
 */
function sameFate(a: readonly Keyed[], b: readonly Keyed[]): boolean {
  const sa = scenarios(a);
  const sb = scenarios(b);
  const uniform = (s: Keyed[][]) => s.every((x) => sameOutcomes(x, s[0]!, false));
  if (uniform(sa) && uniform(sb)) return sameOutcomes(sa[0] ?? [], sb[0] ?? [], false);
  return sameOutcomes(a, b, true);
}

/** The first outcome (or encapsulated leg) whose fate is unknown: indeterminate, or an error. */
function unknownFate(outcomes: readonly Outcome[]): string | undefined {
  for (const o of outcomes) {
    if (o.fate.kind === "indeterminate" || o.fate.kind === "error") return `${o.fate.kind}: ${o.fate.reason}`;
    const inner = unknownFate(o.encapsulated ?? []);
    if (inner) return inner;
  }
  return undefined;
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

/**
 * Both sides' inputs. A side given as bare rulesets takes the node and sets of the options,
 * one object for both sides (UnchangedPaths asks that they be the same).
 */
function sideInputs(sides: readonly [DiffSide, DiffSide], o: DiffOptions): [NodeInputs, NodeInputs] {
  let shared: Omit<NodeInputs, "rulesets"> | undefined;
  const inputs = sides.map((side): NodeInputs => {
    if ("rulesets" in side) return side;
    if (!shared) {
      const node = o.node ?? (o.facts ? nodeViewFromFacts(o.facts) : undefined);
      const ipsets = o.ipsets ?? (o.sets ? ipsetView(o.sets as IpSetCollection) : undefined);
      shared = { ...(node ? { node } : {}), ...(ipsets ? { ipsets } : {}) };
    }
    return { rulesets: side as readonly Ruleset[], ...shared };
  });
  return [inputs[0]!, inputs[1]!];
}

/**
 * What the old side says of a packet before anything is compared: whether its fate is unknown
 * there (and why), and whether it would end the same under the new side (see unchanged-path.ts).
 * Plain data: a worker thread with its own copy of both sides works it out alike.
 */
export interface OldLook {
  unknown?: string;
  same: boolean;
}

/**
 * Both sides ready to be asked: their nodes, and what tells a packet whose old path met no
 * change. A diff's candidates, then each packet's look (here, or on another thread from the same
 * inputs: results are the same), then the comparison in candidate order.
 */
export class DiffSides {
  readonly oldNode: ReturnType<typeof buildNode>;
  readonly newNode: ReturnType<typeof buildNode>;
  private readonly unchanged: UnchangedPaths;
  /** The families either side has rules for: a packet of another is counted, never asked. */
  readonly families: ReadonlySet<Family>;
  readonly inputs: readonly [NodeInputs, NodeInputs];

  constructor(oldSide: DiffSide, newSide: DiffSide, private readonly options: DiffOptions = {}) {
    const [a, b] = sideInputs([oldSide, newSide], options);
    this.inputs = [a, b];
    this.oldNode = buildNode(a);
    this.newNode = buildNode(b);
    const nft = [...(a.nft ?? []), ...(b.nft ?? [])];
    this.families = new Set([...[...a.rulesets, ...b.rulesets].map((r) => r.family), ...nftPacketFamilies(nft)]);
    this.unchanged = new UnchangedPaths(a, b, this.oldNode, this.newNode, options.bindAll !== true);
  }

  /**
   * Does now what the first packet of each family would make the sides do (compile the rules,
   * find which built-in chains agree): for a thread that has time before its packets come.
   */
  prepare(): void {
    for (const f of this.families) {
      this.oldNode.rules(f);
      this.unchanged.prepare(f);
    }
  }

  /** The packets to ask, in order (candidates.ts). */
  candidates(): PacketSpec[] {
    const [a, b] = this.inputs;
    const nft = [...(a.nft ?? []), ...(b.nft ?? [])];
    return candidatePackets([a.rulesets, b.rulesets], { ...this.options, ...(nft.length ? { nft } : {}) });
  }

  /** The old side's evaluation of `p`, and its look. */
  look(p: PacketSpec): OldLook & { old: Evaluation } {
    const old = evaluateSafely(this.oldNode, p);
    const unknown = unknownFate(old.outcomes);
    return unknown ? { unknown, same: false, old } : { same: this.unchanged.unchanged(p, old), old };
  }

  /**
   * Differences between the packets' fates, in candidate order. `looked(i)`: the look of
   * packet `i` when it was worked out already (elsewhere: its evaluation is made again only
   * when needed), else it is worked out here.
   */
  compare(packets: readonly PacketSpec[], looked: (i: number) => OldLook | undefined = () => undefined): DiffResult {
    const { options } = this;
    const differences: FateDifference[] = [];
    let asked = 0;
    let notCompared = 0;
    let notComparedExample: NotCompared | undefined;
    const problems: DiffResult["problems"] = { old: [], new: [] };
    const problemsOf = new Set<Family>();
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      if (differences.length >= (options.stopAfter ?? Infinity)) break;
      asked++;
      if (!this.families.has(p.family)) continue;
      const look: OldLook & { old?: Evaluation } = looked(i) ?? this.look(p);
      let oe = look.old;
      let ne: Evaluation | undefined;
      // The same for every packet of a family: the compiled dumps' (evaluateSafely's error has none).
      if (!problemsOf.has(p.family)) {
        problemsOf.add(p.family);
        oe ??= evaluateSafely(this.oldNode, p);
        ne = evaluateSafely(this.newNode, p);
        problems.old.push(...oe.problems);
        problems.new.push(...ne.problems);
      }
      if (look.unknown) {
        notCompared++;
        notComparedExample ??= { packet: p, side: "old", reason: look.unknown };
        continue;
      }
      if (look.same && !options.checkUnchanged) continue;
      oe ??= evaluateSafely(this.oldNode, p);
      ne ??= evaluateSafely(this.newNode, p);
      const unknownNew = unknownFate(ne.outcomes);
      const os = keyed(oe);
      const ns = unknownNew ? [] : keyed(ne);
      if (look.same && (unknownNew || !sameFate(os, ns))) {
        throw new Error(`internal error: ${packetText(p)} was taken to end the same under both dumps, but does not`);
      }
      if (unknownNew) {
        notCompared++;
        notComparedExample ??= { packet: p, side: "new", reason: unknownNew };
        continue;
      }
      if (!sameFate(os, ns)) {
        const kind = JSON.stringify([os.map((k) => k.ending), ns.map((k) => k.ending)]);
        differences.push({ packet: p, kind, old: oe, new: ne, oldSummary: os.map((k) => k.summary), newSummary: ns.map((k) => k.summary) });
      }
    }
    return { candidates: asked, differences, notCompared, ...(notComparedExample ? { notComparedExample } : {}), problems };
  }
}

/**
 * Differences between packets' fates under `oldSide` and `newSide`, in candidate order. Each
 * packet is asked of the old side; of the new side only when its old path met a change (see
 * unchanged-path.ts: otherwise it ends the same there), or when the old side could tell its
 * fate (a packet not known under the old dump is not compared, whatever the new one says).
 */
export function diffRulesets(oldSide: DiffSide, newSide: DiffSide, options: DiffOptions = {}): DiffResult {
  const sides = new DiffSides(oldSide, newSide, options);
  return sides.compare(sides.candidates());
}

/**
 * The differences with one of each kind first (the same fates and deciding rules on each
 * side count as one kind), so a short listing shows every way the dumps disagree before
 * repeating one.
 */
export function kindsFirst(ds: readonly FateDifference[]): { ordered: FateDifference[]; kinds: number } {
  const seen = new Set<string>();
  const first: FateDifference[] = [];
  const rest: FateDifference[] = [];
  for (const d of ds) {
    if (seen.has(d.kind)) rest.push(d);
    else {
      seen.add(d.kind);
      first.push(d);
    }
  }
  return { ordered: [...first, ...rest], kinds: seen.size };
}
