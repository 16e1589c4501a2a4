/**
 * What an nft statement kind's evaluation (src/extensions/nft/statements/) reads, changes and
 * gives back: the branch's packet and the effects a step lists, the hook and chain, and the
 * few things only the evaluator can do (name a statement as the listing does, look in and
 * change a named set's state for this history). The evaluator's own environment
 * (src/netfilter/nft/statements.ts) extends it.
 */
import type { Hook, IpsetView, NodeView, PacketState, PendingNat, StateAssumptions } from "./evaluation.js";
import type { NftExpr, NftFamily, NftStmt, NftVerdictCode } from "./nft.js";
import type { NftExprEnv } from "./nft-evaluation.js";
import type { Choice, Val, XVal } from "./nft-values.js";

export type StmtResult =
  | { kind: "next" }
  /** The rule stops here without a verdict: the next rule is tried. */
  /** `failed` words the condition that failed; only a trace that shows it asks (printing costs more than the test). */
  | { kind: "break"; failed: () => string }
  | { kind: "verdict"; verdict: NftVerdictCode | "reject"; chain?: string; detail?: string; element?: string; nat?: boolean; /** The statement or map element data a jump or goto came from (what its target is cached by). */ from?: object }
  | { kind: "choose"; choices: readonly Choice[]; expr: object }
  /** A test the input does not decide: both sides are followed as alternatives. */
  | { kind: "unknown-test"; why: string }
  /** An effect netfate does not model, which may decide the packet's fate. */
  | { kind: "unknown-action"; why: string }
  /** Decided by a stated assumption about state the input cannot show. */
  | { kind: "assumed"; passes: boolean; assuming: string }
  | { kind: "end"; verdict: "DROP" | "INDETERMINATE"; detail: string };

/** A statement that let the rule go on: one object, which the walk tells apart by identity. */
export const NEXT: StmtResult = { kind: "next" };

/** What a step lists of a rule's effects that netfate does not follow further. */
export type StmtNote =
  | { kind: "rewrite"; field: string; value: number | string }
  | { kind: "set"; name: string; del: boolean };

/** The history a statement runs in: what it may change of it. */
export interface StmtBranch {
  readonly pkt: PacketState;
  /** Effects the current rule noted, which its step lists. */
  notes: StmtNote[];
  /** The kernel log line the current rule wrote. */
  logLine?: string;
  /** The translation a nat statement asked for, applied when the nat chains have run. */
  pendingNat?: PendingNat;
}

export interface NftStmtEnv extends NftExprEnv {
  readonly br: StmtBranch;
  readonly hook: Hook;
  readonly node: NodeView;
  readonly ipsets: IpsetView;
  readonly assumed: StateAssumptions;
  /** The chain's type: nat statements are only loaded in nat chains. */
  readonly chainType: "filter" | "nat" | "route";
  /** The rule's table (a reject's default kind is its family's). */
  readonly table: { readonly family: NftFamily };
}

/** A named set's element as this history changed it: present (with a map's value) or deleted. */
export type ElementChange = { present: true; data?: Val } | { present: false };

/**
 * What only the evaluator can do for a statement: one object, handed to every evaluation
 * (called as methods of it).
 */
export interface NftStmtOps {
  /** The statement as a trace names it (the listing's text). */
  text(s: NftStmt): string;
  exprText(e: NftExpr): string;
  /** The result of `s` when its test fails (one per statement). */
  failed(s: NftStmt): StmtResult;
  /** Whether the table's named set holds `key` on this history. */
  inSet(env: NftStmtEnv, set: string, key: Val): boolean;
  /** Records that this history changed the set's element `key`. */
  changeSet(env: NftStmtEnv, set: string, key: Val, change: ElementChange): void;
  /** Runs a statement (one carried by a set element). */
  run(s: NftStmt, env: NftStmtEnv): StmtResult;
  /** How to read `e`, worked out once: the same value as `env.eval(e)`, read without the expression registry where `e` is a leaf or a leaf and a constant. */
  reader(e: NftExpr): (env: NftExprEnv) => XVal;
}

/**
 * A verdict result, every field present (undefined when it does not apply): the walk reads the
 * results of every verdict statement at one place, where objects of one shape are read at
 * a fraction of the cost of objects of many.
 */
export function verdictResult(verdict: NftVerdictCode | "reject", chain: string | undefined, detail: string | undefined, element?: string, from?: object, nat?: boolean): StmtResult {
  return { kind: "verdict", verdict, chain, detail, element, nat, from };
}

/** An expression's value in a statement that tests it: no value, the rule stops. */
export function valueOrStop(v: XVal, s: NftStmt, ops: NftStmtOps): { val: Val } | StmtResult {
  if ("val" in v) return v;
  if ("absent" in v) return { kind: "break", failed: () => `${ops.text(s)} (${v.absent})` };
  if ("choose" in v) return { kind: "choose", choices: v.choose, expr: v.expr };
  return { kind: "unknown-test", why: v.indeterminate };
}

/** An undecided value in a statement that acts (a verdict map's key, a NAT address): the action may decide the fate. */
export function asAction(r: StmtResult): StmtResult {
  return r.kind === "unknown-test" ? { kind: "unknown-action", why: r.why } : r;
}
