/**
 * The library's evaluation entry point: a node (its rules, sets and facts) that answers
 * "what happens to this packet?".
 */
import type { Family, Ruleset } from "../model/ast.js";
import type { PacketSpec } from "../model/packet.js";
import { compileRulesets, type CompiledRuleset, type CompileProblem } from "./compile.js";
import { evaluatePath, evaluateReplyPath } from "./path.js";
import type { ConntrackSummary, IpsetView, NodeView, Outcome, StateAssumptions } from "../model/evaluation.js";
import { noIpsets, unknownNode } from "./unknown-facts.js";
import type { IpvsTable } from "../model/ipvs.js";
import type { NftRuleset } from "../model/nft.js";

export interface NodeInputs {
  rulesets: readonly Ruleset[];
  node?: NodeView;
  ipsets?: IpsetView;
  /** nftables rulesets: their base chains run at their hooks by priority, beside the iptables tables. */
  nft?: readonly NftRuleset[];
  /** The node's IPVS virtual servers (`ipvsadm-save -n`, `ipvsadm -Ln`): IPVS then takes the packets it serves. */
  ipvs?: IpvsTable;
}

export interface EvaluateOptions {
  /** Also record the rules tried that did not match, with the first failing condition. */
  verbose?: boolean;
  /** State the input cannot show, assumed other than as on a quiet node (`{ limit: "busy" }`, or `"either"` for both). */
  assume?: StateAssumptions;
  /**
   * The connection the packet belongs to, as conntrack holds it after an earlier packet (an
   * outcome's `conntrack`): conntrack then applies its NAT and the packet finds its ctmark.
   * A multi-node evaluation passes each node's own entry to the reply.
   */
  connection?: ConntrackSummary;
  /** The packet is the first reply of `connection` (SEEN_REPLY is set by it). */
  firstReply?: boolean;
}

export interface Evaluation {
  packet: PacketSpec;
  outcomes: Outcome[];
  /** Load-time findings that may affect the answer (missing chains, loops, unknown policies). */
  problems: CompileProblem[];
}

export class NetfilterNode {
  private readonly compiled = new Map<Family, CompiledRuleset>();
  readonly node: NodeView;
  readonly ipsets: IpsetView;

  constructor(private readonly inputs: NodeInputs) {
    this.node = inputs.node ?? unknownNode;
    this.ipsets = inputs.ipsets ?? noIpsets();
  }

  /** Whether any rules of `family` were given (without them every table is empty to the evaluator). */
  hasRules(family: Family): boolean {
    return this.inputs.rulesets.some((r) => r.family === family);
  }

  rules(family: Family): CompiledRuleset {
    let c = this.compiled.get(family);
    if (!c) {
      c = compileRulesets(this.inputs.rulesets, family);
      this.compiled.set(family, c);
    }
    return c;
  }

  /**
   * The reply to one outcome of `evaluate(packet)`: it arrives where the original left and
   * conntrack undoes the original's DNAT/SNAT (de-SNAT in PREROUTING, de-DNAT in POSTROUTING).
   */
  evaluateReply(packet: PacketSpec, outcome: Outcome, opts: EvaluateOptions = {}): Evaluation | string {
    const rules = this.rules(packet.family);
    const r = evaluateReplyPath(packet, outcome, {
      rules, node: this.node, ipsets: this.ipsets, verbose: opts.verbose ?? false, family: packet.family,
      ...(opts.assume ? { assumed: opts.assume } : {}),
    });
    if (typeof r === "string") return r;
    return { packet: { ...packet, reply: true, state: "established" }, outcomes: r, problems: rules.problems };
  }

  evaluate(packet: PacketSpec, opts: EvaluateOptions = {}): Evaluation {
    const rules = this.rules(packet.family);
    const outcomes = evaluatePath(packet, {
      rules, node: this.node, ipsets: this.ipsets, verbose: opts.verbose ?? false, family: packet.family,
      ...(opts.assume ? { assumed: opts.assume } : {}),
      ...(opts.connection ? { connection: opts.connection, firstReply: opts.firstReply === true } : {}),
      ...(this.inputs.ipvs ? { ipvs: this.inputs.ipvs } : {}),
    });
    return { packet, outcomes, problems: rules.problems };
  }
}

export function buildNode(inputs: NodeInputs): NetfilterNode {
  return new NetfilterNode(inputs);
}
