/**
 * Asks the kernel what an nftables ruleset does to packets. A node namespace (nft-generate's
 * NFT_NODE: veth0 towards a sender namespace, veth1 towards a peer namespace, a default route
 * out of veth1; harness.ts's KernelNode) loads a generated case — `nft -f` text, maybe an
 * iptables-nft-restore fragment beside it — plus two tables of its own: netfate_trace, which
 * sets `meta nftrace` first thing in prerouting and output (priority -1000, below anything
 * generated), and harness.ts's rule-less probe table at priority 1000 on input, forward,
 * output and postrouting, which shows where a packet ended. `nft -a monitor trace` then
 * records each packet's path, read by nft-trace.ts. For each packet the harness gives its
 * fate (delivered, forwarded or sent out of which veth, dropped or rejected where, refused by
 * routing), its path (family, table, chain, handle and verdict of every rule and policy that
 * gave a verdict), the branch each numgen vmap took, and its rewrites — from the headers the
 * last base chain saw, checked against conntrack's entry for the connection (each batch of
 * packets holds distinct connections, and conntrack is flushed before it, so entries never mix).
 */
import type { PacketSpec } from "../../src/model/packet.js";
import { KernelNode, kernelFate, PROBE_TABLE, probeNft, run, type KernelTrace } from "./harness.js";
import { NFT_NODE, type NftCase } from "./nft-generate.js";
import { numgenBranch, parseNftTrace, type NftPacketTrace } from "./nft-trace.js";

/** The harness's own table that turns tracing on. */
export const TRACE_TABLE = "netfate_trace";
const TRACE_NFT = `table ip ${TRACE_TABLE} {
  chain pre {
    type filter hook prerouting priority -1000; policy accept;
    meta nftrace set 1
  }
  chain out {
    type filter hook output priority -1000; policy accept;
    meta nftrace set 1
  }
}
`;

/**
 * A rule-less nat chain loaded before a case that has nat chains (nft's or iptables-nft's), so
 * the NAT core's hooks (registered all at once, by the first nat chain of a family: nf_nat_core.c
 * `nf_nat_register_fn`) are registered before any of the case's chains, as on a node whose nat
 * rules predate its other tables. The kernel runs the later registered of two equal priorities
 * first, which no listing shows; netfate takes the NAT core as the earlier and says so (path.ts
 * `nftThroughNatCore`), so a chain at 100 in POSTROUTING runs before the nat chains. Loading the
 * case first made iptables-nft's nat table register the NAT core last, and run first.
 */
export const NAT_CORE_TABLE = "netfate_natcore";
const NAT_CORE_NFT = `table ip ${NAT_CORE_TABLE} {
  chain post {
    type nat hook postrouting priority 1000; policy accept;
  }
}
`;

/** The harness's own tables: never part of the node netfate reads or of the paths compared. */
export const HARNESS_TABLES: ReadonlySet<string> = new Set([TRACE_TABLE, PROBE_TABLE, NAT_CORE_TABLE]);

/** One step of a packet's path as netfate will name it: a rule by handle, a policy without one. */
export interface NftPathStep {
  family: string;
  table: string;
  chain: string;
  handle?: number;
}

export type NftKernelFate =
  | { kind: "delivered" }
  | { kind: "forwarded"; iface: string }
  | { kind: "sent"; iface: string }
  /** A rule (handle) or a base chain's policy (no handle) dropped it. */
  | { kind: "dropped"; family: string; table: string; chain: string; handle?: number }
  | { kind: "rejected"; family: string; table: string; chain: string; handle: number }
  /** Stopped after prerouting with no rule dropping it: the route lookup refused it. */
  | { kind: "refused-by-routing" }
  /** The node's own packet that the output route lookup refused (sendto failed): netfilter never saw it. */
  | { kind: "send-failed" };

export interface Rewrite {
  addr: string;
  port?: number;
}

export interface NumgenChoice {
  family: string;
  table: string;
  chain: string;
  handle: number;
  /** The vmap keys whose verdict the kernel gave (one unless keys share a verdict). */
  keys: string[];
}

/** A conntrack entry as `conntrack -L` prints it: the original and reply tuples. */
export interface ConntrackEntry {
  proto: string;
  orig: { src: string; dst: string; sport?: number; dport?: number; id?: number };
  reply: { src: string; dst: string; sport?: number; dport?: number; id?: number };
}

export interface NftKernelResult {
  packet: PacketSpec;
  fate: NftKernelFate;
  /** Every rule and policy that gave a verdict, in order (the harness's own tables left out). */
  path: Array<NftPathStep & { verdict: string; rule?: string }>;
  numgen: NumgenChoice[];
  /** Destination or source as rewritten (from the last headers the trace showed). */
  dnat?: Rewrite;
  snat?: Rewrite;
  /** The connection's conntrack entry after the packet, when it was confirmed (not dropped). */
  conntrack?: ConntrackEntry;
  /** The parsed trace, for what the fields above leave out. */
  trace?: NftPacketTrace;
}

/** `nft -a list ruleset`'s rules by `family table` then handle: the text a trace's `unknown rule` lines lack. */
export type RuleIndex = Map<string, Map<number, { chain: string; text: string }>>;

/** An `nft -a list ruleset`'s tables, chains (by `family table`) and rules by handle. */
export interface Listing {
  text: string;
  chains: Map<string, Set<string>>;
  rules: RuleIndex;
}

export function readListing(text: string): Listing {
  const chains = new Map<string, Set<string>>();
  const rules: RuleIndex = new Map();
  let table: string | undefined;
  let chain: string | undefined;
  let inChain = false;
  for (const line of text.split("\n")) {
    const t = /^table (\S+) (\S+) \{/.exec(line);
    if (t) {
      table = `${t[1]} ${t[2]}`;
      chains.set(table, new Set());
      rules.set(table, new Map());
      inChain = false;
      continue;
    }
    const c = /^\tchain (\S+) \{/.exec(line);
    if (c && table) {
      chain = c[1]!;
      chains.get(table)!.add(chain);
      inChain = true;
      continue;
    }
    if (/^\t(?:set|map|flowtable|counter|quota|ct|limit|secmark|synproxy) /.test(line)) inChain = false;
    const h = /^\t\t(.*?) # handle (\d+)\s*$/.exec(line);
    if (h && table && chain && inChain && !/^(type|policy) /.test(h[1]!)) rules.get(table)!.set(Number(h[2]), { chain, text: h[1]! });
  }
  return { text, chains, rules };
}

/**
 * Which packets can go in one batch: no two may be one connection (either direction), since a
 * later one would then meet the earlier one's conntrack entry instead of being NEW, and the
 * entries could not be told apart. Nor may two share a protocol and source port: a NAT that
 * names no port keeps the source port when it can, so after SNAT or MASQUERADE (or the null
 * binding after a DNAT) to one address, two such connections would have one tuple, and the
 * kernel gives the later one another port (seed 7770092: a local packet and a forwarded one,
 * both from port 40000 to 10.0.2.6:443, both SNATed to 10.0.2.1). netfate answers a packet on
 * a node with no other connection, so each batch must be such a node for each of its packets.
 */
export function batchesOf(packets: PacketSpec[]): number[][] {
  const batches: Array<{ idx: number[]; keys: Set<string> }> = [];
  packets.forEach((p, i) => {
    const a = `${p.src ?? "local"}:${p.sport ?? ""}`;
    const b = `${p.dst}:${p.dport ?? ""}`;
    // The node's own packets (source chosen by routing) may share a source with anything.
    const keys = [`${p.proto} ${[a, b].sort().join(" ")}${p.src === undefined ? " local" : ""}`];
    if (p.sport !== undefined) keys.push(`${p.proto} sport ${p.sport}`);
    const batch = batches.find((x) => keys.every((k) => !x.keys.has(k)));
    if (batch) {
      batch.idx.push(i);
      for (const k of keys) batch.keys.add(k);
    } else batches.push({ idx: [i], keys: new Set(keys) });
  });
  return batches.map((b) => b.idx);
}

/** `conntrack -L` lines: protocol, then the original and reply tuples. */
export function parseConntrack(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split("\n")) {
    const proto = /^(\w+)\s+\d+/.exec(line)?.[1];
    if (!proto) continue;
    const tuple = (k: string) => [...line.matchAll(new RegExp(`\\b${k}=(\\S+)`, "g"))].map((m) => m[1]!);
    const src = tuple("src");
    const dst = tuple("dst");
    if (src.length < 2 || dst.length < 2) continue;
    const sport = tuple("sport").map(Number);
    const dport = tuple("dport").map(Number);
    const id = tuple("id").map(Number);
    const side = (i: number) => ({
      src: src[i]!,
      dst: dst[i]!,
      ...(sport[i] !== undefined ? { sport: sport[i] } : {}),
      ...(dport[i] !== undefined ? { dport: dport[i] } : {}),
      ...(id[i] !== undefined ? { id: id[i] } : {}),
    });
    out.push({ proto, orig: side(0), reply: side(1) });
  }
  return out;
}

/** The kernel path's steps (the harness's tables left out), with each rule's listed text. */
function pathOf(t: NftPacketTrace, listing: Listing): NftKernelResult["path"] {
  return t.steps
    .filter((s) => !HARNESS_TABLES.has(s.table) && s.kind !== "verdict")
    .map((s) => {
      // The case's own listing first: the monitor (one for the node's lifetime) names a rule from
      // its cache, which may still hold an earlier case's rule of the same table, chain and handle
      // (seen: a `reject` of an earlier case named for this case's vmap drop).
      const rule = (s.handle !== undefined ? listing.rules.get(`${s.family} ${s.table}`)?.get(s.handle)?.text : undefined) ?? s.rule;
      return { family: s.family, table: s.table, chain: s.chain, ...(s.handle !== undefined ? { handle: s.handle } : {}), verdict: s.verdict, ...(rule !== undefined ? { rule } : {}) };
    });
}

/**
 * Where the packet ended, read as the iptables harness reads it (kernelFate: the probe hooks it
 * reached, whether a step dropped it), then named: which veth, sent or forwarded, and the rule
 * or policy that dropped or rejected it (`reject` traces as verdict drop; its rule text tells).
 */
export function fateOf(t: NftPacketTrace, path: NftKernelResult["path"], from: string): NftKernelFate {
  const steps = t.steps.map((s) => ({ table: s.table, chain: s.chain, rule: s.handle ?? ("policy" as const), verdict: s.verdict.toUpperCase() }));
  const last = t.views.at(-1);
  const asKernelTrace: KernelTrace = {
    id: t.ipId,
    steps,
    hooks: t.steps.filter((s) => s.table === PROBE_TABLE).map((s) => s.chain),
    ...(last?.oif ? { lastOut: last.oif } : {}),
  };
  const f = kernelFate(asKernelTrace);
  if (f.kind === "delivered") return f;
  if (f.kind === "out") return from === "local" ? { kind: "sent", iface: f.iface } : { kind: "forwarded", iface: f.iface };
  if (f.by === "routing") return { kind: "refused-by-routing" };
  const drop = path.find((s) => s.verdict === "drop" || s.verdict === "queue")!;
  if (drop.handle !== undefined && /^reject\b|\breject( with|$)/.test(drop.rule ?? "")) return { kind: "rejected", family: drop.family, table: drop.table, chain: drop.chain, handle: drop.handle };
  return { kind: "dropped", family: drop.family, table: drop.table, chain: drop.chain, ...(drop.handle !== undefined ? { handle: drop.handle } : {}) };
}

/** Destination and source rewrites: the first headers traced against the last. */
function rewritesOf(t: NftPacketTrace): { dnat?: Rewrite; snat?: Rewrite } {
  const first = t.views[0];
  const last = t.views.at(-1);
  if (!first || !last) return {};
  const out: { dnat?: Rewrite; snat?: Rewrite } = {};
  if (last.daddr !== first.daddr || last.dport !== first.dport) out.dnat = { addr: last.daddr!, ...(last.dport !== undefined ? { port: last.dport } : {}) };
  if (last.saddr !== first.saddr || last.sport !== first.sport) out.snat = { addr: last.saddr!, ...(last.sport !== undefined ? { port: last.sport } : {}) };
  return out;
}

/** The branch of every numgen vmap on the path, and of a numgen map that chose a DNAT address (`dnatTo`, where the packet went). */
function numgenOf(path: NftKernelResult["path"], dnatTo: string | undefined): NumgenChoice[] {
  return path.flatMap((s) => {
    const keys = s.handle === undefined ? undefined : numgenBranch(s, dnatTo);
    return keys ? [{ family: s.family, table: s.table, chain: s.chain, handle: s.handle!, keys }] : [];
  });
}

/** The conntrack entry of the packet's connection, found by the tuple its first traced headers show. */
function entryOf(t: NftPacketTrace, p: PacketSpec, entries: ConntrackEntry[]): ConntrackEntry | undefined {
  const v = t.views[0];
  if (!v) return undefined;
  return entries.find((e) => e.orig.src === v.saddr && e.orig.dst === v.daddr && (p.proto === 1 ? e.proto === "icmp" && e.orig.id === t.ipId : e.orig.sport === v.sport && e.orig.dport === v.dport));
}

/** How often lost traces are sent again (after a conntrack flush, so each meets no connection again). */
const RESEND_ROUNDS = 3;

export class NftKernelNode {
  readonly node: KernelNode;
  listing: Listing | undefined;

  constructor() {
    this.node = new KernelNode(NFT_NODE);
  }

  private nft(script: string): void {
    run(["ip", "netns", "exec", this.node.ns, "nft", "-f", "-"], script);
  }

  /** `nft -a list ruleset` of the node, or `nft list table ip t0` (no handles: what loads again) given `ip t0`. */
  list(what?: string): string {
    return run(["ip", "netns", "exec", this.node.ns, "nft", ...(what ? ["list", "table", ...what.split(" ")] : ["-a", "list", "ruleset"])]);
  }

  /**
   * Replaces everything with the case's ruleset (and iptables fragment), after the NAT core's
   * chain when the case has nat chains (NAT_CORE_NFT), then the trace and probe tables; returns
   * the listing the trace's handles are read against.
   */
  load(c: NftCase): Listing {
    const hasNat = /\btype nat\b/.test(c.ruleset) || /^\*nat$/m.test(c.iptables ?? "");
    // One transaction, as before: chains' hooks are registered in the order of its commands.
    this.nft(`flush ruleset\n${hasNat ? NAT_CORE_NFT : ""}${c.ruleset}`);
    if (c.iptables) run(["ip", "netns", "exec", this.node.ns, "iptables-nft-restore"], c.iptables);
    this.nft(TRACE_NFT + probeNft("ip"));
    this.listing = readListing(this.list());
    return this.listing;
  }

  close(): void {
    this.node.close();
  }

  /** The kernel's answer for each packet, in order (undefined for a packet whose trace was lost every time). */
  async trace(packets: PacketSpec[], gapMs = 8): Promise<Array<NftKernelResult | undefined>> {
    const out: Array<NftKernelResult | undefined> = packets.map(() => undefined);
    let todo = packets.map((_, i) => i);
    for (let round = 0; round <= RESEND_ROUNDS && todo.length; round++) {
      for (const batch of batchesOf(todo.map((i) => packets[i]!))) {
        const idx = batch.map((b) => todo[b]!);
        const got = await this.traceBatch(idx.map((i) => packets[i]!), gapMs);
        idx.forEach((i, j) => (out[i] = got[j]));
      }
      todo = todo.filter((i) => out[i] === undefined);
    }
    return out;
  }

  private async traceBatch(packets: PacketSpec[], gapMs: number): Promise<Array<NftKernelResult | undefined>> {
    if (!this.listing) throw new Error("load a case first");
    this.node.flushConntrack();
    const { ids, failed, text } = await this.node.sendAndRecord(packets, gapMs);
    const traces = parseNftTrace(text);
    const entries = parseConntrack(run(["ip", "netns", "exec", this.node.ns, "conntrack", "-L"]));
    return ids.map((id, i) => {
      const packet = packets[i]!;
      if (failed.has(id)) return { packet, fate: { kind: "send-failed" }, path: [], numgen: [] };
      const t = traces.get(id);
      if (!t) return undefined;
      const path = pathOf(t, this.listing!);
      const entry = entryOf(t, packet, entries);
      const rewrites = rewritesOf(t);
      return {
        packet,
        fate: fateOf(t, path, packet.from),
        path,
        // A DNAT to the address the packet already had leaves no rewrite: the original then.
        numgen: numgenOf(path, rewrites.dnat?.addr ?? t.views[0]?.daddr),
        ...rewrites,
        ...(entry ? { conntrack: entry } : {}),
        trace: t,
      };
    });
  }
}

/** A conntrack entry's rewrites: the reply's source is the original destination after DNAT, its destination the source after SNAT. */
export function conntrackRewrites(e: ConntrackEntry): { dnat?: Rewrite; snat?: Rewrite } {
  const out: { dnat?: Rewrite; snat?: Rewrite } = {};
  if (e.reply.src !== e.orig.dst || e.reply.sport !== e.orig.dport) out.dnat = { addr: e.reply.src, ...(e.reply.sport !== undefined ? { port: e.reply.sport } : {}) };
  if (e.reply.dst !== e.orig.src || e.reply.dport !== e.orig.sport) out.snat = { addr: e.reply.dst, ...(e.reply.dport !== undefined ? { port: e.reply.dport } : {}) };
  return out;
}

/** What netfate says of a packet, in the terms the kernel's answer can be checked against. */
export interface NetfateNftOutcome {
  fate:
    | { kind: "delivered" }
    | { kind: "forwarded" | "sent"; iface: string }
    | { kind: "dropped" | "rejected"; family?: string; table: string; chain: string; handle?: number }
    | { kind: string; [k: string]: unknown };
  path: NftPathStep[];
  dnat?: Rewrite;
  snat?: Rewrite;
}

/** One packet of a case with the kernel's answer for it. */
export interface NftPacketCase {
  case: NftCase;
  packet: PacketSpec;
  kernel: NftKernelResult;
}

const stepText = (s: NftPathStep) => `${s.family} ${s.table} ${s.chain} ${s.handle === undefined ? "policy" : `handle ${s.handle}`}`;
const rewriteText = (r: Rewrite | undefined) => (r ? `${r.addr}${r.port !== undefined ? `:${r.port}` : ""}` : "none");

/**
 * The ways netfate's outcome disagrees with the kernel, in words (empty when it agrees): the
 * fate, the first step where the paths part, and each rewrite. Given several outcomes (netfate's
 * numgen branches), none when one of them agrees, else the disagreements of the one that
 * follows the kernel's path longest.
 *
 * To wire netfate in: for each case, read `case.ruleset` (and `case.iptables`, evaluated
 * beside it at iptables' priorities) on the node `viewOfTopology(NFT_NODE)` describes, evaluate
 * each packet as NEW, and give its outcome here. The kernel's path holds every rule that gave a
 * verdict — `continue` too (a counter, a log, a mark set, a rule whose vmap had no match does
 * not count: it gave none) — and every policy, in hook and priority order across tables, the
 * harness's own two tables left out; netfate's path must list the same to agree. The kernel's
 * `numgen` says which branch each numgen took, so netfate's matching branch can be picked.
 */
export function compareWithNetfate(pc: NftPacketCase, netfate: NetfateNftOutcome | NetfateNftOutcome[]): string[] {
  const outcomes = Array.isArray(netfate) ? netfate : [netfate];
  let best: { words: string[]; common: number } | undefined;
  for (const o of outcomes) {
    const words = disagreements(pc.kernel, o);
    if (words.length === 0) return [];
    const common = commonPrefix(pc.kernel.path, o.path);
    if (!best || common > best.common) best = { words, common };
  }
  return best?.words ?? ["netfate gave no outcome"];
}

function commonPrefix(a: NftPathStep[], b: NftPathStep[]): number {
  let i = 0;
  while (i < a.length && i < b.length && stepText(a[i]!) === stepText(b[i]!)) i++;
  return i;
}

function disagreements(k: NftKernelResult, o: NetfateNftOutcome): string[] {
  const words: string[] = [];
  const kf = k.fate;
  const nf = o.fate;
  const fateWords = (f: NftKernelFate | NetfateNftOutcome["fate"]): string => {
    if ("iface" in f && typeof f.iface === "string") return `${f.kind} out of ${f.iface}`;
    if ((f.kind === "dropped" || f.kind === "rejected") && "chain" in f) return `${f.kind} in ${"family" in f && f.family ? `${String(f.family)} ` : ""}${String(f.table)} ${String(f.chain)}${"handle" in f && f.handle !== undefined ? ` by handle ${String(f.handle)}` : " by its policy"}`;
    return f.kind;
  };
  const same =
    kf.kind === nf.kind &&
    ((kf.kind !== "forwarded" && kf.kind !== "sent") || ("iface" in nf && kf.iface === nf.iface)) &&
    ((kf.kind !== "dropped" && kf.kind !== "rejected") || ("chain" in nf && kf.table === nf.table && kf.chain === nf.chain && (!("handle" in nf) || nf.handle === undefined || nf.handle === kf.handle)));
  if (!same) words.push(`fate: the kernel ${fateWords(kf)}, netfate ${fateWords(nf)}`);
  const n = commonPrefix(k.path, o.path);
  if (n < k.path.length || n < o.path.length) {
    const ks = k.path[n];
    const ns = o.path[n];
    words.push(
      `path parts at step ${n + 1}: the kernel ${ks ? `${stepText(ks)} (verdict ${ks.verdict})` : "ends there"}, netfate ${ns ? stepText(ns) : "ends there"}`,
    );
  }
  for (const kind of ["dnat", "snat"] as const) {
    if (rewriteText(k[kind]) !== rewriteText(o[kind])) words.push(`${kind}: the kernel ${rewriteText(k[kind])}, netfate ${rewriteText(o[kind])}`);
  }
  return words;
}
