/** What an nft expression may read while a rule is evaluated for one branch. */
import type { Family } from "../../../model/ast.js";
import type { Hook, NodeView, StateAssumptions } from "../../../model/evaluation.js";
import type { Binding, NftExprEnv } from "../../../model/nft-evaluation.js";
import type { Branch } from "../../branch.js";
import type { NftCompiledTable } from "../compile.js";

export type { Binding } from "../../../model/nft-evaluation.js";

/** An expression kind's environment (model/nft-evaluation.ts), with what sets, maps and statements need besides. */
export interface NftEnv extends NftExprEnv {
  br: Branch;
  hook: Hook;
  family: Family;
  node: NodeView;
  table: NftCompiledTable;
  beforeConntrack: boolean;
  assumed: StateAssumptions;
  bindings: Binding | undefined;
}
