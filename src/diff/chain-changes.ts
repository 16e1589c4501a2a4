/**
 * What changed between two dumps of one node, chain by chain: whether a chain's rules are the
 * same in both, and when not, which rules of each are not in the other in the same order.
 *
 * Rules are compared by what they say, not where they were: their place in the dump (spans),
 * their counters and a listing's line numbers are left out, so two days' `iptables-save -c`
 * dumps of an unchanged chain compare equal. Everything else is compared, whatever extension
 * data a rule carries; anything that is not plain data compares unequal (a chain that only
 * seems changed costs a packet one more evaluation, never a wrong answer).
 */
import type { Chain, Family, Rule, Ruleset, Table } from "../model/ast.js";
import { tableSource, type DeferredLines } from "../syntax/table-builder.js";

/** Chains where more rules than this differ are taken as wholly changed (see ChainChange). */
export const MAX_CHANGED_RULES = 512;

/**
 * A chain's change: `same`; or the rules of each side that are not in a common subsequence of
 * the two (every other rule is in both, in the same order); or `opaque` when the chain is new,
 * gone, or changed in more than MAX_CHANGED_RULES rules.
 */
export type ChainChange = "same" | "opaque" | { old: readonly Rule[]; new: readonly Rule[] };

const isSpan = (v: unknown): boolean =>
  typeof v === "object" && v !== null && typeof (v as { line?: unknown }).line === "number" && typeof (v as { col?: unknown }).col === "number";

/** Keys of a rule that say where it was and what it counted, not what it does. */
const RULE_ONLY = new Set(["counters", "lineNumber"]);

function ignored(key: string, a: unknown, b: unknown, top: boolean): boolean {
  return (top && RULE_ONLY.has(key)) || (key === "span" && (a === undefined || isSpan(a)) && (b === undefined || isSpan(b)));
}

function sameValue(a: unknown, b: unknown, top: boolean): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i], false)) return false;
    return true;
  }
  // Plain objects only: a Map or a typed array would compare by what JSON makes of it.
  if (Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (ignored(k, x[k], y[k], top)) continue;
    if (!Object.prototype.hasOwnProperty.call(y, k) || !sameValue(x[k], y[k], false)) return false;
    n++;
  }
  for (const k in y) if (!ignored(k, x[k], y[k], top)) n--;
  return n === 0;
}

/** Whether two rules say the same (spans, counters and line numbers aside). */
export function sameRule(a: Rule, b: Rule): boolean {
  return sameValue(a, b, true);
}

/** Answers of sameRules by the chains' rule lists (a chain's `load()` gives one list, always). */
const SAME_RULES = new WeakMap<readonly Rule[], WeakMap<readonly Rule[], boolean>>();

/** Whether two chains hold the same rules in the same order (asked of every chain by the search and by the comparison: worked out once). */
export function sameRules(a: readonly Rule[], b: readonly Rule[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  let known = SAME_RULES.get(a);
  const had = known?.get(b);
  if (had !== undefined) return had;
  let same = true;
  for (let i = 0; i < a.length && same; i++) same = sameRule(a[i]!, b[i]!);
  if (!known) SAME_RULES.set(a, (known = new WeakMap()));
  known.set(b, same);
  return same;
}

/** A table's deferred chains: each chain's first record, by the chain. */
interface TableLines {
  lines: DeferredLines;
  first: Map<Chain, number>;
}

const TABLE_LINES = new WeakMap<Table, TableLines | null>();

function tableLines(t: Table): TableLines | null {
  let l = TABLE_LINES.get(t);
  if (l === undefined) {
    const src = tableSource(t);
    l = src ? { lines: src.lines, first: new Map(t.chains.map((c, k) => [c, src.firsts[k]!])) } : null;
    TABLE_LINES.set(t, l);
  }
  return l;
}

/** Where the line at `i` of `t` says what it says: past the counters (`[p:b] `) of a `-c` dump, which a rule's comparison leaves out. */
function bodyStart(t: string, i: number): number {
  if (t.charCodeAt(i) !== 91) return i;
  const close = t.indexOf("] ", i);
  for (let k = i + 1; k < close; k++) {
    const c = t.charCodeAt(k);
    if ((c < 48 || c > 57) && c !== 58) return i;
  }
  return close < 0 ? i : close + 2;
}

function lineEnd(t: string, i: number): number {
  const e = t.indexOf("\n", i);
  return e < 0 ? t.length : e;
}

/** Whether the line at `i` of `x` reads as the one at `j` of `y`, counters aside. */
function sameLine(x: string, i: number, y: string, j: number): boolean {
  i = bodyStart(x, i);
  j = bodyStart(y, j);
  const n = lineEnd(x, i) - i;
  if (lineEnd(y, j) - j !== n) return false;
  // Two slices compared: the fastest of the ways tried (startsWith, a loop over the characters).
  return x.substring(i, i + n) === y.substring(j, j + n);
}

const sameList = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether `jumps` (a digest's) lists the jumps of `rules`: rule by rule, the chains a rule jumps or goes to. */
function listsJumps(rules: readonly Rule[], jumps: readonly (number | string)[]): boolean {
  let m = 0;
  for (let k = 0; k < rules.length; k++) {
    const t = rules[k]!.target;
    if (t?.kind !== "chain") continue;
    if (jumps[m] !== k || jumps[m + 1] !== t.chain) return false;
    m += 2;
  }
  return m === jumps.length;
}

/**
 * Whether two chains of the same count jump at the same rules to the same chains: from their
 * digests, without binding; a bound chain's digest would be made again from its rules, so its
 * rules are read instead.
 */
function sameJumps(a: Chain, b: Chain): boolean {
  const x = a.rules.loaded() ? undefined : a.rules.digest().jumps;
  const y = b.rules.loaded() ? undefined : b.rules.digest().jumps;
  if (x && y) return sameList(x, y);
  if (x) return listsJumps(b.rules.load(), x);
  if (y) return listsJumps(a.rules.load(), y);
  const ra = a.rules.load();
  const rb = b.rules.load();
  return ra.every((r, k) => {
    const t = r.target;
    const u = rb[k]!.target;
    return t?.kind === "chain" ? u?.kind === "chain" && u.chain === t.chain : u?.kind !== "chain";
  });
}

/**
 * Whether two chains still as a save dump recorded them (deferred, see table-builder.ts) have
 * the same lines: then binding them gives the same rules, so they are compared without binding
 * either. A line is bound from its own text, the table and family, and, for a `-j NAME` that
 * could name a target too, whether NAME is a chain there: that a rule jumps to NAME shows in
 * its chain's digest (sameJumps). Undefined when that does not show them the same
 * (either is not deferred, or a line differs: the rules may still be the same).
 */
function sameLines(ta: Table, a: Chain, tb: Table, b: Chain): boolean | undefined {
  let known = SAME_LINES.get(a);
  let same = known?.get(b);
  if (same === undefined) {
    same = linesAlike(ta, a, tb, b);
    if (!known) SAME_LINES.set(a, (known = new WeakMap()));
    known.set(b, same);
  }
  return same || undefined;
}

/** Answers of sameLines by the chains (the search and the comparison both ask). */
const SAME_LINES = new WeakMap<Chain, WeakMap<Chain, boolean>>();

function linesAlike(ta: Table, a: Chain, tb: Table, b: Chain): boolean {
  const x = tableLines(ta);
  const y = tableLines(tb);
  let i = x?.first.get(a) ?? -1;
  let j = y?.first.get(b) ?? -1;
  if (i < 0 || j < 0) return false;
  if (x!.lines.table !== y!.lines.table || x!.lines.text.family !== y!.lines.text.family) return false;
  if (a.rules.count !== b.rules.count || !sameJumps(a, b)) return false;
  const tx = x!.lines.text.text;
  const ty = y!.lines.text.text;
  const lx = x!.lines;
  const ly = y!.lines;
  while (i >= 0 && j >= 0) {
    if (!sameLine(tx, lx.startOf(i), ty, ly.startOf(j))) return false;
    i = lx.nextOf(i);
    j = ly.nextOf(j);
  }
  return i < 0 && j < 0;
}

/**
 * Whether chain `a` of table `ta` and chain `b` of `tb` hold the same rules in the same order:
 * by their dump lines when both are as read (nothing is bound), else by their rules (sameRules).
 * `byLines` false: always by the rules (for tests that check the lines agree with them).
 */
export function sameChainRules(ta: Table, a: Chain, tb: Table, b: Chain, byLines = true): boolean {
  if (a.rules.count !== b.rules.count) return false;
  return (byLines && sameLines(ta, a, tb, b)) || sameRules(a.rules.load(), b.rules.load());
}

/**
 * Each rule's dump line (counters aside), rule by rule, when the chain's table was read from a
 * save dump: a key for finding a rule's twin as good as its JSON (twins are checked with
 * sameRule either way; a rule written two ways only goes unpaired, as if changed) and a tenth
 * of its cost, KUBE-SERVICES' 10,000 rules each side. Undefined when the lines are not there,
 * or are not one per rule.
 */
function lineKeys(t: Table, c: Chain, count: number): string[] | undefined {
  const l = tableLines(t);
  let i = l?.first.get(c) ?? -1;
  if (i < 0) return undefined;
  const { lines } = l!;
  const text = lines.text.text;
  const keys: string[] = [];
  for (; i >= 0 && keys.length <= count; i = lines.nextOf(i)) {
    const start = bodyStart(text, lines.startOf(i));
    keys.push(text.substring(start, lineEnd(text, start)));
  }
  return keys.length === count ? keys : undefined;
}

/** A rule as one string, for finding its twin; twins found this way are checked with sameRule. */
function ruleKey(r: Rule): string {
  return JSON.stringify(r, function (this: unknown, key, value: unknown) {
    if (this === r && RULE_ONLY.has(key)) return undefined;
    return key === "span" && isSpan(value) ? undefined : value;
  });
}

/**
 * Positions of a longest strictly increasing subsequence of `seq` (patience sorting,
 * O(n log n)).
 */
function increasingRun(seq: readonly number[]): number[] {
  const tails: number[] = [];
  const prev = new Int32Array(seq.length).fill(-1);
  for (let i = 0; i < seq.length; i++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seq[tails[mid]!]! < seq[i]!) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tails[lo - 1]!;
    tails[lo] = i;
  }
  const out: number[] = [];
  for (let i = tails.length ? tails[tails.length - 1]! : -1; i >= 0; i = prev[i]!) out.push(i);
  return out.reverse();
}

/**
 * How the rules of one chain changed. The common prefix and suffix are kept; between them,
 * rules that occur once on each side are paired, and the pairs in the same order on both
 * sides kept (rules that occur more than once stay unpaired: as if changed). Linear apart from
 * the sort of the pairs.
 */
export function chainChange(a: readonly Rule[], b: readonly Rule[], keys?: readonly [readonly string[], readonly string[]]): ChainChange {
  let p = 0;
  while (p < a.length && p < b.length && sameRule(a[p]!, b[p]!)) p++;
  if (p === a.length && p === b.length) return "same";
  let s = 0;
  while (s < a.length - p && s < b.length - p && sameRule(a[a.length - 1 - s]!, b[b.length - 1 - s]!)) s++;
  const ma = a.slice(p, a.length - s);
  const mb = b.slice(p, b.length - s);
  // Too many changes for a prefix and a suffix to cover, and too many for pairing to matter.
  if (Math.abs(ma.length - mb.length) > MAX_CHANGED_RULES) return "opaque";
  const where = new Map<string, { a: number; b: number; na: number; nb: number }>();
  // A rule's key: its dump line when both chains have theirs (lineKeys), else its JSON.
  const keyA = (i: number) => (keys ? keys[0][p + i]! : ruleKey(ma[i]!));
  const keyB = (j: number) => (keys ? keys[1][p + j]! : ruleKey(mb[j]!));
  ma.forEach((_, i) => {
    const k = keyA(i);
    const w = where.get(k);
    if (w) w.na++;
    else where.set(k, { a: i, b: -1, na: 1, nb: 0 });
  });
  mb.forEach((_, j) => {
    const w = where.get(keyB(j));
    if (!w) return;
    w.nb++;
    w.b = j;
  });
  const pairs: Array<[number, number]> = [];
  for (const w of where.values()) if (w.na === 1 && w.nb === 1 && sameRule(ma[w.a]!, mb[w.b]!)) pairs.push([w.a, w.b]);
  pairs.sort((x, y) => x[0] - y[0]);
  const keptA = new Uint8Array(ma.length);
  const keptB = new Uint8Array(mb.length);
  for (const i of increasingRun(pairs.map((x) => x[1]))) {
    keptA[pairs[i]![0]] = 1;
    keptB[pairs[i]![1]] = 1;
  }
  const old = ma.filter((_, i) => !keptA[i]);
  const neu = mb.filter((_, j) => !keptB[j]);
  if (old.length + neu.length > MAX_CHANGED_RULES) return "opaque";
  return { old, new: neu };
}

/** A chain and the table it is of (which says how its rules were read). */
export interface PlacedChain {
  table: Table;
  chain: Chain;
}

/**
 * The chains the evaluator runs for `family`, by table and name: every table of the family's
 * rulesets, a later ruleset's chain of a name replacing an earlier one's, as compileRulesets
 * merges them (one backend: callers check that no ruleset splits into iptables-legacy and
 * iptables-nft).
 */
export function chainsByPlace(rulesets: readonly Ruleset[], family: Family): Map<string, Map<string, PlacedChain>> {
  const out = new Map<string, Map<string, PlacedChain>>();
  for (const rs of rulesets) {
    if (rs.family !== family) continue;
    for (const t of rs.tables) {
      let chains = out.get(t.name);
      if (!chains) out.set(t.name, (chains = new Map()));
      for (const chain of t.chains) chains.set(chain.name, { table: t, chain });
    }
  }
  return out;
}

/** Chain changes between two sides of one family, each worked out once, when first asked. */
export class ChainChanges {
  private readonly old: Map<string, Map<string, PlacedChain>>;
  private readonly neu: Map<string, Map<string, PlacedChain>>;
  private readonly known = new Map<string, Map<string, ChainChange>>();

  /** `byLines` false: chains are compared by their rules only (see sameChainRules). */
  constructor(oldSide: readonly Ruleset[], newSide: readonly Ruleset[], family: Family, private readonly byLines = true) {
    this.old = chainsByPlace(oldSide, family);
    this.neu = chainsByPlace(newSide, family);
  }

  /**
   * The change of chain `chain` of table `table`: its rules, and what the chain itself says
   * (built-in or not, declared, policy), which must be the same for the chain to be `same` or a
   * set of rule changes. A chain neither side has is the same (absent) in both.
   */
  at(table: string, chain: string): ChainChange {
    let known = this.known.get(table);
    if (!known) this.known.set(table, (known = new Map()));
    let c = known.get(chain);
    if (c === undefined) {
      const x = this.old.get(table)?.get(chain);
      const y = this.neu.get(table)?.get(chain);
      const a = x?.chain;
      const b = y?.chain;
      if (!a && !b) c = "same";
      else if (!a || !b || a.builtin !== b.builtin || a.declared !== b.declared || !sameValue(a.policy, b.policy, false)) c = "opaque";
      else if (sameChainRules(x!.table, a, y!.table, b, this.byLines)) c = "same";
      else {
        const ra = a.rules.load();
        const rb = b.rules.load();
        const ka = this.byLines ? lineKeys(x!.table, a, ra.length) : undefined;
        const kb = ka && lineKeys(y!.table, b, rb.length);
        c = chainChange(ra, rb, ka && kb ? [ka, kb] : undefined);
      }
      known.set(chain, c);
    }
    return c;
  }
}
