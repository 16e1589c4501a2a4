/**
 * The library's evaluation entry point: a node (its rules, sets and facts) that answers
 * "what happens to this packet?".
 */
import type { Family, Ruleset } from "../model/ast.js";
import type { PacketSpec } from "../model/packet.js";
import { compileRulesets, mayHaveIndex, type CompiledRuleset, type CompileProblem } from "./compile.js";
import { evaluatePath, evaluateReplyPath } from "./path.js";
import type { ConntrackSummary, IpsetView, NodeView, Outcome, StateAssumptions } from "../model/evaluation.js";
import { noIpsets, unknownNode } from "./unknown-facts.js";
import type { IpvsTable } from "../model/ipvs.js";
import type { NftRuleset, NftTable } from "../model/nft.js";
import { nftFamilySees } from "../model/nft.js";
import type { FlowReads } from "./flow-reads.js";
import { compileNft, type NftCompiled, type NftProblem } from "./nft/compile.js";

export interface NodeInputs {
  rulesets: readonly Ruleset[];
  node?: NodeView;
  ipsets?: IpsetView;
  /** The node's IPVS virtual servers (`ipvsadm-save -n`, `ipvsadm -Ln`): IPVS then takes the packets it serves. */
  ipvs?: IpvsTable;
  /** The node's nftables rulesets (`nft list ruleset`, `nft -j`): their base chains run beside the iptables tables, by priority. */
  nft?: readonly NftRuleset[];
}

export interface EvaluateOptions {
  /** Also record the rules tried that did not match, with the first failing condition. */
  verbose?: boolean;
  /** With verbose: go by the chains' indexes still, recording only the rules tried (see triesEveryRule). */
  byIndex?: boolean;
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
  /**
   * Follow every history to its end apart: each random branch and each side of an undecided
   * test is its own outcome, never merged with another that ends alike (what one run of the
   * kernel does, for comparing with it; the default merges them, see mergeBranches).
   */
  apart?: boolean;
  /** Only each outcome's fate, final packet, chances, conditions, connection and deciding rule will be read: its steps are not described (see TraverseContext.lean). */
  lean?: boolean;
  /** Records what the evaluation read of the packet's source, for the flow memo (flow-memo.ts). */
  flow?: FlowReads;
}

export interface Evaluation {
  packet: PacketSpec;
  outcomes: Outcome[];
  /** Load-time findings that may affect the answer (missing chains, loops, unknown policies). */
  problems: CompileProblem[];
  /** Load-time findings about the nft rulesets (tables not on the IP path, missing chains and sets). */
  nftProblems?: NftProblem[];
}

export class NetfilterNode {
  private readonly compiled = new Map<Family, CompiledRuleset>();
  private readonly compiledNft = new Map<Family, NftCompiled>();
  readonly node: NodeView;
  readonly ipsets: IpsetView;

  constructor(private readonly inputs: NodeInputs) {
    this.node = inputs.node ?? unknownNode;
    this.ipsets = inputs.ipsets ?? noIpsets();
  }

  /** Whether any rules of `family` were given (without them every table is empty to the evaluator). */
  hasRules(family: Family): boolean {
    if (this.inputs.rulesets.some((r) => r.family === family)) return true;
    const pkt = family === "ipv4" ? "ipv4" : "ipv6";
    return (this.inputs.nft ?? []).some((rs) => rs.tables.some((t) => nftFamilySees(t.family, pkt)));
  }

  /** The nft base chains that see `family`'s packets; undefined when no nft ruleset was given. */
  nftRules(family: Family): NftCompiled | undefined {
    if (!this.inputs.nft?.length) return undefined;
    let c = this.compiledNft.get(family);
    if (!c) {
      // iptables-nft's own tables are run from the iptables dump that holds them: an nft table of
      // family ip (ip6) named as a table of an iptables-nft (or unlabelled) IPv4 (IPv6) dump is
      // that table, whether or not the listing said it is managed by iptables-nft (JSON never does).
      const covered = (t: NftTable) => {
        const fam = t.family === "ip" ? "ipv4" : t.family === "ip6" ? "ipv6" : undefined;
        return this.inputs.rulesets.some((r) => r.family === fam && r.flavour !== "legacy" && r.tables.some((x) => x.name === t.name));
      };
      c = compileNft(this.inputs.nft, family, covered);
      this.compiledNft.set(family, c);
    }
    return c;
  }

  private nftContext(family: Family): { nft?: NftCompiled } {
    const nft = this.nftRules(family);
    return nft ? { nft } : {};
  }

  private nftProblems(family: Family): { nftProblems?: NftProblem[] } {
    const nft = this.nftRules(family);
    return nft?.problems.length ? { nftProblems: nft.problems } : {};
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
      ...this.nftContext(packet.family),
    });
    if (typeof r === "string") return r;
    return { packet: { ...packet, reply: true, state: "established" }, outcomes: r, problems: rules.problems, ...this.nftProblems(packet.family) };
  }

  /**
   * Whether a walk that goes by the chains' indexes (EvaluateOptions.byIndex) tries every rule
   * of `table`, or of every table when none is named: none of their chains has an index.
   */
  triesEveryRule(family: Family, table?: string): boolean {
    for (let rs: CompiledRuleset | undefined = this.rules(family); rs; rs = rs.legacy) {
      for (const t of rs.tables.values()) {
        if (table !== undefined && t.name !== table) continue;
        for (const c of t.chains.values()) if (mayHaveIndex(c)) return false;
      }
    }
    return true;
  }

  evaluate(packet: PacketSpec, opts: EvaluateOptions = {}): Evaluation {
    const rules = this.rules(packet.family);
    const outcomes = evaluatePath(packet, {
      rules, node: this.node, ipsets: this.ipsets, verbose: opts.verbose ?? false, family: packet.family,
      ...(opts.byIndex ? { byIndex: true } : {}),
      ...(opts.assume ? { assumed: opts.assume } : {}),
      ...(opts.apart ? { apart: true } : {}),
      ...(opts.lean ? { lean: true } : {}),
      ...(opts.flow ? { flow: opts.flow } : {}),
      ...(opts.connection ? { connection: opts.connection, firstReply: opts.firstReply === true } : {}),
      ...(this.inputs.ipvs ? { ipvs: this.inputs.ipvs } : {}),
      ...this.nftContext(packet.family),
    });
    return { packet, outcomes, problems: rules.problems, ...this.nftProblems(packet.family) };
  }
}

export function buildNode(inputs: NodeInputs): NetfilterNode {
  return new NetfilterNode(inputs);
}
