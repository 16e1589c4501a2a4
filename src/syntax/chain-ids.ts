/**
 * The chains of a table being read, each named by a number (its id, in the order the chains
 * were made), and found by a name that is still in the text: a line's chain name is hashed
 * where it is, with no string cut out of the text and hashed again for a Map (a 10k-service
 * dump asks this about 160k times of 42k chains). What the table keeps per chain while reading
 * is then in arrays by id (deferred-chains.ts), not in an object per chain.
 */
import type { Chain } from "../model/ast.js";
import { fastJumpable } from "./fast-append.js";

/** FNV-1a over text[start, end)'s UTF-16 code units. */
function hashOf(text: string, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let k = start; k < end; k++) h = Math.imul(h ^ text.charCodeAt(k), 0x01000193);
  return h;
}

/**
 * Slots of the open-addressing table: the name's hash, the chain's id + 1 (0: empty), and where
 * the name is in the text (-1: not there, a built-in chain's). A name is compared with the text
 * where it was declared rather than with the chain's name: that is one place in memory to
 * read, not the chain, its name and the text the name was cut from.
 */
const SLOT = 3;
const SPACE = 32;

export class ChainIds {
  /** `text`: the text names are found in (a name recorded with a place is in it). */
  constructor(private readonly text: string) {}

  /** Each chain, by id. */
  readonly chains: Chain[] = [];
  /** Per id: 1 when a fast-path line may jump to the chain (fast-append.ts `fastJumpable`). */
  private jump = new Uint8Array(64);
  private slots = new Int32Array(256 * SLOT);
  private mask = 255;

  /**
   * The id a new chain `c` gets; a chain of the same name before it is no longer found.
   * `nameAt`: where the text has the name followed by a space (a declaration `:NAME - [0:0]`), or -1.
   */
  add(c: Chain, nameAt = -1): number {
    const id = this.chains.length;
    this.chains.push(c);
    if (id >= this.jump.length) {
      const grown = new Uint8Array(this.jump.length * 2);
      grown.set(this.jump);
      this.jump = grown;
    }
    this.jump[id] = fastJumpable(c.name, c.builtin) ? 1 : 0;
    // At most half full: a probe ends soon at an empty slot.
    if (2 * this.chains.length > this.mask) this.grow();
    this.place(hashOf(c.name, 0, c.name.length), id, c.name, nameAt);
    return id;
  }

  /** The id of the chain named text[start, end), or -1. */
  idAt(text: string, start: number, end: number): number {
    const h = hashOf(text, start, end);
    const { slots, mask } = this;
    const len = end - start;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const o = i * SLOT;
      const id1 = slots[o + 1]!;
      if (id1 === 0) return -1;
      if (slots[o] !== h) continue;
      const at = slots[o + 2]!;
      if (at >= 0 && text === this.text) {
        if (text.charCodeAt(at + len) !== SPACE) continue;
        let k = 0;
        while (k < len && text.charCodeAt(at + k) === text.charCodeAt(start + k)) k++;
        if (k === len) return id1 - 1;
        continue;
      }
      const name = this.chains[id1 - 1]!.name;
      if (name.length !== len) continue;
      let k = 0;
      while (k < len && name.charCodeAt(k) === text.charCodeAt(start + k)) k++;
      if (k === len) return id1 - 1;
    }
  }

  /** The id of the chain named `name`, or -1. */
  idOf(name: string): number {
    return this.idAt(name, 0, name.length);
  }

  /**
   * Each chain's id by name, as a map: the chains' positions in their table once it is finished,
   * when every chain was made in order and none replaced another (table-builder.ts).
   */
  positions(): ReadonlyMap<string, number> {
    return new IdsByName(this);
  }

  jumpable(id: number): boolean {
    return this.jump[id] === 1;
  }

  /** Puts `id` in the slot of its name, or in place of the chain of the same name. */
  private place(h: number, id: number, name: string, nameAt: number): void {
    const { slots, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const o = i * SLOT;
      const id1 = slots[o + 1]!;
      if (id1 === 0 || (slots[o] === h && this.chains[id1 - 1]!.name === name)) {
        slots[o] = h;
        slots[o + 1] = id + 1;
        slots[o + 2] = nameAt;
        return;
      }
    }
  }

  private grow(): void {
    const old = this.slots;
    this.mask = this.mask * 2 + 1;
    this.slots = new Int32Array((this.mask + 1) * SLOT);
    const { slots, mask } = this;
    // The names are all different: each goes to the first empty slot of its probe, with no chain's name read.
    for (let o = 0; o < old.length; o += SLOT) {
      const id1 = old[o + 1]!;
      if (id1 === 0) continue;
      const h = old[o]!;
      let i = h & mask;
      while (slots[i * SLOT + 1] !== 0) i = (i + 1) & mask;
      slots[i * SLOT] = h;
      slots[i * SLOT + 1] = id1;
      slots[i * SLOT + 2] = old[o + 2]!;
    }
  }
}

/**
 * A table's chains by name, as a Map of them would answer. While the table numbers its chains
 * (a ChainIds), a name is found there, and no Map of the same 40k names is made beside it:
 * growing one was ~20 ms of reading a 10k-service dump, most of it rehashing as it doubled
 * (perf: Runtime_MapGrow under newChain). `own` gives the chains a Map of their own, for a
 * table that stops numbering them; a table that never did has one from the start.
 */
export class ChainsByName {
  private map: Map<string, Chain> | undefined;

  /** `ids`: the table's numbered chains, which this then reads (it adds none), or undefined. */
  constructor(private ids: ChainIds | undefined) {
    if (!ids) this.map = new Map();
  }

  get(name: string): Chain | undefined {
    if (this.map) return this.map.get(name);
    const id = this.ids!.idOf(name);
    return id < 0 ? undefined : this.ids!.chains[id];
  }

  has(name: string): boolean {
    return this.map ? this.map.has(name) : this.ids!.idOf(name) >= 0;
  }

  /** Chain `c` is now the one named `name` (only once the chains have a Map: numbered ones are added to their ids). */
  set(name: string, c: Chain): void {
    this.own().set(name, c);
  }

  delete(name: string): boolean {
    return this.own().delete(name);
  }

  values(): MapIterator<Chain> {
    return this.own().values();
  }

  /**
   * The chains in a Map from now on, in the order a Map given them one by one would hold them:
   * each name where its first chain was made, with the chain it names now.
   */
  own(): Map<string, Chain> {
    if (!this.map) {
      const map = new Map<string, Chain>();
      for (const c of this.ids!.chains) if (!map.has(c.name)) map.set(c.name, this.get(c.name)!);
      this.map = map;
      this.ids = undefined;
    }
    return this.map;
  }
}

/** ChainIds read as a map from name to id: found in its table, not in a Map of 42k names made again. */
class IdsByName implements ReadonlyMap<string, number> {
  constructor(private readonly ids: ChainIds) {}

  get size(): number {
    return this.ids.chains.length;
  }

  get(name: string): number | undefined {
    const id = this.ids.idOf(name);
    return id < 0 ? undefined : id;
  }

  has(name: string): boolean {
    return this.ids.idOf(name) >= 0;
  }

  *keys(): MapIterator<string> {
    for (const c of this.ids.chains) yield c.name;
  }

  *values(): MapIterator<number> {
    for (let id = 0; id < this.ids.chains.length; id++) yield id;
  }

  *entries(): MapIterator<[string, number]> {
    const { chains } = this.ids;
    for (let id = 0; id < chains.length; id++) yield [chains[id]!.name, id];
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries();
  }

  forEach(f: (value: number, key: string, map: ReadonlyMap<string, number>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) f.call(thisArg, v, k, this);
  }
}
