/**
 * Sets and maps compiled once into lookup structures: exact keys in a hash map; prefixes,
 * ranges and wildcard interface names as intervals in arrays sorted by their low end, found
 * by binary search; concatenations as a trie with one such level per part, so an element
 * with a range in its last part (kube-proxy's and firewalld's `ip daddr . th dport . ip
 * saddr`) costs a lookup per part, not a pass over the set.
 */
import type { NftElement, NftExpr } from "../../model/nft.js";
import { constScalar, int, isInt, typeBits, valKey, type Scalar, type Val } from "../../model/nft-values.js";

/** One part of an element key: a value, an interval of numbers, or a name prefix (`"veth*"`). */
type Part =
  | { kind: "exact"; v: Scalar }
  | { kind: "interval"; lo: Int; hi: Int }
  | { kind: "prefix"; text: string };

/** An integer in either representation (values.ts); a number and a bigint compare exactly. */
type Int = number | bigint;

interface Level {
  exact: Map<string | number, Level | number[]>;
  /** Sorted by `lo`; `maxHi[i]` is the largest `hi` of entries 0..i (see `intervalHits`). */
  intervals: Array<{ lo: Int; hi: Int; next: Level | number[] }>;
  maxHi: Int[];
  prefixes: Array<{ text: string; next: Level | number[] }>;
  /** Build time only: where an interval or prefix already is, so building stays linear. */
  seen: Map<string, { next: Level | number[] }>;
}

export interface CompiledSet {
  name: string;
  elements: readonly NftElement[];
  /** Why an element cannot be used (its key is not a constant, prefix, range or concatenation of them). */
  problems: string[];
  root: Level;
  /** Parts per key (1 for a plain set). */
  width: number;
}

/**
 * A part's key in a level's exact map: a number (hashed without building a string) when it
 * fits one exactly, else its valKey; numbers and strings never compare equal, so no two
 * different values share a key.
 */
function exactKey(v: Scalar): string | number {
  // Values are numbers wherever a number holds them (values.ts): the usual case, first.
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "bigint") {
    // (A caller's bigint of a safe integer, as values.ts would have made it a number.) Beyond
    // ±(2^53 - 1) a number rounds to ±2^53 or further, never a safe integer: the test is exact.
    const n = Number(v);
    if (Number.isSafeInteger(n)) return n;
  }
  return valKey(v);
}

function newLevel(): Level {
  return { exact: new Map(), intervals: [], maxHi: [], prefixes: [], seen: new Map() };
}

/** The parts of an element key, or why it has none netfate can use. */
function partsOf(key: NftExpr): Part[] | string {
  const one = (e: NftExpr): Part | string => {
    if (e.kind === "const") {
      if (e.wildcard && typeof e.value === "string") return { kind: "prefix", text: e.value };
      return { kind: "exact", v: constScalar(e) };
    }
    if (e.kind === "prefix") {
      const c = constScalar(e.base);
      if (!isInt(c)) return `prefix of a name: ${JSON.stringify(c)}`;
      const b = BigInt(c);
      const bits = BigInt(typeBits(e.base.type, e.base.value));
      const host = bits - BigInt(e.len);
      if (host < 0n) return `prefix /${e.len} is longer than the type`;
      const mask = (1n << host) - 1n;
      return { kind: "interval", lo: int(b & ~mask), hi: int(b | mask) };
    }
    if (e.kind === "range") {
      const lo = constScalar(e.lo);
      const hi = constScalar(e.hi);
      if (!isInt(lo) || !isInt(hi)) return "a range of names";
      return { kind: "interval", lo, hi };
    }
    return `an element key of kind ${e.kind}`;
  };
  const list = key.kind === "concat" ? key.parts : [key];
  const out: Part[] = [];
  for (const e of list) {
    const p = one(e);
    if (typeof p === "string") return p;
    out.push(p);
  }
  return out;
}

export function compileSet(name: string, elements: readonly NftElement[]): CompiledSet {
  const root = newLevel();
  const problems: string[] = [];
  let width = 0;
  elements.forEach((el, index) => {
    const parts = partsOf(el.key);
    if (typeof parts === "string") {
      problems.push(`element ${index + 1} of ${name}: ${parts}`);
      return;
    }
    width = Math.max(width, parts.length);
    let level = root;
    parts.forEach((p, k) => {
      const last = k === parts.length - 1;
      const slot = (get: () => Level | number[] | undefined, set: (x: Level | number[]) => void): void => {
        let next = get();
        if (!next) set((next = last ? [] : newLevel()));
        if (last) (next as number[]).push(index);
        else level = next as Level;
      };
      if (p.kind === "exact") {
        const key = exactKey(p.v);
        slot(() => level.exact.get(key), (x) => level.exact.set(key, x));
      } else if (p.kind === "interval") {
        const key = `i${p.lo}-${p.hi}`;
        slot(() => level.seen.get(key)?.next, (x) => {
          const entry = { lo: p.lo, hi: p.hi, next: x };
          level.intervals.push(entry);
          level.seen.set(key, entry);
        });
      } else {
        const key = `p${p.text}`;
        slot(() => level.seen.get(key)?.next, (x) => {
          const entry = { text: p.text, next: x };
          level.prefixes.push(entry);
          level.seen.set(key, entry);
        });
      }
    });
  });
  finish(root);
  return { name, elements, problems, root, width };
}

/** Sorts every level's intervals once, after all elements are in. */
function finish(level: Level): void {
  level.seen.clear();
  level.intervals.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  let max: Int = -1;
  level.maxHi = level.intervals.map((x) => (max = x.hi > max ? x.hi : max));
  const children = [...level.exact.values(), ...level.intervals.map((x) => x.next), ...level.prefixes.map((x) => x.next)];
  for (const c of children) if (!Array.isArray(c)) finish(c);
}

/**
 * The intervals holding `v`: binary search for the last one starting at or below it, then back
 * while an earlier one may still reach it (maxHi). Sets the kernel accepts do not overlap, so
 * this is one step; overlapping literals cost their overlap, never the whole set.
 */
function intervalHits(level: Level, v: Int): Array<Level | number[]> {
  const xs = level.intervals;
  const out: Array<Level | number[]> = [];
  for (let i = lastStartingAtOrBelow(xs, v); i >= 0 && level.maxHi[i]! >= v; i--) if (xs[i]!.hi >= v) out.push(xs[i]!.next);
  return out;
}

/** Binary search: the last interval (sorted by `lo`) starting at or below `v`, or -1. */
function lastStartingAtOrBelow(xs: Level["intervals"], v: Int): number {
  let lo = 0;
  let hi = xs.length - 1;
  let at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]!.lo <= v) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return at;
}

/** lookup of a one-part value: the first element of the root level's hits (exact, interval, prefix) ending there. */
function lookupOne(level: Level, p: Scalar): number | undefined {
  let best: number | undefined;
  const ex = level.exact.get(exactKey(p));
  if (ex) best = firstOf(ex, best);
  if (typeof p !== "string" && level.intervals.length) best = firstInIntervals(level, p, best);
  if (typeof p === "string") for (const x of level.prefixes) if (p.startsWith(x.text)) best = firstOf(x.next, best);
  return best;
}

/** intervalHits' walk for a last part, keeping the first element without a list of the hits. */
function firstInIntervals(level: Level, v: Int, best: number | undefined): number | undefined {
  const xs = level.intervals;
  for (let i = lastStartingAtOrBelow(xs, v); i >= 0 && level.maxHi[i]! >= v; i--) if (xs[i]!.hi >= v) best = firstOf(xs[i]!.next, best);
  return best;
}

/** The lower of `best` and the first element a hit ends at (none when the hit is a deeper level). */
function firstOf(n: Level | number[], best: number | undefined): number | undefined {
  if (Array.isArray(n)) for (const i of n) if (best === undefined || i < best) best = i;
  return best;
}

const NOT_EXACT = -1;

/**
 * lookup of a concatenation through levels holding exact keys only (kube-proxy's and most
 * maps): one hash lookup per part and no work list. NOT_EXACT when some level on the way has
 * intervals or name prefixes, where several paths may hold the value (lookup's work list then).
 */
function lookupExact(root: Level, parts: readonly Scalar[]): number | undefined | typeof NOT_EXACT {
  let level = root;
  for (let k = 0; k < parts.length; k++) {
    if (level.intervals.length || level.prefixes.length) return NOT_EXACT;
    const n = level.exact.get(exactKey(parts[k]!));
    if (n === undefined) return undefined;
    if (Array.isArray(n)) {
      if (k !== parts.length - 1) return undefined;
      let best: number | undefined;
      for (const i of n) if (best === undefined || i < best) best = i;
      return best;
    }
    level = n;
  }
  return undefined;
}

/**
 * The interval of a set that is one interval and nothing else (`ip daddr 10.96.0.0/12` as its
 * test's one-element set), or undefined.
 */
export function loneInterval(set: CompiledSet): { lo: Int; hi: Int } | undefined {
  const root = set.root;
  if (set.width !== 1 || root.exact.size !== 0 || root.prefixes.length !== 0 || root.intervals.length !== 1) return undefined;
  const x = root.intervals[0]!;
  return Array.isArray(x.next) ? { lo: x.lo, hi: x.hi } : undefined;
}

/** The first element (in set order) whose key holds `v`, or undefined. */
export function lookup(set: CompiledSet, v: Val): number | undefined {
  if (!Array.isArray(v)) return lookupOne(set.root, v as Scalar);
  const exact = lookupExact(set.root, v);
  // (A number or undefined: compared by kind, not with `!== NOT_EXACT`, the engine's generic equality for a value of either.)
  if (exact === undefined || exact >= 0) return exact;
  const parts: readonly Scalar[] = Array.isArray(v) ? v : [v as Scalar];
  let best: number | undefined;
  const work: Array<{ level: Level; k: number }> = [{ level: set.root, k: 0 }];
  while (work.length) {
    const { level, k } = work.pop()!;
    const p = parts[k];
    if (p === undefined) continue;
    const nexts: Array<Level | number[]> = [];
    const ex = level.exact.get(exactKey(p));
    if (ex) nexts.push(ex);
    if (typeof p !== "string" && level.intervals.length) nexts.push(...intervalHits(level, p));
    if (typeof p === "string") for (const x of level.prefixes) if (p.startsWith(x.text)) nexts.push(x.next);
    for (const n of nexts) {
      if (Array.isArray(n)) {
        if (k === parts.length - 1) for (const i of n) if (best === undefined || i < best) best = i;
      } else work.push({ level: n, k: k + 1 });
    }
  }
  return best;
}
