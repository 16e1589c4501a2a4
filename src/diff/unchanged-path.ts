/**
 * Whether a packet's path under the old dump met any change: when it did not, the packet ends
 * the same under the new dump, and diff need not ask it (half the evaluations of a diff whose
 * dumps differ in a few services are then never made).
 *
 * Why that is sound. An evaluation is a function of the packet, the node's facts, sets and
 * IPVS table, and the compiled rules; it reads the rules only where it walks: which tables and
 * built-in chains are at a hook (and whether conntrack runs at all), then, chain by chain,
 * rules in order, each tested against the packet as it then is, a matched one's target
 * applied, a jump entering the chain it names (unless that chain is part of a jump loop). So
 * take the old dump's evaluation, and suppose
 *   (1) the facts, sets and IPVS table are the same objects on both sides, no nftables ruleset
 *       is given, and no ruleset splits into iptables-legacy and iptables-nft (GlobalSameness);
 *   (2) both sides have the same tables (each as whole or partial), the same built-in chains
 *       (declared, policy), and conntrack runs on both or neither;
 *   (3) every chain the evaluation entered — each chain a step is in, and each chain a step
 *       jumped or went to (a chain entered and left without a matching rule shows only so; a
 *       built-in chain always shows, by a rule or by its policy) — is, on the new side, the
 *       same chain (built-in or not, declared, policy, loop membership) whose rules are the old
 *       ones but for rules of either side that could not have matched the packet: each fails
 *       a decided condition for every header the packet had on its path.
 * Then the new evaluation makes the same walk, step for step: a rule in both sides is tested
 * on the same packet and does the same; a rule in one side only fails on a decided condition,
 * and such a test leaves no trace (the evaluator looks at a rule's undecided conditions only
 * when every decided one holds; rules whose interfaces a listing hid are never taken to fail,
 * as testing them notes an assumption). Rule numbers may differ; the comparison leaves them
 * out (compare.ts).
 *
 * "Every header the packet had": the packet as given, each step's packet after a change (the
 * evaluator snapshots a step whose rule or NAT changed an address, port or mark), and each
 * outcome's final packet. Only addresses, protocol and destination port are used; the source
 * of a packet the node sends without one is the routing decision's, not shown before a change:
 * it is taken as unknown. Paths this cannot see whole are always asked of both dumps:
 * encapsulated legs, IPVS, nftables and iptables-legacy steps, and packets of an established
 * connection (conntrack may rewrite them without a step).
 */
import type { Family, Rule, Ruleset } from "../model/ast.js";
import { isUnknown } from "../model/ast.js";
import { inNet, ipKey, ipToNum, maskFromPrefix, type IpNum, type NetTest } from "../model/address.js";
import type { PacketSpec } from "../model/packet.js";
import type { NetfilterNode, Evaluation, NodeInputs } from "../netfilter/model.js";
import type { Hook } from "../model/evaluation.js";
import { findMatch } from "../extensions/registry.js";
import { ChainChanges, type ChainChange } from "./chain-changes.js";

/** A packet's header as a rule on its path may have seen it: addresses as numbers. */
export interface Header {
  /** Undefined when not known (a locally sent packet's source, before a change shows it). */
  src?: IpNum;
  dst?: IpNum;
  proto: number;
  dport?: number;
}

const HOOKS: readonly Hook[] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/** What of a rule can refuse a packet outright: its decided conditions the header shows. */
interface Refusal {
  /** Testing the rule notes an assumption (a listing hid its interfaces): never taken to refuse. */
  noted: boolean;
  src?: NetTest;
  dst?: NetTest;
  proto?: { number: number; negated: boolean };
  /** The one destination port a match of the rule requires. */
  dport?: number;
}

function netTest(a: Rule["source"], family: Family): NetTest | undefined {
  if (a === undefined || isUnknown(a) || "hostname" in a) return undefined;
  // As the evaluator reads a rule's address (compile.ts): the address as written, under its mask.
  const net = ipToNum(a.address, family);
  const mask = a.prefixLength !== null ? maskFromPrefix(a.prefixLength, family) : a.mask !== null ? ipToNum(a.mask, family) : undefined;
  return net === undefined || mask === undefined ? undefined : { net, mask, negated: a.negated };
}

function refusalOf(rule: Rule, family: Family): Refusal {
  const r: Refusal = { noted: isUnknown(rule.inInterface) || isUnknown(rule.outInterface) };
  const src = netTest(rule.source, family);
  const dst = netTest(rule.destination, family);
  if (src) r.src = src;
  if (dst) r.dst = dst;
  const p = rule.protocol;
  if (p) {
    r.proto = { number: p.number, negated: p.negated };
    if (!p.negated) {
      for (const m of rule.matches) {
        const port = m.kind === "match" ? findMatch(m.name, family)?.indexDport?.(m.data) : undefined;
        if (port !== undefined) {
          r.dport = port;
          break;
        }
      }
    }
  }
  return r;
}

function refuses(r: Refusal, h: Header): boolean {
  if (r.noted) return false;
  if (r.dst && h.dst !== undefined && inNet(h.dst, r.dst) === r.dst.negated) return true;
  if (r.src && h.src !== undefined && inNet(h.src, r.src) === r.src.negated) return true;
  if (!r.proto) return false;
  if ((h.proto === r.proto.number) === r.proto.negated) return true;
  return r.dport !== undefined && h.dport !== undefined && h.dport !== r.dport;
}

/**
 * Whether `rule` fails a decided condition on a packet with header `h` (so it cannot match it,
 * and testing it leaves no trace): its address, its protocol, or the one destination port a
 * match of it requires (the extension's `indexDport`, the port the evaluator's own chain index
 * files the rule under).
 */
export function ruleRefuses(rule: Rule, h: Header, family: Family): boolean {
  return refuses(refusalOf(rule, family), h);
}

/**
 * The rules a chain's change is made of, read for refusing headers: those that require one
 * destination address (KUBE-SERVICES' portals) filed under it, so that a header is held only
 * against those of its own destination and the others.
 */
class ChangedRules {
  private readonly byDst = new Map<string | number, Refusal[]>();
  private readonly others: Refusal[] = [];

  constructor(rules: readonly Rule[], family: Family) {
    const full = family === "ipv4" ? 32 : 128;
    for (const rule of rules) {
      const r = refusalOf(rule, family);
      const d = rule.destination;
      if (r.dst && !r.dst.negated && d && !isUnknown(d) && !("hostname" in d) && d.prefixLength === full) {
        const k = ipKey(r.dst.net);
        const list = this.byDst.get(k);
        if (list) list.push(r);
        else this.byDst.set(k, [r]);
      } else this.others.push(r);
    }
  }

  /** Whether every rule refuses the header. */
  refuse(h: Header): boolean {
    for (const r of this.others) if (!refuses(r, h)) return false;
    if (h.dst === undefined) {
      for (const list of this.byDst.values()) for (const r of list) if (!refuses(r, h)) return false;
      return true;
    }
    // A rule filed under another destination refuses the header by its address.
    for (const r of this.byDst.get(ipKey(h.dst)) ?? []) if (!refuses(r, h)) return false;
    return true;
  }
}

/** Every header the packet had on its path (see above), or undefined for a path not seen whole. */
export function pathHeaders(p: PacketSpec, e: Evaluation): Header[] | undefined {
  const known = p.src !== undefined;
  const seen: Array<[string | undefined, string, number | undefined]> = [];
  const add = (src: string | undefined, dst: string, dport: number | undefined) => {
    if (!known) src = undefined;
    if (!seen.some((x) => x[0] === src && x[1] === dst && x[2] === dport)) seen.push([src, dst, dport]);
  };
  add(p.src, p.dst, p.dport);
  for (const o of e.outcomes) {
    if (o.encapsulated?.length) return undefined;
    for (const s of o.steps) {
      if (s.table === "ipvs" || s.table === "nft" || s.legacy || s.ipvs || s.nft) return undefined;
      if (s.packet) add(s.packet.src, s.packet.dst, s.packet.dport);
    }
    add(o.final.src, o.final.dst, o.final.dport);
  }
  return seen.map(([src, dst, dport]) => {
    const h: Header = { proto: p.proto };
    const s = src === undefined ? undefined : ipToNum(src, p.family);
    const d = ipToNum(dst, p.family);
    if (s !== undefined) h.src = s;
    if (d !== undefined) h.dst = d;
    if (dport !== undefined) h.dport = dport;
    return h;
  });
}

/** Whether the sides' compiled rules of `family` agree everywhere but in chains (conditions 1 and 2). */
function sameOutsideChains(a: NodeInputs, b: NodeInputs, oldNode: NetfilterNode, newNode: NetfilterNode, family: Family): boolean {
  if (a.node !== b.node || a.ipvs !== b.ipvs || a.nft?.length || b.nft?.length) return false;
  if (a.ipsets !== b.ipsets && (usesSets(a.rulesets) || usesSets(b.rulesets))) return false;
  const x = oldNode.rules(family);
  const y = newNode.rules(family);
  if (x.legacy || y.legacy || x.conntrackActive !== y.conntrackActive || x.complete !== y.complete) return false;
  if (x.tables.size !== y.tables.size) return false;
  for (const [name, t] of x.tables) {
    const u = y.tables.get(name);
    if (!u || t.complete !== u.complete) return false;
    for (const h of HOOKS) {
      const c = t.chains.get(h);
      const d = u.chains.get(h);
      if (!c || !d) {
        if (c || d) return false;
        continue;
      }
      if (c.builtin !== d.builtin || c.declared !== d.declared || c.policy !== d.policy || c.policyUnknown !== d.policyUnknown) return false;
    }
  }
  return true;
}

/** Whether a rule of these rulesets reads ipsets (`-m set`); the SET target only notes what it would add. */
function usesSets(rulesets: readonly Ruleset[]): boolean {
  return rulesets.some((rs) => rs.tables.some((t) => t.chains.some((c) => c.rules.digest().matchNames.includes("set"))));
}

/** One family's chains, each either as on the old side for every packet, or changed in some rules, or not to be entered. */
class FamilyChanges {
  private readonly changes: ChainChanges;
  private readonly loopsOld: Set<string>;
  private readonly loopsNew: Set<string>;
  private readonly known = new Map<string, Map<string, "same" | "opaque" | ChangedRules>>();

  constructor(a: NodeInputs, b: NodeInputs, oldNode: NetfilterNode, newNode: NetfilterNode, private readonly f: Family, byLines: boolean) {
    this.changes = new ChainChanges(a.rulesets, b.rulesets, f, byLines);
    this.loopsOld = oldNode.rules(f).loops;
    this.loopsNew = newNode.rules(f).loops;
  }

  /** Whether the chain is part of a jump loop on one side only (most dumps have no loop: no key is made then). */
  private loopOnOneSide(table: string, chain: string): boolean {
    if (this.loopsOld.size === 0 && this.loopsNew.size === 0) return false;
    const loop = `${table}/${chain}`;
    return this.loopsOld.has(loop) !== this.loopsNew.has(loop);
  }

  /** The chain's change, `opaque` too when it is part of a jump loop on one side only (compile.ts keys loops by table/chain). */
  at(table: string, chain: string): "same" | "opaque" | ChangedRules {
    let known = this.known.get(table);
    if (!known) this.known.set(table, (known = new Map()));
    let c = known.get(chain);
    if (c === undefined) {
      const change: ChainChange = this.loopOnOneSide(table, chain) ? "opaque" : this.changes.at(table, chain);
      c = typeof change === "string" ? change : new ChangedRules([...change.old, ...change.new], this.f);
      known.set(chain, c);
    }
    return c;
  }
}

/** Answers, packet by packet, whether the new side would end the packet as the old did without asking it. */
export class UnchangedPaths {
  private readonly families = new Map<Family, FamilyChanges | null>();

  constructor(
    private readonly a: NodeInputs,
    private readonly b: NodeInputs,
    private readonly oldNode: NetfilterNode,
    private readonly newNode: NetfilterNode,
    /** False: chains are compared by their bound rules only (see sameChainRules; for tests). */
    private readonly byLines = true,
  ) {}

  private family(f: Family): FamilyChanges | null {
    let s = this.families.get(f);
    if (s === undefined) {
      s = sameOutsideChains(this.a, this.b, this.oldNode, this.newNode, f) ? new FamilyChanges(this.a, this.b, this.oldNode, this.newNode, f, this.byLines) : null;
      this.families.set(f, s);
    }
    return s;
  }

  /** Works out now what the first packet of family `f` would. */
  prepare(f: Family): void {
    this.family(f);
  }

  /** True when `old`, the old side's evaluation of `p`, is what the new side would answer too (see above). */
  unchanged(p: PacketSpec, old: Evaluation): boolean {
    if (p.state !== undefined && p.state !== "new") return false;
    if (p.reply || p.fragment) return false;
    const s = this.family(p.family);
    if (!s) return false;
    const headers = pathHeaders(p, old);
    if (!headers) return false;
    let lastTable: string | undefined;
    let lastChain: string | undefined;
    // Every chain the evaluation entered (see above): each step's chain, and the chain a step jumped
    // or went to, some more than once. A loop, not a walk with a callback: a closure per packet.
    for (const o of old.outcomes) {
      for (const step of o.steps) {
        const t = step.ruleNode?.target;
        for (let k = 0; k < 2; k++) {
          const table = step.table;
          const chain = k === 0 ? step.chain : t?.kind === "chain" ? t.chain : undefined;
          // The chain just asked about (a step after a step in it, an outcome after another): the same answer.
          if (chain === undefined || (chain === lastChain && table === lastTable)) continue;
          lastTable = table;
          lastChain = chain;
          const c = s.at(table, chain);
          if (c === "same") continue;
          if (c === "opaque") return false;
          for (const h of headers) if (!c.refuse(h)) return false;
        }
      }
    }
    return true;
  }
}
