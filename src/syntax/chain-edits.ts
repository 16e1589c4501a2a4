/**
 * A chain's bound rules as an iptables-restore script's commands change them: `-A` appends,
 * `-I` inserts at a position, `-D` deletes by position or the first rule with the same spec,
 * `-F` empties. Each costs time that does not grow with the chain's length: with arrays,
 * 100,000 `-I` lines took over four minutes. The rules are kept in a block list, and for `-D`
 * by spec, an index from each spec's text to its rules in chain order, built when first
 * needed (printing every rule of a dump that has no such line would cost more than it saves).
 */
import { BlockList } from "../block-list.js";
import type { Rule } from "../model/ast.js";

export class ChainEdits implements Iterable<Rule> {
  private readonly rules = new BlockList<Rule>();
  private bySpec: Map<string, BlockList<Rule>> | undefined;

  /**
   * `spec` prints a rule's spec, what `-D` compares (not its counters); `jumps` counts, for the
   * whole table, the rules that jump or go to each chain (`-X` refuses a chain in use), and
   * `touched` hears of each chain whose rules or jumps to it changed.
   */
  constructor(
    private readonly name: string,
    private readonly spec: (r: Rule) => string,
    private readonly jumps: Map<string, number>,
    private readonly touched: (chain: string) => void,
  ) {}

  get length(): number {
    return this.rules.length;
  }

  append(r: Rule): void {
    this.rules.push(r);
    this.counted(r, 1);
    if (this.bySpec) this.sameSpec(r).push(r);
  }

  /**
   * `-I CHAIN N`: `rules` put before the rule at position `n` (1 first), in their order. Gives
   * that rule, if there is one and it is not the first (the one an insert is anchored to).
   */
  insert(n: number, rules: readonly Rule[]): Rule | undefined {
    const anchor = n > 1 ? this.rules.at(n - 1) : undefined;
    rules.forEach((r, k) => {
      const at = n - 1 + k;
      this.rules.insertAt(at, r);
      this.counted(r, 1);
      if (this.bySpec) this.placeBySpec(r, at);
    });
    return anchor;
  }

  /** `-D CHAIN N`: the rule deleted, none where the chain has no rule `n` (1 first). */
  deleteAt(n: number): Rule | undefined {
    const r = n >= 1 ? this.rules.at(n - 1) : undefined;
    if (!r) return undefined;
    this.rules.remove(r);
    this.counted(r, -1);
    this.bySpec?.get(this.spec(r))?.remove(r);
    return r;
  }

  /** `-D CHAIN RULE-SPEC`: the first rule with `like`'s spec, deleted; none where there is none. */
  deleteFirstLike(like: Rule): Rule | undefined {
    const same = this.index().get(this.spec(like));
    const r = same?.at(0);
    if (!r) return undefined;
    same!.remove(r);
    this.rules.remove(r);
    this.counted(r, -1);
    return r;
  }

  clear(): void {
    const gone = this.rules.toArray();
    this.rules.clear();
    this.bySpec = undefined;
    for (const r of gone) this.counted(r, -1);
    this.touched(this.name);
  }

  toArray(): Rule[] {
    return this.rules.toArray();
  }

  [Symbol.iterator](): Iterator<Rule> {
    return this.rules[Symbol.iterator]();
  }

  private counted(r: Rule, by: 1 | -1): void {
    this.touched(this.name);
    if (r.target?.kind !== "chain") return;
    this.jumps.set(r.target.chain, (this.jumps.get(r.target.chain) ?? 0) + by);
    this.touched(r.target.chain);
  }

  private index(): Map<string, BlockList<Rule>> {
    if (!this.bySpec) {
      this.bySpec = new Map();
      for (const r of this.rules) this.sameSpec(r).push(r);
    }
    return this.bySpec;
  }

  private sameSpec(r: Rule): BlockList<Rule> {
    const k = this.spec(r);
    let list = this.bySpec!.get(k);
    if (!list) this.bySpec!.set(k, (list = new BlockList()));
    return list;
  }

  /** `r`, now at chain position `at`, among the rules of its spec: they stay in chain order. */
  private placeBySpec(r: Rule, at: number): void {
    const same = this.sameSpec(r);
    let lo = 0;
    let hi = same.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rules.positionOf(same.at(mid)!) < at) lo = mid + 1;
      else hi = mid;
    }
    same.insertAt(lo, r);
  }
}
