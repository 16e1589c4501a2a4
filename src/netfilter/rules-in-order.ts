/**
 * A deferred chain's rules bound line by line, from the top, as a walk reads them. A walk that
 * tries every rule in turn (why-dropped) through KUBE-SERVICES of a 10k-service dump finds its
 * service near the top far more often than it reads all 10k: binding the chain whole to read
 * its first rules cost a first answer ~0.1 s.
 *
 * Each line is bound alone, exactly as binding the whole chain binds it: that binds each line
 * by itself too (syntax/table-builder.ts DeferredLines.bind), and a cache binds lines alone
 * the same way (cli/cache-long-chains.ts). A line gives one rule, none (one the reader refused)
 * or several (`-s a,b`): rule i is found by binding the lines in order until there are i + 1.
 */
import type { Rule, Table } from "../model/ast.js";
import { tableSource } from "../syntax/table-builder.js";

/** Rule i of a chain. */
export type RuleAt = (i: number) => Rule;

/** Fields of a line record (syntax/table-builder.ts DeferredLines): start offset, line number, the chain's next record. */
const REF = 3;

/**
 * The rules of the chain at position `k` of `t`, bound line by line as they are read; undefined
 * when the table was not read from a dump's own lines (no source), or the chain there now is
 * not the one read (its rules are other than those the reader gave it), or its rules are bound.
 */
export function rulesInOrder(t: Table, k: number): RuleAt | undefined {
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
  const bound: Rule[] = [];
  let next = 0;
  return (i) => {
    while (bound.length <= i) {
      if (next === nLines) throw new Error(`internal error: the lines of chain ${chain.name} bound to ${bound.length} rules, not the ${chain.rules.count} parsed`);
      for (const r of lines.bind(next++)) bound.push(r);
    }
    return bound[i]!;
  };
}
