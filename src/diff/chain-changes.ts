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
import type { Chain, Family, Rule, Ruleset } from "../model/ast.js";

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
export function chainChange(a: readonly Rule[], b: readonly Rule[]): ChainChange {
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
  ma.forEach((r, i) => {
    const k = ruleKey(r);
    const w = where.get(k);
    if (w) w.na++;
    else where.set(k, { a: i, b: -1, na: 1, nb: 0 });
  });
  mb.forEach((r, j) => {
    const w = where.get(ruleKey(r));
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

/**
 * The chains the evaluator runs for `family`, by table and name: every table of the family's
 * rulesets, a later ruleset's chain of a name replacing an earlier one's, as compileRulesets
 * merges them (one backend: callers check that no ruleset splits into iptables-legacy and
 * iptables-nft).
 */
export function chainsByPlace(rulesets: readonly Ruleset[], family: Family): Map<string, Map<string, Chain>> {
  const out = new Map<string, Map<string, Chain>>();
  for (const rs of rulesets) {
    if (rs.family !== family) continue;
    for (const t of rs.tables) {
      let chains = out.get(t.name);
      if (!chains) out.set(t.name, (chains = new Map()));
      for (const c of t.chains) chains.set(c.name, c);
    }
  }
  return out;
}

/** Chain changes between two sides of one family, each worked out once, when first asked. */
export class ChainChanges {
  private readonly old: Map<string, Map<string, Chain>>;
  private readonly neu: Map<string, Map<string, Chain>>;
  private readonly known = new Map<string, Map<string, ChainChange>>();

  constructor(oldSide: readonly Ruleset[], newSide: readonly Ruleset[], family: Family) {
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
      const a = this.old.get(table)?.get(chain);
      const b = this.neu.get(table)?.get(chain);
      if (!a && !b) c = "same";
      else if (!a || !b || a.builtin !== b.builtin || a.declared !== b.declared || !sameValue(a.policy, b.policy, false)) c = "opaque";
      else c = sameRules(a.rules.load(), b.rules.load()) ? "same" : chainChange(a.rules.load(), b.rules.load());
      known.set(chain, c);
    }
    return c;
  }
}
