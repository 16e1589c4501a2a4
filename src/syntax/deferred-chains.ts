/**
 * What a table keeps of each chain whose `-A` lines are deferred (bound on first read, see
 * model/chain-rules.ts): its first and last line record (table-builder.ts DeferredLines) and
 * its digest, in arrays by chain id (chain-ids.ts). A 10k-service dump has 42k chains; an
 * object or two per chain, and a Map from chain to them, cost more to make, to find and to
 * collect than the numbers they hold.
 *
 * A line the fast path took (fast-append.ts) changes the digest by numbers: which of its four
 * matches the chain has loaded so far, in order (one of 65 shared lists), whether it has DNAT,
 * its jumps in one list of records for the table. A chain with a line the binder read keeps
 * its digest whole instead, from then on; both give the digest `digestRule` would.
 */
import type { ChainDigest, Rule } from "../model/ast.js";
import { digestRule, emptyDigest, withOnce } from "../model/chain-rules.js";
import type { TableJumps } from "../model/table-jumps.js";
import { DNAT, FAST_MATCH_NAMES, fastDigestRule, JUMP, type FastAppend } from "./fast-append.js";

const NO_NAMES: readonly string[] = emptyDigest().matchNames;

/**
 * The lists of fast matches a chain may have loaded, in the order it loaded them, each once
 * (withOnce's own lists, so equal digests share them as digestRule's do), and what each
 * becomes with one more match: made as first needed.
 */
const STATE_LISTS: (readonly string[])[] = [NO_NAMES];
const NEXT_STATE: number[] = [-1, -1, -1, -1];

function nextState(state: number, code: number): number {
  const k = state * FAST_MATCH_NAMES.length + code;
  let next = NEXT_STATE[k]!;
  if (next < 0) {
    const list = withOnce(STATE_LISTS[state]!, FAST_MATCH_NAMES[code]!);
    next = STATE_LISTS.indexOf(list);
    if (next < 0) {
      next = STATE_LISTS.push(list) - 1;
      for (let c = 0; c < FAST_MATCH_NAMES.length; c++) NEXT_STATE.push(-1);
    }
    NEXT_STATE[k] = next;
  }
  return next;
}

const DNAT_NAMES = withOnce(NO_NAMES, "DNAT");

function grownInt32(a: Int32Array<ArrayBuffer>, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

/** Jump records: rule index, chain id jumped to, the chain's next jump record (-1: none). */
const JUMP_FIELDS = 3;

/**
 * Fields of a chain's entry, all in one array (what a line reads of its chain is then in one
 * place in memory): its first and last line record, rule count, fast match state (STATE_LISTS)
 * with DNAT_SEEN, first and last jump record. Records are kept plus one: a new entry is zeros.
 */
const FIRST = 0, LAST = 1, COUNT = 2, STATE = 3, FIRST_JUMP = 4, LAST_JUMP = 5, FIELDS = 6;
const DNAT_SEEN = 1 << 8, STATE_MASK = DNAT_SEEN - 1;

export class DeferredChains {
  private entries = new Int32Array(0);
  private jumps = new Int32Array(256 * JUMP_FIELDS);
  private jumpCount = 0;
  /** Digests kept whole, of chains with a line the binder read. */
  private readonly whole = new Map<number, ChainDigest>();
  /** Chain ids in the order their first line came. */
  private readonly order: number[] = [];

  /** `chainName`: the name of a chain by id. */
  constructor(private readonly chainName: (id: number) => string) {}

  /** Room for chain `id`. */
  private fit(id: number): void {
    const had = this.entries.length / FIELDS;
    if (id < had) return;
    const n = Math.max(id + 1, had * 2, 64);
    this.entries = grownInt32(this.entries, n * FIELDS);
  }

  /** The last line record of chain `id` (-1: none), to chain the next one after. */
  lastRecord(id: number): number {
    return id * FIELDS < this.entries.length ? this.entries[id * FIELDS + LAST]! - 1 : -1;
  }

  /** Chain `id` got the line of record `at`. */
  private recorded(id: number, at: number): void {
    this.fit(id);
    const o = id * FIELDS;
    if (this.entries[o + FIRST] === 0) {
      this.entries[o + FIRST] = at + 1;
      this.order.push(id);
    }
    this.entries[o + LAST] = at + 1;
  }

  /** The fast path's line `f` is record `at` of its chain. */
  addFast(f: FastAppend, at: number): void {
    const id = f.chain;
    this.recorded(id, at);
    const whole = this.whole.size > 0 ? this.whole.get(id) : undefined;
    if (whole) {
      digestRule(whole, fastDigestRule(f, this.chainName));
      return;
    }
    const e = this.entries;
    const o = id * FIELDS;
    let s = e[o + STATE]! & STATE_MASK;
    for (let k = 0; k < f.matchCount; k++) s = nextState(s, f.matches[k]!);
    e[o + STATE] = s | (e[o + STATE]! & DNAT_SEEN) | (f.target === DNAT ? DNAT_SEEN : 0);
    if (f.target === JUMP) this.addJump(o, e[o + COUNT]!, f.jumpTo);
    e[o + COUNT]++;
  }

  /** Rules the binder bound from the line of record `at` of chain `id`. */
  addBound(id: number, at: number, rules: readonly Rule[]): void {
    this.recorded(id, at);
    let whole = this.whole.get(id);
    if (!whole) {
      whole = this.digestOf(id);
      this.whole.set(id, whole);
    }
    for (const r of rules) digestRule(whole, r);
  }

  /** The jumps from record `j0` on, flat (ChainDigest), in an array of exactly their size. */
  private jumpsFrom(j0: number): (number | string)[] {
    const { jumps } = this;
    const next = (j: number) => jumps[j * JUMP_FIELDS + 2]!;
    // Most chains jump once (a KUBE-SEP chain to KUBE-MARK-MASQ).
    if (next(j0) < 0) return [jumps[j0 * JUMP_FIELDS]!, this.chainName(jumps[j0 * JUMP_FIELDS + 1]!)];
    let n = 0;
    for (let j = j0; j >= 0; j = next(j)) n += 2;
    const out = new Array<number | string>(n);
    n = 0;
    for (let j = j0; j >= 0; j = next(j)) {
      out[n++] = jumps[j * JUMP_FIELDS]!;
      out[n++] = this.chainName(jumps[j * JUMP_FIELDS + 1]!);
    }
    return out;
  }

  /** Rule `rule` of the chain whose entry is at `o` jumps to chain `to`. */
  private addJump(o: number, rule: number, to: number): void {
    if ((this.jumpCount + 1) * JUMP_FIELDS > this.jumps.length) this.jumps = grownInt32(this.jumps, this.jumps.length * 2);
    const at = this.jumpCount++;
    const j = at * JUMP_FIELDS;
    this.jumps[j] = rule;
    this.jumps[j + 1] = to;
    this.jumps[j + 2] = -1;
    const e = this.entries;
    const prev = e[o + LAST_JUMP]! - 1;
    if (prev < 0) e[o + FIRST_JUMP] = at + 1;
    else this.jumps[prev * JUMP_FIELDS + 2] = at;
    e[o + LAST_JUMP] = at + 1;
  }

  /**
   * The jumps of chains 0 .. n-1, by id, in rule order: what their digests' jumps say, with
   * chain ids for names (model/table-jumps.ts). A digest kept whole began as the jump records
   * its chain had then (`addBound`), which are still there; `idOf` finds the later ones by name.
   * Undefined when one of those is no chain (-1): the digests then tell.
   */
  tableJumps(n: number, idOf: (name: string) => number): Omit<TableJumps, "positions"> | undefined {
    const start = new Int32Array(n + 1);
    let targets = new Int32Array(this.jumpCount + 16);
    let e = 0;
    const { jumps, entries, whole } = this;
    // (a handful of chains, marked once rather than looked up for each of 42k)
    const isWhole = new Uint8Array(n);
    for (const id of whole.keys()) if (id < n) isWhole[id] = 1;
    const known = Math.min(n, entries.length / FIELDS);
    for (let id = 0; id < n; id++) {
      start[id] = e;
      if (id >= known) continue;
      for (let j = entries[id * FIELDS + FIRST_JUMP]! - 1; j >= 0; j = jumps[j * JUMP_FIELDS + 2]!) {
        if (e === targets.length) targets = grownInt32(targets, targets.length * 2);
        targets[e++] = jumps[j * JUMP_FIELDS + 1]!;
      }
      if (!isWhole[id]) continue;
      const list = whole.get(id)!.jumps;
      const recorded = 2 * (e - start[id]!);
      if (recorded > list.length) return undefined;
      for (let i = recorded + 1; i < list.length; i += 2) {
        const to = idOf(list[i] as string);
        if (to < 0) return undefined;
        if (e === targets.length) targets = grownInt32(targets, targets.length * 2);
        targets[e++] = to;
      }
    }
    start[n] = e;
    return { start, targets: targets.subarray(0, e) };
  }

  /** The first line record of chain `id`, or -1 when it has no deferred line. */
  firstRecord(id: number): number {
    return id * FIELDS < this.entries.length ? this.entries[id * FIELDS + FIRST]! - 1 : -1;
  }

  /** How many rules chain `id` has. */
  countOf(id: number): number {
    const whole = this.whole.get(id);
    return whole ? whole.count : this.entries[id * FIELDS + COUNT]!;
  }

  /** Chain ids with deferred lines, in the order their first line came. */
  chainsInOrder(): readonly number[] {
    return this.order;
  }

  /** Chain `id`'s digest's `unknown`: the fast path's lines use only extensions netfate knows. */
  unknownOf(id: number): readonly string[] {
    return this.whole.size > 0 ? (this.whole.get(id)?.unknown ?? NO_NAMES) : NO_NAMES;
  }

  /** Chain `id`'s digest (a new object: the caller keeps it). */
  digestOf(id: number): ChainDigest {
    const whole = this.whole.size > 0 ? this.whole.get(id) : undefined;
    if (whole) return whole;
    const d = emptyDigest();
    if (id * FIELDS >= this.entries.length) return d;
    const o = id * FIELDS;
    const state = this.entries[o + STATE]!;
    d.count = this.entries[o + COUNT]!;
    d.matchNames = STATE_LISTS[state & STATE_MASK]!;
    if (state & DNAT_SEEN) d.targetNames = DNAT_NAMES;
    const j0 = this.entries[o + FIRST_JUMP]! - 1;
    if (j0 >= 0) d.jumps = this.jumpsFrom(j0);
    return d;
  }
}
