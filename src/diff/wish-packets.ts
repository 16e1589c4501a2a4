/**
 * From the rules' wishes to the packets diff asks: each wish on every arrival interface and
 * protocol it allows, the fields it leaves free filled with a neighbour or a stranger as source
 * and the node or the world beyond it as destination; the packets sorted into tiers (a wish's
 * first choices, then the rest), capped by thinning evenly, then a seeded random search.
 *
 * Large dumps make many more packets than the cap keeps (10,000 services: 180,000 first choices
 * and 420,000 others for a cap of 20,000), and the same wish many times over (a chain reached
 * 8 ways, both dumps' copies of a rule). So wishes are collected once each (Wishes), the first
 * choices made and counted before anything else, and the rest made only when the cap leaves
 * room for them; when it does not, the random search asks whether a packet is one of them
 * (madeBy) instead of making them all. Which packets are asked, and in which order, is the same
 * either way (test/unit/diff-candidates.test.ts compares the two).
 */
import type { Family } from "../model/ast.js";
import type { NodeFacts } from "../facts/model.js";
import { hasPorts, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, type PacketSpec } from "../model/packet.js";
import { BITS, fromBig, merge, netEdges, offset, type Context, type Want } from "./probes.js";
import { holds, PacketRanks, type FieldValue } from "./packet-ranks.js";

const OUTSIDE: Record<Family, { src: string; dst: string }> = {
  ipv4: { src: "203.0.113.7", dst: "198.51.100.1" },
  ipv6: { src: "2001:db8:7::7", dst: "2001:db8:1::1" },
};

export interface NodeAddrs {
  /** Per interface: its first address, and a neighbour in its subnet. */
  byIface: Map<string, { own: string; neighbour?: string }>;
  anyLocal?: string;
}

export function nodeAddrs(facts: NodeFacts | undefined, family: Family): NodeAddrs {
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

/** A packet as a string, for telling packets apart and for their order (sorted by it within a tier). */
export function packetKey(p: PacketSpec): string {
  // As [...].join("|") writes them: a missing destination as "".
  return `${p.family}|${p.from}|${p.proto}|${p.src ?? ""}|${p.dst ?? ""}|${p.sport ?? ""}|${p.dport ?? ""}|${p.icmpType ?? ""}|${p.mark ?? 0}|${p.state ?? "new"}`;
}

function protoFor(family: Family): number[] {
  return [PROTO_TCP, PROTO_UDP, family === "ipv4" ? PROTO_ICMP : PROTO_ICMPV6];
}

/** The packet of wish `w` from `src` to `dst` (the wish's other fields as it gives them). */
function packetOf(w: Want, src: string | undefined, dst: string | undefined, from: string, proto: number, family: Family): PacketSpec {
  const p: PacketSpec = { family, from, proto, dst: dst! };
  if (src !== undefined) p.src = src;
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

/** The family a wish is made into packets for: its interfaces and the node's addresses. */
export interface Making {
  ctx: Context;
  node: NodeAddrs;
}

/**
 * The packets of one wish: on every arrival interface it allows, for every protocol it
 * allows; the fields it leaves free take a neighbour or a stranger as source and the node or
 * the world beyond it as destination. `first` says whether a packet is of the first of those
 * choices; `all`: the other choices too (else only the first).
 */
function expand(w: Want, all: boolean, m: Making, emit: (p: PacketSpec, first: boolean) => void): void {
  const { ctx, node } = m;
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
        if (!first && !all) break;
        // The wish's own fields over the choices, a field it has as undefined included; a local
        // packet without a source of its own gets the routing decision's.
        const s = from === "local" && w.src === undefined ? undefined : "src" in w ? w.src : src;
        const d = "dst" in w ? w.dst : dst;
        for (const proto of protos) emit(packetOf(w, s, d, from, proto, ctx.family), first);
        first = false;
      }
    }
  }
}

/**
 * Everything of a wish that expand and packetOf read, as one string: equal keys, equal packets.
 * Joined, not a template literal: V8 keeps a template's result as a tree of its ~20 pieces, and
 * a Map hashes a key without flattening it, so each of the 100,000 keys of a large dump's search
 * held ~250 bytes for the rest of the search (flat: ~60), all of it copied by every scavenge.
 */
function wishKey(w: Want): string {
  // A field present but undefined fills differently from one absent ({ src, dst, ...w }).
  return [
    String(w.from), String(w.proto), w.dstLocal ? "1" : "0", "src" in w ? `=${w.src}` : "-", "dst" in w ? `=${w.dst}` : "-",
    String(w.sport), String(w.dport), String(w.icmpType), String(w.mark), w.established ? "1" : "0",
  ].join("|");
}

/** A wish, and whether it was made by a rule (its packets' first choices are tier 0) or only as a boundary variant (tier 1). */
interface Wish {
  want: Want;
  primary: boolean;
}

/**
 * The wishes of one family, each once. A rule's boundary variants are kept as they came until
 * their packets are made (each): a cap that the first choices fill never needs most of them.
 */
export class Wishes {
  private readonly byKey = new Map<string, Wish>();
  private readonly variants: Array<[Want, readonly Want[]]> = [];
  private last: Want | undefined;
  /** For madeBy, worked out when first asked. */
  private sports: Set<number> | undefined;
  private readonly byProto = new Map<number, { byDst: Map<string, Array<Wish | [Want, Want]>>; noDst: Array<Wish | [Want, Want]>; defaults: Set<string> }>();

  constructor(readonly making: Making) {}

  /** A rule's wish and its boundary variants. */
  add(want: Want, variants: readonly Want[]): void {
    // The wish just added, again (a chain's rules that ask nothing of their own each bring its way in): in already.
    if (want !== this.last) this.put(want, true);
    this.last = want;
    if (variants.length) this.variants.push([want, variants]);
  }

  private put(want: Want, primary: boolean): void {
    const k = wishKey(want);
    const had = this.byKey.get(k);
    if (had) had.primary ||= primary;
    else this.byKey.set(k, { want, primary });
  }

  /** Every packet of every wish, each with its tier: 0 for a rule's wish's first choices, 1 for the rest. */
  each(emit: (p: PacketSpec, tier: number) => void): void {
    for (const [want, vs] of this.variants.splice(0)) for (const v of vs) this.put(merge(want, v), false);
    this.sports = undefined;
    this.byProto.clear();
    for (const w of this.byKey.values()) expand(w.want, w.primary, this.making, (p, first) => emit(p, w.primary && first ? 0 : 1));
  }

  /** The tier-0 packets alone. */
  eachFirst(emit: (p: PacketSpec) => void): void {
    for (const w of this.byKey.values()) if (w.primary) expand(w.want, false, this.making, (p) => emit(p));
  }

  /**
   * Whether some wish makes packet `p` (its key `k`), without making them all: only wishes
   * that can make its destination, port pair, protocol, interface and mark are made, and their
   * packets compared by key. For the random search's few thousand packets when the cap left no
   * room for the non-first choices (else they are all made and looked up).
   */
  madeBy(p: PacketSpec, k: string): boolean {
    if (hasPorts(p.proto) && !(this.sports ??= this.sourcePorts()).has(p.sport!)) return false;
    let idx = this.byProto.get(p.proto);
    if (!idx) this.byProto.set(p.proto, (idx = this.indexed(p.proto)));
    const dsts = idx.byDst.get(p.dst) ?? [];
    for (const c of idx.defaults.has(p.dst) ? [...dsts, ...idx.noDst] : dsts) {
      const w: Wish = Array.isArray(c) ? { want: merge(c[0], c[1]), primary: false } : c;
      if (!couldMake(w.want, p)) continue;
      let found = false;
      expand(w.want, w.primary, this.making, (q) => {
        found ||= packetKey(q) === k;
      });
      if (found) return true;
    }
    return false;
  }

  /*
   * Every wish is read below, a variant as its rule's wish and the variant (merged when needed:
   * merge gives the variant's fields where it has them). Written out in each: a pair of closures
   * per wish was most of what the random search allocated.
   */

  /** The source ports the wishes' packets carry (expand: the wish's, or 40000). */
  private sourcePorts(): Set<number> {
    const out = new Set<number>();
    for (const w of this.byKey.values()) out.add(w.want.sport ?? 40000);
    for (const [want, vs] of this.variants) for (const v of vs) out.add((v.sport !== undefined ? v.sport : want.sport) ?? 40000);
    return out;
  }

  /** The wishes that can make packets of protocol `proto`, by the destination they give them. */
  private indexed(proto: number) {
    const byDst = new Map<string, Array<Wish | [Want, Want]>>();
    const noDst: Array<Wish | [Want, Want]> = [];
    const file = (c: Wish | [Want, Want], has: boolean, dst: string | undefined) => {
      if (!has) noDst.push(c);
      else if (dst !== undefined) {
        const list = byDst.get(dst);
        if (list) list.push(c);
        else byDst.set(dst, [c]);
      }
    };
    for (const w of this.byKey.values()) {
      const wp = w.want.proto;
      if (wp === undefined || wp === proto) file(w, "dst" in w.want, w.want.dst);
    }
    for (const [want, vs] of this.variants) {
      for (const v of vs) {
        const wp = v.proto !== undefined ? v.proto : want.proto;
        if (wp === undefined || wp === proto) file([want, v], "dst" in want || v.dst !== undefined, v.dst !== undefined ? v.dst : want.dst);
      }
    }
    // The destinations expand fills in for a wish without one.
    const { node, ctx } = this.making;
    const defaults = new Set([OUTSIDE[ctx.family].dst, ...[...node.byIface.values()].map((a) => a.own), ...(node.anyLocal ? [node.anyLocal] : [])]);
    return { byDst, noDst, defaults };
  }
}

/** What a packet of wish `w` must have (expand, packetOf): false when `p` cannot be one. */
function couldMake(w: Want, p: PacketSpec): boolean {
  if (w.from && w.from !== p.from) return false;
  if (w.proto !== undefined && w.proto !== p.proto) return false;
  if (Boolean(w.established) !== (p.state === "established")) return false;
  if ((w.mark || 0) !== (p.mark ?? 0)) return false;
  return !hasPorts(p.proto) || ((w.sport ?? 40000) === p.sport && (w.dport ?? 80) === p.dport);
}

/** Evenly spaced picks, so a cap thins every part of the list alike. */
function thin<T>(list: ArrayLike<T>, n: number): T[] {
  if (list.length <= n) return Array.from(list);
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

/** `n` random packets from the constants the rules use; `fresh` says whether a packet was not asked yet (and takes it). */
function randomPackets(m: Making, n: number, seed: number, fresh: (p: PacketSpec) => boolean): PacketSpec[] {
  const { ctx, node } = m;
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
    const p = packetOf(w, w.src, w.dst, from, pick(protoFor(ctx.family)), ctx.family);
    if (fresh(p)) found.push(p);
  }
  return found;
}

export interface PacketChoice {
  /** At most this many packets from the wishes. */
  max: number;
  /** This many random packets, spread over the families. */
  random: number;
  seed: number;
  /** Also every packet again as part of an established connection (tier 3). */
  established: boolean;
  /** Make every packet even when the first choices fill the cap (the same packets, slower: for tests). */
  makeAll?: boolean;
}

/**
 * Keys sorted, so the order (and the cap) cannot depend on which side is old: by UTF-16 code
 * units, as `<` compares strings (sort's own order, without a comparator to call).
 */
const sortedKeys = (keys: Iterable<string>): string[] => [...keys].sort();

/** The packets by key, each key's first. */
function firstByKey(made: readonly PacketSpec[]): Map<string, PacketSpec> {
  const first = new Map<string, PacketSpec>();
  for (const p of made) {
    const k = packetKey(p);
    if (!first.has(k)) first.set(k, p);
  }
  return first;
}

/**
 * The packet whose key fields are `v` (PacketRanks.values), as the wish that made it did:
 * packetOf's packets are equal when their keys are (their TCP flags follow their state).
 */
function packetOfFields(v: readonly FieldValue[]): PacketSpec {
  const [family, from, proto, src, dst, sport, dport, icmpType, mark, state] = v as [Family, string, number, string | undefined, string | undefined, number | undefined, number | undefined, number | undefined, number, string];
  const w: Want = { ...(sport !== undefined ? { sport } : {}), ...(dport !== undefined ? { dport } : {}), ...(icmpType !== undefined ? { icmpType } : {}), ...(mark ? { mark } : {}), ...(state === "established" ? { established: true } : {}) };
  return packetOf(w, src, dst, from, proto, family);
}

/**
 * The packets of the families' wishes (one Wishes per family, in family order), tier by tier
 * within the cap, then the random ones.
 */
export function choosePackets(families: readonly Wishes[], o: PacketChoice): PacketSpec[] {
  const made: PacketSpec[] = [];
  for (const f of families) f.eachFirst((p) => made.push(p));
  const result: PacketSpec[] = [];
  let fresh: (f: Wishes, p: PacketSpec) => boolean;
  // Numbers for the keys when the first choices may fill the cap (packet-ranks.ts).
  const ranks = made.length >= o.max && !o.makeAll ? PacketRanks.of(made) : undefined;
  const keys = ranks?.sortedKeys(made);
  const first = keys && keys.length >= o.max ? undefined : firstByKey(made);
  if (first === undefined || (first.size >= o.max && !o.makeAll)) {
    // The first choices fill the cap: the rest would all be thinned away. The random search
    // only needs to know which packets they are.
    let isFirst: (p: PacketSpec, k: string) => boolean;
    if (first === undefined) {
      for (const k of thin(keys!, o.max)) result.push(packetOfFields(ranks!.values(k)));
      isFirst = (p) => {
        const k = ranks!.key(p);
        return k !== undefined && holds(keys!, k);
      };
    } else {
      for (const k of thin(sortedKeys(first.keys()), o.max)) result.push(first.get(k)!);
      isFirst = (_, k) => first.has(k);
    }
    const random = new Set<string>();
    fresh = (f, p) => {
      const k = packetKey(p);
      if (isFirst(p, k) || random.has(k) || f.madeBy(p, k)) return false;
      random.add(k);
      return true;
    };
  } else {
    const tierOf = new Map<string, { packet: PacketSpec; tier: number }>();
    const add = (p: PacketSpec, tier: number): boolean => {
      const k = packetKey(p);
      const had = tierOf.get(k);
      if (had) {
        had.tier = Math.min(had.tier, tier);
        return false;
      }
      tierOf.set(k, { packet: p, tier });
      return true;
    };
    for (const [, p] of first) add(p, 0);
    for (const f of families) f.each(add);
    if (o.established) {
      for (const { packet } of [...tierOf.values()]) if (packet.state === undefined) add({ ...packet, state: "established", ...(packet.proto === PROTO_TCP ? { tcpFlags: 0x10 } : {}) }, 3);
    }
    const tiers = new Map<number, string[]>();
    for (const [k, v] of tierOf) {
      const list = tiers.get(v.tier) ?? [];
      list.push(k);
      tiers.set(v.tier, list);
    }
    let room = o.max;
    for (const tier of [...tiers.keys()].sort((a, b) => a - b)) {
      const kept = thin(sortedKeys(tiers.get(tier)!), room);
      room -= kept.length;
      for (const k of kept) result.push(tierOf.get(k)!.packet);
    }
    fresh = (_, p) => add(p, Infinity);
  }
  const perFamily = Math.ceil(o.random / Math.max(1, families.length));
  // One at a time: spreading 100k+ packets into push() exceeds the call's argument limit.
  families.forEach((f, i) => {
    for (const p of randomPackets(f.making, perFamily, o.seed + i, (q) => fresh(f, q))) result.push(p);
  });
  return result;
}
