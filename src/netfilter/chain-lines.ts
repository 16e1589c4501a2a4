/**
 * A deferred chain's rules read from its own lines, without binding the chain whole: rule i
 * bound alone (its line bound, once), and what a chain index files each rule under, as the
 * reader noted it while reading the line. A packet for a service halfway down KUBE-SERVICES of a
 * 10k-service dump reads its index and then the few rules the index names: binding the chain
 * whole to make the index cost that first answer ~0.3 s, binding its top half line by line no
 * less, and reading its 10k lines' text again for their keys ~30 ms.
 *
 * Each line is bound alone, exactly as binding the whole chain binds it: that binds each line
 * by itself too (syntax/table-builder.ts DeferredLines.bind), and a cache binds lines alone
 * the same way (cli/cache-long-chains.ts). A line gives one rule, none (one the reader refused)
 * or several (`-s a,b`).
 *
 * The keys are those the parser's fast path (syntax/fast-append.ts) found as it accepted the
 * line (syntax/line-keys.ts), which it does only when the binder binds all of it to one rule
 * without a word; a line it declined was bound, and is bound again to be read. When the lines'
 * counts do not add up to the chain's rule count, nothing noted is used.
 */
import type { Rule, Table } from "../model/ast.js";
import { tableSource } from "../syntax/table-builder.js";

/**
 * What an index files each rule under, noted from its line: its exact destination, else its
 * exact port, else neither. By line, in arrays a walk over the chain reads without a call.
 */
export interface LineIndexKeys {
  /** How many lines the chain has; line l gives the rules from first[l] to first[l + 1] - 1. */
  readonly lines: number;
  readonly first: Int32Array;
  /** 1 when line l was read by the fast path (it gave one rule); 0 when it was bound: compile its rules to know. */
  readonly read: Uint8Array;
  /** The IPv4 destination line l's rule requires, as a number (-1: none). */
  readonly dst: Float64Array;
  /** The destination port line l's rule's tcp/udp match requires (-1: none). */
  readonly dport: Int32Array;
}

export interface ChainLines {
  /** Rule i, its line bound alone. */
  rule(i: number): Rule;
  /** Each rule's index keys, as noted where the fast path read the line; undefined when the lines cannot say (see the file's comment). */
  keys(): LineIndexKeys | undefined;
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
  /** The record of each line. */
  const ats: number[] = [];
  for (let at = first; at >= 0; at = records[at * REF + 2]!) {
    if (at >= count || own.length > records.length) throw new Error(`internal error: the lines of chain ${chain.name} are not a list`);
    own.push(records[at * REF]!, records[at * REF + 1]!, -1);
    ats.push(at);
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
  let keys: LineIndexKeys | undefined | null;
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

  function readKeys(): LineIndexKeys | undefined {
    const noted = src!.keys;
    if (!noted || src!.lines.text.family !== "ipv4") return undefined;
    const bound = new Uint8Array(nLines);
    const dst = new Float64Array(nLines).fill(-1);
    const dport = new Int32Array(nLines).fill(-1);
    if (!noted.fill(Int32Array.from(ats), bound, dst, dport)) return undefined;
    // Each line's rule count: one for a line the fast path read, those it binds to for the others.
    const counts = new Int32Array(nLines);
    const read = new Uint8Array(nLines);
    let total = 0;
    for (let l = 0; l < nLines; l++) {
      counts[l] = bound[l] ? bindLine(l).length : 1;
      read[l] = bound[l] ? 0 : 1;
      total += counts[l]!;
    }
    if (total !== rulesWanted) return undefined;
    for (let l = known; l < nLines; l++) firstRule[l + 1] = firstRule[l]! + counts[l]!;
    known = nLines;
    return { lines: nLines, first: firstRule, read, dst, dport };
  }
}
