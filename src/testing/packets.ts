/**
 * fast-check arbitraries for packets, constrained the way people think about traffic:
 * "from eth0, from anywhere outside 10.0.0.0/8, to the service range, tcp or udp, to port
 * 80 or 443". Addresses are drawn with a bias towards the first and last address of each
 * range, where off-by-one mistakes in rules live.
 */
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import type { Family } from "../model/ast.js";
import type { PacketSpec } from "../model/packet.js";
import { protocolNumber } from "../extensions/protocols.js";
import { checkOptions, type OptionNames } from "./options.js";

type OneOrMany<T> = T | readonly T[];
/** A port, a range written as iptables does ("30000:32767" or "30000-32767"), or a list of them. */
export type PortSpec = OneOrMany<number | string>;

export interface PacketConstraints {
  family?: Family;
  /** Interfaces the packet arrives on, or "local" for a packet this node sends. */
  from?: OneOrMany<string>;
  /** Addresses or CIDRs the source is drawn from (any address when absent). */
  src?: OneOrMany<string>;
  /** Ranges the source must not fall in, e.g. the cluster's own networks. */
  notSrc?: OneOrMany<string>;
  dst?: OneOrMany<string>;
  notDst?: OneOrMany<string>;
  /** Protocol names or numbers: "tcp", "udp", "icmp", "sctp", 47... (default tcp and udp). */
  proto?: OneOrMany<string | number>;
  sport?: PortSpec;
  dport?: PortSpec;
  /** Conntrack state to assume (default "new"). */
  state?: OneOrMany<NonNullable<PacketSpec["state"]>>;
  /** skb marks to start with (default 0). */
  mark?: OneOrMany<number>;
}

const CONSTRAINTS = {
  family: true, from: true, src: true, notSrc: true, dst: true, notDst: true, proto: true, sport: true, dport: true, state: true, mark: true,
} satisfies OptionNames<PacketConstraints>;

const list = <T>(v: OneOrMany<T> | undefined): readonly T[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? (v as readonly T[]) : [v as T];

interface Range {
  lo: bigint;
  hi: bigint;
  bits: 32 | 128;
}

function toRange(text: string, family: Family): Range {
  const [addr, len] = text.includes("/") ? ipaddr.parseCIDR(text) : [ipaddr.parse(text), undefined];
  const kind = addr.kind() === "ipv4" ? "ipv4" : "ipv6";
  if (kind !== family) throw new Error(`${text} is not an ${family === "ipv4" ? "IPv4" : "IPv6"} address or network`);
  const bits = family === "ipv4" ? 32 : 128;
  const value = addr.toByteArray().reduce((a, b) => (a << 8n) | BigInt(b), 0n);
  const host = BigInt(bits - (len ?? bits));
  const lo = (value >> host) << host;
  return { lo, hi: lo + (1n << host) - 1n, bits };
}

function addressText(n: bigint, bits: 32 | 128): string {
  const bytes: number[] = [];
  for (let i = bits / 8 - 1; i >= 0; i--) bytes.push(Number((n >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

/** An address in one of the ranges, a third of the time at a range's first or last address. */
function addressIn(ranges: readonly Range[]): fc.Arbitrary<bigint> {
  return fc.constantFrom(...ranges).chain((r) =>
    fc.oneof(
      { arbitrary: fc.constantFrom(r.lo, r.hi), weight: 1 },
      { arbitrary: fc.bigInt({ min: r.lo, max: r.hi }), weight: 2 },
    ),
  );
}

function addressArb(allow: readonly string[] | undefined, deny: readonly string[] | undefined, family: Family): fc.Arbitrary<string> {
  const bits = family === "ipv4" ? 32 : 128;
  const ranges = (allow ?? [family === "ipv4" ? "0.0.0.0/0" : "::/0"]).map((t) => toRange(t, family));
  const denied = (deny ?? []).map((t) => toRange(t, family));
  const outside = (n: bigint) => !denied.some((d) => n >= d.lo && n <= d.hi);
  // Also offer the addresses just outside each denied range: the boundary a rule may miss.
  const edges = denied.flatMap((d) => [d.lo - 1n, d.hi + 1n]).filter((n) => n >= 0n && n < 1n << BigInt(bits) && ranges.some((r) => n >= r.lo && n <= r.hi) && outside(n));
  const drawn = addressIn(ranges).filter(outside);
  const arb = edges.length ? fc.oneof({ arbitrary: drawn, weight: 4 }, { arbitrary: fc.constantFrom(...edges), weight: 1 }) : drawn;
  return arb.map((n) => addressText(n, bits));
}

function portArb(spec: PortSpec | undefined, fallback: fc.Arbitrary<number>): fc.Arbitrary<number> {
  if (spec === undefined) return fallback;
  return fc.oneof(
    ...list(spec)!.map((item) => {
      if (typeof item === "number") return fc.constant(item);
      const m = /^(\d+)(?:[:-](\d+))?$/.exec(item.trim());
      const lo = m ? Number(m[1]) : NaN;
      const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
      if (!m || hi < lo || hi > 65535) throw new Error(`bad port or range ${JSON.stringify(item)}: PORT or LO:HI`);
      // The ends of a range are where rules go wrong: draw them a third of the time.
      return fc.oneof({ arbitrary: fc.constantFrom(lo, hi), weight: 1 }, { arbitrary: fc.integer({ min: lo, max: hi }), weight: 2 });
    }),
  );
}

const COMMON_PORTS = [22, 53, 80, 443, 6443, 8080, 10250, 30000, 32767];

function protoNumber(p: string | number): number {
  if (typeof p === "number") return p;
  const n = protocolNumber(p.toLowerCase());
  if (n === undefined) throw new Error(`unknown protocol ${p}`);
  return n;
}

/** Packets within the constraints; every field not constrained is drawn widely. */
export function packets(c: PacketConstraints = {}): fc.Arbitrary<PacketSpec> {
  checkOptions("packets", c, CONSTRAINTS);
  const family = c.family ?? "ipv4";
  const from = list(c.from) ?? ["eth0"];
  const protos = (list(c.proto) ?? ["tcp", "udp"]).map(protoNumber);
  const states = list(c.state) ?? ["new"];
  const marks = list(c.mark) ?? [0];
  return fc.record({
    from: fc.constantFrom(...from),
    src: addressArb(list(c.src), list(c.notSrc), family),
    dst: addressArb(list(c.dst), list(c.notDst), family),
    proto: fc.constantFrom(...protos),
    sport: portArb(c.sport, fc.integer({ min: 1024, max: 65535 })),
    dport: portArb(c.dport, fc.oneof(fc.constantFrom(...COMMON_PORTS), fc.integer({ min: 1, max: 65535 }))),
    state: fc.constantFrom(...states),
    mark: fc.constantFrom(...marks),
  }).map((r) => {
    const p: PacketSpec = { family, from: r.from, dst: r.dst, proto: r.proto, state: r.state, mark: r.mark };
    // A local packet's source is chosen by routing unless the test pins it.
    if (r.from !== "local" || c.src !== undefined) p.src = r.src;
    if (r.proto === 6 || r.proto === 17 || r.proto === 132 || r.proto === 33) {
      p.sport = r.sport;
      p.dport = r.dport;
    }
    if (r.proto === 6) p.tcpFlags = r.state === "new" ? 0x02 : 0x10;
    if (r.proto === 1 || r.proto === 58) p.icmpType = r.proto === 1 ? 8 : 128;
    return p;
  });
}
