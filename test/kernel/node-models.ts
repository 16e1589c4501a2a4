/**
 * Random node models for the kernel differential's routing runs: the differential node's
 * interfaces, with a few `ip rule`s (marks, sources, destinations, arriving interfaces,
 * protocol and port, `not`, every action), a second table, mangle rules that set the marks the
 * rules select, and rp_filter 0/1/2 on `all` and each interface. With them, packets that make
 * the route lookup work: symmetric, asymmetric and spoofed sources (one with no route back),
 * the node's own address as a source, and broadcast destinations.
 */
import fc from "fast-check";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Topology, TopologyRule } from "./harness.js";

/** eth0 is the uplink (main's default), veth1 the second uplink (table 100's gateway 10.9.0.2). */
const IFACES = [{ name: "eth0", addr: "192.168.0.11/24" }, { name: "cni0", addr: "10.244.0.1/24" }, { name: "veth1", addr: "10.9.0.1/30" }];
/** 203.0.113.0/24 has no way back: a source there fails both rp_filter modes. */
const MAIN = ["default via 192.168.0.1 dev eth0", "blackhole 203.0.113.0/24"];
const TABLE_100 = ["default via 10.9.0.2 dev veth1", "10.244.0.0/24 dev cni0", "8.8.8.0/24 via 192.168.0.1 dev eth0", "unreachable 198.51.100.0/24"];
const MARKS = [0x1, 0x100, 0x4000];

export interface NodeModel {
  topology: Topology;
  /** iptables-save lines of a mangle table that sets the marks the rules select (PREROUTING and OUTPUT). */
  mangle: string[];
  /** For each `ip rule`, what a packet its selectors select looks like (the rest is drawn). */
  targets: Target[];
  /** Filter rules whose answer depends on the routing view or on state: addrtype per device, INVALID, rate limits on a fresh node. */
  filter: string[];
}

/**
 * Filter rules that read what routing knows (address types, per device with --limit-iface-*)
 * or state a fresh node has (conntrack's INVALID for TCP with no connection, rate-limit
 * buckets full: bursts large enough that a model's packets never drain them).
 */
const FILTER_POOL = [
  "-A INPUT -m addrtype --dst-type LOCAL --limit-iface-in -j ACCEPT",
  "-A INPUT -m addrtype --dst-type BROADCAST --limit-iface-in -j MARK --set-xmark 0x2/0x2",
  "-A FORWARD -m addrtype ! --dst-type UNICAST -j DROP",
  "-A INPUT -m conntrack --ctstate INVALID -j DROP",
  "-A FORWARD -m conntrack --ctstate INVALID -j DROP",
  "-A INPUT -p tcp -m limit --limit 1/min --limit-burst 1000 -j ACCEPT",
  "-A FORWARD -m hashlimit --hashlimit-upto 1/min --hashlimit-burst 1000 --hashlimit-mode srcip --hashlimit-name nfmodel -j MARK --set-xmark 0x4/0x4",
];

/** Part of a packet: where it comes from, and what a selector fixes of it. */
export type Target = Partial<Pick<PacketSpec, "src" | "dst" | "proto" | "dport">> & { from?: string };

/** Each interface's neighbour: the source whose way back is out of that interface. */
const SYMMETRIC: Record<string, string> = { eth0: "192.168.0.50", cni0: "10.244.0.9", veth1: "10.9.0.2" };
/** An address inside each prefix the selectors use, and the interface it arrives on. */
const INSIDE: Record<string, { from: string; addr: string }> = {
  "10.244.0.0/24": { from: "cni0", addr: "10.244.0.9" },
  "10.244.0.0/25": { from: "cni0", addr: "10.244.0.20" },
  "192.168.0.50": { from: "eth0", addr: "192.168.0.50" },
  "203.0.113.0/24": { from: "eth0", addr: "203.0.113.5" },
  "10.9.0.2": { from: "veth1", addr: "10.9.0.2" },
  "10.9.0.0/30": { from: "veth1", addr: "10.9.0.2" },
  "8.8.8.0/24": { from: "eth0", addr: "8.8.8.8" },
  "192.168.0.0/24": { from: "eth0", addr: "192.168.0.50" },
  "198.51.100.7": { from: "eth0", addr: "198.51.100.7" },
};

/** What a packet that `r`'s selectors select looks like; `marked` is the packet its mark's mangle rule marks. */
function targetOf(r: TopologyRule, marked: Target | undefined): Target {
  const t: Target = { ...(marked ?? {}) };
  if (r.from) Object.assign(t, { from: INSIDE[r.from]!.from, src: INSIDE[r.from]!.addr });
  if (r.to) t.dst = INSIDE[r.to]!.addr;
  if (r.iif) Object.assign(t, r.iif === "lo" ? { from: "local", src: undefined } : { from: r.iif, src: SYMMETRIC[r.iif] });
  if (r.ipproto !== undefined) Object.assign(t, { proto: r.ipproto, dport: typeof r.dport === "number" ? r.dport : r.dport?.[1] });
  return t;
}

type Selector = Omit<TopologyRule, "priority" | "action" | "table" | "goto" | "suppressPrefixLength" | "not">;

const selectorArb: fc.Arbitrary<Selector> = fc.oneof(
  { arbitrary: fc.record({ fwmark: fc.constantFrom(...MARKS) }), weight: 3 },
  { arbitrary: fc.record({ fwmark: fc.constantFrom(0x100, 0x4000), fwmask: fc.constantFrom(0xff00, 0xc000) }), weight: 1 },
  { arbitrary: fc.record({ from: fc.constantFrom("10.244.0.0/24", "10.244.0.0/25", "192.168.0.50", "203.0.113.0/24", "10.9.0.2") }), weight: 3 },
  { arbitrary: fc.record({ to: fc.constantFrom("8.8.8.0/24", "10.244.0.0/24", "192.168.0.0/24", "198.51.100.7") }), weight: 2 },
  { arbitrary: fc.record({ iif: fc.constantFrom("eth0", "cni0", "veth1", "lo") }), weight: 2 },
  { arbitrary: fc.record({ ipproto: fc.constantFrom(6, 17), dport: fc.constantFrom<number | readonly [number, number]>(53, 80, [80, 443]) }), weight: 1 },
  { arbitrary: fc.record({ from: fc.constantFrom("10.244.0.0/24", "10.9.0.0/30"), fwmark: fc.constantFrom(...MARKS) }), weight: 1 },
);

type Action = Pick<TopologyRule, "action" | "table" | "suppressPrefixLength">;
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.constant<Action>({ action: "lookup", table: "100" }), weight: 6 },
  { arbitrary: fc.constant<Action>({ action: "lookup", table: "main", suppressPrefixLength: 0 }), weight: 1 },
  { arbitrary: fc.constant<Action>({ action: "lookup", table: "main" }), weight: 1 },
  { arbitrary: fc.constantFrom<Action>({ action: "blackhole" }, { action: "unreachable" }, { action: "prohibit" }), weight: 1 },
  { arbitrary: fc.constant<Action>({ action: "goto" }), weight: 1 },
);

const ruleArb = fc.record({ selector: selectorArb, action: actionArb, not: fc.oneof({ arbitrary: fc.constant(false), weight: 5 }, { arbitrary: fc.constant(true), weight: 1 }) });

/** rp_filter values, mostly off so that the interface's own value and the maximum both show. */
const rpArb = (off: number) => fc.oneof({ arbitrary: fc.constant(0), weight: off }, { arbitrary: fc.constant(1), weight: 1 }, { arbitrary: fc.constant(2), weight: 1 });

/**
 * The conditions under which the model's mangle rules set a mark, each with a packet that
 * meets it (so that a packet can be made to carry the mark an `ip rule` selects).
 */
export const MARK_CONDITIONS = [
  { chain: "PREROUTING", condition: "-i cni0", packet: { from: "cni0", src: "10.244.0.9", dst: "8.8.8.8" } },
  { chain: "PREROUTING", condition: "-s 10.244.0.0/25", packet: { from: "cni0", src: "10.244.0.9", dst: "8.8.4.4" } },
  { chain: "PREROUTING", condition: "-i eth0 -p tcp", packet: { from: "eth0", src: "192.168.0.50", dst: "10.244.0.9" } },
  { chain: "PREROUTING", condition: "-i veth1", packet: { from: "veth1", src: "10.9.0.2", dst: "10.244.0.9" } },
  { chain: "OUTPUT", condition: "-d 8.8.8.8/32", packet: { from: "local", dst: "8.8.8.8" } },
  { chain: "OUTPUT", condition: "-p tcp", packet: { from: "local", dst: "10.244.0.9" } },
] as const;

/** A mark that `fwmark M/MASK` (or `fwmark M`) selects, with a bit outside the mask when there is one. */
function markFor(r: TopologyRule): number {
  return r.fwmask === undefined ? r.fwmark! : (r.fwmark! | (~r.fwmask & 0x1)) >>> 0;
}

/** Priorities 100, 200, … in order; a goto goes to a later rule's priority or to main's (32766). */
export const nodeModelArb: fc.Arbitrary<NodeModel> = fc
  .record({
    rules: fc.array(ruleArb, { minLength: 1, maxLength: 3 }),
    gotoTarget: fc.nat(),
    table100: fc.subarray(TABLE_100, { minLength: 1 }),
    rp: fc.record({ all: rpArb(4), eth0: rpArb(3), cni0: rpArb(3), veth1: rpArb(3) }),
    markWhere: fc.array(fc.nat(MARK_CONDITIONS.length - 1), { minLength: 3, maxLength: 3 }),
    filter: fc.subarray(FILTER_POOL, { maxLength: 3 }),
  })
  .map(({ rules, gotoTarget, table100, rp, markWhere, filter }) => {
    const priorities = rules.map((_, i) => 100 * (i + 1));
    const topologyRules: TopologyRule[] = rules.map((r, i) => {
      const later = [...priorities.slice(i + 1), 32766];
      return {
        priority: priorities[i]!,
        ...(r.not ? { not: true } : {}),
        ...r.selector,
        ...r.action,
        ...(r.action.action === "goto" ? { goto: later[gotoTarget % later.length]! } : {}),
      };
    });
    // Each rule that selects a mark gets a mangle rule that sets it, under one condition.
    const mangle: string[] = [];
    const targets = topologyRules.map((r, i) => {
      if (r.fwmark === undefined) return targetOf(r, undefined);
      const where = MARK_CONDITIONS[markWhere[i]!]!;
      mangle.push(`-A ${where.chain} ${where.condition} -j MARK --set-xmark 0x${markFor(r).toString(16)}/0xffffffff`);
      return targetOf(r, { ...where.packet, ...(/-p tcp/.test(where.condition) ? { proto: 6 } : {}) });
    });
    const sysctls: Record<string, number> = {};
    for (const [scope, v] of Object.entries(rp)) if (v) sysctls[`net.ipv4.conf.${scope}.rp_filter`] = v;
    return {
      topology: { ifaces: IFACES, routes: [...MAIN, ...table100.map((r) => `${r} table 100`)], rules: topologyRules, sysctls, forwarding: true },
      mangle,
      targets,
      filter,
    };
  });

/** Sources arriving on each interface: symmetric, asymmetric, spoofed with no way back, martian (the node's own). */
const SOURCES: Record<string, string[]> = {
  eth0: ["8.8.8.8", "10.244.0.77", "10.9.0.2", "203.0.113.5", "192.168.0.11"],
  cni0: ["10.244.0.77", "192.168.0.50", "8.8.8.8", "203.0.113.5", "10.244.0.1"],
  veth1: ["10.244.0.9", "8.8.8.8", "192.168.0.50", "203.0.113.5"],
};
/** Unicast destinations through each interface and outside any route but the defaults, and the node's own. */
const UNICAST = ["8.8.8.8", "8.8.4.4", "10.244.0.9", "192.168.0.50", "10.9.0.2", "198.51.100.7"];
const OWN = ["192.168.0.11", "10.244.0.1", "10.9.0.1"];
/** Subnet broadcasts, the limited broadcast, and a network address. */
const BROADCAST = ["10.244.0.255", "192.168.0.255", "10.9.0.3", "255.255.255.255", "10.244.0.0"];

/** SYNs, and TCP packets no connection starts with (SYN-ACK, FIN-ACK, RST, a bare ACK): INVALID, or picked up mid-stream, on a fresh node. */
const TRANSPORTS: Array<{ proto: number; dport?: number; tcpFlags?: number }> = [
  { proto: 17, dport: 53 }, { proto: 6, dport: 80, tcpFlags: 2 }, { proto: 6, dport: 443, tcpFlags: 2 }, { proto: 1 },
  { proto: 6, dport: 80, tcpFlags: 0x12 }, { proto: 6, dport: 443, tcpFlags: 0x11 }, { proto: 6, dport: 80, tcpFlags: 0x04 }, { proto: 6, dport: 80, tcpFlags: 0x10 },
];

/**
 * `count` packets for a node model, drawn by `seed`: half made to meet one of its `ip rule`s'
 * selectors, the others arriving on any interface from its neighbour (mostly) or from an
 * asymmetric, spoofed or martian source, to a unicast, own or broadcast destination; about one
 * in five is the node's own (unicast destinations only: a raw socket may not send to a
 * broadcast address without SO_BROADCAST).
 */
export function routingPackets(model: NodeModel, seed: number, count: number): PacketSpec[] {
  let s = seed >>> 0 || 1;
  const next = (n: number) => {
    // xorshift32: the same packets for the same seed, so a shrunk case replays.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[next(xs.length)]!;
  const out: PacketSpec[] = [];
  // The harness sends a node's own packets from a raw socket, whose route lookup carries
  // protocol 255 and no ports (raw_sendmsg); a TCP or UDP socket's carries its own. Where a
  // rule selects by protocol or port the two differ, so such a node sends no local packets.
  const rawRoutesAlike = !(model.topology.rules ?? []).some((r) => r.ipproto !== undefined || r.sport !== undefined || r.dport !== undefined);
  for (let i = 0; i < count; i++) {
    const drawn: Target = next(2) === 0 && model.targets.length ? pick(model.targets) : {};
    const target: Target = !rawRoutesAlike && drawn.from === "local" ? {} : drawn;
    const local = rawRoutesAlike && (target.from === "local" || (target.from === undefined && next(5) === 0));
    const from = local ? "local" : (target.from ?? pick(Object.keys(SYMMETRIC)));
    const src = local ? undefined : (target.src ?? (next(2) === 0 ? SYMMETRIC[from]! : pick(SOURCES[from]!)));
    const dsts = local ? UNICAST : next(4) === 0 ? BROADCAST : next(4) === 0 ? OWN : UNICAST;
    const dst = target.dst ?? pick(dsts.filter((d) => d !== src));
    const t = target.proto !== undefined ? { proto: target.proto, dport: target.dport ?? 80, ...(target.proto === 6 ? { tcpFlags: 2 } : {}) } : pick(TRANSPORTS);
    const l4 = t.proto === 1 ? { icmpType: 8 } : { sport: 42000 + ((seed + i * 7) % 20000), dport: t.dport ?? 53, ...(t.tcpFlags ? { tcpFlags: t.tcpFlags } : {}) };
    out.push({ family: "ipv4", from, ...(src ? { src } : {}), dst, proto: t.proto, ...l4 } as PacketSpec);
  }
  return out;
}
