/**
 * Packets worth asking both dumps about. A fate can only change where some rule's condition
 * changes its answer, so the packets come from the rules themselves: for every rule, a packet
 * that meets its conditions (and those of the first rule that jumps to its chain, so a rule
 * deep in KUBE-SEP-… is reached with the service address it needs), then packets on either
 * side of each boundary it draws (network and broadcast addresses, one past them, port-range
 * edges, marks), and what each extension offers as witnesses (its `witnesses` hook: set
 * members, a NAT destination...). A seeded random search mixes the same constants
 * into combinations no single rule spells out.
 *
 * Every step is linear in the rules; the result does not depend on which dump is "old", so
 * diff(A, B) and diff(B, A) ask the same packets.
 */
import ipaddr from "ipaddr.js";
import type { Family, Rule, Ruleset, Table } from "../model/ast.js";
import { nftFamilySees, nftPacketFamilies, type NftRuleset } from "../model/nft.js";
import { nftTableProbes } from "./nft-probes.js";
import { hasPorts, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, type PacketSpec } from "../model/packet.js";
import type { NodeFacts } from "../facts/model.js";
import type { IpSetCollection } from "../ipset/index.js";
import { boundMatch, boundTarget } from "../extensions/registry.js";
import type { Witness, WitnessFields } from "../extensions/types.js";
import {
  addressProbe, BITS, concreteIface, fromBig, isAddressMatch, MEMBERS_PER_SET, merge, netEdges, offset, portEdges, portWant,
  probesThroughJumps, rangeProbe, toBig, type Context, type ProbedChain, type Probe, type Want,
} from "./probes.js";

export interface CandidateOptions {
  /** Interfaces and addresses of the node (arrival interfaces, local destinations). */
  facts?: NodeFacts;
  /** ipsets whose members are tried as addresses and ports. */
  sets?: IpSetCollection;
  /** At most this many packets from the rules' constants (default 20000). */
  max?: number;
  /** This many more packets from the seeded random search (default 1000). */
  random?: number;
  seed?: number;
  /** Also ask every packet again as part of an ESTABLISHED connection. */
  established?: boolean;
  /** nftables rulesets of both sides: their rules make probes too. */
  nft?: readonly NftRuleset[];
}

export const DEFAULT_MAX = 20000;
export const DEFAULT_RANDOM = 1000;
/** `10.0.0.0/24,tcp:22` → the address and port parts ipset prints. */
function memberParts(text: string): { addr?: string; port?: number } {
  const out: { addr?: string; port?: number } = {};
  for (const part of text.split(",")) {
    const addr = part.split("/")[0]!.split("-")[0]!;
    if (ipaddr.isValid(addr) && out.addr === undefined) out.addr = addr;
    const port = /^(?:[a-z0-9]+:)?([0-9]+)(?:-[0-9]+)?$/.exec(part);
    if (port && !ipaddr.isValid(part) && out.port === undefined) out.port = Number(port[1]);
  }
  return out;
}

function setProbe(d: { name: string; flags: readonly ("src" | "dst")[]; negated: boolean }, p: Probe, c: Context): void {
  const members = c.sets.get(d.name) ?? [];
  const [addrDir, portDir] = d.flags;
  members.forEach((text, i) => {
    const m = memberParts(text);
    const v: Want = {};
    if (m.addr !== undefined && addrDir && toBig(m.addr, c.family) !== undefined) v[addrDir] = m.addr;
    if (m.port !== undefined && portDir) v[portDir === "src" ? "sport" : "dport"] = m.port;
    if (m.addr !== undefined) c.pool.addrs.add(m.addr);
    if (m.port !== undefined) c.pool.ports.add(m.port);
    if (i === 0 && !d.negated) Object.assign(p.want, v);
    p.variants.push(v);
  });
}

/** Packet fields a witness's `tries` add to the random search's pool. */
function pooled(f: WitnessFields, c: Context): void {
  if (f.src !== undefined) c.pool.addrs.add(f.src);
  if (f.dst !== undefined) c.pool.addrs.add(f.dst);
  if (f.sport !== undefined) c.pool.ports.add(f.sport);
  if (f.dport !== undefined) c.pool.ports.add(f.dport);
  if (f.mark !== undefined) c.pool.marks.add(f.mark);
}

/** What an extension offers (its `witnesses`), as the rule's wish and its boundary variants. */
function witnessProbe(w: Witness, p: Probe, c: Context): void {
  switch (w.kind) {
    case "fields":
      if (w.want) Object.assign(p.want, w.want);
      for (const t of w.tries ?? []) {
        p.variants.push({ ...t });
        pooled(t, c);
      }
      return;
    case "ports":
      w.ranges.forEach((r, i) => {
        if (i === 0) {
          const want = portWant({ lo: r.lo, hi: r.hi, negated: w.negated });
          if (want !== undefined) p.want[w.field] = want;
        }
        for (const x of portEdges(r.lo, r.hi)) {
          p.variants.push({ [w.field]: x });
          c.pool.ports.add(x);
        }
      });
      return;
    case "addresses":
      rangeProbe(w, w.field, p, c);
      return;
    case "set":
      setProbe(w, p, c);
      return;
  }
}

const NO_WITNESSES: readonly Witness[] = [];

function ruleProbe(rule: Rule, c: Context): Probe {
  const p: Probe = { want: {}, variants: [] };
  if (isAddressMatch(rule.source)) addressProbe(rule.source, "src", p, c);
  if (isAddressMatch(rule.destination)) addressProbe(rule.destination, "dst", p, c);
  const inIf = rule.inInterface;
  if (inIf && "name" in inIf) {
    const name = concreteIface(inIf.name, c.ifaces);
    if (inIf.negated) p.variants.push({ from: name });
    else p.want.from = name;
  }
  if (rule.protocol) {
    const n = rule.protocol.number;
    p.want.proto = rule.protocol.negated ? (n === PROTO_TCP ? PROTO_UDP : PROTO_TCP) : n;
  }
  for (const m of rule.matches) {
    if (m.kind !== "match") continue;
    for (const w of boundMatch(m)?.witnesses?.(m.data) ?? NO_WITNESSES) witnessProbe(w, p, c);
  }
  const t = rule.target;
  if (t?.kind === "target") for (const w of boundTarget(t)?.witnesses?.(t.data) ?? NO_WITNESSES) witnessProbe(w, p, c);
  for (const k of ["src", "dst"] as const) if (p.want[k]) c.pool.addrs.add(p.want[k]);
  for (const k of ["sport", "dport"] as const) if (p.want[k] !== undefined) c.pool.ports.add(p.want[k]);
  return p;
}

/** Probes for every rule of a table, through the jumps that reach each chain (probesThroughJumps). */
function tableProbes(t: Table, c: Context): Probe[] {
  return probesThroughJumps(t.chains.map((ch) => {
    const rules = ch.rules.load();
    const jumps: ProbedChain["jumps"] = [];
    rules.forEach((r, j) => {
      if (r.target?.kind === "chain") jumps.push({ rule: j, chain: r.target.chain });
    });
    return { name: ch.name, probes: rules.map((r) => ruleProbe(r, c)), jumps };
  }));
}

// ---------- from wishes to packets ----------

const OUTSIDE: Record<Family, { src: string; dst: string }> = {
  ipv4: { src: "203.0.113.7", dst: "198.51.100.1" },
  ipv6: { src: "2001:db8:7::7", dst: "2001:db8:1::1" },
};

interface NodeAddrs {
  /** Per interface: its first address, and a neighbour in its subnet. */
  byIface: Map<string, { own: string; neighbour?: string }>;
  anyLocal?: string;
}

function nodeAddrs(facts: NodeFacts | undefined, family: Family): NodeAddrs {
  const byIface = new Map<string, { own: string; neighbour?: string }>();
  let anyLocal: string | undefined;
  for (const i of facts?.interfaces ?? []) {
    const a = i.addrs.find((x) => x.family === family && x.scope !== "link" && x.scope !== "host");
    if (!a) continue;
    const e = netEdges({ negated: false, address: a.address, prefixLength: a.prefixLength, mask: null }, family);
    // The last host of the subnet, as a neighbour that is not the node itself.
    const last = e.edges[2] === undefined || a.prefixLength >= BITS[family] - 1 ? undefined : offset(e.edges[2], -1n, family);
    byIface.set(i.name, { own: a.address, ...(last && last !== a.address ? { neighbour: last } : {}) });
    if (i.name !== "lo") anyLocal ??= a.address;
  }
  return { byIface, ...(anyLocal ? { anyLocal } : {}) };
}

function packetKey(p: PacketSpec): string {
  return [p.family, p.from, p.proto, p.src ?? "", p.dst, p.sport ?? "", p.dport ?? "", p.icmpType ?? "", p.mark ?? 0, p.state ?? "new"].join("|");
}

function protoFor(family: Family): number[] {
  return [PROTO_TCP, PROTO_UDP, family === "ipv4" ? PROTO_ICMP : PROTO_ICMPV6];
}

function packetOf(w: Want, from: string, proto: number, family: Family): PacketSpec {
  const p: PacketSpec = { family, from, proto, dst: w.dst! };
  if (w.src !== undefined) p.src = w.src;
  if (hasPorts(proto)) {
    p.sport = w.sport ?? 40000;
    p.dport = w.dport ?? 80;
  }
  if (proto === PROTO_TCP) p.tcpFlags = w.established ? 0x10 : 0x02;
  if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) p.icmpType = w.icmpType ?? (proto === PROTO_ICMP ? 8 : 128);
  if (w.mark) p.mark = w.mark;
  if (w.established) p.state = "established";
  return p;
}

class Collector {
  readonly byKey = new Map<string, { packet: PacketSpec; tier: number }>();
  add(p: PacketSpec, tier: number): boolean {
    const k = packetKey(p);
    const had = this.byKey.get(k);
    if (had) {
      had.tier = Math.min(had.tier, tier);
      return false;
    }
    this.byKey.set(k, { packet: p, tier });
    return true;
  }
}

/**
 * The packets of one wish: on every arrival interface it allows, for every protocol it
 * allows; the fields it leaves free take a neighbour or a stranger as source and the node
 * or the world beyond it as destination (tier 0 only for the first of those choices).
 */
function expand(w: Want, tier: number, allDefaults: boolean, ctx: Context, node: NodeAddrs, out: Collector): void {
  const out4 = OUTSIDE[ctx.family];
  const froms = w.from ? [w.from] : [...ctx.ifaces, "local"];
  const protos = w.proto !== undefined ? [w.proto] : protoFor(ctx.family);
  for (const from of froms) {
    const own = node.byIface.get(from);
    const local = own?.own ?? node.anyLocal;
    const srcs = from === "local" ? [undefined] : [own?.neighbour ?? out4.src, out4.src];
    const dsts = w.dstLocal && local ? [local] : [local ?? out4.dst, out4.dst];
    let first = true;
    for (const src of srcs) {
      for (const dst of dsts) {
        if (!first && !allDefaults) break;
        const filled: Want = { ...(src !== undefined ? { src } : {}), dst, ...w };
        if (from === "local" && w.src === undefined) delete filled.src;
        for (const proto of protos) out.add(packetOf(filled, from, proto, ctx.family), first ? tier : tier + 1);
        first = false;
      }
    }
  }
}

/** Evenly spaced picks, so a cap thins every part of the list alike. */
function thin<T>(list: T[], n: number): T[] {
  if (list.length <= n) return list;
  if (n <= 0) return [];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(list[Math.floor((i * list.length) / n)]!);
  return out;
}

/** xorshift32: small, seedable, and the same sequence on every platform. */
export function prng(seed: number): () => number {
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function randomPackets(ctx: Context, node: NodeAddrs, n: number, seed: number, out: Collector): PacketSpec[] {
  const rnd = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const sorted = <T>(s: Set<T>) => [...s].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const addrs = sorted(ctx.pool.addrs);
  const ports = sorted(ctx.pool.ports);
  const marks = sorted(ctx.pool.marks);
  const froms = [...ctx.ifaces, "local"];
  const randomAddr = () => fromBig(BigInt(Math.floor(rnd() * 0x100000000)) << BigInt(BITS[ctx.family] - 32), ctx.family)!;
  const found: PacketSpec[] = [];
  // Bounded tries: a small ruleset may not have n distinct combinations.
  for (let tries = 0; found.length < n && tries < n * 4; tries++) {
    const from = pick(froms);
    const w: Want = {
      dst: addrs.length && rnd() < 0.8 ? pick(addrs) : randomAddr(),
      sport: ports.length && rnd() < 0.3 ? pick(ports) : 1024 + Math.floor(rnd() * 64512),
      dport: ports.length && rnd() < 0.8 ? pick(ports) : Math.floor(rnd() * 65536),
      ...(marks.length && rnd() < 0.3 ? { mark: pick(marks) } : {}),
    };
    if (from !== "local") w.src = addrs.length && rnd() < 0.7 ? pick(addrs) : node.byIface.get(from)?.neighbour ?? randomAddr();
    if (w.dst === undefined) continue;
    const p = packetOf(w, from, pick(protoFor(ctx.family)), ctx.family);
    if (out.add(p, Infinity)) found.push(p);
  }
  return found;
}

function contextFor(family: Family, rulesets: readonly Ruleset[], o: CandidateOptions): Context {
  const ifaces = new Set<string>();
  for (const i of o.facts?.interfaces ?? []) ifaces.add(i.name);
  // Interfaces the rules name count too: a node without facts still has them.
  for (const rs of rulesets) for (const t of rs.tables) for (const ch of t.chains) for (const r of ch.rules.load()) {
    const i = r.inInterface;
    if (i && "name" in i && !i.name.endsWith("+")) ifaces.add(i.name);
  }
  if (ifaces.size === 0) ifaces.add("eth0");
  const sets = new Map<string, string[]>();
  for (const s of o.sets?.sets ?? []) {
    if (s.family !== family) continue;
    const entries = s.entries.filter((e) => !e.nomatch).map((e) => e.text);
    sets.set(s.name, entries.length > MEMBERS_PER_SET ? [...entries.slice(0, MEMBERS_PER_SET - 1), entries[entries.length - 1]!] : entries);
  }
  return { family, ifaces: [...ifaces].sort(), sets, pool: { addrs: new Set(), ports: new Set([80, 443, 53, 22]), marks: new Set([0]) } };
}

/**
 * Candidate packets for comparing the rulesets of `sides` (all dumps of both sides): those
 * the rules' constants make, capped at `max`, then the random ones. Deterministic for a seed.
 */
export function candidatePackets(sides: ReadonlyArray<readonly Ruleset[]>, o: CandidateOptions = {}): PacketSpec[] {
  const all = sides.flat();
  const nftTables = (o.nft ?? []).flatMap((rs) => rs.tables);
  const families = [...new Set([...all.map((r) => r.family), ...nftPacketFamilies(o.nft ?? [])])].sort();
  const out = new Collector();
  const contexts: Array<{ ctx: Context; node: NodeAddrs }> = [];
  for (const family of families) {
    const ctx = contextFor(family, all, o);
    const node = nodeAddrs(o.facts, family);
    for (const a of node.byIface.values()) ctx.pool.addrs.add(a.own);
    const probes = [
      ...all.filter((r) => r.family === family).flatMap((rs) => rs.tables.flatMap((t) => tableProbes(t, ctx))),
      ...nftTables.filter((t) => nftFamilySees(t.family, family)).flatMap((t) => nftTableProbes(t, ctx)),
    ];
    for (const p of probes) {
      expand(p.want, 0, true, ctx, node, out);
      for (const v of p.variants) expand(merge(p.want, v), 1, false, ctx, node, out);
    }
    contexts.push({ ctx, node });
  }
  if (o.established) {
    for (const { packet } of [...out.byKey.values()]) if (packet.state === undefined) out.add({ ...packet, state: "established", ...(packet.proto === PROTO_TCP ? { tcpFlags: 0x10 } : {}) }, 3);
  }
  // Sorted by key within a tier, so the order (and the cap) cannot depend on which side is old.
  const tiers = new Map<number, Array<[string, PacketSpec]>>();
  for (const [k, v] of out.byKey) {
    const list = tiers.get(v.tier) ?? [];
    list.push([k, v.packet]);
    tiers.set(v.tier, list);
  }
  const result: PacketSpec[] = [];
  let room = o.max ?? DEFAULT_MAX;
  for (const tier of [...tiers.keys()].sort((a, b) => a - b)) {
    const list = tiers.get(tier)!.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const kept = thin(list, room);
    room -= kept.length;
    for (const [, p] of kept) result.push(p);
  }
  const perFamily = Math.ceil((o.random ?? DEFAULT_RANDOM) / Math.max(1, contexts.length));
  // One at a time: spreading 100k+ packets into push() exceeds the call's argument limit.
  contexts.forEach(({ ctx, node }, i) => {
    for (const p of randomPackets(ctx, node, perFamily, (o.seed ?? 1) + i, out)) result.push(p);
  });
  return result;
}
