/**
 * A table's chain names in a cache entry (cli/cache-format.ts), stored so that reading an
 * entry back does no work per chain beyond checking it: one string of the names, each ended
 * by a newline (a chain name has none), where each starts, and an open-addressing hash table
 * from name to position. A 10k-service dump has 42k chains, and a packet looks up a few:
 * building a Map of all of them cost more than the rest of reading the entry.
 *
 * Checked when read (ChainNames.check), so that an entry whose checksum holds but whose names
 * do not fit is found while it can still be parsed again.
 */
import { BadEntry } from "./cache-errors.js";

/** FNV-1a over the name's UTF-16 code units. */
function hashOf(s: string, from = 0, to = s.length): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface StoredNames {
  /** The names, each followed by "\n". */
  joined: string;
  /** Where each name starts in `joined`, and its length after the last. */
  starts: Int32Array;
  /** A power of two of positions (-1: empty), at least twice as many as names. */
  slots: Int32Array;
}

/** The stored form of `names`; undefined when a name could not be kept so (empty, or holding a newline). */
export function encodeNames(names: readonly string[]): StoredNames | undefined {
  if (names.some((n) => n === "" || n.includes("\n"))) return undefined;
  const joined = names.map((n) => n + "\n").join("");
  const starts = new Int32Array(names.length + 1);
  let at = 0;
  names.forEach((n, k) => {
    starts[k] = at;
    at += n.length + 1;
  });
  starts[names.length] = at;
  let size = 2;
  while (size < names.length * 2) size *= 2;
  const slots = new Int32Array(size).fill(-1);
  names.forEach((n, k) => {
    let s = hashOf(n) & (size - 1);
    while (slots[s] !== -1) s = (s + 1) & (size - 1);
    slots[s] = k;
  });
  return { joined, starts, slots };
}

/** A table's chain names read back: each by position, and each position by name (a map to its readers). */
export class ChainNames implements ReadonlyMap<string, number> {
  private readonly mask: number;
  private all: Map<string, number> | undefined;

  constructor(private readonly s: StoredNames) {
    this.mask = s.slots.length - 1;
  }

  /**
   * Throws BadEntry unless the stored parts are what encodeNames makes: each name ends at a
   * newline where the next starts, none is empty or holds a newline, and the slots hold each
   * position once. Plain loops over numbers: hashing every name again to see that it sits where
   * its hash puts it cost more than building a Map of them, and the entry's checksum already
   * says the slots are the ones written; a lookup still compares the name it finds whole.
   */
  check(): this {
    const { joined, starts, slots } = this.s;
    const n = starts.length - 1;
    const size = slots.length;
    if (n < 0 || size < 2 || (size & (size - 1)) !== 0 || size < n * 2 || starts[0] !== 0 || starts[n] !== joined.length) throw new BadEntry("bad chain names");
    let newlines = 0;
    for (let i = joined.indexOf("\n"); i >= 0; i = joined.indexOf("\n", i + 1)) newlines++;
    if (newlines !== n) throw new BadEntry("bad chain names");
    for (let k = 0; k < n; k++) {
      const end = starts[k + 1]! - 1;
      if (end <= starts[k]! || joined.charCodeAt(end) !== 10) throw new BadEntry("bad chain names");
    }
    const seen = new Uint8Array(n);
    let filled = 0;
    for (let s = 0; s < size; s++) {
      const k = slots[s]!;
      if (k === -1) continue;
      if (k < 0 || k >= n || seen[k]) throw new BadEntry("bad chain names");
      seen[k] = 1;
      filled++;
    }
    if (filled !== n) throw new BadEntry("bad chain names");
    return this;
  }

  get size(): number {
    return this.s.starts.length - 1;
  }

  /** The name of the chain at `k`. */
  name(k: number): string {
    const { joined, starts } = this.s;
    return joined.slice(starts[k], starts[k + 1]! - 1);
  }

  get(name: string): number | undefined {
    const { slots, joined, starts } = this.s;
    for (let s = hashOf(name) & this.mask, probes = 0; probes <= this.mask; s = (s + 1) & this.mask, probes++) {
      const k = slots[s]!;
      if (k < 0) return undefined;
      const at = starts[k]!;
      if (starts[k + 1]! - 1 - at === name.length && joined.startsWith(name, at)) return k;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** All of them, in position order, made when first iterated. */
  private map(): Map<string, number> {
    if (!this.all) {
      this.all = new Map();
      for (let k = 0; k < this.size; k++) this.all.set(this.name(k), k);
    }
    return this.all;
  }

  forEach(f: (value: number, key: string, map: ReadonlyMap<string, number>) => void, thisArg?: unknown): void {
    this.map().forEach((v, k) => f.call(thisArg, v, k, this));
  }

  entries(): MapIterator<[string, number]> {
    return this.map().entries();
  }

  keys(): MapIterator<string> {
    return this.map().keys();
  }

  values(): MapIterator<number> {
    return this.map().values();
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries();
  }
}
