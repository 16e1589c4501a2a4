/** What an nft expression may read while a rule is evaluated for one branch. */
import type { Family } from "../../../model/ast.js";
import type { Hook, NodeView, StateAssumptions } from "../../../model/evaluation.js";
import type { NftExpr } from "../../../model/nft.js";
import type { Branch } from "../../branch.js";
import type { NftCompiledTable } from "../compile.js";
import type { Val, XVal } from "../../../model/nft-values.js";

export interface NftEnv {
  br: Branch;
  hook: Hook;
  family: Family;
  node: NodeView;
  table: NftCompiledTable;
  /** The chain runs before conntrack (priority below -200 in PREROUTING and OUTPUT): the packet has no entry yet. */
  beforeConntrack: boolean;
  assumed: StateAssumptions;
  /** Values chosen for this rule's forking expressions (numgen, hash). */
  bindings: Binding | undefined;
  /** Evaluates a sub-expression (through the registry, index.ts). */
  eval(e: NftExpr): XVal;
}

export const absent = (why: string): XVal => ({ absent: why });
export const unknown = (why: string): XVal => ({ indeterminate: why });
export const value = (v: Val): XVal => ({ val: v });

/**
 * A value chosen for a forking expression, in a list newest first: a fork adds one per child
 * (a map per child cost more than the rest of the fork), and a rule holds a handful at most.
 */
export interface Binding {
  readonly expr: object;
  readonly val: Val;
  readonly next: Binding | undefined;
}

/** The value chosen for `e` on this history, if any (the newest, should it be bound twice). */
export function boundValue(b: Binding | undefined, e: object): Val | undefined {
  for (let x = b; x; x = x.next) if (x.expr === e) return x.val;
  return undefined;
}
