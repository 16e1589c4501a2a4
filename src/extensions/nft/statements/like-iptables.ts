/**
 * Statements that do what an iptables extension does (a log line, a NAT binding, a rate limit
 * or a quota whose state the input cannot show) ask that extension, so the two never
 * disagree: the environment the extension evaluates against, and what its answer makes of the
 * statement.
 */
import type { TableName } from "../../../model/ast.js";
import type { EvalEnv, Hook, IpsetView, MatchResult, NodeView, PacketState, StateAssumptions } from "../../../model/evaluation.js";
import type { NftStmt } from "../../../model/nft.js";
import { NEXT, type NftStmtEnv, type NftStmtOps, type StmtResult } from "../../../model/nft-statement-evaluation.js";

/**
 * One environment, refilled for each statement: an extension reads it while it runs and keeps
 * nothing of it, and no statement runs an extension inside another (a NAT statement meets
 * every first packet; an environment per statement was garbage for each).
 */
class IptablesEnv implements EvalEnv {
  packet: PacketState = undefined as unknown as PacketState;
  hook: Hook = "PREROUTING";
  table: TableName = "filter";
  node: NodeView = undefined as unknown as NodeView;
  ipsets: IpsetView = undefined as unknown as IpsetView;
  assumed: StateAssumptions = {};
}

const shared = new IptablesEnv();

/** The environment an iptables extension evaluates against, for the statement's branch. */
export function iptablesEnv(env: NftStmtEnv): EvalEnv {
  shared.packet = env.br.pkt;
  shared.hook = env.hook;
  shared.table = env.chainType === "nat" ? "nat" : "filter";
  shared.node = env.node;
  shared.ipsets = env.ipsets;
  shared.assumed = env.assumed;
  return shared;
}

/** A stateful test's answer (`over`: the statement passes when the test fails). */
export function fromMatch(r: MatchResult, over: boolean, s: NftStmt, ops: NftStmtOps): StmtResult {
  if (typeof r === "boolean") return r !== over ? NEXT : ops.failed(s);
  if ("indeterminate" in r) return { kind: "unknown-test", why: r.indeterminate };
  if ("matched" in r) return { kind: "assumed", passes: r.matched !== over, assuming: r.assuming };
  return { kind: "unknown-test", why: "random" };
}
