/**
 * Runs a packet branch through one table's built-in chain: rules in order, jumps and gotos,
 * RETURN, falling off user chains, policies — forking where a match branches or cannot be
 * decided. The steps it records are the trace; there is no second walker.
 *
 * The walk is a loop over an explicit work list, never recursion: no input (2,500 rules in a
 * row that each fork, a chain of 10,000 jumps) can exhaust the call stack. Each history is a
 * cursor (branch, chain, rule position, its own return stack). A fork opens a join at the rule
 * after the forking one; the children that get there wait until every history forked there
 * has arrived or ended, and those in the same state are merged (branch.ts, mergeBranches), so
 * a condition that does not change what happens next (a LOG under an unknown rate limit, an
 * unknown match before a counting rule) costs one history, not a doubling per rule.
 */
import type { Family, TableName } from "../model/ast.js";
import { addressText, inNet } from "../model/address.js";
import { recentIpNum } from "./recent-address.js";
import { isUnknown } from "../model/ast.js";
import type { CompiledChain, CompiledRule, CompiledRuleset, CompiledTable, AddrCheck, IfaceCheck } from "./compile.js";
import { alternative, assume, mergeBranches, noteText, randomAlternative, snapshot, type Branch } from "./branch.js";
import { natBinding } from "./nat.js";
import type { EvalEnv, Hook, StateAssumptions, IpsetView, MatchResult, NatTo, NodeView, Step, TargetEffects } from "../model/evaluation.js";
import { hex } from "../extensions/util.js";
import type { FlowReads } from "./flow-reads.js";

/** How many alternatives one evaluation may open before it stops exploring and says so. */
export const MAX_ALTERNATIVES = 4096;

export interface ExplorationBudget {
  /** Alternatives opened so far by this evaluation (random or undecided). */
  opened: number;
}

export interface TraverseContext {
  rules: CompiledRuleset;
  node: NodeView;
  ipsets: IpsetView;
  /** Record rules tried that did not match, with the first failing condition. */
  verbose: boolean;
  /**
   * With verbose: still go by the chains' indexes, so a rule an index skips (it cannot match)
   * is not tried and leaves no step; a chain without an index is tried rule by rule all the same.
   */
  byIndex?: boolean;
  family: Family;
  /** Shared by every table and leg of one evaluation. */
  budget?: ExplorationBudget;
  /** Keep every history apart to its end (EvaluateOptions.apart): forks never merge again. */
  apart?: boolean;
  /** What was assumed of state the input cannot show (absent: a quiet node). */
  assumed?: StateAssumptions;
  /**
   * The caller reads of each outcome only its fate, final packet, chances, conditions,
   * connection and deciding rule (`batch --fields`): the steps are kept (outcomes merge by
   * them) but not described — no rewrites, packet snapshots, log lines or random choices on
   * them. Nothing the walk decides reads those (test/property/batch-lean.test.ts holds the
   * answers equal); an evaluation that merges outcomes by their whole steps turns it off.
   */
  lean?: boolean;
  /** Told what the walk reads of the packet's source (the flow memo: flow-reads.ts). */
  flow?: FlowReads;
}

const QUIET: StateAssumptions = {};

export type TableVerdict = "ACCEPT" | "DROP" | "REJECT" | "QUEUE" | "ERROR" | "INDETERMINATE";

export interface TableResult {
  br: Branch;
  verdict: TableVerdict;
  /** Where a terminal verdict was given. */
  chain?: string;
  rule?: number | "policy";
  detail?: string;
}

/** A packet address as a number (recent-address.ts keeps the few the walk reads over and over). */
const num = recentIpNum;

type Test = true | false | { indeterminate: string };

export const HIDDEN_IFACES = "the listing has no -v columns: rules are read as having no -i/-o interface (give iptables-save or -nvL output to be sure)";

function addrTest(check: AddrCheck, ip: string, family: Family): Test {
  if ("indeterminate" in check) return check;
  const n = num(ip, family);
  if (n === undefined) return { indeterminate: `packet address ${ip} is not ${family}` };
  return inNet(n, check) !== check.negated;
}

/** iptables interface matching: exact, or prefix with `+`; no interface compares as "". */
function ifaceTest(check: IfaceCheck, name: string | undefined): Test {
  if ("indeterminate" in check) return check;
  const n = name ?? "";
  const hit = check.prefix ? n.startsWith(check.name) : n === check.name;
  return hit !== check.negated;
}

function describeAddr(flag: string, r: CompiledRule): string {
  const a = flag === "-s" ? r.rule.source : r.rule.destination;
  if (!a || isUnknown(a)) return flag;
  if ("hostname" in a) return `${a.negated ? "! " : ""}${flag} ${a.hostname}`;
  return `${a.negated ? "! " : ""}${flag} ${addressText(a)}`;
}

function describeIface(flag: "-i" | "-o", c: IfaceCheck): string {
  if ("indeterminate" in c) return flag;
  return `${c.negated ? "! " : ""}${flag} ${c.name}${c.prefix ? "+" : ""}`;
}

/**
 * A rule's conditions in the order iptables tests them: 0 `-s`, 1 `-d`, 2 `-i`, 3 `-o`, 4 `-p`,
 * 5 `-f`, then each match (6 + its position). Addressed by number so that testing a rule
 * allocates nothing unless a condition is left undecided. A walk tests the matches of the
 * rule's `checks` only (the 6 + j-th test is its j-th check): a match every packet matches
 * (`-m comment`) is left out, and the numbers a trace and an undecided condition's key use
 * stay the match's position among all the rule's matches (`conditionNumber`).
 */
const FIRST_MATCH = 6;

/** The condition number of test `j` of the rule (the same below FIRST_MATCH; a check's own position above). */
function conditionNumber(cr: CompiledRule, j: number): number {
  return j < FIRST_MATCH ? j : FIRST_MATCH + cr.checks[j - FIRST_MATCH]!.position;
}

/** A listing without -v hides every rule's interfaces: such checks are not tested (see HIDDEN_IFACES). */
const hidden = (c: IfaceCheck | undefined) => c !== undefined && "indeterminate" in c;

/** Test `k` of the rule for this packet, or undefined when the rule has no such condition. */
function condition(cr: CompiledRule, k: number, br: Branch, ctx: TraverseContext, env: EvalEnv): MatchResult | undefined {
  const p = br.pkt;
  switch (k) {
    case 0:
      return cr.src && addrTest(cr.src, p.src, ctx.family);
    case 1:
      return cr.dst && addrTest(cr.dst, p.dst, ctx.family);
    case 2:
      return cr.inIface && !hidden(cr.inIface) ? ifaceTest(cr.inIface, p.inIface) : undefined;
    case 3:
      return cr.outIface && !hidden(cr.outIface) ? ifaceTest(cr.outIface, p.outIface) : undefined;
    case 4:
      return cr.proto && (p.proto === cr.proto.number) !== cr.proto.negated;
    case 5:
      return cr.fragment && p.fragment !== cr.fragment.negated;
  }
  const m = cr.checks[k - FIRST_MATCH]!;
  if (m.kind === "unknown") return { indeterminate: m.reason };
  if (!m.ext.evaluate) return { indeterminate: `netfate cannot evaluate -m ${m.ext.name} yet` };
  return m.ext.evaluate(m.data, env);
}

/**
 * Tells the flow memo what test `k` of the rule reads of the packet (flow-reads.ts). Kept
 * out of `condition`, which every rule test runs, so that it stays as small as it was.
 */
function noteCondition(flow: FlowReads, cr: CompiledRule, k: number, p: Branch["pkt"]): void {
  if (k === 0) {
    if (cr.src && !("indeterminate" in cr.src)) flow.addr(p.src, cr.src);
  } else if (k === 1) {
    if (cr.dst && !("indeterminate" in cr.dst)) flow.addr(p.dst, cr.dst);
  } else if (k >= FIRST_MATCH) {
    const m = cr.checks[k - FIRST_MATCH]!;
    if (m.kind !== "unknown" && m.ext.evaluate) flow.fields(m.ext.reads?.(m.data), p);
  }
}

/** Condition `k` as the rule writes it, for a trace's "failed:" and "assumed to match" words. */
function describeCondition(cr: CompiledRule, k: number, family: Family): string {
  switch (k) {
    case 0:
      return describeAddr("-s", cr);
    case 1:
      return describeAddr("-d", cr);
    case 2:
      return describeIface("-i", cr.inIface!);
    case 3:
      return describeIface("-o", cr.outIface!);
    case 4:
      return `${cr.proto!.negated ? "! " : ""}-p ${cr.rule.protocol?.name ?? cr.proto!.number}`;
    case 5:
      return `${cr.fragment!.negated ? "! " : ""}-f`;
  }
  const m = cr.matches[k - FIRST_MATCH]!;
  return m.kind === "extension" ? `-m ${m.node.name}${m.ext.save(m.node.data, { family, protocol: cr.rule.protocol, numeric: true })}` : m.text;
}

type RuleTest =
  | { kind: "no"; failed: string }
  | { kind: "yes" }
  | { kind: "split"; yes: Branch[]; no: { br: Branch; failed: string }[] };

const NO_WORDS: RuleTest = { kind: "no", failed: "" };
const YES: RuleTest = { kind: "yes" };

/**
 * Tests a rule against a branch. A rule whose decided conditions fail cannot match, whatever
 * its undecided ones say: those are looked at only when every decided one holds, so an
 * unknown `-d localhost` before a failing `-o lo` forks nothing. Matches only read the packet,
 * so testing them out of order changes no answer.
 */
function testRule(cr: CompiledRule, br: Branch, ctx: TraverseContext, env: WalkEnv, chain: string): RuleTest {
  const { hook, table } = env;
  if (hidden(cr.inIface) || hidden(cr.outIface)) assume(br, HIDDEN_IFACES);
  // The walk's one environment, pointed at this history's packet (extensions read it during the call only).
  env.packet = br.pkt;
  const count = FIRST_MATCH + cr.checks.length;
  // Conditions not decided outright (undecided, random, or decided by a stated assumption), by their condition numbers.
  let open: Array<{ k: number; r: Exclude<MatchResult, boolean> }> | undefined;
  const flow = ctx.flow;
  for (let j = 0; j < count; j++) {
    if (flow) noteCondition(flow, cr, j, br.pkt);
    const r = condition(cr, j, br, ctx, env);
    if (r === undefined || r === true) continue;
    if (r === false) return ctx.verbose ? { kind: "no", failed: describeCondition(cr, conditionNumber(cr, j), ctx.family) } : NO_WORDS;
    (open ??= []).push({ k: conditionNumber(cr, j), r });
  }
  if (!open) return YES;
  const assumedFalse = open.find((c) => "matched" in c.r && !c.r.matched);
  if (assumedFalse) {
    assume(br, (assumedFalse.r as { assuming: string }).assuming);
    return ctx.verbose ? { kind: "no", failed: describeCondition(cr, assumedFalse.k, ctx.family) } : NO_WORDS;
  }
  for (const c of open) if ("matched" in c.r) assume(br, c.r.assuming);
  const split = open.filter((c) => !("matched" in c.r)) as Array<{ k: number; r: Exclude<MatchResult, boolean | { matched: boolean }> }>;
  if (split.length === 0) return YES;
  // Undecided or random conditions: one history per combination that can happen, in order.
  const yes: Branch[] = [];
  const no: { br: Branch; failed: string }[] = [];
  const queue: Array<{ br: Branch; next: number }> = [{ br, next: 0 }];
  while (queue.length) {
    const { br: b, next } = queue.pop()!;
    if (next >= split.length) {
      yes.push(b);
      continue;
    }
    const { k, r } = split[next]!;
    if ("indeterminate" in r) {
      const what = describeCondition(cr, k, ctx.family);
      // The same condition met again in one history (a chain entered twice) keeps its answer.
      const condition = `${table} ${chain} #${cr.index + 1} ${k} ${hook} ${b.pkt.mark}`;
      const known = b.given.find((l) => l.condition === condition);
      if (known) {
        if (known.holds) queue.push({ br: b, next: next + 1 });
        else no.push({ br: b, failed: what });
        continue;
      }
      queue.push({ br: alternative(b, { condition, holds: true, text: `${what}: assumed to match (${r.indeterminate})` }), next: next + 1 });
      no.push({ br: alternative(b, { condition, holds: false, text: `${what}: assumed not to match (${r.indeterminate})` }), failed: what });
    } else {
      const what = ctx.verbose ? describeCondition(cr, k, ctx.family) : "";
      const last = lastPossible(r.branches);
      for (let a = 0; a <= last; a++) {
        const alt = r.branches[a]!;
        if (alt.probability <= 0) continue;
        const nb = randomAlternative(b, alt.probability, a === last);
        nb.randomChoice = alt.label;
        if (alt.matched) queue.push({ br: nb, next: next + 1 });
        else no.push({ br: nb, failed: ctx.verbose ? `${what} (${alt.label})` : "" });
      }
    }
  }
  return { kind: "split", yes, no };
}

/** The position of the last random alternative that can happen (-1: none). */
function lastPossible(branches: ReadonlyArray<{ probability: number }>): number {
  for (let a = branches.length - 1; a >= 0; a--) if (branches[a]!.probability > 0) return a;
  return -1;
}

const NONE: readonly number[] = [];

/** One walk's environment for the extensions, re-pointed at each history's packet. */
type WalkEnv = { -readonly [K in keyof EvalEnv]: EvalEnv[K] };

/** Rule indices to try from `start`, in order: what the chain index says can match. */
function candidates(chain: CompiledChain, br: Branch, start: number, ctx: TraverseContext): number[] | undefined {
  const idx = chain.index;
  if (!idx || (ctx.verbose && !ctx.byIndex)) return undefined;
  ctx.flow?.destination(br.pkt);
  const d = num(br.pkt.dst, ctx.family);
  const key = d === undefined ? undefined : typeof d === "number" ? d : d.join(":");
  const byDst = key === undefined ? undefined : idx.byDst.get(key);
  const byPort = br.pkt.dport === undefined ? undefined : idx.byDport.get(br.pkt.dport);
  // Merge three sorted lists (no list holds an index twice, and no index is in two lists).
  const a = idx.always;
  const b = byDst ?? NONE;
  const p = byPort ?? NONE;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  let k = 0;
  for (;;) {
    const x = i < a.length ? a[i]! : Infinity;
    const y = j < b.length ? b[j]! : Infinity;
    const z = k < p.length ? p[k]! : Infinity;
    let v: number;
    if (x <= y && x <= z) {
      v = x;
      i++;
    } else if (y <= z) {
      v = y;
      j++;
    } else {
      v = z;
      k++;
    }
    if (v === Infinity) break;
    if (v >= start) out.push(v);
  }
  return out;
}

function step(hook: Hook, table: TableName, chain: string, cr: CompiledRule | undefined, verdict: string): Step {
  // The rule's node in the literal (not added after): a step is made for every matched rule,
  // and a property added later costs the object a second allocation for it.
  if (cr) return { hook, table, chain, rule: cr.index + 1, verdict, matched: true, ruleNode: cr.rule };
  return { hook, table, chain, rule: "policy", verdict, matched: true };
}

/** What a target may do to the branch (one object per applied target, its methods on the prototype). */
class Effects implements TargetEffects {
  constructor(private readonly br: Branch, private readonly ctx: TraverseContext) {}
  setMark(v: number): void {
    this.br.pkt.mark = v >>> 0;
  }
  setCtMark(v: number): void {
    this.br.pkt.ct.mark = v >>> 0;
  }
  notrack(): void {
    this.br.pkt.ct.state = "UNTRACKED";
  }
  setCtZone(z: number): void {
    this.br.pkt.ct.zone = z;
  }
  setHelper(h: string): void {
    this.br.pkt.ct.helper = h;
  }
  rewrite(field: Parameters<TargetEffects["rewrite"]>[0], value: number | string): void {
    this.br.notes.push({ kind: "rewrite", field, value });
  }
  nat(kind: "dnat" | "snat", to: NatTo, how: string): void {
    this.ctx.flow?.wrote(to);
    this.br.pendingNat = natBinding(kind, to, how);
  }
  log(line: string): void {
    this.br.logLine = line;
  }
  setAdd(name: string, flags: readonly ("src" | "dst")[], del: boolean): void {
    this.ctx.flow?.stateChanged();
    const p = this.br.pkt;
    const t = { src: p.src, dst: p.dst, proto: p.proto, sport: p.sport, dport: p.dport, inIface: p.inIface, outIface: p.outIface } as const;
    if (del) this.ctx.ipsets.del(name, t, flags);
    else this.ctx.ipsets.add(name, t, flags);
    this.br.notes.push({ kind: "set", name, del });
  }
}

/** The fields a step may change, kept as plain values so an unchanged packet costs no allocation. */
export interface Before {
  src: string;
  dst: string;
  sport: number | undefined;
  dport: number | undefined;
  mark: number;
  ctmark: number;
  ctstate: string;
}

export function before(p: Branch["pkt"]): Before {
  return { src: p.src, dst: p.dst, sport: p.sport, dport: p.dport, mark: p.mark, ctmark: p.ct.mark, ctstate: p.ct.state };
}

/** finishStep for a rule whose target cannot change the packet (none, a verdict, a jump): only what the branch carries moves. */
export function finishUnchanged(s: Step, br: Branch): void {
  if (br.randomChoice !== undefined || br.logLine !== undefined || br.notes.length > 0) finishStep(s, br, before(br.pkt));
}

/** What finishStep leaves of the branch, without describing the step (TraverseContext.lean). */
function finishUndescribed(br: Branch): void {
  br.randomChoice = undefined;
  br.logLine = undefined;
  if (br.notes.length > 0) br.notes = [];
}

/** Moves what the rule did (rewrites, its log line, the random choice) from the branch onto its step. */
export function finishStep(s: Step, br: Branch, b: Before): void {
  const p = br.pkt;
  if (br.randomChoice !== undefined) {
    s.branch = br.randomChoice;
    br.randomChoice = undefined;
  }
  if (br.logLine !== undefined) {
    s.log = br.logLine;
    br.logLine = undefined;
  }
  const changed = b.src !== p.src || b.dst !== p.dst || b.sport !== p.sport || b.dport !== p.dport || b.mark !== p.mark || b.ctmark !== p.ct.mark || b.ctstate !== p.ct.state;
  if (!changed && br.notes.length === 0) return;
  const rewrites: string[] = [];
  if (b.mark !== p.mark) rewrites.push(`mark ${hex(b.mark)} → ${hex(p.mark)}`);
  if (b.ctmark !== p.ct.mark) rewrites.push(`ctmark ${hex(b.ctmark)} → ${hex(p.ct.mark)}`);
  if (b.ctstate !== p.ct.state) rewrites.push(`ctstate ${b.ctstate} → ${p.ct.state}`);
  for (const n of br.notes) rewrites.push(noteText(n));
  br.notes = [];
  if (rewrites.length) s.rewrites = rewrites;
  if (changed) s.packet = snapshot(p);
}

/** A return point: where a `-j CHAIN` resumes when the chain returns. */
interface Frame {
  chain: CompiledChain;
  resume: number;
}

/** Where the histories forked at one rule meet again: the next rule of the same chain, at the same call depth. */
export interface Join<Ch, C> {
  chain: Ch;
  at: number;
  depth: number;
  /** Work list height when the join opened: everything above it descends from the fork. */
  height: number;
  parked: C[];
}

/** What the fork and join machinery needs of a walker's cursor (this file's and the nft walker's). */
export interface ForkCursor<Ch, C> {
  br: Branch;
  chain: Ch;
  /** The next rule to look at. */
  at: number;
  /** The return stack (only its depth matters here). */
  calls: readonly unknown[];
  joins: Array<Join<Ch, C>>;
  /** A history that has already ended. */
  ended?: TableResult;
}

/**
 * The work list of one chain walk, with its forks and joins: children of a fork are walked
 * first-forked first; when every history forked at a rule has arrived at the next rule (or
 * ended), those in one state are merged (mergeBranches) and go on as one.
 */
export class ForkWalk<Ch, C extends ForkCursor<Ch, C>> {
  private readonly work: C[];
  private readonly open: Array<Join<Ch, C>> = [];

  /** `first`: the history to walk first (none: a walker that walks its first history itself, up to its first fork). */
  constructor(first: C | undefined, private budget: ExplorationBudget, private results: TableResult[], private apart = false) {
    this.work = first ? [first] : [];
  }

  /**
   * Another walk on this one's lists, which a walk run to its end leaves empty (the nft walker
   * meets a dozen base chains per packet); `release` lets go of the last walk's results between walks.
   */
  restart(first: C | undefined, budget: ExplorationBudget, results: TableResult[], apart = false): void {
    emptied(this.work);
    emptied(this.open);
    if (first) this.work.push(first);
    this.budget = budget;
    this.results = results;
    this.apart = apart;
  }

  release(): void {
    emptied(this.work);
    emptied(this.open);
    this.results = NO_RESULTS;
  }

  /** Pushes the children of a fork at rule `rule` (0-based) of `c`'s chain and opens their join; past the bound, they end saying so. */
  split(c: C, children: C[], chainName: string, rule: number): void {
    this.budget.opened += children.length - 1;
    if (this.budget.opened > MAX_ALTERNATIVES) {
      // Bounded: the histories not followed end here, each saying so.
      for (const ch of children) {
        this.results.push({
          br: ch.br, verdict: "INDETERMINATE", chain: chainName, rule: rule + 1,
          detail: `netfate follows at most ${MAX_ALTERNATIVES} alternatives per packet and stopped here; give the facts the assumptions above ask for, or a narrower packet`,
        });
      }
      return;
    }
    const join: Join<Ch, C> = { chain: c.chain, at: rule + 1, depth: c.calls.length, height: this.work.length, parked: [] };
    this.open.push(join);
    for (let k = children.length - 1; k >= 0; k--) {
      const ch = children[k]!;
      ch.joins = [...c.joins, join];
      this.work.push(ch);
    }
  }

  /**
   * Whether the history has reached the join it waits for (then it is parked there). Joins it
   * can no longer reach (it returned below them, or left their chain by a goto) are dropped.
   * `fresh`: the cursor is at the start of its rule (not resuming a decided or part-run one).
   */
  parks(c: C, fresh: boolean): boolean {
    const joins = c.joins;
    // (Never index -1: on an empty list that is a slow property lookup, not an element read.)
    let j = joins.length ? joins[joins.length - 1] : undefined;
    while (j && (j.depth > c.calls.length || (j.depth === c.calls.length && j.chain !== c.chain))) {
      joins.pop();
      j = joins.length ? joins[joins.length - 1] : undefined;
    }
    if (j && j.chain === c.chain && j.at === c.at && j.depth === c.calls.length && fresh) {
      j.parked.push(c);
      return true;
    }
    return false;
  }

  /** Walks every history to its end; `resume` is the cursor a merged history goes on with (its joins already popped). */
  run(walk: (c: C) => void, resume: (cursor: C, br: Branch, joins: Array<Join<Ch, C>>) => C): void {
    const { work, open } = this;
    while (work.length || open.length) {
      // Every history forked at a join has arrived or ended: merge those that arrived in one
      // state and send them on, in the order they were forked.
      while (open.length && work.length <= open[open.length - 1]!.height) {
        const join = open.pop()!;
        const parked = join.parked.map((x) => ({ br: x.br, cursor: x }));
        const arrived = this.apart ? parked : mergeBranches(parked);
        for (let k = arrived.length - 1; k >= 0; k--) {
          const { br: b, cursor } = arrived[k]!;
          work.push(resume(cursor, b, cursor.joins.slice(0, -1)));
        }
      }
      const c = work.pop();
      if (!c) continue;
      if (c.ended) {
        this.results.push(c.ended);
        continue;
      }
      walk(c);
    }
  }
}

/** Empties a list kept for reuse (most are empty already: a write of `length` is a slow call, a pop is not). */
export function emptied(list: unknown[]): void {
  while (list.length > 0) list.pop();
}

/** The results list of a walk between walks (never added to). */
const NO_RESULTS: TableResult[] = [];

/** One history being walked. */
interface Cursor extends ForkCursor<CompiledChain, Cursor> {
  calls: Frame[];
  /** The rule at `at` matched already (a fork decided so): apply it without testing. */
  matched?: boolean;
  /** Candidate rule indices from the chain index, and the position in them. */
  cand?: number[] | undefined;
  ci?: number;
  /** Where a walk trying a chain's first rules one by one (CompiledChain.tryFirst) asks for the index's candidates. */
  askAt: number | undefined;
}

/** A cursor with every field there from the start: the walk's cursors share one object shape. */
function cursorOf(br: Branch, chain: CompiledChain, at: number, calls: Frame[], matched = false, ended?: TableResult): Cursor {
  return { br, chain, at, calls, joins: [], matched, cand: undefined, ci: undefined, askAt: undefined, ended };
}

/**
 * Whether the node has no `table` chain at `hook` to run, by what a whole dump says: runTable
 * then lets every packet through with nothing done (no step, no assumption), and a caller may
 * skip it. Only a complete input says so: a -S or -L input that lacks it says nothing.
 */
export function runsNothing(rules: CompiledRuleset, table: TableName, hook: Hook): boolean {
  const t = rules.tables.get(table);
  if (!t) return rules.complete;
  const start = t.chains.get(hook);
  return (!start || !start.declared) && t.complete;
}

/** Runs the built-in chain `hook` of `table` for one branch: every way it can end. */
export function runTable(br: Branch, table: TableName, hook: Hook, ctx: TraverseContext): TableResult[] {
  // iptables-save prints every table the kernel has: one it does not print has no rules. And a
  // whole dump without the chain: it does not exist (iptables-nft creates base chains only when used).
  if (runsNothing(ctx.rules, table, hook)) return [{ br, verdict: "ACCEPT" }];
  const t = ctx.rules.tables.get(table);
  if (!t) {
    // A -S or -L input shows the tables it was asked for, and says nothing of the others.
    assume(br, `table ${table} is not in the input: assumed empty (\`iptables -t ${table} -S\` shows it)`);
    return [{ br, verdict: "ACCEPT" }];
  }
  const start = t.chains.get(hook);
  if (!start || !start.declared) {
    // A fragment without the chain: it exists, with rules and a policy not shown.
    br.steps.push(step(hook, table, hook, undefined, "NOT SHOWN"));
    return [{
      br, verdict: "INDETERMINATE", chain: hook, rule: "policy",
      detail: `the input shows table ${table} but not its chain ${hook} (its rules and policy): give \`iptables -t ${table} -S\` or iptables-save output`,
    }];
  }
  return new TableWalk(br, table, hook, ctx, t, start).run();
}

/** One walk of a table's built-in chain (runTable): its histories, their results, and the environment the extensions read. */
class TableWalk {
  private readonly results: TableResult[] = [];
  private readonly env: WalkEnv;
  private readonly forks: ForkWalk<CompiledChain, Cursor>;

  constructor(br: Branch, private readonly table: TableName, private readonly hook: Hook, private readonly ctx: TraverseContext, private readonly tbl: CompiledTable, private readonly first: CompiledChain) {
    const budget = (ctx.budget ??= { opened: 0 });
    this.env = { packet: br.pkt, hook, table, node: ctx.node, ipsets: ctx.ipsets, assumed: ctx.assumed ?? QUIET };
    this.forks = new ForkWalk<CompiledChain, Cursor>(cursorOf(br, first, 0, []), budget, this.results, ctx.apart);
  }

  run(): TableResult[] {
    this.forks.run((c) => this.walk(c), resumed);
    return this.results;
  }

  private split(c: Cursor, children: Cursor[], rule: CompiledRule): void {
    this.forks.split(c, children, c.chain.name, rule.index);
  }

  private walk(c: Cursor): void {
    for (;;) {
      if (this.forks.parks(c, !c.matched)) return;
      // Read once per rule: a long chain's list is a lazy one, where every read is a proxy trap.
      const rules = c.chain.rules;
      let ruleIndex: number;
      if (c.matched) ruleIndex = c.at;
      else {
        if (c.cand === undefined && (c.ci === undefined || c.at === c.askAt)) {
          // (rules tried before the index is read cannot change the answer: the index only skips)
          const first = this.ctx.verbose && !this.ctx.byIndex ? 0 : c.chain.tryFirst ?? 0;
          c.askAt = c.at < first ? first : undefined;
          c.cand = c.askAt === undefined ? candidates(c.chain, c.br, c.at, this.ctx) : undefined;
          c.ci = 0;
        }
        if (c.cand) {
          while (c.ci! < c.cand.length && c.cand[c.ci!]! < c.at) c.ci!++;
          ruleIndex = c.ci! < c.cand.length ? c.cand[c.ci!]! : rules.length;
        } else ruleIndex = c.at;
      }
      if (ruleIndex >= rules.length) {
        if (!this.chainEnd(c)) return;
        continue;
      }
      const cr = rules[ruleIndex]!;
      if (!c.matched) {
        const r = testRule(cr, c.br, this.ctx, this.env, c.chain.name);
        if (r.kind === "no") {
          if (this.ctx.verbose) c.br.steps.push({ ...step(this.hook, this.table, c.chain.name, cr, "NO MATCH"), matched: false, failed: r.failed });
          c.at = ruleIndex + 1;
          continue;
        }
        if (r.kind === "split") {
          const children: Cursor[] = [];
          for (const n of r.no) {
            // A random "not matched" shows in the failed condition, never on a later step.
            n.br.randomChoice = undefined;
            if (this.ctx.verbose) n.br.steps.push({ ...step(this.hook, this.table, c.chain.name, cr, "NO MATCH"), matched: false, failed: n.failed });
            children.push(cursorOf(n.br, c.chain, ruleIndex + 1, c.calls.slice()));
          }
          for (const y of r.yes) children.push(cursorOf(y, c.chain, ruleIndex, c.calls.slice(), true));
          this.split(c, children, cr);
          return;
        }
      }
      c.matched = false;
      if (!this.apply(c, cr)) return;
    }
  }

  /** The chain has no more rules (or returned): back to the caller, or the policy. False when the history ended. */
  private chainEnd(c: Cursor): boolean {
    const frame = c.calls.pop();
    if (frame) {
      // (joins left behind are pruned at the top of the walk loop)
      c.chain = frame.chain;
      c.at = frame.resume;
      c.cand = undefined;
      c.ci = undefined;
      return true;
    }
    // Falling off (or RETURN from) the built-in chain, or off a chain it went to with -g:
    // the built-in chain's policy applies.
    if (this.first.policyUnknown !== undefined) {
      c.br.steps.push(step(this.hook, this.table, this.hook, undefined, "POLICY ?"));
      this.results.push({ br: c.br, verdict: "INDETERMINATE", chain: this.hook, rule: "policy", detail: `the policy of ${this.table} ${this.hook} is not known: ${this.first.policyUnknown}` });
      return false;
    }
    const policy = this.first.policy ?? "ACCEPT";
    c.br.steps.push(step(this.hook, this.table, this.hook, undefined, policy));
    this.results.push({ br: c.br, verdict: policy, chain: this.hook, rule: "policy" });
    return false;
  }

  /** finishUnchanged, or only its effect on the branch when the steps are not described. */
  private unchanged(s: Step, br: Branch): void {
    if (this.ctx.lean) finishUndescribed(br);
    else finishUnchanged(s, br);
  }

  /** Applies a matched rule's target. True when the history goes on (at `c.at` in `c.chain`). */
  private apply(c: Cursor, cr: CompiledRule): boolean {
    const chain = c.chain;
    const br = c.br;
    const tg = cr.target;
    switch (tg.kind) {
      case "none": {
        const s = step(this.hook, this.table, chain.name, cr, "CONTINUE");
        this.unchanged(s, br);
        br.steps.push(s);
        c.at = cr.index + 1;
        return true;
      }
      case "standard": {
        const s = step(this.hook, this.table, chain.name, cr, tg.verdict);
        this.unchanged(s, br);
        br.steps.push(s);
        if (tg.verdict === "RETURN") return this.chainEnd(c);
        this.results.push({ br, verdict: tg.verdict, chain: chain.name, rule: cr.index + 1 });
        return false;
      }
      case "chain": {
        const s = step(this.hook, this.table, chain.name, cr, (tg.verdictText ??= tg.goto ? `GOTO ${tg.chain}` : `JUMP ${tg.chain}`));
        this.unchanged(s, br);
        br.steps.push(s);
        if (tg.resolved === undefined) {
          // Looked up once per compiled rule (the rule belongs to this table's compiled chain).
          tg.resolved = this.tbl.chains.get(tg.chain) ?? null;
          tg.loop = this.ctx.rules.loops.has(`${this.table}/${tg.chain}`);
        }
        const target = tg.resolved;
        if (!target || !target.declared) {
          this.results.push(missingChain(br, this.table, chain.name, cr, tg.chain, this.tbl.complete));
          return false;
        }
        if (tg.loop) {
          this.results.push({ br, verdict: "ERROR", chain: chain.name, rule: cr.index + 1, detail: `jump loop through chain ${tg.chain}` });
          return false;
        }
        if (c.calls.length >= this.tbl.chains.size) {
          // Unreachable while loops are found at load time; kept so no input can walk forever.
          this.results.push({ br, verdict: "ERROR", chain: chain.name, rule: cr.index + 1, detail: `jumps nested deeper than the table has chains: a loop through ${tg.chain}` });
          return false;
        }
        if (!tg.goto) c.calls.push({ chain, resume: cr.index + 1 });
        c.chain = target;
        c.at = 0;
        c.cand = undefined;
        c.ci = undefined;
        return true;
      }
      case "unknown": {
        // Both possibilities: the target lets the packet go on, or it decided its fate.
        const condition = `${this.table} ${chain.name} #${cr.index + 1} -j ${tg.name} ${this.hook}`;
        const goOnBr = alternative(br, { condition, holds: false, text: `-j ${tg.name}: assumed to let the packet continue (netfate does not know this target)` });
        goOnBr.steps.push(step(this.hook, this.table, chain.name, cr, "CONTINUE"));
        const stop = alternative(br, { condition, holds: true, text: `-j ${tg.name}: assumed to decide the packet's fate (netfate does not know this target)` });
        stop.steps.push(step(this.hook, this.table, chain.name, cr, tg.name));
        this.split(c, [
          cursorOf(goOnBr, chain, cr.index + 1, c.calls.slice()),
          cursorOf(stop, chain, cr.index + 1, [], false, { br: stop, verdict: "INDETERMINATE", chain: chain.name, rule: cr.index + 1, detail: `-j ${tg.name} is not known to netfate` }),
        ], cr);
        return false;
      }
      case "extension": {
        this.env.packet = br.pkt;
        if (!tg.ext.apply) {
          br.steps.push(step(this.hook, this.table, chain.name, cr, tg.name));
          this.results.push({ br, verdict: "INDETERMINATE", chain: chain.name, rule: cr.index + 1, detail: `netfate cannot apply -j ${tg.name} yet` });
          return false;
        }
        // Only a target can change the packet: its before-state is taken here, not for every rule.
        const prior = this.ctx.lean ? undefined : before(br.pkt);
        this.ctx.flow?.fields(tg.ext.reads?.(tg.data), br.pkt);
        const res = tg.ext.apply(tg.data, this.env, new Effects(br, this.ctx));
        if ("indeterminate" in res) {
          const s = step(this.hook, this.table, chain.name, cr, tg.name);
          if (prior) finishStep(s, br, prior);
          else finishUndescribed(br);
          br.steps.push(s);
          this.results.push({ br, verdict: "INDETERMINATE", chain: chain.name, rule: cr.index + 1, detail: res.indeterminate });
          return false;
        }
        const verdictText = res.verdict === "CONTINUE" ? "CONTINUE" : br.pendingNat ? tg.name : res.verdict;
        const s = step(this.hook, this.table, chain.name, cr, verdictText);
        if (prior) finishStep(s, br, prior);
        else finishUndescribed(br);
        br.steps.push(s);
        switch (res.verdict) {
          case "CONTINUE":
            c.at = cr.index + 1;
            return true;
          case "RETURN":
            return this.chainEnd(c);
          default: {
            const r: TableResult = { br, verdict: res.verdict, chain: chain.name, rule: cr.index + 1 };
            if (res.detail !== undefined) r.detail = res.detail;
            this.results.push(r);
            return false;
          }
        }
      }
    }
  }
}

/** The cursor a merged history goes on with from a join (its joins already popped). */
function resumed(cursor: Cursor, b: Branch, joins: Array<Join<CompiledChain, Cursor>>): Cursor {
  const c = cursorOf(b, cursor.chain, cursor.at, cursor.calls);
  c.joins = joins;
  return c;
}

/**
 * A jump to a chain the input does not have. In a whole table (an iptables-save dump that
 * reached COMMIT) iptables would have refused to load it: an error. In a fragment (one chain
 * listed, `-S` of one chain, a cut paste) the chain exists on the node but was not shown.
 */
function missingChain(br: Branch, table: TableName, chain: string, cr: CompiledRule, target: string, complete: boolean): TableResult {
  if (complete) {
    return { br, verdict: "ERROR", chain, rule: cr.index + 1, detail: `jump to chain ${target}, which does not exist in table ${table}` };
  }
  return {
    br, verdict: "INDETERMINATE", chain, rule: cr.index + 1,
    detail: `jumps to chain ${target}, which the input does not show: give \`iptables -t ${table} -S ${target}\` (or the whole table: \`iptables-save -t ${table}\`)`,
  };
}
