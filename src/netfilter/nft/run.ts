/**
 * Walks one nft base chain for a branch, as traverse.ts walks an iptables chain: a loop over
 * an explicit work list (no recursion), jump/goto/return with a per-history call stack, the
 * chain's policy at the end of a base chain and a return at the end of a regular one. A rule
 * is its statements in order; a statement may fork the history (numgen's values, a test the
 * input does not decide, an effect netfate does not model), and the children go on from that
 * statement. Forks join at the next rule of the same chain, where histories in one state merge.
 */
import type { Hook, StateAssumptions, Step } from "../../model/evaluation.js";
import type { Family } from "../../model/ast.js";
import { alternative, assume, randomAlternative, type Branch } from "../branch.js";
import { before, emptied, finishStep, finishUnchanged, ForkWalk, type Before, type ForkCursor, type TableResult, type TraverseContext } from "../traverse.js";
import type { NftExpr } from "../../model/nft.js";
import type { NftBase, NftCompiledChain, NftCompiledRule, VerdictWay } from "./compile.js";
import { evaluateExpr } from "./expr/index.js";
import { NEXT, prepareStmt, type PreparedStmt, type StmtEnv, type StmtResult } from "./statements.js";
import type { XVal } from "../../model/nft-values.js";
import type { Binding } from "./expr/env.js";
import { statementKind } from "../../extensions/nft/statements/registry.js";

export interface NftRunOptions {
  /** The chain runs before conntrack (see extensions/nft/ct.ts). */
  beforeConntrack: boolean;
}

/** A chain's result: TableResult's shape; `nat` when a nat statement accepted (the binding is pending on the branch). */
export type NftResult = TableResult & { nat?: boolean };

interface Frame {
  readonly chain: NftCompiledChain;
  readonly resume: number;
}

interface Cursor extends ForkCursor<NftCompiledChain, Cursor> {
  /** The statement to go on from (a fork resumes mid-rule). */
  stmt: number;
  bindings?: Binding;
  /** The packet as the rule found it, when resuming mid-rule: the step lists what the whole rule changed (kept only for rules that can change it). */
  prior?: Before;
  calls: Frame[];
}

/** A cursor with every field there from the start: the walk's cursors share one object shape. */
function cursorOf(br: Branch, chain: NftCompiledChain, at: number, stmt: number, calls: Frame[], bindings?: Binding, prior?: Before, ended?: NftResult): Cursor {
  return { br, chain, at, stmt, bindings, prior, calls, joins: [], ended };
}

/** A verdict's step word (a switch: a lookup in a table by a varying key is the slow kind of property read). */
function verdictWord(v: string): string {
  switch (v) {
    case "accept":
      return "ACCEPT";
    case "drop":
      return "DROP";
    case "reject":
      return "REJECT";
    case "queue":
      return "QUEUE";
    case "continue":
      return "CONTINUE";
    case "return":
      return "RETURN";
    default:
      return v;
  }
}

/** Runs the base chain `base` for `br`: every way it can end. */
export function runBaseChain(br: Branch, base: NftBase, ctx: TraverseContext, opts: NftRunOptions): NftResult[] {
  // One walker serves walk after walk (a packet meets a dozen base chains); a walk that threw
  // leaves none spare, and the next takes a new one.
  const w = spare ?? new BaseChainWalk();
  spare = undefined;
  const results = w.run(br, base, ctx, opts);
  spare = w;
  return results;
}

let spare: BaseChainWalk | undefined;

/**
 * The shortcuts of a walk (a history walked alone up to its first fork, in place of on the work
 * list from the start) and of the packet path's nft stages (one history a chain accepted as it
 * came goes on in its own list): on, except in the test that holds them to the long way.
 */
export const walkShortcuts = { on: true };

/** The results list of a walker between walks (never added to). */
const IDLE: NftResult[] = [];

/**
 * What a rule's statements read and change, pointed at the history whose rule runs: one per
 * walk, its `eval` on the prototype (a walk allocates no closures: a packet meets a dozen base
 * chains, and their closures were a fifth of its garbage).
 */
class WalkEnv implements StmtEnv {
  bindings: Binding | undefined = undefined;
  constructor(
    public br: Branch,
    public hook: Hook,
    public family: Family,
    public node: TraverseContext["node"],
    public table: NftBase["table"],
    public beforeConntrack: boolean,
    public assumed: StateAssumptions,
    public ipsets: TraverseContext["ipsets"],
    public chainType: NftBase["type"],
  ) {}
  /** Points the environment at another walk (the walker's one environment serves walk after walk). */
  reset(br: Branch, base: NftBase, ctx: TraverseContext, opts: NftRunOptions): void {
    this.br = br;
    this.bindings = undefined;
    this.hook = base.hook;
    this.family = ctx.family;
    this.node = ctx.node;
    this.table = base.table;
    this.beforeConntrack = opts.beforeConntrack;
    this.assumed = ctx.assumed ?? NO_ASSUMPTIONS;
    this.ipsets = ctx.ipsets;
    this.chainType = base.type;
  }
  /** Lets go of the walk's branch, node and ruleset between walks (never read before the next reset). */
  clear(): void {
    this.br = undefined as unknown as Branch;
    this.bindings = undefined;
    this.node = undefined as unknown as TraverseContext["node"];
    this.table = undefined as unknown as NftBase["table"];
    this.assumed = NO_ASSUMPTIONS;
    this.ipsets = undefined as unknown as TraverseContext["ipsets"];
  }
  eval(e: NftExpr): XVal {
    return evaluateExpr(e, this);
  }
}

/** A walk's assumptions when the context states none (one object, not one per walk). */
const NO_ASSUMPTIONS: StateAssumptions = Object.freeze({});

/** A merged history going on from its join: its cursor at the start of the join's rule. */
function resumeAt(cursor: Cursor, b: Branch, joins: Cursor["joins"]): Cursor {
  const c = cursorOf(b, cursor.chain, cursor.at, 0, cursor.calls);
  c.joins = joins;
  return c;
}

/**
 * Walks one base chain for one branch at a time: its histories' cursors on a work list
 * (ForkWalk), jumps on per-history call stacks. `run` sets every field: nothing carries over
 * from one walk to the next.
 */
class BaseChainWalk {
  private results: NftResult[] = [];
  /** Made by the first walk that forks, restarted by each that forks (its work lists are empty between walks). */
  private forks: ForkWalk<NftCompiledChain, Cursor> | undefined = undefined;
  /**
   * This walk has forked: its histories are on the work list. Until a fork the one history is
   * walked alone (most walks never fork, and the work list's set-up was a good part of a walk).
   */
  private forking = false;
  private ctx: TraverseContext | undefined = undefined;
  /** The cursor each walk starts from, made by the first walk and reset by each: nothing holds it once its walk has ended. */
  private first: Cursor | undefined = undefined;
  /** Made by the first walk, reset by each. */
  private env: WalkEnv | undefined = undefined;
  private base: NftBase | undefined = undefined;
  private readonly walkCursor = (c: Cursor): void => this.walk(c);

  private get table(): NftBase["table"] {
    return this.base!.table;
  }

  private get hook(): Hook {
    return this.base!.hook;
  }

  run(br: Branch, base: NftBase, ctx: TraverseContext, opts: NftRunOptions): NftResult[] {
    const results: NftResult[] = [];
    this.results = results;
    this.base = base;
    this.ctx = ctx;
    this.forking = false;
    // Made for the packet by its first walk, as every walk of it counts its alternatives there.
    ctx.budget ??= { opened: 0 };
    const first = this.startAt(br, base.chain);
    if (this.env) this.env.reset(br, base, ctx, opts);
    else this.env = new WalkEnv(br, base.hook, ctx.family, ctx.node, base.table, opts.beforeConntrack, ctx.assumed ?? NO_ASSUMPTIONS, ctx.ipsets, base.type);
    if (walkShortcuts.on) {
      // As the work list's first history (ForkWalk.run pops it first and walks it): its forks, if any, go there.
      this.walk(first);
      if (this.forking) this.forks!.run(this.walkCursor, resumeAt);
    } else {
      this.forkWalk().restart(first, ctx.budget, results, ctx.apart);
      this.forks!.run(this.walkCursor, resumeAt);
    }
    this.release();
    return results;
  }

  /** The work list, set up for this walk at its first fork (empty: the history that forked is being walked). */
  private forkWalk(): ForkWalk<NftCompiledChain, Cursor> {
    if (this.forking) return this.forks!;
    this.forking = true;
    const ctx = this.ctx!;
    const budget = ctx.budget!;
    if (this.forks) this.forks.restart(undefined, budget, this.results, ctx.apart);
    else this.forks = new ForkWalk<NftCompiledChain, Cursor>(undefined, budget, this.results, ctx.apart);
    return this.forks;
  }

  /** The walk's first cursor: the branch at the base chain's first rule, nothing on its stacks. */
  private startAt(br: Branch, chain: NftCompiledChain): Cursor {
    const c = this.first;
    if (!c) return (this.first = cursorOf(br, chain, 0, 0, []));
    c.br = br;
    c.chain = chain;
    c.at = 0;
    c.stmt = 0;
    c.bindings = undefined;
    c.prior = undefined;
    emptied(c.calls);
    emptied(c.joins);
    c.ended = undefined;
    return c;
  }

  /** Lets go of the walk's branch, node and ruleset: a spare walker holds on to nothing. */
  private release(): void {
    if (this.forking) this.forks!.release();
    if (this.first) {
      this.first.br = undefined as unknown as Branch;
      this.first.chain = undefined as unknown as NftCompiledChain;
      emptied(this.first.calls);
      emptied(this.first.joins);
      this.first.bindings = undefined;
      this.first.prior = undefined;
    }
    this.results = IDLE;
    this.base = undefined;
    this.ctx = undefined;
    // The environment stays for the next walk (one object of one shape), holding nothing of this one.
    this.env?.clear();
  }

  /** Where a fork's alternatives are told apart: the table, as traces name it. */
  private get place(): string {
    return `nft ${this.table.family} ${this.table.name}`;
  }

  private step(chain: string, cr: NftCompiledRule | undefined, verdict: string, element?: string): Step {
    return this.stepAt(chain, cr, verdict, stepPlace(this.base!, cr, element));
  }

  private stepAt(chain: string, cr: NftCompiledRule | undefined, verdict: string, nft: StepPlace): Step {
    return { hook: this.hook, table: "nft", chain, rule: cr ? cr.index + 1 : "policy", verdict, matched: true, nft };
  }

  private split(c: Cursor, children: Cursor[], cr: NftCompiledRule): void {
    this.forkWalk().split(c, children, c.chain.name, cr.index);
  }

  private walk(c: Cursor): void {
    for (;;) {
      // (Only a history that forked waits at joins: one walked alone has none, and no work list may be set up.)
      if (c.joins.length !== 0 && this.forks!.parks(c, c.stmt === 0 && c.bindings === undefined)) return;
      if (c.at >= c.chain.rules.length) {
        if (!this.chainEnd(c)) return;
        continue;
      }
      if (!this.runRule(c, c.chain.rules[c.at]!)) return;
    }
  }

  /** The step of a rule that stopped part way, when verbose or when its earlier statements changed something. */
  /** `failed` is worded only when the step is shown (printing costs more than the test). */
  private partial(br: Branch, chainName: string, cr: NftCompiledRule, prior: Before | undefined, failed: string | (() => string)): void {
    const p = br.pkt;
    const changed = (prior !== undefined && (prior.mark !== p.mark || prior.ctmark !== p.ct.mark || prior.ctstate !== p.ct.state)) || br.notes.length > 0 || br.logLine !== undefined;
    if (this.ctx!.verbose || changed) {
      const s: Step = { ...this.step(chainName, cr, "NO MATCH"), matched: false, failed: typeof failed === "string" ? failed : failed() };
      finish(s, br, prior);
      br.steps.push(s);
    }
    br.randomChoice = undefined;
  }

  /** Runs the rule at the cursor from its statement `c.stmt`. True when the history goes on at the cursor. */
  private runRule(c: Cursor, cr: NftCompiledRule): boolean {
    const br = c.br;
    // Only a rule that can change the packet needs its before-state (most test and jump).
    const prior = c.prior ?? (cr.mutates ? before(br.pkt) : undefined);
    const prepared = (cr.prepared ?? prepare(cr)) as PreparedStmt[];
    const hook = this.hook;
    // One environment for the whole walk, pointed at this rule's history: a rule costs no allocation of its own.
    const env = this.env!;
    // Written only when it changes: the environment lives long and the branch is young, so each write is a barrier's slow path.
    if (env.br !== br) env.br = br;
    env.bindings = c.bindings;
    for (let k = c.stmt; k < prepared.length; k++) {
      const r: StmtResult = prepared[k]!(env);
      // Most statements let the rule go on: told by identity, before reading a result of one of many shapes.
      if (r === NEXT) continue;
      switch (r.kind) {
        case "next":
          continue;
        case "assumed":
          assume(br, r.assuming);
          if (r.passes) continue;
          return this.noMatch(c, cr, prior, `${cr.text}: ${r.assuming}`);
        case "break":
          return this.noMatch(c, cr, prior, r.failed);
        case "choose": {
          const children: Cursor[] = [];
          // A loop, not forEach: no closure per fork (every kube-proxy service's endpoint choice is one).
          const last = r.choices.length - 1;
          for (let i = 0; i <= last; i++) {
            const ch = r.choices[i]!;
            let side: Branch;
            if (ch.probability === undefined) side = alternative(br, { condition: `${this.place} ${c.chain.name} #${cr.index + 1} s${k} ${hook} =${i}`, holds: true, text: ch.label });
            else side = randomAlternative(br, ch.probability, i === last);
            const nb = child(br, side);
            if (ch.probability !== undefined) nb.randomChoice = ch.label;
            const bindings: Binding = { expr: r.expr, val: ch.val, next: c.bindings };
            children.push(cursorOf(nb, c.chain, c.at, k, c.calls.slice(), bindings, prior));
          }
          this.split(c, children, cr);
          return false;
        }
        case "unknown-test": {
          const condition = `${this.place} ${c.chain.name} #${cr.index + 1} s${k} ${hook} ${br.pkt.mark}`;
          const known = br.given.find((l) => l.condition === condition);
          if (known) {
            if (known.holds) continue;
            return this.noMatch(c, cr, prior, `${cr.text}: ${r.why}`);
          }
          const yes = child(br, alternative(br, { condition, holds: true, text: `${cr.text}: assumed to match (${r.why})` }));
          const no = child(br, alternative(br, { condition, holds: false, text: `${cr.text}: assumed not to match (${r.why})` }));
          this.partial(no, c.chain.name, cr, prior, r.why);
          this.split(c, [
            cursorOf(yes, c.chain, c.at, k + 1, c.calls.slice(), c.bindings, prior),
            cursorOf(no, c.chain, c.at + 1, 0, c.calls.slice()),
          ], cr);
          return false;
        }
        case "unknown-action": {
          const condition = `${this.place} ${c.chain.name} #${cr.index + 1} s${k} ${hook} action`;
          const goOn = child(br, alternative(br, { condition, holds: false, text: `${cr.text}: assumed to let the packet continue (${r.why})` }));
          const stop = child(br, alternative(br, { condition, holds: true, text: `${cr.text}: assumed to decide the packet's fate (${r.why})` }));
          const stopStep = this.step(c.chain.name, cr, "?");
          finish(stopStep, stop, prior);
          stop.steps.push(stopStep);
          this.split(c, [
            cursorOf(goOn, c.chain, c.at, k + 1, c.calls.slice(), c.bindings, prior),
            cursorOf(stop, c.chain, c.at + 1, 0, [], undefined, undefined, { br: stop, verdict: "INDETERMINATE", chain: c.chain.name, rule: cr.index + 1, detail: r.why }),
          ], cr);
          return false;
        }
        case "end": {
          const s = this.step(c.chain.name, cr, r.verdict === "DROP" ? "DROP" : "?");
          finish(s, br, prior);
          br.steps.push(s);
          this.results.push({ br, verdict: r.verdict, chain: c.chain.name, rule: cr.index + 1, detail: r.detail });
          return false;
        }
        case "verdict":
          return this.verdict(c, cr, k, prior, r);
      }
    }
    // Every statement ran without a verdict: the rule matched, the walk goes on.
    const s = this.step(c.chain.name, cr, "CONTINUE");
    finish(s, br, prior);
    br.steps.push(s);
    return nextRule(c);
  }

  /** The rule stops without a verdict; what its earlier statements did stays (a mark set, a counter). */
  private noMatch(c: Cursor, cr: NftCompiledRule, prior: Before | undefined, failed: string | (() => string)): boolean {
    this.partial(c.br, c.chain.name, cr, prior, failed);
    return nextRule(c);
  }

  /** The verdict `r` of statement `k` of the rule. */
  private verdict(c: Cursor, cr: NftCompiledRule, k: number, prior: Before | undefined, r: Extract<StmtResult, { kind: "verdict" }>): boolean {
    const br = c.br;
    const table = this.table;
    let s: Step;
    let target: NftCompiledChain | undefined;
    if (r.nat) {
      // (One result for every nat statement: its word depends on the rule and the branch.)
      s = this.step(c.chain.name, cr, br.pendingNat && r.verdict === "accept" ? natWord(cr) : "ACCEPT", r.element);
    } else {
      const way = this.wayOf(cr, k, r);
      target = way.target;
      s = this.stepAt(c.chain.name, cr, way.word, way.nft!);
    }
    finish(s, br, prior);
    br.steps.push(s);
    switch (r.verdict) {
      case "continue":
        return nextRule(c);
      case "return":
        return this.chainEnd(c);
      case "jump":
      case "goto": {
        if (!target) {
          this.results.push({ br, verdict: "INDETERMINATE", chain: c.chain.name, rule: cr.index + 1, detail: `${r.verdict} to chain ${r.chain}, which table ${table.family} ${table.name} does not have` });
          return false;
        }
        // A goto loop never deepens the call stack: a chain on a loop is an error on entry (compile.ts).
        // (Most tables have no loop: asked first, the name, read from the input, is not hashed and compared on every jump.)
        if (table.loops.size !== 0 && table.loops.has(target.name)) {
          this.results.push({ br, verdict: "ERROR", chain: c.chain.name, rule: cr.index + 1, detail: `${r.verdict} to chain ${target.name}, which is on a loop of jumps and gotos: nft refuses to load a ruleset whose base chain reaches one (\"Too many links\")` });
          return false;
        }
        if (c.calls.length >= table.chains.size) {
          this.results.push({ br, verdict: "ERROR", chain: c.chain.name, rule: cr.index + 1, detail: `jumps nested deeper than the table has chains: a loop through ${r.chain}` });
          return false;
        }
        if (r.verdict === "jump") c.calls.push((cr.returnFrame ??= { chain: c.chain, resume: cr.index + 1 }));
        c.chain = target;
        c.at = 0;
        c.stmt = 0;
        c.bindings = undefined;
        c.prior = undefined;
        return true;
      }
      default: {
        const v = r.verdict === "accept" ? "ACCEPT" : r.verdict === "drop" ? "DROP" : r.verdict === "reject" ? "REJECT" : "QUEUE";
        const res: NftResult = { br, verdict: v, chain: c.chain.name, rule: cr.index + 1 };
        if (r.detail !== undefined) res.detail = r.detail;
        if (r.nat) res.nat = true;
        this.results.push(res);
        return false;
      }
    }
  }

  /**
   * Where verdict `r` of statement `k` leads: the rule's memo of that statement's last verdict
   * when it is this one (the usual case), else found and written into the memo.
   */
  private wayOf(cr: NftCompiledRule, k: number, r: Extract<StmtResult, { kind: "verdict" }>): VerdictWay {
    const base = this.base!;
    const way = cr.verdictWays![k]!;
    if (way.result !== r || way.base !== base) {
      const jump = r.verdict === "jump" || r.verdict === "goto" ? this.jumpOf(r) : undefined;
      way.result = r;
      way.base = base;
      way.target = jump?.target;
      way.word = jump ? jump.word : verdictWord(r.verdict);
      way.nft = stepPlace(base, cr, r.element);
    }
    return way;
  }

  /** A jump's or goto's target and step word, found once per statement or map element. */
  private jumpOf(r: Extract<StmtResult, { kind: "verdict" }>): { target: NftCompiledChain | undefined; word: string } {
    const table = this.table;
    let j = r.from ? table.jumps.get(r.from) : undefined;
    if (!j) {
      j = { target: r.chain !== undefined ? table.chains.get(r.chain) : undefined, word: `${r.verdict.toUpperCase()} ${r.chain}` };
      if (r.from) table.jumps.set(r.from, j);
    }
    return j;
  }

  /** End of a chain (or return): back to the caller, or the base chain's policy. */
  private chainEnd(c: Cursor): boolean {
    const frame = c.calls.pop();
    if (frame) {
      c.chain = frame.chain;
      c.at = frame.resume;
      c.stmt = 0;
      c.bindings = undefined;
      c.prior = undefined;
      return true;
    }
    const base = this.base!;
    const policy = base.policy === "drop" ? "DROP" : "ACCEPT";
    c.br.steps.push(this.step(base.chain.name, undefined, policy));
    this.results.push({ br: c.br, verdict: policy, chain: base.chain.name, rule: "policy" });
    return false;
  }
}

/** What a step of `cr` (undefined: the policy) says of its place, the map element it chose included. */
type StepPlace = NonNullable<Step["nft"]>;

/**
 * Steps' places, made once per base chain (its table and priority), rule and element: every
 * packet's steps of a rule say the same, and steps are read, never changed, once made.
 */
const PLACES = new WeakMap<NftBase, Map<NftCompiledRule | undefined, { plain?: StepPlace; byElement?: Map<string, StepPlace> }>>();

function stepPlace(base: NftBase, cr: NftCompiledRule | undefined, element: string | undefined): StepPlace {
  if (!cr) return element === undefined ? (base.policyPlace ??= placeIn(base, cr, undefined)) : placeIn(base, cr, element);
  let at = cr.place;
  if (at === undefined || at.base !== base) cr.place = at = { base, nft: placeIn(base, cr, undefined), byElement: undefined };
  if (element === undefined) return at.nft;
  const byElement = (at.byElement ??= new Map());
  let p = byElement.get(element);
  if (!p) byElement.set(element, (p = placeIn(base, cr, element)));
  return p;
}

function placeIn(base: NftBase, cr: NftCompiledRule | undefined, element: string | undefined): StepPlace {
  let rules = PLACES.get(base);
  if (!rules) PLACES.set(base, (rules = new Map()));
  let at = rules.get(cr);
  if (!at) rules.set(cr, (at = {}));
  if (element === undefined) return (at.plain ??= placeOf(base, cr, undefined));
  const byElement = (at.byElement ??= new Map());
  let p = byElement.get(element);
  if (!p) byElement.set(element, (p = placeOf(base, cr, element)));
  return p;
}

function placeOf(base: NftBase, cr: NftCompiledRule | undefined, element: string | undefined): StepPlace {
  const table = base.table;
  const nft: StepPlace = { family: table.family, table: table.name, priority: base.priority };
  if (cr) {
    if (cr.rule.handle !== undefined) nft.handle = cr.rule.handle;
    nft.text = cr.text;
    const requires = cr.requires;
    if (requires !== undefined) nft.requires = requires;
  }
  if (element !== undefined) nft.element = element;
  return nft;
}

/** Moves what the rule did onto its step; `prior` is undefined for a rule that cannot change the packet. */
function finish(s: Step, br: Branch, prior: Before | undefined): void {
  if (prior) finishStep(s, br, prior);
  else finishUnchanged(s, br);
}

/** Next rule of the same chain. */
function nextRule(c: Cursor): true {
  c.at++;
  c.stmt = 0;
  c.bindings = undefined;
  c.prior = undefined;
  return true;
}

/**
 * A copy of the branch for one side of a fork mid-rule: what the rule's earlier statements
 * noted (rewrites, a log line) goes with it, for the rule's step.
 */
function child(br: Branch, side: Branch): Branch {
  // (A new branch's notes are an empty list of its own already.)
  if (br.notes.length > 0) side.notes = [...br.notes];
  if (br.logLine !== undefined) side.logLine = br.logLine;
  return side;
}

/** Prepares the rule's statements, with a verdict memo for each (see NftCompiledRule.verdictWays). */
function prepare(cr: NftCompiledRule): PreparedStmt[] {
  const stmts = cr.rule.stmts;
  cr.verdictWays = stmts.map(() => ({ result: undefined, base: undefined, target: undefined, word: "", nft: undefined }));
  const prepared = stmts.map(prepareStmt);
  cr.prepared = prepared;
  return prepared;
}

/** The verdict word of a statement's own verdict (a nat statement's: DNAT, SNAT, MASQUERADE, REDIRECT), found once per rule. */
function natWord(cr: NftCompiledRule): string {
  if (cr.natWord === undefined) {
    let word: string | undefined;
    for (const s of cr.rule.stmts) if ((word = statementKind(s)?.stepWord?.(s)) !== undefined) break;
    cr.natWord = word ?? "ACCEPT";
  }
  return cr.natWord;
}
