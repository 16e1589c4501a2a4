/** What an nft expression may read while a rule is evaluated for one branch. */
import type { Family } from "../../../model/ast.js";
import type { Hook, NodeView, StateAssumptions } from "../../../model/evaluation.js";
import type { NftExpr } from "../../../model/nft.js";
import type { Branch } from "../../branch.js";
import type { NftCompiledTable } from "../compile.js";
import type { Val, XVal } from "../values.js";

export interface NftEnv {
  br: Branch;
  hook: Hook;
  family: Family;
  node: NodeView;
  table: NftCompiledTable;
  /** The chain runs before conntrack (priority below -200 in PREROUTING and OUTPUT): the packet has no entry yet. */
  beforeConntrack: boolean;
  assumed: StateAssumptions;
  /** Values chosen for this rule's forking expressions (numgen, hash), by expression. */
  bindings: ReadonlyMap<object, Val> | undefined;
  /** Evaluates a sub-expression (through the registry, index.ts). */
  eval(e: NftExpr): XVal;
}

export const absent = (why: string): XVal => ({ absent: why });
export const unknown = (why: string): XVal => ({ indeterminate: why });
export const value = (v: Val): XVal => ({ val: v });
