/**
 * Which of the flow memo's answers stay when they outweigh its budget (flow-memo.ts).
 *
 * Forgetting the oldest first (FIFO) empties the memo on a stream whose keys come round in
 * order and outnumber what fits: each answer is forgotten just before its key comes again, and
 * nothing is ever answered. So, as W-TinyLFU does (Einziger, Friedman, Manes 2017): a new answer
 * enters a small window (a sixteenth of the budget) in any case, so that a key seen twice in
 * quick succession is answered; one leaving the window stays only if its key has been looked up
 * more often, lately, than the key of the answer it would push out of the rest (the main part,
 * whose candidate to leave is chosen by CLOCK: an answer used since the hand last passed gets a
 * second chance). On a round-robin stream the answers in the main part then stay and go on being
 * used; a working set that moves is let in as its keys come more often than the old ones.
 * How often a key was looked up is told by a count-min sketch (its size set by the budget, not
 * by the keys) whose counts are halved every so many lookups (lately, not ever). Memory: the
 * sketch, and two queues that hold each kept answer once (plus ones taken out elsewhere,
 * dropped when they would outnumber the rest). Each step is constant time, amortized.
 */

/** What the room needs of a kept answer. */
export interface Resident {
  /** What it weighs (keptBytes). */
  readonly bytes: number;
  /** Its key's lookup hash (how often it was looked up is counted by it). */
  readonly hash: number;
  /** Used since the CLOCK hand last passed it. */
  used: boolean;
  /** In the window (else the main part); undefined once forgotten. */
  inWindow: boolean | undefined;
}

/** The share of the budget new answers wait in before they compete for the rest (W-TinyLFU's window). */
const WINDOW_SHARE = 1 / 16;

export class MemoRoom<R extends Resident> {
  private readonly window = new LazyQueue<R>(true);
  private readonly main = new LazyQueue<R>(false);
  private windowBytes = 0;
  private mainBytes = 0;
  private readonly sketch: FrequencySketch;

  /** `forget`: told of each answer the room lets go, to take it out of its key's answers. */
  constructor(private readonly budget: number, private readonly forget: (r: R) => void) {
    // About as many counts a row as answers fit (none weighs less than half a KiB).
    this.sketch = new FrequencySketch(Math.min(MAX_ROW_BITS, Math.max(MIN_ROW_BITS, Math.ceil(Math.log2(budget / 512)))));
  }

  /** What the answers in the room weigh now. */
  get bytes(): number {
    return this.windowBytes + this.mainBytes;
  }

  /** A key was looked up (hit or miss): what admission weighs answers by. */
  lookedUp(hash: number): void {
    // Halved every ten lookups an answer kept (TinyLFU's sample): what was looked up lately.
    this.sketch.add(hash, 10 * (this.window.live + this.main.live));
  }

  /** A new answer: in the window; those that leave it stay in the main part if their keys are looked up more than the answers they would push out. */
  add(r: R): void {
    r.used = false;
    r.inWindow = true;
    this.window.push(r);
    this.windowBytes += r.bytes;
    const windowBudget = this.budget * WINDOW_SHARE;
    // The newest stays in the window, however much it weighs.
    while (this.windowBytes > windowBudget && this.window.live > 1) {
      const c = this.window.shift()!;
      this.windowBytes -= c.bytes;
      c.inWindow = false;
      this.main.push(c);
      this.mainBytes += c.bytes;
      this.makeRoomFor(c);
    }
  }

  /** An answer taken out by its keeper (its key holds too many): no longer in the room. */
  remove(r: R): void {
    if (r.inWindow === undefined) return;
    if (r.inWindow) {
      this.windowBytes -= r.bytes;
      this.window.removed();
    } else {
      this.mainBytes -= r.bytes;
      this.main.removed();
    }
    r.inWindow = undefined;
  }

  /** Every answer forgotten (without telling the keeper, who forgets them all itself). */
  clear(): void {
    for (const q of [this.window, this.main]) for (let r = q.shift(); r; r = q.shift()) r.inWindow = undefined;
    this.windowBytes = 0;
    this.mainBytes = 0;
  }

  /** Until the main part fits: `c` (just put at its back) or CLOCK's candidate goes, whichever key was looked up less (`c` on a tie). */
  private makeRoomFor(c: R): void {
    while (this.windowBytes + this.mainBytes > this.budget && this.main.live > 0) {
      const v = this.victim();
      if (v === c) return this.forgetShifted(c);
      if (this.sketch.estimate(c.hash) <= this.sketch.estimate(v.hash)) {
        this.main.unshift(v);
        this.remove(c);
        this.forget(c);
        return;
      }
      this.forgetShifted(v);
    }
  }

  /** The answer CLOCK lets go, taken from the main part: the first from the front not used since the hand last passed (those used go to the back, unmarked). */
  private victim(): R {
    // Each one skipped is unmarked: within one round an unmarked one is met.
    for (;;) {
      const r = this.main.shift()!;
      if (!r.used) return r;
      r.used = false;
      this.main.push(r);
    }
  }

  private forgetShifted(r: R): void {
    this.mainBytes -= r.bytes;
    r.inWindow = undefined;
    this.forget(r);
  }
}

/**
 * A FIFO of the residents of one part (window or main) from which any may be taken out
 * elsewhere: it is skipped when met (it is no longer of this part), and the array is compacted
 * when those skipped outnumber the rest.
 */
class LazyQueue<R extends Resident> {
  private items: Array<R | undefined> = [];
  private head = 0;
  /** Residents in the queue not taken out. */
  live = 0;

  constructor(private readonly window: boolean) {}

  push(r: R): void {
    this.items.push(r);
    this.live++;
    this.compactIfSparse();
  }

  /** The first resident still of this part, taken from the queue. */
  shift(): R | undefined {
    while (this.head < this.items.length) {
      const r = this.items[this.head];
      this.items[this.head++] = undefined;
      if (r && r.inWindow === this.window) {
        this.live--;
        return r;
      }
    }
    this.items = [];
    this.head = 0;
    return undefined;
  }

  /** Puts the resident just shifted back in front. */
  unshift(r: R): void {
    if (this.head > 0) this.items[--this.head] = r;
    else this.items.unshift(r);
    this.live++;
  }

  /** One resident in the queue was taken out elsewhere (it is skipped when met). */
  removed(): void {
    this.live--;
    this.compactIfSparse();
  }

  private compactIfSparse(): void {
    const held = this.items.length - this.head;
    if (held > 64 && held > 2 * this.live) {
      this.items = this.items.slice(this.head).filter((r) => r !== undefined && r.inWindow === this.window);
      this.head = 0;
    }
  }
}

/**
 * How often keys were looked up lately: four counts a key (each in a row of its own, the least
 * of them read), up to 15, all halved every `sample` lookups. Fixed size whatever the keys.
 */
class FrequencySketch {
  private readonly counts: Uint8Array;
  private readonly row: number;
  private added = 0;

  constructor(private readonly rowBits: number) {
    this.row = 1 << rowBits;
    this.counts = new Uint8Array(4 * this.row);
  }

  /** `sample`: lookups between halvings, at least the counts' number (so that halving them is a few steps a lookup). */
  add(hash: number, sample: number): void {
    for (let i = 0; i < 4; i++) {
      const at = i * this.row + this.slot(hash, i);
      if (this.counts[at]! < 15) this.counts[at]!++;
    }
    if (++this.added >= Math.max(sample, this.counts.length)) this.halve();
  }

  estimate(hash: number): number {
    let least = 15;
    for (let i = 0; i < 4; i++) least = Math.min(least, this.counts[i * this.row + this.slot(hash, i)]!);
    return least;
  }

  private slot(hash: number, row: number): number {
    let h = Math.imul(hash ^ (hash >>> 16), SEEDS[row]!);
    h ^= h >>> 15;
    return h >>> (32 - this.rowBits);
  }

  private halve(): void {
    this.added = 0;
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! >>= 1;
  }
}

const MIN_ROW_BITS = 4;
const MAX_ROW_BITS = 16;
const SEEDS = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f];
