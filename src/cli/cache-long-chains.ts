/**
 * A long chain in a cache entry (cli/cache-format.ts): its index, as compiling it makes it
 * (netfilter/compile.ts chainIndex), and which of its `-A` lines each rule comes from, so that a
 * further run binds and compiles only the rules a packet's walk reads. KUBE-SERVICES of a
 * 10k-service dump has 10k rules; a packet to one service reads the few its index names.
 *
 * A line gives one rule, none (a line the reader refused) or several (`-s a,b`); `perLine`
 * says how many when they are not all one. A line is bound alone exactly as binding the whole
 * chain binds it: each line is bound by itself there too (syntax/table-builder.ts bind).
 */
import type { Chain, ChainRules, Family, Rule } from "../model/ast.js";
import { chainIndex, type ChainIndex } from "../netfilter/compile.js";
import { rememberChainFacts, type ChainFacts } from "../netfilter/compile-facts.js";
import type { DeferredLines } from "../syntax/table-builder.js";
import { BadEntry } from "./cache-errors.js";

/** Chains with at least this many rules keep their index in the entry; shorter ones are compiled whole when entered. */
export const LONG_CHAIN = 256;

/** Fields of a line record (syntax/table-builder.ts DeferredLines): start offset, line number, the chain's next record. */
const REF = 3;

export interface StoredLongChain {
  /** The index: rules always tried, by destination address, by destination port. */
  always: number[];
  byDst: [string | number, number[]][];
  byDport: [number, number[]][];
  /** How many rules each of the chain's lines gives, when not one each. */
  perLine?: number[];
}

/** How many records the chain starting at record `first` has. */
function recordCount(records: Int32Array, first: number): number {
  const count = records.length / REF;
  let n = 0;
  for (let at = first; at >= 0; at = records[at * REF + 2]!, n++) if (at >= count || n > count) throw new BadEntry("bad line records");
  return n;
}

/** Each record of the chain starting at record `first`, in order: [start, line] pairs. */
function chainRecords(records: Int32Array, first: number): number[] {
  const out: number[] = [];
  const count = records.length / REF;
  for (let at = first, n = 0; at >= 0; at = records[at * REF + 2]!, n++) {
    if (at >= count || n > count) throw new BadEntry("bad line records");
    out.push(records[at * REF]!, records[at * REF + 1]!);
  }
  return out;
}

/**
 * The stored form of long chain `c` (its rules bound now: they stay bound for this run), or
 * undefined when its rules cannot be told apart by line. Its facts are attached for this run too.
 */
export function encodeLongChain(c: Chain, lines: DeferredLines, first: number, family: Family): StoredLongChain | undefined {
  const rules = c.rules.load();
  const index = chainIndex(rules, family);
  if (!index || first < 0) return undefined;
  const recs = chainRecords(lines.records(), first);
  const perLine = new Array<number>(recs.length / 2).fill(0);
  let k = 0;
  for (const r of rules) {
    // Rules come in line order: a rule's line is this record's or a later one's.
    while (k < perLine.length && recs[2 * k + 1] !== r.span.line) k++;
    if (k === perLine.length) return undefined;
    perLine[k]!++;
  }
  rememberChainFacts(c.rules, { index, rule: (i) => rules[i]! });
  return {
    always: index.always,
    byDst: [...index.byDst],
    byDport: [...index.byDport],
    ...(perLine.every((n) => n === 1) ? {} : { perLine }),
  };
}

/** Whether `l` is rule positions of a chain of `count` rules: integers, increasing, each below `count`. */
function arePositions(l: unknown, count: number): l is number[] {
  if (!Array.isArray(l)) return false;
  let last = -1;
  for (let k = 0; k < l.length; k++) {
    const i: unknown = l[k];
    if (typeof i !== "number" || !Number.isInteger(i) || i <= last || i >= count) return false;
    last = i;
  }
  return true;
}

function positions(l: unknown, count: number): number[] {
  if (!arePositions(l, count)) throw new BadEntry("bad chain index");
  return l;
}

/**
 * A stored map ([key, positions] pairs) as the Map it was: its keys of the right kind, each
 * once, each with rule positions. One plain loop and Map's own constructor: KUBE-SERVICES of a
 * 10k-service dump has 10k keys, read on every run.
 */
function keyed<K>(l: unknown, count: number, numbers: boolean): Map<K, number[]> {
  if (!Array.isArray(l)) throw new BadEntry("bad chain index");
  for (let k = 0; k < l.length; k++) {
    const e: unknown = l[k];
    if (!Array.isArray(e) || e.length !== 2) throw new BadEntry("bad chain index");
    const key: unknown = e[0];
    if (!(typeof key === "number" ? Number.isInteger(key) : !numbers && typeof key === "string") || !arePositions(e[1], count)) throw new BadEntry("bad chain index");
  }
  const m = new Map<K, number[]>(l as [K, number[]][]);
  if (m.size !== l.length) throw new BadEntry("bad chain index");
  return m;
}

/**
 * The facts of a long chain stored as `s`: `count` rules named `name`, its first record `first`
 * of the table's `records`. Checked now (BadEntry); `linesOf` makes a reader of the table's
 * lines over other records, here one record per line with no next, so that binding record k
 * binds line k alone. Given the chain's rules, the facts to attach to them.
 */
export function readLongChain(s: StoredLongChain, count: number, name: string, first: number, records: Int32Array, linesOf: (records: Int32Array) => DeferredLines): (rules: ChainRules) => ChainFacts {
  if (!s || typeof s !== "object" || first < 0) throw new BadEntry("bad chain index");
  const index: ChainIndex = { always: positions(s.always, count), byDst: keyed(s.byDst, count, false), byDport: keyed(s.byDport, count, true) };
  const nLines = recordCount(records, first);
  const perLine = s.perLine;
  if (perLine !== undefined && (!Array.isArray(perLine) || perLine.length !== nLines || perLine.some((n) => !Number.isInteger(n) || n < 0) || perLine.reduce((a, b) => a + b, 0) !== count)) throw new BadEntry("bad chain lines");
  if (perLine === undefined && nLines !== count) throw new BadEntry("bad chain lines");
  return (rules) => {
    let single: DeferredLines | undefined;
    /** The chain's records, [start, line] pairs, made when a rule is first bound. */
    let recs: number[] = [];
    /** Each rule's line, and its place among that line's rules (made on first use, when lines do not give one rule each). */
    let lineOf: Int32Array | undefined;
    let nthOf: Int32Array | undefined;
    const bound = new Map<number, Rule[]>();
    const rule = (i: number): Rule => {
      // Bound whole meanwhile (a printer read them all): the same rules.
      if (rules.loaded()) return rules.load()[i]!;
      if (!single) {
        recs = chainRecords(records, first);
        const own = new Int32Array(nLines * REF);
        for (let k = 0; k < nLines; k++) {
          own[k * REF] = recs[2 * k]!;
          own[k * REF + 1] = recs[2 * k + 1]!;
          own[k * REF + 2] = -1;
        }
        single = linesOf(own);
      }
      let line = i;
      let nth = 0;
      if (perLine) {
        if (!lineOf || !nthOf) {
          lineOf = new Int32Array(count);
          nthOf = new Int32Array(count);
          let at = 0;
          perLine.forEach((n, k) => {
            for (let q = 0; q < n; q++, at++) {
              lineOf![at] = k;
              nthOf![at] = q;
            }
          });
        }
        line = lineOf[i]!;
        nth = nthOf[i]!;
      }
      let got = bound.get(line);
      if (!got) {
        got = single.bind(line);
        const want = perLine ? perLine[line]! : 1;
        if (got.length !== want) throw new Error(`internal error: line ${recs[2 * line + 1]} of chain ${name} bound to ${got.length} rules, not the ${want} the cache says`);
        bound.set(line, got);
      }
      return got[nth]!;
    };
    return { index, rule };
  };
}
