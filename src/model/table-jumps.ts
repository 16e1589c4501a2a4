/**
 * The jumps of a table's chains as its reader found them: each chain's jump targets named by
 * position in `table.chains`, in rule order. A reader that numbers chains as it reads
 * (syntax/table-builder.ts) knows this when the table is finished; the load-time jump check
 * (netfilter/jump-graph.ts) would otherwise make a digest per chain and look up each jump's
 * name again, over the 42k chains and 60k jumps of a kube-proxy dump.
 *
 * Held only while the table is as it was read: the same list of chains, each with the same
 * rules. Anything that changes or merges a table gets the check made from the digests.
 */
import type { Chain, ChainRules, Table } from "./ast.js";

export interface TableJumps {
  /** The targets of the chain at position k are targets[start[k]] .. targets[start[k + 1] - 1]. */
  readonly start: Int32Array;
  /** Positions in `table.chains`, each jump once as its digest lists it (repeats kept). */
  readonly targets: Int32Array;
  /** Each chain's position by name (every name is given once). */
  readonly positions: ReadonlyMap<string, number>;
}

interface Held {
  /** Made when first asked for (a summary never asks); null: the reader could not tell. */
  jumps: TableJumps | null | undefined;
  make: () => TableJumps | undefined;
  /** The list of chains, and a copy of it (an array can be changed in place). */
  list: readonly Chain[];
  copy: readonly Chain[];
  /** Each chain's rules when the jumps were found, by position. */
  rules: readonly ChainRules[];
}

const HELD = new WeakMap<Table, Held>();

/**
 * Attaches the jumps `make` finds to `t`, whose chains are as they are now: `copy` holds them,
 * `rules` their rules, by position. `make` runs at most once, when they are first asked for.
 */
export function rememberTableJumps(t: Table, make: () => TableJumps | undefined, copy: readonly Chain[], rules: readonly ChainRules[]): void {
  HELD.set(t, { jumps: undefined, make, list: t.chains, copy, rules });
}

/** The jumps attached to `t`, if its chains and their rules are still the ones they were found for. */
export function tableJumps(t: Table): TableJumps | undefined {
  const h = HELD.get(t);
  const chains = t.chains;
  if (!h || h.list !== chains || h.copy.length !== chains.length || h.rules.length !== chains.length) return undefined;
  for (let k = 0; k < chains.length; k++) {
    const c = chains[k]!;
    if (c !== h.copy[k] || c.rules !== h.rules[k]) return undefined;
  }
  if (h.jumps === undefined) h.jumps = h.make() ?? null;
  return h.jumps ?? undefined;
}
