/**
 * A chain's rules while a script is read, for the commands that do not append: `insert` (at
 * the front), `add`/`insert ... index N` and `... position|handle H` (beside a rule), `replace`
 * and `delete` by handle. With a plain array each of those moves the whole chain, so a script
 * of 100,000 `insert rule` lines took nine seconds; here the rules are kept in blocks of a few
 * hundred, so each command costs the square root of the chain's length at most.
 *
 * Appending stays a push onto `chain.rules` (a listing only appends, and never builds a
 * sequence): the sequence takes in whatever was pushed there before each command, and gives
 * the chain its whole list back on `settle`.
 */
import type { NftChain, NftRule } from "../model/nft.js";

/** Rules per block: a block is split when it reaches twice this, so a move within one is short. */
const BLOCK = 256;

export class RuleSequence {
  private blocks: NftRule[][] = [];
  private readonly blockOf = new Map<NftRule, NftRule[]>();
  private readonly byHandle = new Map<number, NftRule>();
  private count = 0;

  constructor(private readonly chain: NftChain) {}

  get length(): number {
    this.takeAppended();
    return this.count;
  }

  /** The rule the listing numbered `handle` (`-a`), if the chain still has it. */
  withHandle(handle: number): NftRule | undefined {
    this.takeAppended();
    return this.byHandle.get(handle);
  }

  /** `insert rule` without a position: first in the chain. */
  unshift(rule: NftRule): void {
    this.takeAppended();
    const first = this.blocks[0];
    if (first && first.length < 2 * BLOCK) first.unshift(rule), this.placed(rule, first);
    else {
      const block = [rule];
      this.blocks.unshift(block);
      this.placed(rule, block);
    }
  }

  /** The rule put at position `index` (0 first; `length` appends). */
  insertAt(index: number, rule: NftRule): void {
    this.takeAppended();
    let i = 0;
    let at = index;
    while (i < this.blocks.length && at > this.blocks[i]!.length) at -= this.blocks[i++]!.length;
    if (i === this.blocks.length) this.blocks.push([]);
    const block = this.blocks[i]!;
    block.splice(at, 0, rule);
    this.placed(rule, block);
    if (block.length >= 2 * BLOCK) this.split(i);
  }

  /** The rule at `index` (which the caller has checked is below `length`). */
  ruleAt(index: number): NftRule {
    this.takeAppended();
    let at = index;
    for (const b of this.blocks) {
      if (at < b.length) return b[at]!;
      at -= b.length;
    }
    throw new RangeError(`no rule at ${index} of ${this.count}`);
  }

  /** Where `rule` is (0 first), or -1. */
  positionOf(rule: NftRule): number {
    this.takeAppended();
    const block = this.blockOf.get(rule);
    if (!block) return -1;
    let before = 0;
    for (const b of this.blocks) {
      if (b === block) return before + b.indexOf(rule);
      before += b.length;
    }
    return -1;
  }

  remove(rule: NftRule): void {
    this.takeAppended();
    const block = this.blockOf.get(rule);
    if (!block) return;
    block.splice(block.indexOf(rule), 1);
    this.blockOf.delete(rule);
    if (rule.handle !== undefined && this.byHandle.get(rule.handle) === rule) this.byHandle.delete(rule.handle);
    this.count--;
    if (block.length === 0) this.blocks.splice(this.blocks.indexOf(block), 1);
  }

  /** `replace rule`: `next` takes `old`'s place. */
  replace(old: NftRule, next: NftRule): void {
    this.takeAppended();
    const block = this.blockOf.get(old);
    if (!block) return;
    block[block.indexOf(old)] = next;
    this.blockOf.delete(old);
    if (old.handle !== undefined && this.byHandle.get(old.handle) === old) this.byHandle.delete(old.handle);
    this.count--;
    this.placed(next, block);
  }

  /** `flush chain`: no rules. */
  clear(): void {
    this.blocks = [];
    this.blockOf.clear();
    this.byHandle.clear();
    this.count = 0;
    this.chain.rules = [];
  }

  /** The chain's rules in order, back in `chain.rules`, once all is read. */
  settle(): void {
    this.takeAppended();
    const all: NftRule[] = [];
    for (const b of this.blocks) for (const r of b) all.push(r);
    this.clear();
    this.chain.rules = all;
  }

  /** The rules pushed onto `chain.rules` since the last command, now at the sequence's end. */
  private takeAppended(): void {
    const pushed = this.chain.rules;
    if (pushed.length === 0) return;
    this.chain.rules = [];
    for (const r of pushed) {
      let last = this.blocks[this.blocks.length - 1];
      if (!last || last.length >= BLOCK) this.blocks.push((last = []));
      last.push(r);
      this.placed(r, last);
    }
  }

  private placed(rule: NftRule, block: NftRule[]): void {
    this.blockOf.set(rule, block);
    if (rule.handle !== undefined) this.byHandle.set(rule.handle, rule);
    this.count++;
  }

  private split(i: number): void {
    const block = this.blocks[i]!;
    const tail = block.splice(BLOCK);
    for (const r of tail) this.blockOf.set(r, tail);
    this.blocks.splice(i + 1, 0, tail);
  }
}
