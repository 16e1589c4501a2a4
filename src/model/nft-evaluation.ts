/**
 * What an nft expression kind's evaluation may read (src/extensions/nft/): the packet as the
 * walk has it, the hook, the node's facts, and the values chosen for this rule's forking
 * expressions. The evaluator's own environment (src/netfilter/nft/expr/env.ts) extends it.
 */
import type { Hook, NodeView, PacketState } from "./evaluation.js";
import type { NftExpr } from "./nft.js";
import type { Val, XVal } from "./nft-values.js";

export interface NftExprEnv {
  /** The branch being walked: its packet as the walk has changed it so far. */
  readonly br: { readonly pkt: PacketState };
  readonly hook: Hook;
  readonly node: NodeView;
  /** The chain runs before conntrack (priority below -200 in PREROUTING and OUTPUT): the packet has no entry yet. */
  readonly beforeConntrack: boolean;
  /** Values chosen for this rule's forking expressions (numgen, hash). */
  readonly bindings: Binding | undefined;
  /** Evaluates a sub-expression (through the evaluator's dispatch). */
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
