/**
 * Set and map lookups: named (`@name`, with this traversal's own additions and deletions
 * first) or anonymous, through the compiled structures of sets.ts.
 */
import type { NftElement, NftSetLiteral, NftSetRef } from "../../../model/nft.js";
import { literalSet } from "../compile.js";
import { lookup } from "../sets.js";
import { changedElement } from "../set-state.js";
import type { Val } from "../../../model/nft-values.js";
import type { NftEnv } from "./env.js";

export type Found =
  | { found: true; element?: NftElement; data?: Val }
  | { found: false }
  | { indeterminate: string };

/** No element holds the value: one object for every miss (most lookups a packet makes miss). */
const NOT_FOUND: Found = { found: false };

export function findElement(set: NftSetLiteral | NftSetRef, v: Val, env: NftEnv): Found {
  if (set.kind === "setref") {
    const changed = changedElement(env.br, env.table, set.name, v);
    if (changed) return changed.present ? { found: true, ...(changed.data !== undefined ? { data: changed.data } : {}) } : NOT_FOUND;
    const cs = env.table.sets.get(set.name);
    if (!cs) return { indeterminate: `@${set.name} is not declared in table ${env.table.family} ${env.table.name}` };
    const i = lookup(cs, v);
    return i === undefined ? NOT_FOUND : { found: true, element: cs.elements[i]! };
  }
  const cs = literalSet(set);
  const i = lookup(cs, v);
  return i === undefined ? NOT_FOUND : { found: true, element: cs.elements[i]! };
}
