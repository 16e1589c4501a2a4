/**
 * What nftables statements do exactly as an iptables extension does, reached from the nft
 * evaluator (src/netfilter/nft/statements.ts) through here so that only src/extensions names
 * extensions: the kernel's log line (nf_log_syslog writes the same line for `log` and `-j LOG`),
 * the address and port a NAT statement picks (nft_nat and xt_nat share nf_nat), and the token
 * buckets and quotas whose state the input cannot show, with the same stated assumptions.
 */
import type { EvalEnv, MatchResult, TargetEffects, TargetResult } from "../../../model/evaluation.js";
import type { NatRange } from "../../nat-range.js";
import { LOG } from "../../targets/LOG.js";
import { DNAT } from "../../targets/DNAT.js";
import { SNAT } from "../../targets/SNAT.js";
import { MASQUERADE } from "../../targets/MASQUERADE.js";
import { REDIRECT } from "../../targets/REDIRECT.js";
import { EXHAUSTED, QUIET_NODE, RATE_STATE } from "../../matches/limit.js";
import { QUIET_QUOTA, QUOTA_STATE, SPENT } from "../../matches/quota.js";
import { underAssumption } from "../../util.js";

/** The kernel log line for the packet, with the prefix and level given. */
export function kernelLogLine(env: EvalEnv, prefix: string | undefined, level: number): string | undefined {
  let line: string | undefined;
  const fx = { log: (l: string) => void (line = l) } as Pick<TargetEffects, "log"> as TargetEffects;
  LOG.apply!({ level, flags: 0, ...(prefix !== undefined ? { prefix } : {}) }, env, fx);
  return line;
}

export interface NatChoice {
  result: TargetResult;
  /** The translation asked for, when the packet is let on. */
  binding?: { kind: "dnat" | "snat"; to: { addr?: string; port?: number } };
}

/**
 * What the NAT targets tell natChoice: the binding they ask for. One object for every choice
 * (its method on the prototype): a target's choice runs no other choice inside it, and each
 * choice starts it empty (a NAT statement meets every first packet; a closure per choice was
 * garbage for each).
 */
class NatAsked implements Pick<TargetEffects, "nat"> {
  binding: NatChoice["binding"] = undefined;
  nat(kind: "dnat" | "snat", to: { addr?: string; port?: number }): void {
    this.binding = { kind, to };
  }
}

const asked = new NatAsked();

/** What a NAT statement translates the packet to, chosen as the iptables target of the same kind does. */
export function natChoice(type: "dnat" | "snat" | "masquerade" | "redirect", range: NatRange, flags: readonly string[], env: EvalEnv): NatChoice {
  asked.binding = undefined;
  const fx = asked as Pick<TargetEffects, "nat"> as TargetEffects;
  const random = flags.includes("random");
  const randomFully = flags.includes("fully-random");
  const persistent = flags.includes("persistent");
  const ports = range.minPort !== undefined ? { minPort: range.minPort, maxPort: range.maxPort ?? range.minPort } : {};
  let result: TargetResult;
  switch (type) {
    case "dnat":
      result = DNAT.apply!({ range, random, persistent }, env, fx);
      break;
    case "snat":
      result = SNAT.apply!({ range, random, randomFully, persistent }, env, fx);
      break;
    case "masquerade":
      result = MASQUERADE.apply!({ ...ports, random, randomFully }, env, fx);
      break;
    case "redirect":
      result = REDIRECT.apply!({ ...ports, random }, env, fx);
      break;
  }
  const binding = asked.binding;
  asked.binding = undefined;
  return binding ? { result, binding } : { result };
}

/** A rate limit's bucket: tokens left on a quiet node (said), none under `--assume limit=busy`. */
export function rateLimitHasTokens(env: EvalEnv): MatchResult {
  return underAssumption(env, RATE_STATE, { matched: true, assuming: QUIET_NODE }, { matched: false, assuming: EXHAUSTED });
}

/** A quota: bytes left on a quiet node (said), spent under `--assume quota=spent`. */
export function quotaHasBytes(env: EvalEnv): MatchResult {
  return underAssumption(env, QUOTA_STATE, { matched: true, assuming: QUIET_QUOTA }, { matched: false, assuming: SPENT });
}
