/**
 * One table of an iptables-restore script while it is read (save-dump.ts runs the script):
 * its chains, and their rules — bound, or, while the table defers them, where their `-A`
 * lines are and a digest, to be bound on first `load()` (model/chain-rules.ts).
 */
import { readSaveLine, type SaveLine } from "../../grammar/read-line.js";
import { BUILTIN_CHAINS, type Chain, type Counters, type Family, type Rule, type Table, type TableName } from "../model/ast.js";
import { boundRules, deferredRules, sourcedRules, type RulesSource } from "../model/chain-rules.js";
import type { ChainDigest, ChainRules } from "../model/ast.js";
import type { DiagnosticSink } from "../model/diagnostics.js";
import type { Span } from "../model/span.js";
import { bindCommand, type BindEnv } from "./rule-binder.js";
import { ChainEdits } from "./chain-edits.js";
import { AnchoredInserts } from "./anchored-inserts.js";
import { ruleSpecText } from "../print/save.js";
import type { SpanMover } from "./extract.js";
import type { FastAppend, FastTable } from "./fast-append.js";
import { ChainIds, ChainsByName } from "./chain-ids.js";
import { DeferredChains } from "./deferred-chains.js";
import { LineKeys } from "./line-keys.js";
import { rememberTableJumps } from "../model/table-jumps.js";

// Most chains of a big dump say [0:0]; counters are never changed in place, so they share one.
export const ZERO_COUNTERS: Counters = Object.freeze({ packets: 0n, bytes: 0n, exact: true });

/** `[packets:bytes]` as a line gives it. */
export function counters(text: string | undefined): Counters | undefined {
  if (!text) return undefined;
  if (text === "[0:0]") return ZERO_COUNTERS;
  const m = /^\[([0-9]+):([0-9]+)\]$/.exec(text);
  return m ? { packets: BigInt(m[1]!), bytes: BigInt(m[2]!), exact: true } : undefined;
}

/** The dump's text, and what reading its lines again needs. */
export interface DumpText {
  text: string;
  family: Family;
  /** Reading a line again reports nothing: everything was reported the first time. */
  quietSink: DiagnosticSink;
  /** Moves the spans of what is bound to where the dump is in a larger text. */
  spans: SpanMover | undefined;
}

/** Where one `-A` line of a deferred chain is: start offset, line, next record (-1: none). */
const REF_FIELDS = 3;

// What a chain holds until its table is finished: every chain gets its rules then.
const NOT_YET: ChainRules = boundRules(Object.freeze([]));

export class TableBuilder implements FastTable {
  /** The table's chains by name (while it numbers them, found through `ids`). */
  readonly chains: ChainsByName;
  readonly table: Table;
  /**
   * Whether `-A` lines are recorded for binding on first read rather than kept bound. Turned
   * off for good, after binding what was deferred, by the first command that reads or changes
   * a chain's rules (-I, -D, -F, -X, -Z): those see bound rules.
   */
  deferring: boolean;
  /** Where `-I CHAIN N` put rules before others: what iptables-nft-restore would refuse. */
  readonly inserts = new AnchoredInserts();
  /** How many bound rules jump or go to each chain. */
  readonly jumps = new Map<string, number>();
  /**
   * The user chains that hold no bound rule and that no bound rule jumps to (what `-X` without
   * a name deletes), and the others: kept as rules come and go, so `-X` need not look at every
   * chain. Only right once every rule is bound, which any `-X` sees (it stops deferring); while
   * the table defers they are not kept at all (a dump declares 40k chains), and stopping
   * fills them as keeping them would have: every chain free, in the order declared.
   */
  readonly freeChains = new Set<string>();
  readonly busyChains = new Set<string>();

  private readonly touched = (name: string): void => {
    const c = this.chains.get(name);
    if (!c || c.builtin) return;
    const busy = (this.bound.get(c)?.length ?? 0) > 0 || (this.jumps.get(name) ?? 0) > 0;
    (busy ? this.busyChains : this.freeChains).add(name);
    (busy ? this.freeChains : this.busyChains).delete(name);
  };

  /** The line of the `-X` that deleted each chain no longer there. */
  readonly deletedAt = new Map<string, number>();

  /** `-X`: the chain is gone (the caller has checked it may go). */
  deleteChain(name: string, line: number): void {
    this.deletedAt.set(name, line);
    this.chains.delete(name);
    this.freeChains.delete(name);
    this.busyChains.delete(name);
  }
  /** Rules kept bound, per chain. */
  private readonly bound = new Map<Chain, ChainEdits>();
  private readonly lines: DeferredLines;
  /** What a chain index files each line under, noted as the lines are read (IPv4: the fast path's family). */
  private readonly lineKeys: LineKeys | undefined;
  /** The table's chains by id, while it defers (after, they are found by name in `chains`). */
  private ids: ChainIds | undefined;
  /** Whether a chain replaced another of its name: `ids` then holds chains no longer in the table. */
  private replaced = false;
  /** Each deferred chain's line records and digest, by id. */
  private deferred: DeferredChains;
  /**
   * Binding a rule again must see the chains its first binding saw. Chains are only added while
   * the table defers, so a chain there now was there then unless it was declared after: kept
   * here is the line that declared each chain whose name a rule used before it was one (a
   * handful: `-j LED` before `-N LED`), out of names asked about that were no chain then.
   */
  private readonly notChainYet = new Set<string>();
  private readonly declaredLate = new Map<string, number>();
  /** Whether every chain's rules are where `lines` says (never bound here): what a cache can store. */
  private cacheable: boolean;
  private bindEnv: BindEnv | undefined;
  /**
   * `-Z` zeroes the counters of what is there before it. Rather than visit every rule at each
   * `-Z`, when each bound rule or chain got its counters and when `-Z` ran are kept, and the
   * older counters are dropped once, at the end.
   */
  private tick = 0;
  /** What got counters (a rule or a chain), its chain, and when: three lists, no object per entry (40k chains). */
  private readonly counted: (Rule | Chain)[] = [];
  private readonly countedChain: Chain[] = [];
  private readonly countedAt: number[] = [];
  /**
   * Chains made with counters while the table numbers them, kept as runs: ids `first` to
   * `first + length - 1` got theirs at ticks `at` to `at + length - 1`. A dump declares its
   * 40k chains one after another, each `[0:0]`: one run, where the lists above, growing a
   * slot at a time to 40k, took ~10 ms of the read (perf: GrowArrayElements under noteCounters).
   * They join the lists (`countedRuns`) only when a table stops numbering or has been zeroed.
   */
  private readonly runs: number[] = [];
  private zeroedAll = -1;
  private readonly zeroedChains = new Map<Chain, number>();

  /**
   * `policy`: a built-in chain's policy until a line states it. iptables-restore gives a table
   * section's built-in chains ACCEPT; `-S` output states every policy with `-P`, so lines
   * without one are a fragment and the policy is not known.
   */
  constructor(
    name: TableName, nameSource: Table["nameSource"], span: Span, deferring: boolean,
    private readonly text: DumpText, policy: Chain["policy"] = "ACCEPT",
  ) {
    this.table = { name, chains: [], nameSource, committed: false, span };
    this.deferring = deferring;
    this.cacheable = deferring;
    const ids = (this.ids = deferring ? new ChainIds(text.text) : undefined);
    this.chains = new ChainsByName(ids);
    this.lines = new DeferredLines(text, name, this.chains, this.declaredLate);
    this.lineKeys = text.family === "ipv4" ? new LineKeys() : undefined;
    this.deferred = new DeferredChains((id) => ids!.chains[id]!.name);
    for (const c of BUILTIN_CHAINS[name]) this.newChain(c, true, policy, false, span);
  }

  /**
   * A new chain of this table (replacing any of that name). Counters given here are in the
   * object from the start (added after, they cost each of a dump's 40k chains a property
   * store), and noted here for `-Z`.
   * `nameAt`: where the text has the name declared, followed by a space (chain-ids.ts), or -1;
   * a name given with its place is one the caller found to be no chain of the table yet.
   */
  newChain(name: string, builtin: boolean, policy: Chain["policy"], declared: boolean, span: Span, counters?: Counters, nameAt = -1): Chain {
    const c: Chain = counters ? { name, builtin, policy, declared, rules: NOT_YET, span, counters } : { name, builtin, policy, declared, rules: NOT_YET, span };
    if (this.ids) {
      // A name found in the text was found to be no chain yet (fastDeclaration): no lookup of a 40k-name map again.
      if (nameAt < 0 && this.chains.has(name)) this.replaced = true;
      // (which `chains` reads: no Map of the names beside them)
      const id = this.ids.add(c, nameAt);
      if (counters) this.countedRun(id);
    } else {
      this.chains.set(name, c);
      this.noteCounters(c, c);
    }
    if (!this.deferring) this.touched(name);
    if (this.notChainYet.size > 0 && this.notChainYet.has(name)) this.declaredLate.set(name, span.line);
    return c;
  }

  /** The id of the chain whose name is text[start, end), or -1 (fast-append.ts; only while the table defers). */
  chainIdAt(start: number, end: number): number {
    return this.ids!.idAt(this.text.text, start, end);
  }

  jumpable(id: number): boolean {
    return this.ids!.jumpable(id);
  }

  /** The binding environment for the lines of this table, one for all of them (a hot loop). */
  env(sink: DiagnosticSink): BindEnv {
    if (!this.bindEnv) {
      const { chains, notChainYet } = this;
      // The last chain found: most jumps of a dump go to a few chains (KUBE-MARK-MASQ), and
      // comparing with it is cheaper than hashing a new word for a map of 40k chains. Kept
      // only while deferring, when chains are only added: a chain found stays one.
      let found: string | undefined;
      const isChain = (n: string) => {
        if (n === found && this.deferring) return true;
        if (chains.has(n)) {
          found = n;
          return true;
        }
        if (this.deferring) notChainYet.add(n);
        return false;
      };
      this.bindEnv = { family: this.text.family, table: this.table.name, sink, line: 0, isChain, jumpsMustExist: this.table.nameSource === "input" };
    }
    return this.bindEnv;
  }

  /** The bound rules of chain `c`, for the script's commands to change. */
  rulesOf(c: Chain): ChainEdits {
    let r = this.bound.get(c);
    if (!r) {
      const family = this.text.family;
      r = new ChainEdits(c.name, (x) => ruleSpecText(x, family), this.jumps, this.touched);
      this.bound.set(c, r);
    }
    return r;
  }

  /** Whether any chain has bound rules (only chains given some since the last `-F` are looked at). */
  hasBoundRules(): boolean {
    for (const r of this.bound.values()) if (r.length > 0) return true;
    return false;
  }

  /** `-F` without a chain: every chain empty. */
  flushAll(): void {
    for (const r of this.bound.values()) r.clear();
    this.bound.clear();
  }

  /** A rule added to `c` (kept bound) or the chain itself got counters now (a new chain's, `newChain` notes). */
  noteCounters(c: Chain, x: Rule | Chain): void {
    if (!x.counters) return;
    this.counted.push(x);
    this.countedChain.push(c);
    this.countedAt.push(this.tick++);
  }

  /** Chain `id`, just made with counters, got them now: the last run grows by it, or it starts one. */
  private countedRun(id: number): void {
    const { runs } = this;
    const n = runs.length;
    if (n > 0 && runs[n - 3]! + runs[n - 1]! === id && runs[n - 2]! + runs[n - 1]! === this.tick) runs[n - 1]!++;
    else runs.push(id, this.tick, 1);
    this.tick++;
  }

  /** The runs, into the lists (in tick order among themselves; `dropZeroedCounters` compares ticks, not places). */
  private countedRuns(chains: readonly Chain[]): void {
    const { runs } = this;
    for (let r = 0; r < runs.length; r += 3) {
      for (let k = 0; k < runs[r + 2]!; k++) {
        const c = chains[runs[r]! + k]!;
        this.counted.push(c);
        this.countedChain.push(c);
        this.countedAt.push(runs[r + 1]! + k);
      }
    }
    runs.length = 0;
  }

  /** `-Z [CHAIN]`. */
  zero(c?: Chain): void {
    if (c) this.zeroedChains.set(c, this.tick++);
    else this.zeroedAll = this.tick++;
  }

  /** Records that the `-A` line at `start` (numbered `line`) added `rules` to chain `c`. */
  defer(c: Chain, start: number, line: number, rules: readonly Rule[]): void {
    const id = this.ids!.idOf(c.name);
    if (this.ids!.chains[id] !== c) throw new Error(`internal error: chain ${c.name} is not the table's`);
    const at = this.lines.add(start, line, this.deferred.lastRecord(id));
    this.lineKeys?.boundLine(at);
    this.deferred.addBound(id, at, rules);
  }

  /** Records the `-A` line at `start` (numbered `line`) the fast path took (fast-append.ts). */
  deferFast(f: FastAppend, start: number, line: number): void {
    const id = f.chain;
    // A built-in chain is declared by a rule added to it; every other chain was when made.
    if (id < BUILTIN_CHAINS[this.table.name].length) this.ids!.chains[id]!.declared = true;
    const at = this.lines.add(start, line, this.deferred.lastRecord(id));
    this.lineKeys?.fast(at, f.dst, f.dport);
    this.deferred.addFast(f, at);
  }

  /** Binds what was deferred and keeps every rule bound from now on. */
  stopDeferring(): void {
    if (!this.deferring) return;
    // The chains' own Map from now on: `ids` goes, and with it what the runs of counters name.
    for (const c of this.chains.values()) if (!c.builtin) this.freeChains.add(c.name);
    const ids = this.ids!;
    this.countedRuns(ids.chains);
    for (const id of this.deferred.chainsInOrder()) {
      const c = ids.chains[id]!;
      const rules = this.rulesOf(c);
      for (const r of this.lines.bind(this.deferred.firstRecord(id))) {
        rules.append(r);
        this.noteCounters(c, r);
      }
    }
    this.deferred = new DeferredChains(() => "");
    this.ids = undefined;
    this.deferring = false;
    // Bound rules are kept as objects, which the cache does not store (cli/cache-format.ts).
    this.cacheable = false;
  }

  /** The table, its chains in order, each with its rules. */
  finish(): Table {
    this.dropZeroedCounters();
    const builtin = BUILTIN_CHAINS[this.table.name];
    const ids = this.ids;
    // While the table defers no chain was deleted, and made in order: built-in ones first.
    const byId = ids !== undefined && !this.replaced;
    if (byId) this.table.chains = ids.chains.slice();
    else {
      const user = [...this.chains.values()].filter((c) => !builtin.includes(c.name));
      this.table.chains = [...builtin.map((n) => this.chains.get(n)!), ...user];
    }
    const deferred = this.deferred;
    // By chain id: where its lines are, and its digest, are the builder's arrays until asked for.
    const source: Required<RulesSource<number>> = {
      bind: (id) => this.load(deferred.firstRecord(id)),
      digest: (id) => deferred.digestOf(id),
      unknown: (id) => deferred.unknownOf(id),
    };
    const firsts = new Int32Array(this.table.chains.length).fill(-1);
    const chains = this.table.chains;
    const made = new Array<ChainRules>(chains.length);
    for (let k = 0; k < chains.length; k++) {
      const c = chains[k]!;
      const id = ids === undefined ? -1 : byId ? k : ids.idOf(c.name);
      const first = id < 0 ? -1 : this.deferred.firstRecord(id);
      if (first >= 0) {
        firsts[k] = first;
        c.rules = made[k] = sourcedRules(deferred.countOf(id), source, id);
      } else c.rules = made[k] = boundRules(this.bound.get(c)?.toArray() ?? []);
    }
    if (this.cacheable && !this.text.spans) SOURCES.set(this.table, { lines: this.lines, firsts, rules: made, keys: this.lineKeys });
    // Chains numbered in order are positions: their jumps are known by number (model/table-jumps.ts).
    if (byId && !this.hasBoundRules()) {
      const n = chains.length;
      rememberTableJumps(this.table, () => {
        const jumps = deferred.tableJumps(n, (name) => ids.idOf(name));
        return jumps && { ...jumps, positions: ids.positions() };
      }, ids.chains, made);
    }
    return this.table;
  }

  private dropZeroedCounters(): void {
    if (this.zeroedAll < 0 && this.zeroedChains.size === 0) return;
    // (-Z stops the numbering, which joins the runs to the lists: this is for a table zeroed while numbering)
    if (this.ids) this.countedRuns(this.ids.chains);
    // What got counters more than once keeps the last time it did.
    const last = new Map<Rule | Chain, number>();
    this.counted.forEach((x, k) => {
      const j = last.get(x);
      if (j === undefined || this.countedAt[j]! < this.countedAt[k]!) last.set(x, k);
    });
    for (const [x, k] of last) {
      if (this.countedAt[k]! < Math.max(this.zeroedAll, this.zeroedChains.get(this.countedChain[k]!) ?? -1)) delete x.counters;
    }
  }

  /** The finished table's spans and bound rules: what moves when the dump is read (extract.ts). */
  boundSpans(): unknown[] {
    const out: unknown[] = [this.table.span];
    for (const c of this.table.chains) {
      out.push(c.span);
      if (c.rules.loaded()) out.push(c.rules.load());
    }
    return out;
  }

  /** A deferred chain's rules, bound on first use: moved to where the dump is, too. */
  private load(first: number): Rule[] {
    const rules = this.lines.bind(first);
    this.text.spans?.move(rules);
    return rules;
  }
}

/**
 * Where the `-A` lines of a table's deferred chains are, and binding them again. Each line is
 * a record of three numbers (start offset, line number, the chain's next record or -1) in one
 * typed array for the whole table: a 100k-rule dump holds no object per line.
 */
export class DeferredLines {
  private refs: Int32Array;
  private count: number;

  /**
   * `chains`: the table's chains as they are once the table is finished; `declaredLate`: the
   * line that declared each chain a rule named before it was one (see TableBuilder).
   */
  constructor(
    readonly text: DumpText,
    readonly table: TableName,
    private readonly chains: { has(name: string): boolean },
    readonly declaredLate: ReadonlyMap<string, number>,
    records?: Int32Array,
  ) {
    this.refs = records ?? new Int32Array(0);
    this.count = records ? records.length / REF_FIELDS : 0;
  }

  /** Records the line at `start` (numbered `line`) after record `after` of its chain (-1: its first). */
  add(start: number, line: number, after: number): number {
    if ((this.count + 1) * REF_FIELDS > this.refs.length) {
      const grown = new Int32Array(Math.max(64 * REF_FIELDS, this.refs.length * 2));
      grown.set(this.refs);
      this.refs = grown;
    }
    const at = this.count++;
    const o = at * REF_FIELDS;
    this.refs[o] = start;
    this.refs[o + 1] = line;
    this.refs[o + 2] = -1;
    if (after >= 0) this.refs[after * REF_FIELDS + 2] = at;
    return at;
  }

  /** Where the line of record `at` starts in the text. */
  startOf(at: number): number {
    return this.refs[at * REF_FIELDS]!;
  }

  /** The record after `at` in its chain (-1: `at` is the chain's last). */
  nextOf(at: number): number {
    return this.refs[at * REF_FIELDS + 2]!;
  }

  /** Every record, in the order they were added. */
  records(): Int32Array {
    return this.refs.subarray(0, this.count * REF_FIELDS);
  }

  /**
   * Whether the records from `first` on end (no record is read twice) and each starts a line
   * of the text: what a stored form must hold before it is bound (cli/cache-format.ts).
   */
  holds(first: number): boolean {
    const { text } = this.text;
    let at = first;
    for (let k = 0; k <= this.count; k++) {
      if (at === -1) return true;
      if (at < 0 || at >= this.count) return false;
      const start = this.refs[at * REF_FIELDS]!;
      if (start < 0 || start >= text.length || (start > 0 && text.charCodeAt(start - 1) !== 10)) return false;
      at = this.refs[at * REF_FIELDS + 2]!;
    }
    return false;
  }

  /** A reader of the same table's lines over other records (one record per line, none next: binding record k binds that line alone). */
  over(records: Int32Array): DeferredLines {
    return new DeferredLines(this.text, this.table, this.chains, this.declaredLate, records);
  }

  /** `bind`, one function for every chain of the table (a cache loads 40k chains). */
  readonly binder = (first: number): Rule[] => this.bind(first);

  /** Binds the recorded lines of the chain whose first record is `first`, as they were bound when read. */
  bind(first: number): Rule[] {
    const { family, quietSink } = this.text;
    // Binding reports nothing new either. One sink for all chains: a new one per chain cost a
    // set of reporters each (rule-binder.ts).
    const env: BindEnv = { family, table: this.table, sink: quietSink, line: 0, isChain: (n: string) => this.existedAt(n, env.line) };
    const rules: Rule[] = [];
    for (let at = first; at >= 0; at = this.refs[at * REF_FIELDS + 2]!) {
      const o = at * REF_FIELDS;
      const line = this.refs[o + 1]!;
      const l = readAgain(this.text, this.refs[o]!, line);
      if (l?.kind !== "command") continue;
      env.line = line;
      const cmd = bindCommand(l.args, env, l.counters ? counters(l.counters.value) : undefined);
      if (cmd?.kind === "append") for (const r of cmd.rules) rules.push(r);
    }
    // Most chains are short: an array of exactly their size, not one with room to grow.
    return rules.length < 16 ? rules.slice() : rules;
  }

  /** Whether chain `name` existed when line `line` was read. */
  private existedAt(name: string, line: number): boolean {
    if (!this.chains.has(name)) return false;
    const declared = this.declaredLate.get(name);
    return declared === undefined || declared < line;
  }
}

/** How a finished table's deferred chains are bound: its lines, and each chain's first record (-1: bound). */
export interface TableSource {
  lines: DeferredLines;
  /** By the chain's position in `table.chains`. */
  firsts: Int32Array;
  /** The rules each chain was given here, by position: a chain holding others is not this source's. */
  rules: readonly ChainRules[];
  /** What a chain index files each line's rule under, noted as the lines were read (IPv4 only). */
  keys?: LineKeys | undefined;
}

/**
 * The source of each finished table whose chains are all deferred or empty, and whose spans
 * are the dump's own: what a cache stores to make the table again without parsing it.
 */
const SOURCES = new WeakMap<Table, TableSource>();

export function tableSource(t: Table): TableSource | undefined {
  return SOURCES.get(t);
}

/** Makes the rules of `chain` those of a table source, as `finish` made them (its digest given). */
export function deferredChainRules(lines: DeferredLines, first: number, digest: ChainDigest): ChainRules {
  return first < 0 ? boundRules([]) : deferredRules(digest, lines.binder, first);
}

/** The line read before at `start` (numbered `line`), read again. */
export function readAgain(t: DumpText, start: number, line: number): SaveLine | null {
  let end = t.text.indexOf("\n", start);
  if (end < 0) end = t.text.length;
  return readSaveLine(t.text, start, end, line, () => {});
}
