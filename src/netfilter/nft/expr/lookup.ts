/**
 * Set and map lookups: named (`@name`, with this traversal's own additions and deletions
 * first) or anonymous, through the compiled structures of sets.ts.
 */
import type { NftElement, NftSetLiteral, NftSetRef } from "../../../model/nft.js";
import { literalSet, type NftCompiledTable } from "../compile.js";
import { lookup, type CompiledSet } from "../sets.js";
import { changedElement } from "../set-state.js";
import type { Val } from "../../../model/nft-values.js";
import type { NftEnv } from "./env.js";

export type Found =
  | { found: true; element?: NftElement; data?: Val }
  | { found: false }
  | { indeterminate: string };

/** No element holds the value: one object for every miss (most lookups a packet makes miss). */
const NOT_FOUND: Found = { found: false };

/**
 * Where a statement keeps the compiled set its `@name` was last found as, with the table it was
 * found in: a statement's tables are one per node its ruleset is compiled for, whose sets never
 * change once compiled, and the name, read from the input, hashes and compares as a string.
 */
export interface SetMemo {
  table: NftCompiledTable | undefined;
  set: CompiledSet | undefined;
}

export const setMemo = (): SetMemo => ({ table: undefined, set: undefined });

/** The table's compiled set `name`, from the memo when it was found in this table. */
export function namedSet(table: NftCompiledTable, name: string, memo: SetMemo | undefined): CompiledSet | undefined {
  if (memo === undefined) return table.sets.get(name);
  if (memo.table !== table) {
    memo.table = table;
    memo.set = table.sets.get(name);
  }
  return memo.set;
}

export function findElement(set: NftSetLiteral | NftSetRef, v: Val, env: NftEnv, memo?: SetMemo): Found {
  if (set.kind === "setref") {
    const changed = changedElement(env.br, env.table, set.name, v);
    if (changed) return changed.present ? { found: true, ...(changed.data !== undefined ? { data: changed.data } : {}) } : NOT_FOUND;
    const cs = namedSet(env.table, set.name, memo);
    if (!cs) return { indeterminate: `@${set.name} is not declared in table ${env.table.family} ${env.table.name}` };
    const i = lookup(cs, v);
    return i === undefined ? NOT_FOUND : { found: true, element: cs.elements[i]! };
  }
  const cs = literalSet(set);
  const i = lookup(cs, v);
  return i === undefined ? NOT_FOUND : { found: true, element: cs.elements[i]! };
}
