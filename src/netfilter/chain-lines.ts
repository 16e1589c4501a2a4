/**
 * A deferred chain's rules read from its own lines, without binding the chain whole: rule i
 * bound alone (its line bound, once), and what a chain index files each rule under, read from
 * the line's text. A packet for a service halfway down KUBE-SERVICES of a 10k-service dump
 * reads its index and then the few rules the index names: binding the chain whole to make the
 * index cost that first answer ~0.3 s, and binding its top half line by line no less.
 *
 * Each line is bound alone, exactly as binding the whole chain binds it: that binds each line
 * by itself too (syntax/table-builder.ts DeferredLines.bind), and a cache binds lines alone
 * the same way (cli/cache-long-chains.ts). A line gives one rule, none (one the reader refused)
 * or several (`-s a,b`).
 *
 * The text is read by the parser's fast path (syntax/fast-append.ts), which accepts a line
 * only when the binder binds all of it to one rule without a word; every other line is bound
 * to be read. A line it accepts cannot give more than one rule (it takes no address list), so
 * when the lines' counts add up to the chain's rule count each accepted line gave exactly one.
 * The reader records no line the binder refuses, so they should; when they do not, nothing
 * read from the text is used.
 */
import type { Rule, Table } from "../model/ast.js";
import { ipToNum } from "../model/address.js";
import { fastAppend, type FastTable } from "../syntax/fast-append.js";
import { tableSource } from "../syntax/table-builder.js";

/** What an index files each rule under, read from its line: its exact destination, else its exact port, else neither. */
export interface TextKeys {
  /** How many lines the chain has; line l gives the rules from first(l) to first(l + 1) - 1. */
  readonly lines: number;
  first(l: number): number;
  /** Whether line l was read from text (it gave one rule; else it was bound: compile its rules to know). */
  read(l: number): boolean;
  /** The IPv4 destination line l's rule requires, as a number (-1: none). */
  dst(l: number): number;
  /** The destination port line l's rule's tcp/udp match requires (-1: none). */
  dport(l: number): number;
}

export interface ChainLines {
  /** Rule i, its line bound alone. */
  rule(i: number): Rule;
  /** Each rule's index keys, read from the text where it can be; undefined when the lines cannot say (see the file's comment). */
  keys(): TextKeys | undefined;
}

/** Fields of a line record (syntax/table-builder.ts DeferredLines): start offset, line number, the chain's next record. */
const REF = 3;

/**
 * The rules of the chain at position `k` of `t` read from their lines (`positions`: each chain
 * name's position in `t.chains`); undefined when the table was not read from a dump's own lines
 * (no source), or the chain there now is not the one read (its rules are other than those the
 * reader gave it), or its rules are bound.
 */
export function chainLines(t: Table, k: number, positions: ReadonlyMap<string, number>): ChainLines | undefined {
  const src = tableSource(t);
  const chain = t.chains[k];
  const first = src?.firsts[k] ?? -1;
  if (!src || !chain || src.rules[k] !== chain.rules || first < 0 || chain.rules.loaded()) return undefined;
  const records = src.lines.records();
  const count = records.length / REF;
  // The chain's lines, each its own record with none next.
  const own: number[] = [];
  for (let at = first; at >= 0; at = records[at * REF + 2]!) {
    if (at >= count || own.length > records.length) throw new Error(`internal error: the lines of chain ${chain.name} are not a list`);
    own.push(records[at * REF]!, records[at * REF + 1]!, -1);
  }
  const lines = src.lines.over(Int32Array.from(own));
  const nLines = own.length / REF;
  const rulesWanted = chain.rules.count;
  /** The rules of each line bound so far. */
  const ofLine: (Rule[] | undefined)[] = new Array(nLines);
  /** firstRule[l]: the first rule of line l, known for l <= known. */
  const firstRule = new Int32Array(nLines + 1);
  let known = 0;
  const bindLine = (l: number): Rule[] => (ofLine[l] ??= lines.bind(l));
  const lineOf = (i: number): number => {
    // The last line whose first rule is at most i (lines giving no rule share their first).
    let lo = 0, hi = known - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (firstRule[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  let keys: TextKeys | undefined | null;
  return {
    rule(i) {
      // Lines not counted yet are bound in order until rule i is among theirs.
      while (firstRule[known]! <= i) {
        if (known === nLines) throw new Error(`internal error: the lines of chain ${chain.name} bound to ${firstRule[known]} rules, not the ${rulesWanted} parsed`);
        firstRule[known + 1] = firstRule[known]! + bindLine(known).length;
        known++;
      }
      const l = lineOf(i);
      return bindLine(l)[i - firstRule[l]!]!;
    },
    keys() {
      if (keys === undefined) keys = readKeys() ?? null;
      return keys ?? undefined;
    },
  };

  function readKeys(): TextKeys | undefined {
    if (src!.lines.text.family !== "ipv4") return undefined;
    const text = src!.lines.text.text;
    // What the fast path asks of chains decides only whether the binder would refuse the line
    // (a jump to a chain not declared before it), which the reader did not record: every
    // name is taken (one line refused after all would make the counts not add up).
    const table: FastTable = { table: t, chainIdAt: () => 0, jumpable: () => true };
    // Each line's rule count, and a read line's keys (its rule is first[l]).
    const counts = new Int32Array(nLines);
    const dstOf = new Float64Array(nLines).fill(-1);
    const portOf = new Int32Array(nLines).fill(-1);
    const readLine = new Uint8Array(nLines);
    for (let l = 0; l < nLines; l++) {
      const start = own[l * REF]!;
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      const f = ofLine[l] ? undefined : fastAppend(text, start, end, table);
      if (!f) {
        counts[l] = bindLine(l).length;
        continue;
      }
      counts[l] = 1;
      readLine[l] = 1;
      portOf[l] = f.dport;
      if (f.dstStart >= 0 && !f.dstNegated) dstOf[l] = exactAddress(text, f.dstStart, f.dstEnd);
    }
    let total = 0;
    for (let l = 0; l < nLines; l++) total += counts[l]!;
    if (total !== rulesWanted) return undefined;
    for (let l = known; l < nLines; l++) firstRule[l + 1] = firstRule[l]! + counts[l]!;
    known = nLines;
    return {
      lines: nLines,
      first: (l) => firstRule[l]!,
      read: (l) => readLine[l] === 1,
      dst: (l) => dstOf[l]!,
      dport: (l) => portOf[l]!,
    };
  }
}

/**
 * The address of a `-d` word the fast path accepted (`A.B.C.D` or `A.B.C.D/N`) as a number,
 * when it names one address (/32 or no length); -1 otherwise (a network, or /0, which the
 * binder drops).
 */
function exactAddress(text: string, s: number, e: number): number {
  const slash = text.indexOf("/", s);
  const to = slash >= 0 && slash < e ? slash : e;
  if (to < e && !(e - to === 3 && text.charCodeAt(to + 1) === 51 && text.charCodeAt(to + 2) === 50)) return -1;
  const n = ipToNum(text.slice(s, to), "ipv4");
  return typeof n === "number" ? n : -1;
}
