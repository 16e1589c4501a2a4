/**
 * A chain's rules while a script is read, for the commands that do not append: `insert` (at
 * the front), `add`/`insert ... index N` and `... position|handle H` (beside a rule), `replace`
 * and `delete` by handle. They are kept in a block list (a plain array moved the whole chain on
 * every such command: 100,000 `insert rule` lines took nine seconds).
 *
 * Appending stays a push onto `chain.rules` (a listing only appends, and never builds a
 * sequence): the sequence takes in whatever was pushed there before each command, and gives
 * the chain its whole list back on `settle`.
 */
import { BlockList } from "../block-list.js";
import type { NftChain, NftRule } from "../model/nft.js";

export class RuleSequence {
  private readonly rules = new BlockList<NftRule>();
  private readonly byHandle = new Map<number, NftRule>();

  constructor(private readonly chain: NftChain) {}

  get length(): number {
    this.takeAppended();
    return this.rules.length;
  }

  /** The rule the listing numbered `handle` (`-a`), if the chain still has it. */
  withHandle(handle: number): NftRule | undefined {
    this.takeAppended();
    return this.byHandle.get(handle);
  }

  /** `insert rule` without a position: first in the chain. */
  unshift(rule: NftRule): void {
    this.takeAppended();
    this.rules.unshift(rule);
    this.named(rule);
  }

  /** The rule put at position `index` (0 first; `length` appends). */
  insertAt(index: number, rule: NftRule): void {
    this.takeAppended();
    this.rules.insertAt(index, rule);
    this.named(rule);
  }

  /** The rule at `index` (which the caller has checked is below `length`). */
  ruleAt(index: number): NftRule {
    this.takeAppended();
    const r = this.rules.at(index);
    if (!r) throw new RangeError(`no rule at ${index} of ${this.rules.length}`);
    return r;
  }

  /** Where `rule` is (0 first), or -1. */
  positionOf(rule: NftRule): number {
    this.takeAppended();
    return this.rules.positionOf(rule);
  }

  remove(rule: NftRule): void {
    this.takeAppended();
    if (this.rules.remove(rule)) this.unnamed(rule);
  }

  /** `replace rule`: `next` takes `old`'s place. */
  replace(old: NftRule, next: NftRule): void {
    this.takeAppended();
    if (!this.rules.has(old)) return;
    this.rules.replace(old, next);
    this.unnamed(old);
    this.named(next);
  }

  /** `flush chain`: no rules. */
  clear(): void {
    this.rules.clear();
    this.byHandle.clear();
    this.chain.rules = [];
  }

  /** The chain's rules in order, back in `chain.rules`, once all is read. */
  settle(): void {
    this.takeAppended();
    const all = this.rules.toArray();
    this.clear();
    this.chain.rules = all;
  }

  /** The rules pushed onto `chain.rules` since the last command, now at the sequence's end. */
  private takeAppended(): void {
    const pushed = this.chain.rules;
    if (pushed.length === 0) return;
    this.chain.rules = [];
    for (const r of pushed) {
      this.rules.push(r);
      this.named(r);
    }
  }

  private named(rule: NftRule): void {
    if (rule.handle !== undefined) this.byHandle.set(rule.handle, rule);
  }

  private unnamed(rule: NftRule): void {
    if (rule.handle !== undefined && this.byHandle.get(rule.handle) === rule) this.byHandle.delete(rule.handle);
  }
}
