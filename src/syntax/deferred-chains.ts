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

function grownInt32(a: Int32Array<ArrayBuffer>, size: number, fill: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size).fill(fill);
  b.set(a);
  return b;
}

/** Jump records: rule index, chain id jumped to, the chain's next jump record (-1: none). */
const JUMP_FIELDS = 3;

export class DeferredChains {
  /** Per chain id: first and last line record (-1: no line), rule count, match state, DNAT seen. */
  private first = new Int32Array(64).fill(-1);
  private last = new Int32Array(64).fill(-1);
  private count = new Int32Array(64);
  private state = new Uint8Array(64);
  private dnat = new Uint8Array(64);
  private firstJump = new Int32Array(64).fill(-1);
  private lastJump = new Int32Array(64).fill(-1);
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
    if (id < this.first.length) return;
    const n = Math.max(id + 1, this.first.length * 2);
    this.first = grownInt32(this.first, n, -1);
    this.last = grownInt32(this.last, n, -1);
    this.count = grownInt32(this.count, n, 0);
    this.firstJump = grownInt32(this.firstJump, n, -1);
    this.lastJump = grownInt32(this.lastJump, n, -1);
    const state = new Uint8Array(n);
    state.set(this.state);
    this.state = state;
    const dnat = new Uint8Array(n);
    dnat.set(this.dnat);
    this.dnat = dnat;
  }

  /** The last line record of chain `id` (-1: none), to chain the next one after. */
  lastRecord(id: number): number {
    return id < this.last.length ? this.last[id]! : -1;
  }

  /** Chain `id` got the line of record `at`. */
  private recorded(id: number, at: number): void {
    this.fit(id);
    if (this.first[id]! < 0) {
      this.first[id] = at;
      this.order.push(id);
    }
    this.last[id] = at;
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
    let s = this.state[id]!;
    for (let k = 0; k < f.matchCount; k++) s = nextState(s, f.matches[k]!);
    this.state[id] = s;
    if (f.target === DNAT) this.dnat[id] = 1;
    else if (f.target === JUMP) this.addJump(id, this.count[id]!, f.jumpTo);
    this.count[id]++;
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

  private addJump(id: number, rule: number, to: number): void {
    if ((this.jumpCount + 1) * JUMP_FIELDS > this.jumps.length) this.jumps = grownInt32(this.jumps, this.jumps.length * 2, 0);
    const at = this.jumpCount++;
    const o = at * JUMP_FIELDS;
    this.jumps[o] = rule;
    this.jumps[o + 1] = to;
    this.jumps[o + 2] = -1;
    const prev = this.lastJump[id]!;
    if (prev < 0) this.firstJump[id] = at;
    else this.jumps[prev * JUMP_FIELDS + 2] = at;
    this.lastJump[id] = at;
  }

  /** The first line record of chain `id`, or -1 when it has no deferred line. */
  firstRecord(id: number): number {
    return id < this.first.length ? this.first[id]! : -1;
  }

  /** How many rules chain `id` has. */
  countOf(id: number): number {
    const whole = this.whole.get(id);
    return whole ? whole.count : this.count[id]!;
  }

  /** Chain ids with deferred lines, in the order their first line came. */
  chainsInOrder(): readonly number[] {
    return this.order;
  }

  /** Chain `id`'s digest (a new object: the caller keeps it). */
  digestOf(id: number): ChainDigest {
    const whole = this.whole.get(id);
    if (whole) return whole;
    if (id >= this.first.length) return emptyDigest();
    const d = emptyDigest();
    d.count = this.count[id]!;
    d.matchNames = STATE_LISTS[this.state[id]!]!;
    if (this.dnat[id]) d.targetNames = DNAT_NAMES;
    const j0 = this.firstJump[id]!;
    if (j0 >= 0) d.jumps = this.jumpsFrom(j0);
    return d;
  }
}
