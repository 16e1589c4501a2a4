/**
 * The netfilter path of a packet through one node, hook by hook in the kernel's priority
 * order, with the routing decisions in between and conntrack/NAT at the places the kernel
 * does them:
 *
 *   arriving:  raw PREROUTING → (conntrack) → mangle PREROUTING → nat PREROUTING (first packet)
 *              → routing → local: mangle/filter/security INPUT, nat INPUT (first packet)
 *                        → forward: mangle/filter/security FORWARD → mangle/nat POSTROUTING
 *   local:     routing → raw/mangle OUTPUT (re-route if mark or destination changed) →
 *              nat OUTPUT (first packet; re-route) → filter/security OUTPUT →
 *              mangle/nat POSTROUTING → out, or through lo back up the input path.
 *
 * The order was checked against `xtables-monitor --trace` (../shared/reference/traces and
 * test/kernel/).
 */
import type { Family, TableName } from "../model/ast.js";
import type { NftPlace, StepTable } from "../model/evaluation.js";
import type { NftBase, NftCompiled } from "./nft/compile.js";
import { runBaseChain, walkShortcuts, type NftResult, type NftRunOptions } from "./nft/run.js";
import type { PacketSpec } from "../model/packet.js";
import { hex } from "../extensions/util.js";
import { assume, mergeBranches, mergeHistories, newBranchOf, snapshot, type Branch } from "./branch.js";
import { applyNat, conntrackNat, natApplies, natOf, natText } from "./nat.js";
import { runsNothing, runTable, type TableResult, type TraverseContext } from "./traverse.js";
import type { CompiledRuleset } from "./compile.js";
import type { ConntrackState, ConntrackSummary, Fate, Hook, InputRouteQuery, Tuple, OuterPackets, Outcome, PacketState, RouteDecision, RouteQuery, Step, TunnelInfo } from "../model/evaluation.js";
import { alwaysUntracked, establishedStatus, relatedStatus, withoutConnection, type Unconnected } from "./conntrack-view.js";
import type { IpvsTable } from "../model/ipvs.js";
import { ipvsReply, ipvsRequest } from "./ipvs.js";
import { socketSend } from "./socket-send.js";

type Stage = { table: TableName; hook: Hook; natOnly?: boolean };

/** `firstReply`: the packet is the first reply of the connection its context knows (see evaluateReplyPath). */
function initialState(spec: PacketSpec, src: string, firstReply: boolean): PacketState {
  const state = spec.state === "established" ? "ESTABLISHED" : spec.state === "related" ? "RELATED" : spec.state === "invalid" ? "INVALID" : "NEW";
  const orig: Tuple = { src, dst: spec.dst };
  if (spec.sport !== undefined) orig.sport = spec.sport;
  if (spec.dport !== undefined) orig.dport = spec.dport;
  const reply: Tuple = { src: spec.dst, dst: src };
  if (spec.dport !== undefined) reply.sport = spec.dport;
  if (spec.sport !== undefined) reply.dport = spec.sport;
  const later = state === "ESTABLISHED" ? establishedStatus(spec, firstReply) : state === "RELATED" ? relatedStatus() : undefined;
  // Every field the walk may set is there from the start (undefined until set): the packets of
  // an evaluation keep one object shape, so setting a field later is a plain store, not a change of shape.
  const ct: ConntrackState = {
    state, dir: spec.reply ? "REPLY" : "ORIGINAL", mark: 0, zone: 0,
    orig: spec.reply ? reply : orig, reply: spec.reply ? orig : reply,
    dnat: undefined, snat: undefined,
    status: new Set(later?.status ?? []),
    statusUnknown: later && Object.keys(later.unknown).length > 0 ? later.unknown : undefined,
    helper: undefined, ipvs: undefined,
  };
  const p: PacketState = {
    family: spec.family, src, dst: spec.dst, proto: spec.proto,
    sport: spec.sport, dport: spec.dport, tcpFlags: spec.tcpFlags, icmpType: spec.icmpType, icmpCode: spec.icmpCode,
    length: spec.length, ttl: spec.ttl, tos: spec.tos, srcMac: spec.srcMac,
    fragment: spec.fragment ?? false,
    inIface: spec.from !== "local" ? spec.from : undefined, outIface: undefined, nexthop: undefined,
    mark: spec.mark ?? 0, ct,
  };
  return p;
}

interface Final {
  br: Branch;
  fate: Fate;
  /** The outer packet's own outcomes, when the packet left through a tunnel device. */
  encapsulated?: Outcome[];
}

export interface PathContext extends TraverseContext {
  family: Family;
  /** The connection a packet belongs to, when it is not the connection's first packet and conntrack's entry is known. */
  connection?: ConntrackSummary;
  /** The packet is the first reply of `connection`. */
  firstReply?: boolean;
  /** Conntrack leaves the packet untracked whatever its spec says (ICMPv6 neighbour discovery). */
  untracked?: boolean;
  /** How many tunnels deep this evaluation is (outer packets of outer packets). */
  depth?: number;
  /** The node's IPVS virtual servers, when given (see ipvs.ts). */
  ipvs?: IpvsTable;
  /** The node's nftables base chains for this family (nft/compile.ts). */
  nft?: NftCompiled;
}

/** Whether conntrack runs: some iptables or nft rule makes the kernel enable it (else nat chains are never consulted). */
function conntrackOn(ctx: PathContext): boolean {
  return ctx.rules.conntrackActive || ctx.nft?.conntrack === true;
}

/**
 * Runs a list of live branches through one table/hook; terminal results become finals. On a
 * node with both iptables backends (CompiledRuleset.legacy), the iptables-legacy table runs at
 * the same priority, after the iptables-nft one (see legacyStage).
 */
function stage(live: Branch[], s: Stage, ctx: PathContext, finals: Final[]): Branch[] {
  if (s.table === "nat" && ctx.rules.legacy) return natStage(live, s.hook, ctx, finals);
  const l = ctx.rules.legacy ? legacyStage(live, s, ctx, finals) : live;
  // A table the node does not have lets every history through as it came (runTable's plain
  // ACCEPT): a dozen such stages meet each packet on a node whose rules are all nft's.
  if (runsNothing(ctx.rules, s.table, s.hook)) return s.table === "nat" ? natAccepted(l, ctx) : l;
  return backendStage(l, s, ctx, finals);
}

/**
 * The histories an empty nat table accepted, as backendStage leaves them: a NAT binding some
 * earlier chain asked for (an nft filter chain's nat statement) is applied there.
 */
function natAccepted(live: Branch[], ctx: PathContext): Branch[] {
  for (const br of live) if (br.pendingNat && natApplies(br.pkt) && conntrackOn(ctx)) applyNat(br, !ctx.lean);
  return live;
}

/**
 * The iptables-legacy table of a hook, before the iptables-nft one. The kernel calls hooks of
 * equal priority latest registered first (nf_hook_entries_grow puts a new hook before those of
 * its priority; test/kernel/nft-harness.test.ts pins it for nft chains), and no dump shows when
 * each was registered: the legacy table is taken as the later (its module is loaded by the first
 * iptables-legacy command, typically kube-proxy's or a CNI's, after the host's nft rules), and
 * an outcome that passed both says so. Whether a packet is dropped does not depend on the order
 * (an accept ends only its own table); which rule is named, and a mark one sets for the other, do.
 */
function legacyStage(live: Branch[], s: Stage, ctx: PathContext, finals: Final[]): Branch[] {
  const legacy = ctx.rules.legacy!;
  const chain = legacy.tables.get(s.table)?.chains.get(s.hook);
  if (!chain?.declared) return live;
  const both = ctx.rules.tables.get(s.table)?.chains.get(s.hook)?.declared === true;
  for (const br of live) {
    if (both) assume(br, `${s.table} ${s.hook} of both iptables backends: the kernel runs the later registered first, which the dumps do not show (iptables-legacy's taken as the later, so first)`);
  }
  return backendStage(live, s, { ...ctx, rules: legacy }, finals, true);
}

/** One backend's table for every live history; `legacy` marks its steps and fates as iptables-legacy's. */
function backendStage(live: Branch[], s: Stage, ctx: PathContext, finals: Final[], legacy = false): Branch[] {
  const next: Branch[] = [];
  const finalsBefore = finals.length;
  for (const br of live) {
    if (s.table === "nat" && (!natApplies(br.pkt) || !conntrackOn(ctx))) {
      next.push(br);
      continue;
    }
    // Untracked packets skip nat entirely; raw runs before conntrack so it is always consulted.
    for (const r of tableRun(br, s.table, s.hook, ctx, legacy)) {
      if (r.verdict === "ACCEPT") {
        if (s.table === "nat") applyNat(r.br, !ctx.lean);
        next.push(r.br);
      } else finals.push({ br: r.br, fate: terminalFate(r, s, undefined, legacy) });
    }
  }
  return mergeSplit(next, live.length, finals.length - finalsBefore, ctx);
}

/** runTable, with the steps it adds marked as iptables-legacy's when `legacy`. */
function tableRun(br: Branch, table: TableName, hook: Hook, ctx: PathContext, legacy: boolean): TableResult[] {
  const from = br.steps.length;
  const results = runTable(br, table, hook, ctx);
  if (legacy) for (const r of results) for (let i = from; i < r.br.steps.length; i++) r.br.steps[i]!.legacy = true;
  return results;
}

/**
 * Histories a stage split that leave it in one state go on as one (see mergeBranches); those
 * that came in apart, and were not split here, are left as they are, and so is every history
 * when the evaluation keeps them apart (EvaluateOptions.apart).
 */
function mergeSplit(next: Branch[], came: number, ended: number, ctx: PathContext): Branch[] {
  if (ctx.apart || next.length < 2 || next.length + ended <= came) return next;
  return mergeHistories(next, (br) => decidingStep(br.steps));
}

/** How a table's (or an nft chain's, with `nft`) terminal verdict ends the packet. */
function terminalFate(r: TableResult, s: { table: StepTable; hook: Hook }, nft?: NftPlace, legacy = false): Fate {
  const rule = r.rule ?? "policy";
  const place = nft ? { nft } : legacy ? { legacy: true as const } : {};
  const where = nft ? `nft ${nft.family} ${nft.table}` : s.table;
  switch (r.verdict) {
    case "DROP":
      return { kind: "dropped", table: s.table, chain: r.chain ?? s.hook, rule, hook: s.hook, ...place };
    case "REJECT":
      return { kind: "rejected", table: s.table, chain: r.chain ?? s.hook, rule: typeof rule === "number" ? rule : 0, hook: s.hook, with: r.detail ?? "icmp-port-unreachable", ...place };
    case "QUEUE": {
      const f: Fate = { kind: "queued", table: s.table, chain: r.chain ?? s.hook, rule: typeof rule === "number" ? rule : 0, hook: s.hook, ...place };
      if (r.detail !== undefined) f.queue = r.detail;
      return f;
    }
    case "ERROR":
      return { kind: "error", reason: `${where} ${r.chain ?? s.hook} ${rule === "policy" ? "policy" : `rule ${rule}`}: ${r.detail ?? "error"}` };
    default:
      return { kind: "indeterminate", reason: `${where} ${r.chain ?? s.hook} ${rule === "policy" ? "policy" : `rule ${rule}`}: ${r.detail ?? "cannot be decided"}` };
  }
}

/**
 * The nft base chains of one hook that are not nat chains, in priority order, and how many of
 * them have run on this walk. Each hook's walk runs them between the iptables tables by
 * priority (`nftBelow`); a chain at the same priority as an iptables table runs after it.
 */
interface NftHook {
  hook: Hook;
  chains: readonly NftBase[];
  next: number;
  /** Conntrack has already seen the packet (it came back through lo): no chain runs before it. */
  tracked: boolean;
}

function nftHook(ctx: PathContext, hook: Hook, tracked = false): NftHook {
  return { hook, chains: ctx.nft?.otherHooks.get(hook) ?? [], next: 0, tracked };
}

/**
 * NF_IP_PRI_CONNTRACK: chains below it in PREROUTING and OUTPUT see no conntrack entry (checked:
 * test/kernel/nft-semantics.test.ts). A chain at exactly -200 runs before conntrack when it was
 * registered after it (the later registered runs first among equals), as on a node whose
 * conntrack some earlier rule already enabled: taken so, and said (checked in a netns, same file).
 */
const PRI_CONNTRACK = -200;

/** What a chain at exactly conntrack's priority rests on. */
function conntrackTie(base: NftBase): string {
  return `${base.table.family} ${base.table.name} ${base.chain.name} has conntrack's priority (-200): it runs before conntrack when registered after it (conntrack already enabled when the ruleset was loaded), which the input does not show; taken so (the packet has no conntrack entry there yet)`;
}

/** Runs the hook's nft chains below `priority` that have not run yet. `spec`: the packet as sent (route chains in OUTPUT re-route). */
function nftBelow(live: Branch[], h: NftHook, priority: number, ctx: PathContext, finals: Final[], spec?: PacketSpec): Branch[] {
  let l = live;
  while (h.next < h.chains.length && h.chains[h.next]!.priority < priority) {
    const base = h.chains[h.next++]!;
    const beforeConntrack = !h.tracked && (h.hook === "PREROUTING" || h.hook === "OUTPUT") && base.priority <= PRI_CONNTRACK;
    if (beforeConntrack && base.priority === PRI_CONNTRACK) for (const br of l) assume(br, conntrackTie(base));
    if (base.type === "route" && h.hook === "OUTPUT" && spec) {
      // A route chain in OUTPUT re-routes a packet whose mark or destination it changed
      // (nf_route_table_hook compares them with what the chain was given), as mangle OUTPUT does.
      l = l.flatMap((b) => {
        const given = { ...spec, mark: b.pkt.mark, dst: b.pkt.dst };
        return reroute(nftStage([b], base, ctx, finals, beforeConntrack), ctx, finals, given);
      });
    } else l = nftStage(l, base, ctx, finals, beforeConntrack);
  }
  return l;
}

/**
 * Runs the hook's nft chains up to the NAT core's priority (`natAt`: -100 in PREROUTING and
 * OUTPUT, 100 in INPUT and POSTROUTING), those at it included: a chain of equal priority
 * registered after the NAT core's hook runs before it, and the NAT core's hook is registered
 * once, by the first nat chain of the namespace, so on a node it is the earlier (checked in a
 * netns: test/kernel/nft-semantics.test.ts). Which was first the input does not show: said.
 */
function nftThroughNatCore(live: Branch[], h: NftHook, natAt: number, ctx: PathContext, finals: Final[], spec?: PacketSpec): Branch[] {
  const tied = chainsAt(h, natAt);
  if (tied.length && natChainsAt(ctx, h.hook)) {
    const names = tied.map((b) => `nft ${b.table.family} ${b.table.name} ${b.chain.name}`).join(", ");
    for (const br of live) assume(br, `${names} and the NAT core's hook have the same priority (${natAt}): the later registered runs first, which the input does not show; taken as the NAT core's hook registered first (by an earlier nat chain), so ${names} before the nat chains`);
  }
  return nftBelow(live, h, natAt + 1, ctx, finals, spec);
}

/** The hook's chains not run yet that have exactly `priority` (none, without allocating, when none: the common case). */
function chainsAt(h: NftHook, priority: number): readonly NftBase[] {
  const chains = h.chains;
  let i = h.next;
  // In priority order: those below `priority` first, then those at it.
  while (i < chains.length && chains[i]!.priority < priority) i++;
  let j = i;
  while (j < chains.length && chains[j]!.priority === priority) j++;
  return j > i ? chains.slice(i, j) : NO_CHAINS;
}

const NO_CHAINS: readonly NftBase[] = [];

/** Whether any nat chain (nft's or iptables' nat table) is attached to the hook. */
function natChainsAt(ctx: PathContext, hook: Hook): boolean {
  return (ctx.nft?.hooks.get(hook)?.some((b) => b.type === "nat") ?? false) || ctx.rules.tables.get("nat")?.chains.get(hook)?.declared === true;
}

/** One nft base chain for every live history: an accept ends only this chain; anything else ends the packet. */
function nftStage(live: Branch[], base: NftBase, ctx: PathContext, finals: Final[], beforeConntrack: boolean): Branch[] {
  const opts = beforeConntrack ? BEFORE_CONNTRACK : AFTER_CONNTRACK;
  if (live.length !== 1 || !walkShortcuts.on) return nftStageOf(live, undefined, base, ctx, finals, opts);
  // One history that the chain accepted as it came (no fork, no end): it goes on as it was, in
  // the list it came in (a packet meets a dozen base chains, most of them so).
  const results = runBaseChain(live[0]!, base, ctx, opts);
  if (results.length === 1 && results[0]!.verdict === "ACCEPT" && results[0]!.br === live[0]) return live;
  return nftStageOf(live, results, base, ctx, finals, opts);
}

/** nftStage's every other case: `first`, the first history's results when they are known already. */
function nftStageOf(live: Branch[], first: NftResult[] | undefined, base: NftBase, ctx: PathContext, finals: Final[], opts: NftRunOptions): Branch[] {
  const next: Branch[] = [];
  const finalsBefore = finals.length;
  for (let i = 0; i < live.length; i++) {
    for (const r of i === 0 && first ? first : runBaseChain(live[i]!, base, ctx, opts)) {
      if (r.verdict === "ACCEPT") next.push(r.br);
      else finals.push({ br: r.br, fate: terminalFate(r, { table: "nft", hook: base.hook }, withHandle({ family: base.table.family, table: base.table.name }, r, base)) });
    }
  }
  return mergeSplit(next, live.length, finals.length - finalsBefore, ctx);
}

/** A walk's options, one object each (a packet meets a dozen base chains). */
const BEFORE_CONNTRACK: NftRunOptions = Object.freeze({ beforeConntrack: true });
const AFTER_CONNTRACK: NftRunOptions = Object.freeze({ beforeConntrack: false });

/** The nft place of a fate, with the deciding rule's handle when the input gave handles. */
function withHandle(place: NftPlace, r: TableResult, base: NftBase): NftPlace {
  if (typeof r.rule !== "number") return place;
  const chain = base.table.chains.get(r.chain ?? "");
  const handle = chain?.rules[r.rule - 1]?.rule.handle;
  return handle !== undefined ? { ...place, handle } : place;
}

/**
 * The nat chains of a hook, for a connection's first packet. The kernel runs every nat-type
 * chain, iptables' nat table included, from the NAT core's own hook (nf_nat_inet_fn, at
 * NF_IP_PRI_NAT_DST -100 in PREROUTING and OUTPUT, NF_IP_PRI_NAT_SRC 100 in INPUT and
 * POSTROUTING), in their priority order, and stops at the first that sets NAT up: a nat chain
 * at -50 runs before a filter chain at -90, and one after a dnat does not run (checked in a
 * netns: test/kernel/nft-semantics.test.ts). Without nft nat chains this is the nat table's stage.
 */
function natStage(live: Branch[], hook: Hook, ctx: PathContext, finals: Final[]): Branch[] {
  const plan = natPlan(ctx, hook);
  if (!plan) return backendStage(live, { table: "nat", hook }, ctx, finals);
  const { units, tie, legacy, iptablesRuns } = plan;
  const next: Branch[] = [];
  const finalsBefore = finals.length;
  for (const br of live) {
    if (!natApplies(br.pkt) || !conntrackOn(ctx)) {
      next.push(br);
      continue;
    }
    if (tie) assume(br, tie);
    let cur = [br];
    for (const u of units) {
      // Every history has set NAT up or ended: the later nat chains have none to run.
      if (cur.length === 0 && walkShortcuts.on) break;
      const after: Branch[] = [];
      for (const b of cur) {
        if (u === "iptables" && !iptablesRuns) {
          // No iptables nat chain at the hook: runTable's plain ACCEPT, without running it.
          if (b.pendingNat) {
            applyNat(b, !ctx.lean);
            next.push(b);
          } else after.push(b);
          continue;
        }
        const results = u === "iptables" ? runTable(b, "nat", hook, ctx)
          : u === "legacy" ? tableRun(b, "nat", hook, { ...ctx, rules: legacy! }, true)
          : runBaseChain(b, u, ctx, AFTER_CONNTRACK);
        for (const r of results) {
          if (r.verdict !== "ACCEPT") {
            finals.push({
              br: r.br,
              fate: u === "iptables" || u === "legacy" ? terminalFate(r, { table: "nat", hook }, undefined, u === "legacy")
                : terminalFate(r, { table: "nft", hook }, withHandle({ family: u.table.family, table: u.table.name }, r, u)),
            });
          } else if (r.br.pendingNat) {
            // NAT set up: the later nat chains of this hook do not run.
            applyNat(r.br, !ctx.lean);
            next.push(r.br);
          } else after.push(r.br);
        }
      }
      cur = after;
    }
    for (const b of cur) next.push(b);
  }
  return mergeSplit(next, live.length, finals.length - finalsBefore, ctx);
}

/** What natStage runs at a hook: the nat chains in order (nft's and the iptables tables'), and the tie it states. */
export interface NatPlan {
  units: ReadonlyArray<NftBase | "iptables" | "legacy">;
  /** Some nft nat chain has iptables' nat priority while iptables' nat chain acts: the order the input does not show. */
  tie: string | undefined;
  legacy: CompiledRuleset | undefined;
  /** The iptables-nft nat table has a chain at the hook (else its unit is runTable's plain ACCEPT). */
  iptablesRuns: boolean;
}

/**
 * Plans by the node's iptables rules, its nft chains and the hook: they depend on nothing else,
 * and a packet meets two or three nat stages (undefined: no nft nat chain and no iptables-legacy
 * nat chain at the hook, the nat table's own stage).
 */
const NAT_PLANS = new WeakMap<CompiledRuleset, WeakMap<object, Map<Hook, NatPlan | undefined>>>();
const NO_NFT = {};

export function natPlan(ctx: PathContext, hook: Hook): NatPlan | undefined {
  let byNft = NAT_PLANS.get(ctx.rules);
  if (!byNft) NAT_PLANS.set(ctx.rules, (byNft = new WeakMap()));
  const nftKey = ctx.nft ?? NO_NFT;
  let byHook = byNft.get(nftKey);
  if (!byHook) byNft.set(nftKey, (byHook = new Map()));
  if (byHook.has(hook)) return byHook.get(hook);
  const plan = planNat(ctx, hook);
  byHook.set(hook, plan);
  return plan;
}

/** natPlan worked out anew (exported for the test that holds the kept plans to it). */
export function planNat(ctx: PathContext, hook: Hook): NatPlan | undefined {
  const nftNat = ctx.nft?.natHooks.get(hook) ?? [];
  const legacy = ctx.rules.legacy?.tables.get("nat")?.chains.get(hook)?.declared === true ? ctx.rules.legacy : undefined;
  if (nftNat.length === 0 && !legacy) return undefined;
  const iptablesAt = hook === "PREROUTING" || hook === "OUTPUT" ? -100 : 100;
  // iptables' nat table first among equals; iptables-legacy's before iptables-nft's (see legacyStage).
  const tables: Array<"iptables" | "legacy"> = legacy ? ["legacy", "iptables"] : ["iptables"];
  const units: Array<NftBase | "iptables" | "legacy"> = [...nftNat.filter((b) => b.priority < iptablesAt), ...tables, ...nftNat.filter((b) => b.priority >= iptablesAt)];
  const tied = nftNat.filter((b) => b.priority === iptablesAt);
  const tie = tied.length && iptablesActs(ctx, "nat", hook) ? samePriority(tied, "iptables' nat table") : undefined;
  return { units, tie, legacy, iptablesRuns: !runsNothing(ctx.rules, "nat", hook) };
}

function withRoute(br: Branch, d: RouteDecision): void {
  if (d.kind === "unicast") {
    br.pkt.outIface = d.dev;
    if (d.gateway !== undefined) br.pkt.nexthop = d.gateway;
    else br.pkt.nexthop = undefined;
  } else if (d.kind === "local") {
    br.pkt.outIface = d.dev ?? "lo";
    br.pkt.nexthop = undefined;
  }
}

/** The fate of a packet the routing decision `d` stops (undefined: it goes on); `what` is called only then (every routed history comes here). */
function routeFailure(d: RouteDecision, what: () => string, iface?: string): Fate | undefined {
  switch (d.kind) {
    case "martian":
      return { kind: "martian", check: d.check, reason: d.detail, ...(iface !== undefined ? { iface } : {}) };
    case "not-forwarding":
      return { kind: "unroutable", reason: d.detail };
    case "indeterminate":
      return { kind: "indeterminate", reason: `${what()}: ${d.reason}` };
    case "blackhole":
    case "unreachable":
    case "prohibit":
    case "throw":
    case "none":
      return { kind: "unroutable", reason: `${what()}: ${d.kind === "none" ? "no route" : `${d.kind} route`}${d.detail ? ` (${d.detail})` : ""}` };
    default:
      return undefined;
  }
}

/** Records what a routing decision rests on and which rule and route made it. */
function noteRoute(br: Branch, d: RouteDecision, what: string): void {
  if (d.assumptions) for (const a of d.assumptions) assume(br, a);
  if (d.chosenBy) (br.routing ??= []).push(`${what}: ${d.chosenBy}`);
}

function queryOf(p: PacketState): RouteQuery {
  const q: RouteQuery = { family: p.family, dst: p.dst, src: p.src, mark: p.mark, proto: p.proto };
  if (p.tos !== undefined) q.tos = p.tos;
  if (p.sport !== undefined) q.sport = p.sport;
  if (p.dport !== undefined) q.dport = p.dport;
  return q;
}

/**
 * The assumption an unstated forwarding setting makes, one string per answer of the node view
 * (it keeps one per device): every forwarded history of a batch records it, and assume()
 * compares it with those already there, which for the same string is one pointer compare.
 */
const forwardingWords = new WeakMap<object, string>();

function forwardingAssumed(fwd: { indeterminate: string }): string {
  let text = forwardingWords.get(fwd);
  if (text === undefined) forwardingWords.set(fwd, (text = `forwarding assumed enabled (${fwd.indeterminate})`));
  return text;
}

/** Where a branch's packet goes after the input-side routing decision. */
function inputPath(live: Branch[], ctx: PathContext, finals: Final[]): void {
  const local: Branch[] = [];
  const forward: Branch[] = [];
  for (const br of live) {
    const p = br.pkt;
    const q = queryOf(p) as InputRouteQuery;
    q.iif = p.inIface ?? "lo";
    const d = ctx.node.routeInput(q);
    ctx.flow?.route("input", q, d, ctx.node);
    noteRoute(br, d, "input route");
    const fail = routeFailure(d, () => `routing ${p.dst} arriving on ${p.inIface}`, p.inIface);
    if (fail) {
      finals.push({ br, fate: fail });
      continue;
    }
    if (d.kind === "local") {
      local.push(br);
      continue;
    }
    // Views that do not check forwarding themselves (node-view.ts does, in the kernel's order).
    const fwd = ctx.node.forwarding(ctx.family, p.inIface);
    if (fwd === false) {
      finals.push({ br, fate: { kind: "unroutable", reason: `${p.dst} is not local and forwarding is disabled (${ctx.family === "ipv4" ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding"}=0)` } });
      continue;
    }
    if (typeof fwd === "object") assume(br, forwardingAssumed(fwd));
    withRoute(br, d);
    forward.push(br);
  }
  let l = local;
  const inp = nftHook(ctx, "INPUT");
  l = tablesInOrder(l, inp, ["mangle", "filter", "security"], ctx, finals);
  // IPVS: ip_vs_out_hook (NF_IP_PRI_NAT_SRC - 2) undoes a Masq DNAT for replies, then
  // ip_vs_in_hook (NF_IP_PRI_NAT_SRC - 1) takes requests, between security and nat INPUT.
  l = nftBelow(l, inp, 98, ctx, finals);
  for (const br of l) ipvsReply(br, "INPUT");
  l = ipvsHook(l, "INPUT", ctx, finals);
  l = nftThroughNatCore(l, inp, 100, ctx, finals);
  l = natStage(l, "INPUT", ctx, finals);
  for (const br of l) conntrackNat(br, "src");
  l = nftBelow(l, inp, Infinity, ctx, finals);
  for (const br of l) finals.push({ br, fate: { kind: "delivered", iface: br.pkt.inIface ?? "lo" } });
  let f = forward;
  const fwd = nftHook(ctx, "FORWARD");
  f = tablesInOrder(f, fwd, ["mangle", "filter", "security"], ctx, finals);
  // ip_vs_out_hook on FORWARD at priority 100, after filter and security FORWARD.
  f = nftBelow(f, fwd, 100, ctx, finals);
  for (const br of f) ipvsReply(br, "FORWARD");
  f = nftBelow(f, fwd, Infinity, ctx, finals);
  postrouting(f, ctx, finals, "forwarded");
}

/** The iptables tables of a hook at their priorities, each after the nft chains below it. */
const TABLE_PRIORITY: Readonly<Record<Exclude<TableName, "nat">, number>> = { raw: -300, mangle: -150, filter: 0, security: 50 };

function tablesInOrder(live: Branch[], h: NftHook, tables: ReadonlyArray<Exclude<TableName, "nat">>, ctx: PathContext, finals: Final[], spec?: PacketSpec): Branch[] {
  let l = live;
  for (const t of tables) {
    l = nftBelow(l, h, TABLE_PRIORITY[t], ctx, finals, spec);
    l = stage(l, { table: t, hook: h.hook }, ctx, finals);
    const tied = chainsAt(h, TABLE_PRIORITY[t]);
    if (tied.length && iptablesActs(ctx, t, h.hook)) {
      for (const br of l) assume(br, samePriority(tied, `iptables' ${t} table`));
    }
  }
  return l;
}

/** Whether the iptables table's chain of the hook has rules or a policy other than ACCEPT (else running it first or last is the same). */
function iptablesActs(ctx: PathContext, table: TableName, hook: Hook): boolean {
  const c = ctx.rules.tables.get(table)?.chains.get(hook);
  return c !== undefined && c.declared && (c.digest.count > 0 || (c.policy !== null && c.policy !== "ACCEPT"));
}

/** The kernel runs hooks of equal priority in the order they were registered, which no dump shows. */
function samePriority(chains: readonly NftBase[], other: string): string {
  const names = chains.map((b) => `nft ${b.table.family} ${b.table.name} ${b.chain.name}`).join(", ");
  return `${names} and ${other} have the same priority (${chains[0]!.priority}): the kernel runs them in the order they were registered, which the input does not show; taken as ${other} first`;
}

function postrouting(live: Branch[], ctx: PathContext, finals: Final[], kind: "forwarded" | "sent"): Branch[] {
  const post = nftHook(ctx, "POSTROUTING");
  let l = tablesInOrder(live, post, ["mangle"], ctx, finals);
  l = nftThroughNatCore(l, post, 100, ctx, finals);
  l = natStage(l, "POSTROUTING", ctx, finals);
  for (const br of l) conntrackNat(br, "src");
  l = nftBelow(l, post, Infinity, ctx, finals);
  for (const br of l) {
    const iface = br.pkt.outIface ?? "?";
    const fate: Extract<Fate, { kind: "forwarded" | "sent" }> = { kind, iface };
    if (br.pkt.nexthop !== undefined) fate.via = br.pkt.nexthop;
    const f: Final = { br, fate };
    const outer = encapsulate(br, ctx);
    if (outer) f.encapsulated = outer;
    finals.push(f);
  }
  return l;
}

/**
 * IPVS at its LOCAL_IN or LOCAL_OUT hook: the histories it does not take (or lets on with
 * NF_ACCEPT) are returned; those it sends to a real server go their own way here. A packet
 * IPVS sends on is handed to NF_HOOK(NF_INET_LOCAL_OUT, ..., dst_output) (ip_vs_xmit.c
 * ip_vs_nat_send_or_cont, ip_vs_send_or_cont): all the OUTPUT hooks again — raw, mangle, nat
 * (which does nothing: the connection's destination binding was made before IPVS, or IPVS
 * made it untracked), filter, security — with no input device, then POSTROUTING, where
 * kube-proxy's MASQUERADE sees it when net.ipv4.vs.conntrack=1.
 */
function ipvsHook(live: Branch[], hook: "INPUT" | "OUTPUT", ctx: PathContext, finals: Final[]): Branch[] {
  if (!ctx.ipvs) return live;
  const on: Branch[] = [];
  const sent: Branch[] = [];
  const kind = hook === "INPUT" ? "forwarded" : "sent";
  for (const br of live) {
    for (const r of ipvsRequest(br, hook, { ipvs: ctx.ipvs, node: ctx.node, family: ctx.family, ...(ctx.connection ? { connection: ctx.connection } : {}), ...(ctx.budget ? { budget: ctx.budget } : {}) })) {
      if (r.kind === "continue") on.push(r.br);
      else if (r.kind === "final") finals.push({ br: r.br, fate: r.fate });
      else if (r.kind === "out") {
        delete r.br.pkt.inIface;
        delete r.br.rerouted;
        withRoute(r.br, r.route);
        sent.push(r.br);
      } else {
        // ip_vs_tunnel_xmit: the node sends the outer packet (ip_local_out); it is traced as its own leg.
        // The same skb is wrapped and sent (ip_vs_prepare_tunneled_skb, ip_local_out): it keeps its
        // mark; ip_vs_tunnel_xmit_prepare resets its conntrack entry, so the outer packet is a new one.
        const outer: PacketSpec = { family: ctx.family, from: "local", src: r.outer.src, dst: r.outer.dst, proto: ctx.family === "ipv6" ? 41 : 4, mark: r.br.pkt.mark };
        const { connection: _c, firstReply: _f, untracked: _u, ...outerCtx } = ctx;
        assume(r.br, "IPVS Tunnel: the outer packet is traced as a new packet the node sends");
        const f: Extract<Fate, { kind: "forwarded" | "sent" }> = { kind, iface: r.route.dev };
        if (r.route.gateway !== undefined) f.via = r.route.gateway;
        finals.push({ br: r.br, fate: f, encapsulated: evaluatePath(outer, { ...outerCtx, depth: (ctx.depth ?? 0) + 1 }) });
      }
    }
  }
  if (sent.length) {
    // nat OUTPUT is not consulted: the destination binding was set up before IPVS (or the packet is untracked).
    const out = nftHook(ctx, "OUTPUT", true);
    let l = tablesInOrder(sent, out, ["raw", "mangle", "filter", "security"], ctx, finals);
    l = nftBelow(l, out, Infinity, ctx, finals);
    postrouting(l, ctx, finals, kind);
  }
  return on;
}

/**
 * A packet sent out a tunnel device (VXLAN, IPIP, flannel's UDP, WireGuard) is wrapped in an
 * outer packet that the node itself sends (through OUTPUT and POSTROUTING again): traced here
 * as its own leg, one per outer packet the device sends (a VXLAN default FDB entry floods a
 * copy to each remote).
 */
function encapsulate(br: Branch, ctx: PathContext): Outcome[] | undefined {
  const dev = br.pkt.outIface;
  if (!dev) return undefined;
  const t = ctx.node.tunnel(dev);
  if (!t) return undefined;
  const alone = (fate: Fate): Outcome[] => [{ probability: 1, assumptions: [], steps: [], final: snapshot(br.pkt), fate }];
  if ((ctx.depth ?? 0) > 3) return alone({ kind: "error", reason: `tunnels nested too deep at ${dev}` });
  const outers = outerPacketsOf(t, br.pkt.nexthop, br.pkt.dst);
  if ("dropped" in outers) return alone({ kind: "unroutable", reason: `${dev} (${t.kind}) sends no outer packet: ${outers.dropped}` });
  if ("indeterminate" in outers) return alone({ kind: "indeterminate", reason: `${dev} (${t.kind}): ${outers.indeterminate}` });
  const { connection: _inner, firstReply: _reply, untracked: _untracked, ...outerCtx } = ctx;
  const out: Outcome[] = [];
  for (const e of outers) {
    const family: Family = e.dst.includes(":") ? "ipv6" : "ipv4";
    // The compiled rules are the inner packet's family's: an outer packet of the other family
    // would run through the other family's tables.
    if (family !== ctx.family) {
      out.push(...alone({ kind: "indeterminate", reason: `${dev} (${t.kind}) sends an ${family} outer packet to ${e.dst}: trace it on its own (\`udp ... -> ${e.dst} local\`)` }));
      continue;
    }
    const outer: PacketSpec = { family, from: "local", dst: e.dst, proto: t.outerProto };
    if (t.outerSrc !== undefined) outer.src = t.outerSrc;
    const dport = e.dport ?? t.outerDport;
    const sport = e.sport ?? t.outerSport;
    if (dport !== undefined) outer.dport = dport;
    if (sport !== undefined) outer.sport = sport;
    // The kernel's tunnels send the same skb on, its mark kept (skb_scrub_packet keeps it
    // within one namespace): VXLAN and IPIP outer packets carry the inner packet's mark, which
    // Calico's and kube-proxy's rules test. WireGuard sets its fwmark (wg-quick's `not fwmark`
    // rule keeps it off the tunnel; none without one: wireguard/socket.c); flanneld's UDP is a
    // new packet from a socket: mark 0.
    const mark = t.kind === "udp" || t.kind === "wireguard" ? t.outerMark ?? 0 : br.pkt.mark;
    if (mark) outer.mark = mark;
    const legs = evaluatePath(outer, { ...outerCtx, depth: (ctx.depth ?? 0) + 1 });
    out.push(...(outers.length > 1 ? noting(legs, [`${dev} floods a copy of the packet to each of ${outers.length} remotes (${outers.map((x) => x.dst).join(", ")}): this is the copy to ${e.dst}`]) : legs));
  }
  return out;
}

/** The device's outer packets; a view that only knows one destination answers through it. */
function outerPacketsOf(t: TunnelInfo, nexthop: string | undefined, dst: string): OuterPackets {
  if (t.outerPackets) return t.outerPackets(nexthop, dst);
  const one = t.outerDestination(nexthop, dst);
  return one !== undefined ? [{ dst: one }] : { indeterminate: `the node facts do not say which remote endpoint ${nexthop ?? dst} is behind` };
}

function arrive(spec: PacketSpec, ctx: PathContext, finals: Final[]): void {
  if (!spec.src) {
    finals.push({ br: newBranch(spec, "0.0.0.0", ctx), fate: { kind: "error", reason: "a packet arriving on an interface needs a source address" } });
    return;
  }
  let live = [newBranch(spec, spec.src, ctx)];
  const pre = nftHook(ctx, "PREROUTING");
  live = tablesInOrder(live, pre, ["raw", "mangle"], ctx, finals);
  live = nftThroughNatCore(live, pre, -100, ctx, finals);
  for (const br of live) conntrackNat(br, "dst");
  live = natStage(live, "PREROUTING", ctx, finals);
  live = nftBelow(live, pre, Infinity, ctx, finals);
  inputPath(live, ctx, finals);
}

function newBranch(spec: PacketSpec, src: string, ctx: PathContext): Branch {
  const br = newBranchOf(1, [], [], [], initialState(spec, src, ctx.firstReply === true));
  const ct = br.pkt.ct;
  if (ctx.untracked) {
    ct.state = "UNTRACKED";
    ct.status.clear();
    ct.statusUnknown = undefined;
  }
  const known = ctx.connection;
  if (known) {
    // A later packet of a known connection: conntrack holds the tuples, the NAT, and what its
    // first packet left on it (ctmark, zone, helper).
    ct.orig = { ...known.orig };
    ct.reply = { ...known.reply };
    for (const st of known.status) ct.status.add(st as "SNAT");
    if (known.mark !== undefined) ct.mark = known.mark;
    if (known.zone !== undefined) ct.zone = known.zone;
    if (known.helper !== undefined) ct.helper = known.helper;
    if (known.ipvs !== undefined) ct.ipvs = known.ipvs;
  }
  return br;
}

/**
 * The status bits in the order Array.prototype.sort gives them (code unit order), put in place
 * one by one: a handful of names, for every outcome of every packet, where sort's own work
 * list cost more than the ordering.
 */
export function sortedStatus(status: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const s of status) {
    let i = out.length;
    out.push(s);
    while (i > 0 && out[i - 1]! > s) {
      out[i] = out[i - 1]!;
      i--;
    }
    out[i] = s;
  }
  return out;
}

function conntrackSummary(ct: ConntrackState): ConntrackSummary {
  const s: ConntrackSummary = { orig: { ...ct.orig }, reply: { ...ct.reply }, status: sortedStatus(ct.status) };
  if (ct.mark !== 0) s.mark = ct.mark;
  if (ct.zone !== 0) s.zone = ct.zone;
  if (ct.helper !== undefined) s.helper = ct.helper;
  if (ct.ipvs !== undefined) s.ipvs = ct.ipvs;
  return s;
}

/**
 * The reply to an outcome's packet, as it comes back: from where the original left, addressed
 * to where it came from after NAT, with conntrack undoing the NAT at the hooks that did it.
 */
export function evaluateReplyPath(original: PacketSpec, outcome: Outcome, ctx: PathContext): Outcome[] | string {
  const f = outcome.fate;
  if (f.kind !== "forwarded" && f.kind !== "sent" && f.kind !== "delivered") return `the original packet was not let through (${f.kind})`;
  const ct = outcome.conntrack;
  if (!ct) return "no conntrack entry was recorded for the original packet";
  // IPVS rewrites a Masq reply itself (ip_vs_out_hook, see ipvsReply); a Route or Tunnel reply does not come back through this node.
  const ipvs = outcome.steps.find((s) => s.ipvs?.method !== undefined && s.ipvs.method !== "local" && s.ipvs.method !== "masq");
  if (ipvs) return `the original packet was sent on by IPVS (${ipvs.chain}, ${ipvs.ipvs!.method}); its replies are not modelled`;
  const spec: PacketSpec = {
    family: original.family, from: f.kind === "delivered" ? "local" : f.iface, src: ct.reply.src, dst: ct.reply.dst,
    proto: original.proto, state: "established", reply: true,
  };
  if (ct.reply.sport !== undefined) spec.sport = ct.reply.sport;
  if (ct.reply.dport !== undefined) spec.dport = ct.reply.dport;
  if (original.proto === 6) spec.tcpFlags = 0x12;
  if (original.icmpType === 8) spec.icmpType = 0;
  if (original.icmpType === 128) spec.icmpType = 129;
  return evaluatePath(spec, { ...ctx, connection: ct, firstReply: true });
}

function send(spec: PacketSpec, ctx: PathContext, finals: Final[]): void {
  const q: RouteQuery = { family: ctx.family, dst: spec.dst, mark: spec.mark ?? 0, proto: spec.proto };
  if (spec.src !== undefined) q.src = spec.src;
  if (spec.tos !== undefined) q.tos = spec.tos;
  if (spec.sport !== undefined) q.sport = spec.sport;
  if (spec.dport !== undefined) q.dport = spec.dport;
  const d = ctx.node.routeOutput(q);
  ctx.flow?.route("output", q, d, ctx.node);
  const socket = socketSend(ctx.family, spec.proto, spec.dst, d);
  const fail = socket.refused ?? routeFailure(d, () => `routing ${spec.dst} from this node`);
  const src = spec.src ?? (d.kind === "unicast" ? d.src : d.kind === "local" ? spec.dst : undefined);
  if (fail) {
    // The kernel refuses the send before netfilter sees the packet.
    const br = newBranch(spec, src ?? "0.0.0.0", ctx);
    noteRoute(br, d, "output route");
    finals.push({ br, fate: fail });
    return;
  }
  if (!src) {
    finals.push({ br: newBranch(spec, "0.0.0.0", ctx), fate: { kind: "indeterminate", reason: `no source address can be selected for ${spec.dst}; give src` } });
    return;
  }
  const first = newBranch(spec, src, ctx);
  // Whether the node holds the source is a test of all of it.
  if (spec.src) ctx.flow?.source();
  if (!spec.src) first.assumptions.push(`source ${src} chosen by the routing decision`);
  // An ordinary socket cannot send from an address the node does not hold (the output route
  // refuses it: __ip_dev_find); a raw, IP_FREEBIND or IP_TRANSPARENT socket can.
  else if (ctx.node.isLocal(spec.src, ctx.family) === false) {
    assume(first, `source ${spec.src} is not an address of this node: sent from a raw, IP_FREEBIND or IP_TRANSPARENT socket (an ordinary socket's send is refused)`);
  }
  noteRoute(first, d, "output route");
  for (const a of socket.assumptions) assume(first, a);
  withRoute(first, d);
  let live = [first];
  const outHook = nftHook(ctx, "OUTPUT");
  live = tablesInOrder(live, outHook, ["raw"], ctx, finals, spec);
  live = nftBelow(live, outHook, TABLE_PRIORITY.mangle, ctx, finals, spec);
  if (outHook.next === 0) live = reroute(tablesInOrder(live, outHook, ["mangle"], ctx, finals, spec), ctx, finals, spec);
  else {
    // iptable_mangle re-routes what mangle itself changed: the mark and destination it was given,
    // not the ones the packet was sent with, once nft chains before it may have changed them.
    live = live.flatMap((b) => {
      const given = { ...spec, mark: b.pkt.mark, dst: b.pkt.dst };
      return reroute(tablesInOrder([b], outHook, ["mangle"], ctx, finals, spec), ctx, finals, given);
    });
  }
  live = nftThroughNatCore(live, outHook, -100, ctx, finals, spec);
  for (const br of live) conntrackNat(br, "dst");
  live = natStage(live, "OUTPUT", ctx, finals);
  // nat OUTPUT or the connection's DNAT rewrote the destination (branches may be new objects
  // after statistic forks).
  live = live.flatMap((b) => (b.pkt.dst !== spec.dst ? reroute([b], ctx, finals, spec, true) : [b]));
  // IPVS for local clients (ip_vs_in_hook at NF_IP_PRI_NAT_DST + 2): after nat OUTPUT, before filter OUTPUT.
  // ip_vs_out_hook (NF_IP_PRI_NAT_DST + 1) before ip_vs_in_hook (+ 2), both after nat OUTPUT.
  live = nftBelow(live, outHook, -99, ctx, finals, spec);
  for (const br of live) ipvsReply(br, "OUTPUT");
  live = ipvsHook(live, "OUTPUT", ctx, finals);
  live = tablesInOrder(live, outHook, ["filter", "security"], ctx, finals, spec);
  live = nftBelow(live, outHook, Infinity, ctx, finals, spec);
  const toLocal: Branch[] = [];
  const out: Branch[] = [];
  for (const b of live) {
    if (b.rerouted) {
      withRoute(b, b.rerouted);
      b.rerouted = undefined;
    }
    (b.pkt.outIface === "lo" ? toLocal : out).push(b);
  }
  postrouting(out, ctx, finals, "sent");
  // Through lo: the packet comes back up the input path, its conntrack entry already set up.
  const finalsLo: Final[] = [];
  const post = nftHook(ctx, "POSTROUTING");
  let lo = tablesInOrder(toLocal, post, ["mangle"], ctx, finals);
  lo = nftThroughNatCore(lo, post, 100, ctx, finals);
  lo = natStage(lo, "POSTROUTING", ctx, finals);
  lo = nftBelow(lo, post, Infinity, ctx, finals);
  for (const b of lo) {
    b.pkt.inIface = "lo";
    delete b.pkt.outIface;
    b.pkt.ct.status.add("CONFIRMED");
  }
  // The looped packet carries its conntrack entry: no chain sees it untracked.
  const pre = nftHook(ctx, "PREROUTING", true);
  lo = tablesInOrder(lo, pre, ["raw", "mangle"], ctx, finals);
  lo = nftBelow(lo, pre, Infinity, ctx, finals);
  // nat PREROUTING/INPUT are skipped: the DNAT/SNAT bindings were set up on the way out.
  inputPathLoopback(lo, ctx, finalsLo);
  for (const f of finalsLo) finals.push(f);
}

function inputPathLoopback(live: Branch[], ctx: PathContext, finals: Final[]): void {
  const inp = nftHook(ctx, "INPUT", true);
  let l = tablesInOrder(live, inp, ["mangle", "filter", "security"], ctx, finals);
  l = nftBelow(l, inp, Infinity, ctx, finals);
  for (const br of l) finals.push({ br, fate: { kind: "delivered", iface: "lo" } });
}

/** After mangle OUTPUT (mark or destination changed) and nat OUTPUT (destination changed), the kernel routes again; the source address stays. */
function reroute(live: Branch[], ctx: PathContext, finals: Final[], spec: PacketSpec, dstChanged = false): Branch[] {
  const out: Branch[] = [];
  for (const b of live) {
    const changed = dstChanged || b.pkt.mark !== (spec.mark ?? 0) || b.pkt.dst !== spec.dst;
    if (!changed) {
      out.push(b);
      continue;
    }
    // ip_route_me_harder: the packet's own source is kept.
    const q = queryOf(b.pkt);
    const d = ctx.node.routeOutput(q);
    ctx.flow?.route("output", q, d, ctx.node);
    noteRoute(b, d, "re-route after OUTPUT");
    const fail = routeFailure(d, () => `re-routing ${b.pkt.dst} after OUTPUT changed the packet`);
    if (fail) {
      finals.push({ br: b, fate: fail });
      continue;
    }
    // The LOCAL_OUT hooks keep the device they were called with (state->out): the new route
    // shows only from POSTROUTING on (checked: seed 004's LOG lines, OUT=lo in filter OUTPUT).
    b.rerouted = d;
    out.push(b);
  }
  return out;
}

export function evaluatePath(spec: PacketSpec, ctx: PathContext): Outcome[] {
  // IPVS and nft rules do not tell the flow memo what they read (flow-reads.ts).
  if (ctx.flow && (ctx.ipvs || ctx.nft)) ctx.flow.uncache("IPVS or nft rules");
  const untracked = alwaysUntracked(spec);
  if (untracked) return noting(evaluateOnce(spec, { ...ctx, untracked: true }), spec.state !== undefined ? [untracked.why] : []);
  // A later packet's outcomes merge by their whole steps (mergeOutcomes): described in full.
  if (!ctx.connection && !spec.reply && spec.state === "established") return laterPacket(spec, ctx.lean ? { ...ctx, lean: false } : ctx);
  if (ctx.connection || (spec.state !== undefined && spec.state !== "new") || (spec.state === "new" && spec.reply)) return evaluateOnce(spec, ctx);
  const alone = withoutConnection(spec, ctx.node.sysctl("net.netfilter.nf_conntrack_tcp_loose"));
  if (!alone) return evaluateOnce(spec, ctx);
  if (spec.state === undefined) return connectionUnsaid(spec, alone, ctx);
  // Said to be a first packet: conntrack decides what it is.
  // (a bare ACK picked up mid-stream: conntrack agrees)
  if (alone.state === "NEW") return evaluateOnce(spec, ctx);
  const instead = `said \`new\`, but ${alone.why}: traced as INVALID (it skips the nat table); say \`${alone.withConnection}\` to trace it as part of a connection`;
  return noting(evaluateOnce({ ...spec, state: "invalid" }, ctx), [instead]);
}

/** The outcomes, each also resting on `notes` (standing assumptions, listed first). */
function noting(outcomes: Outcome[], notes: readonly string[]): Outcome[] {
  if (notes.length === 0) return outcomes;
  return outcomes.map((o) => ({ ...o, assumptions: [...notes.filter((n) => !o.assumptions.includes(n)), ...o.assumptions] }));
}

/**
 * A packet that is not one conntrack opens a connection with (a TCP packet other than a SYN,
 * an ICMP reply or error), given without saying whether its connection exists: both are
 * traced. With no connection, conntrack picks a bare ACK up mid-stream as NEW
 * (nf_conntrack_tcp_loose, on by default) and finds every other case INVALID (see
 * withoutConnection); with one, the packet is ESTABLISHED (RELATED for an ICMP error).
 */
function connectionUnsaid(spec: PacketSpec, alone: Unconnected, ctx: PathContext): Outcome[] {
  const picked = alone.state === "NEW";
  const known = alone.withConnection ?? "established";
  // Whether the connection exists is not said: two alternatives, each given its side.
  const label = (outcomes: Outcome[], assumption: string) => outcomes.map((o) => withGiven(o, [assumption]));
  return [
    ...label(
      evaluateOnce({ ...spec, state: picked ? "new" : "invalid" }, ctx),
      `no connection for it: ${alone.why}; ${picked ? "say `new` or `established` to choose" : `say \`${known}\` if its connection exists`}`,
    ),
    ...label(
      evaluatePath({ ...spec, state: known }, ctx),
      known === "related"
        ? "about an existing connection (RELATED); say `new` to trace it with no connection"
        : "a packet of an existing connection (ESTABLISHED); say `new` to trace it as a first packet",
    ),
  ];
}

const letThrough = (f: Fate) => f.kind === "delivered" || f.kind === "forwarded" || f.kind === "sent";

/** What a connection carries to its later packets: its NAT, ctmark, zone and helper (empty when none). */
function carried(ct: ConntrackSummary): string {
  const nat = natOf(ct);
  if (nat.length === 0 && ct.mark === undefined && ct.zone === undefined && ct.helper === undefined) return "";
  return JSON.stringify([ct.orig, ct.reply, nat, ct.mark ?? 0, ct.zone ?? 0, ct.helper ?? ""]);
}

/**
 * A later packet of a connection, in its original direction: the nat chains never see it,
 * but conntrack applies whatever NAT the connection's first packet got, and the packet finds
 * the ctmark, zone and helper the first packet left. That first packet is traced through the
 * same rules (as NEW, a SYN for TCP), and the packet is then traced once per kind of
 * connection it may belong to, weighted by how often the first packet opens it (kube-proxy's
 * statistic branches give a connection one endpoint or another).
 */
function laterPacket(spec: PacketSpec, ctx: PathContext): Outcome[] {
  const first: PacketSpec = { ...spec, state: "new" };
  if (spec.proto === 6) first.tcpFlags = 0x02;
  const opened = evaluateOnce(first, ctx).filter((o) => letThrough(o.fate) && o.conntrack);
  if (!opened.some((o) => carried(o.conntrack!) !== "")) return evaluateOnce(spec, ctx);
  // Chances are weighed within one set of conditions the input does not decide, never across.
  const scenarios = new Map<string, Outcome[]>();
  for (const o of opened) {
    const key = (o.given ?? []).join("\u0001");
    const list = scenarios.get(key);
    if (list) list.push(o);
    else scenarios.set(key, [o]);
  }
  const out: Outcome[] = [];
  for (const group of scenarios.values()) {
    const given = group[0]!.given ?? [];
    const total = group.reduce((sum, o) => sum + o.probability, 0);
    const kinds = new Map<string, { ct: ConntrackSummary; p: number }>();
    for (const o of group) {
      const key = carried(o.conntrack!);
      const k = kinds.get(key);
      if (k) k.p += o.probability;
      else kinds.set(key, { ct: o.conntrack!, p: o.probability });
    }
    const varies = {
      nat: group.some((o) => natOf(o.conntrack!).length > 0),
      mark: group.some((o) => o.conntrack!.mark !== undefined),
      zone: group.some((o) => o.conntrack!.zone !== undefined),
      helper: group.some((o) => o.conntrack!.helper !== undefined),
    };
    const withKind = (outcomes: Outcome[], p: number, assumption: string) => {
      for (const o of outcomes) {
        const w = withGiven(o, given);
        out.push({ ...w, probability: o.probability * (p / total), assumptions: [assumption, ...w.assumptions] });
      }
    };
    // Connections that carry something first, then the plain one (as the first packet left none).
    const plain = kinds.get("");
    for (const [key, { ct, p }] of kinds) {
      if (key !== "") withKind(evaluateOnce(spec, { ...ctx, connection: ct }), p, connectionText(ct, varies));
    }
    if (plain && plain.p > 1e-12 * total) withKind(evaluateOnce(spec, ctx), plain.p, connectionText(plain.ct, varies));
  }
  return mergeOutcomes(out);
}

/** The outcome, resting also on the conditions `given` (texts, each also listed as an assumption). */
function withGiven(o: Outcome, given: readonly string[]): Outcome {
  if (given.length === 0) return o;
  const g = [...given, ...(o.given ?? []).filter((x) => !given.includes(x))];
  return { ...o, given: g, assumptions: [...given.filter((x) => !o.assumptions.includes(x)), ...o.assumptions] };
}

/** What a later packet's connection got from its first packet, saying each thing that differs between the connections it may belong to. */
function connectionText(ct: ConntrackSummary, varies: { nat: boolean; mark: boolean; zone: boolean; helper: boolean }): string {
  const left: string[] = [];
  if (varies.mark) left.push(`ctmark ${hex(ct.mark ?? 0)}`);
  if (varies.zone) left.push(`conntrack zone ${ct.zone ?? 0}`);
  if (varies.helper) left.push(ct.helper !== undefined ? `helper ${ct.helper}` : "no helper");
  const nat = natOf(ct).length > 0;
  const head = varies.nat ? `got ${nat ? `${natText(ct)}: conntrack applies it` : "no NAT"}` : "";
  const rest = left.length ? `left it ${left.join(", ")}` : "";
  return `a packet of a connection whose first packet ${head && rest ? `${head}; the first packet ${rest}` : head || rest}`;
}

function evaluateOnce(spec: PacketSpec, ctx: PathContext): Outcome[] {
  const finals: Final[] = [];
  if (spec.from === "local") send(spec, ctx, finals);
  else arrive(spec, ctx, finals);
  // Histories that end alike (same fate, decided by the same rule, same packet) are one outcome.
  const merged = ctx.apart ? finals : mergeBranches(finals, (f) => `${JSON.stringify(f.fate)}|${decidingStep(f.br.steps)}`);
  return merged.map(outcomeOf);
}

/** A history's outcome (its fields assigned in the order its JSON shows them, no spread objects made for the optional ones). */
function outcomeOf({ br, fate, encapsulated }: Final): Outcome {
  const o: Outcome = { probability: br.probability, assumptions: br.assumptions, fate, steps: br.steps, final: snapshot(br.pkt) };
  if (br.given.length) o.given = br.given.map((l) => l.text);
  if (br.routing?.length) o.routing = br.routing;
  o.conntrack = conntrackSummary(br.pkt.ct);
  if (encapsulated) o.encapsulated = encapsulated;
  return o;
}

/** The last step that matched: the rule (or policy) that decided the fate. */
function decidingStep(steps: readonly Step[]): string {
  for (let k = steps.length - 1; k >= 0; k--) {
    const st = steps[k]!;
    if (st.matched && !st.uncertain) return `${st.hook}|${st.table}|${st.nft ? `${st.nft.family} ${st.nft.table}|` : ""}${st.chain}|${st.rule}|${st.verdict}`;
  }
  return "";
}

function outcomeKey(o: Outcome): string {
  const f = o.fate as Record<string, unknown>;
  let k = `${f.kind}|${f.iface ?? ""}|${f.table ?? ""}|${f.chain ?? ""}|${f.rule ?? ""}|${f.reason ?? ""}|${f.via ?? ""}`;
  const p = o.final;
  k += `#${p.src}|${p.dst}|${p.sport}|${p.dport}|${p.mark}|${p.ctmark}|${p.ctstate}|${p.inIface}|${p.outIface}`;
  k += `#${o.assumptions.join("\u0001")}#`;
  for (const s of o.steps) k += `${s.hook}|${s.table}|${s.nft ? `${s.nft.family} ${s.nft.table}|` : ""}${s.chain}|${s.rule}|${s.verdict}|${s.matched ? 1 : 0}|${s.rewrites?.join("\u0001") ?? ""};`;
  if (o.encapsulated) k += `@${o.encapsulated.map(outcomeKey).join("@")}`;
  return k;
}

/** Identical outcomes (same path, fate and packet) reached through different branches are one, with summed probability. */
export function mergeOutcomes(list: Outcome[]): Outcome[] {
  if (list.length < 2) return list;
  // Outcomes that differ in fate or final packet can never merge: skip the full keys then.
  const quick = new Set(list.map((o) => `${o.fate.kind}|${(o.fate as { iface?: string }).iface}|${o.final.src}|${o.final.dst}|${o.final.sport}|${o.final.dport}|${o.final.mark}|${o.assumptions.length}`));
  if (quick.size === list.length) return list;
  const byKey = new Map<string, Outcome>();
  for (const o of list) {
    const k = outcomeKey(o);
    const prev = byKey.get(k);
    if (prev) prev.probability = Math.min(1, prev.probability + o.probability);
    else byKey.set(k, o);
  }
  return [...byKey.values()];
}
