/**
 * Lists and maps whose items are made when first read: a compiled chain of 10k rules whose
 * walk reads three of them (its index says which) compiles three, and a table of 40k chains
 * a packet passes five of makes five.
 */

/** The lists made here: they cannot be changed, so one is the same list for as long as it lives. */
const LAZY = new WeakSet<object>();

export function isLazyList(l: object): boolean {
  return LAZY.has(l);
}

/**
 * An array of `length` items, each made when first read. It is an array to whoever reads it
 * (index, length, iteration, Array.isArray, JSON); anything that looks at its keys rather than
 * its items makes every item first. Changing it throws.
 */
export function lazyList<T>(length: number, make: (i: number) => T): T[] {
  const items: T[] = new Array<T>(length);
  const made = new Uint8Array(length);
  const at = (i: number): T => {
    if (!made[i]) {
      items[i] = make(i);
      made[i] = 1;
    }
    return items[i]!;
  };
  let whole = false;
  const all = (): void => {
    if (whole) return;
    for (let i = 0; i < length; i++) at(i);
    whole = true;
  };
  // A walk over every item (for...of, map, forEach...) makes them all first and then runs on
  // the array itself: through the proxy each item read costs a trap (40k chains: 40 ms more).
  const wholeWalks = new Map<PropertyKey, unknown>();
  const list = new Proxy(items, {
    get(target, key, receiver) {
      if (typeof key === "string") {
        const i = indexOf(key, length);
        if (i !== undefined) return at(i);
      }
      if (WHOLE_WALKS.has(key)) {
        let f = wholeWalks.get(key);
        if (!f) {
          const method = (Array.prototype as unknown as Record<PropertyKey, (...a: unknown[]) => unknown>)[key]!;
          f = (...args: unknown[]) => {
            all();
            return method.apply(target, args);
          };
          wholeWalks.set(key, f);
        }
        return f;
      }
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      return (typeof key === "string" && indexOf(key, length) !== undefined) || Reflect.has(target, key);
    },
    ownKeys(target) {
      all();
      return Reflect.ownKeys(target);
    },
    getOwnPropertyDescriptor(target, key) {
      if (typeof key === "string" && indexOf(key, length) !== undefined) all();
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    set: refuse,
    defineProperty: refuse,
    deleteProperty: refuse,
  });
  LAZY.add(list);
  return list;
}

/**
 * The array methods that read every item, whatever they find (those that may stop early, such
 * as find and some, read item by item through the proxy and make only what they read). The
 * callbacks they call are given the array itself as their third argument.
 */
const WHOLE_WALKS = new Set<PropertyKey>([Symbol.iterator, "entries", "values", "forEach", "map", "filter", "reduce", "reduceRight", "slice", "concat", "join", "flat", "flatMap", "toSorted", "toReversed"]);

/** The index a property name stands for ("0", "17", not "017"), when it is one below `length`. */
function indexOf(key: string, length: number): number | undefined {
  // Read digit by digit: this runs for every item a walk reads (no number made into a string).
  const n = key.length;
  if (n === 0 || n > 15 || (n > 1 && key.charCodeAt(0) === 48)) return undefined;
  let i = 0;
  for (let k = 0; k < n; k++) {
    const d = key.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return undefined;
    i = i * 10 + d;
  }
  return i < length ? i : undefined;
}

/** A lazy list or map is read, never changed: its items are its input's. */
function refuse(): never {
  throw new TypeError("this list is read-only: its items are made from the input");
}

/**
 * A map from the keys of `positions` (in their order) to items made when first looked up, by
 * their position. Read-only: set, delete and clear throw.
 */
export class LazyMap<V> implements Map<string, V> {
  private readonly made = new Map<string, V>();
  constructor(private readonly positions: ReadonlyMap<string, number>, private readonly make: (position: number) => V) {}

  get size(): number {
    return this.positions.size;
  }

  get(key: string): V | undefined {
    let v = this.made.get(key);
    if (v === undefined) {
      const at = this.positions.get(key);
      if (at === undefined) return undefined;
      v = this.make(at);
      this.made.set(key, v);
    }
    return v;
  }

  has(key: string): boolean {
    return this.positions.has(key);
  }

  *entries(): MapIterator<[string, V]> {
    for (const k of this.positions.keys()) yield [k, this.get(k)!];
  }

  *keys(): MapIterator<string> {
    yield* this.positions.keys();
  }

  *values(): MapIterator<V> {
    for (const k of this.positions.keys()) yield this.get(k)!;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(f: (value: V, key: string, map: Map<string, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) f.call(thisArg, v, k, this);
  }

  readonly [Symbol.toStringTag] = "Map";

  set(): this {
    return refuse();
  }

  delete(): boolean {
    return refuse();
  }

  clear(): void {
    refuse();
  }
}
