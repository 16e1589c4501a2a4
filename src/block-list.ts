/**
 * A list that is cheap to change in the middle: a chain's rules while a script inserts and
 * deletes them by position (`iptables-restore`'s `-I`/`-D`, nft's `insert`/`index`/`handle`).
 * With a plain array each such command moves the whole chain, so 100,000 `-I` lines took
 * minutes. Here the items sit in blocks of a few hundred, so reaching a position walks the
 * blocks and a change moves one block: each command costs the square root of the list's length
 * at most. Items are distinct objects, so where one is can be asked directly.
 */

/** Items per block: a block is split when it reaches twice this. */
const BLOCK = 256;

export class BlockList<T extends object> implements Iterable<T> {
  private blocks: T[][] = [];
  private readonly blockOf = new Map<T, T[]>();
  private count = 0;
  /**
   * Items pushed since the last other change: appending is most of what a list sees (a dump's
   * `-A` lines), so it costs an array push, and the blocks take them in when next asked.
   */
  private appended: T[] = [];

  constructor(items: Iterable<T> = []) {
    for (const x of items) this.push(x);
  }

  get length(): number {
    return this.count + this.appended.length;
  }

  push(x: T): void {
    this.appended.push(x);
  }

  unshift(x: T): void {
    this.takeAppended();
    let first = this.blocks[0];
    if (!first || first.length >= 2 * BLOCK) this.blocks.unshift((first = []));
    first.unshift(x);
    this.placed(x, first);
  }

  /** `x` put at position `index` (0 first; `length` appends). */
  insertAt(index: number, x: T): void {
    this.takeAppended();
    if (index < 0 || index > this.count) throw new RangeError(`position ${index} of a list of ${this.count}`);
    let i = 0;
    let at = index;
    while (i < this.blocks.length && at > this.blocks[i]!.length) at -= this.blocks[i++]!.length;
    if (i === this.blocks.length) this.blocks.push([]);
    const block = this.blocks[i]!;
    block.splice(at, 0, x);
    this.placed(x, block);
    if (block.length >= 2 * BLOCK) {
      const tail = block.splice(BLOCK);
      for (const y of tail) this.blockOf.set(y, tail);
      this.blocks.splice(i + 1, 0, tail);
    }
  }

  at(index: number): T | undefined {
    this.takeAppended();
    if (index < 0) return undefined;
    let at = index;
    for (const b of this.blocks) {
      if (at < b.length) return b[at];
      at -= b.length;
    }
    return undefined;
  }

  /** Where `x` is (0 first), or -1. */
  positionOf(x: T): number {
    this.takeAppended();
    const block = this.blockOf.get(x);
    if (!block) return -1;
    let before = 0;
    for (const b of this.blocks) {
      if (b === block) return before + b.indexOf(x);
      before += b.length;
    }
    return -1;
  }

  has(x: T): boolean {
    this.takeAppended();
    return this.blockOf.has(x);
  }

  remove(x: T): boolean {
    this.takeAppended();
    const block = this.blockOf.get(x);
    if (!block) return false;
    block.splice(block.indexOf(x), 1);
    this.blockOf.delete(x);
    this.count--;
    if (block.length === 0) this.blocks.splice(this.blocks.indexOf(block), 1);
    return true;
  }

  /** `next` takes `old`'s place. */
  replace(old: T, next: T): void {
    this.takeAppended();
    const block = this.blockOf.get(old);
    if (!block) return;
    block[block.indexOf(old)] = next;
    this.blockOf.delete(old);
    this.blockOf.set(next, block);
  }

  clear(): void {
    this.blocks = [];
    this.blockOf.clear();
    this.count = 0;
    this.appended = [];
  }

  toArray(): T[] {
    this.takeAppended();
    const all: T[] = [];
    for (const b of this.blocks) for (const x of b) all.push(x);
    return all;
  }

  *[Symbol.iterator](): Iterator<T> {
    this.takeAppended();
    for (const b of this.blocks) yield* b;
  }

  private takeAppended(): void {
    if (this.appended.length === 0) return;
    const xs = this.appended;
    this.appended = [];
    for (const x of xs) {
      let last = this.blocks[this.blocks.length - 1];
      if (!last || last.length >= BLOCK) this.blocks.push((last = []));
      last.push(x);
      this.placed(x, last);
    }
  }

  private placed(x: T, block: T[]): void {
    this.blockOf.set(x, block);
    this.count++;
  }
}
