/**
 * Tunnel devices from node facts, both ways (`tunnelViewOf`): what outer packets an inner one
 * leaving a tunnel becomes, and which device takes an arriving outer packet apart. Each rule is
 * the kernel's (or the daemon's), cited where it is decided.
 */
import type { Family } from "../model/ast.js";
import type { FactCidr, FactFdbEntry, FactInterface, FactNeighbour, FactTunnel, FactWireguardPeer, NodeFacts } from "../facts/model.js";
import type { Decapsulator, OuterEndpoint, OuterPackets, TunnelInfo } from "../model/evaluation.js";
import { addressFamily, canonicalAddress, netContains, parseCidr } from "../model/address.js";

/** Linux's VXLAN port when none is configured (drivers/net/vxlan: IANA's 4789 came later; flannel uses 8472 too). */
export const VXLAN_DEFAULT_PORT = 8472;
/** flanneld's UDP backend port unless its backend config says "Port". */
export const FLANNEL_UDP_DEFAULT_PORT = 8285;
const ALL_ZERO_MAC = "00:00:00:00:00:00";

/** The value of the longest prefix holding `ip`, or undefined. Linear in the prefixes: a tunnel has few. */
function longestMatch<T>(prefixes: Iterable<readonly [FactCidr, T]>, ip: string): T | undefined {
  const family = addressFamily(ip);
  if (!family) return undefined;
  let best: { len: number; value: T } | undefined;
  for (const [c, value] of prefixes) {
    if (c.family !== family || (best && best.len >= c.prefixLength)) continue;
    if (netContains(c.address, c.prefixLength, ip, family)) best = { len: c.prefixLength, value };
  }
  return best?.value;
}

/** A single outer destination, as `outerDestination` gives it. */
function single(p: OuterPackets): string | undefined {
  return Array.isArray(p) && p.length === 1 ? p[0]!.dst : undefined;
}

/** States whose entry has no usable link address (ipneigh.c; the kernel queues behind an unresolved one). */
const UNRESOLVED = new Set(["INCOMPLETE", "FAILED", "NONE"]);

/**
 * The neighbour and FDB tables by device, built once (a trace asks them for every packet, and a
 * node may hold thousands of entries). Each is absent when the facts do not give it.
 */
interface TunnelTables {
  /** `DEV ADDRESS` → the entry with a usable link address. */
  neighbours?: Map<string, FactNeighbour>;
  /** `DEV MAC` → the FDB entries (several for a flood). */
  fdb?: Map<string, FactFdbEntry[]>;
}

function tunnelTables(facts: NodeFacts): TunnelTables {
  const out: TunnelTables = {};
  if (facts.neighbours) {
    const byKey = new Map<string, FactNeighbour>();
    for (const n of facts.neighbours) {
      const key = `${n.dev} ${n.address}`;
      if (n.lladdr !== undefined && !n.state.some((s) => UNRESOLVED.has(s)) && !byKey.has(key)) byKey.set(key, n);
    }
    out.neighbours = byKey;
  }
  if (facts.fdb) {
    const byKey = new Map<string, FactFdbEntry[]>();
    for (const e of facts.fdb) {
      const key = `${e.dev} ${e.mac}`;
      const list = byKey.get(key);
      if (list) list.push(e);
      else byKey.set(key, [e]);
    }
    out.fdb = byKey;
  }
  return out;
}

/**
 * VXLAN's outer packets, as vxlan_xmit decides them (drivers/net/vxlan/vxlan_core.c): the
 * inner packet's Ethernet destination is the neighbour entry of its next hop (the route's
 * gateway, else the destination itself) on the device; the FDB entry of that MAC names the
 * remote, else the all-zero-MAC default entries do (a copy to each), else nothing is sent.
 * An entry's own port and VNI override the device's.
 */
function vxlanPackets(i: FactInterface, t: FactTunnel, tables: TunnelTables, nexthop: string | undefined, innerDst: string): OuterPackets {
  const dev = i.name;
  // Collect-metadata (`external`): the remote is per packet, set by BPF or an encap route (vxlan_xmit's info from skb_tunnel_info).
  if (t.external) return { indeterminate: `${dev} is a collect-metadata (external) VXLAN device: each packet's remote comes from its tunnel metadata (set by a BPF program or a route's encap), which the node facts do not hold` };
  const next = nexthop ?? innerDst;
  // The tables hold canonical spellings (an IPv6 next hop may come written otherwise).
  const family = addressFamily(next);
  const hop = family ? canonicalAddress(next, family) : next;
  const port = t.port ?? VXLAN_DEFAULT_PORT;
  const endpoint = (dst: string, e?: { port?: number; vni?: number }): OuterEndpoint => {
    const o: OuterEndpoint = { dst, dport: e?.port ?? port };
    const vni = e?.vni ?? t.vni;
    if (vni !== undefined) o.vni = vni;
    return o;
  };
  const given = t.peers?.[hop];
  if (given !== undefined) return [endpoint(given)];
  const defaults = (): OuterEndpoint[] | undefined => {
    const zero = tables.fdb && (tables.fdb.get(`${dev} ${ALL_ZERO_MAC}`) ?? []).map((e) => endpoint(e.dst, e));
    const flood = (t.flood ?? []).map((d) => endpoint(d));
    // `remote X` makes the kernel add the all-zero entry itself (vxlan_dev_configure); without an FDB dump, that is the one.
    const remote = tables.fdb === undefined && t.remote !== undefined ? [endpoint(t.remote)] : [];
    const all = [...(zero ?? []), ...flood, ...remote];
    return all.length || tables.fdb !== undefined ? all : undefined;
  };
  if (tables.neighbours === undefined) {
    return { indeterminate: `${dev} (vxlan): no vxlan peer for ${hop} in the node facts, and no neighbour table (ip -j neigh show) to find its MAC` };
  }
  const n = tables.neighbours.get(`${dev} ${hop}`);
  if (!n) {
    const d = defaults();
    const where = d === undefined ? "" : d.length ? ` (the request floods to ${d.map((e) => e.dst).join(", ")})` : " (and no default FDB entry carries the request)";
    return { indeterminate: `${dev} has no neighbour entry for ${hop}: the kernel first resolves it by ARP/ND through the device${where}, and whether anything answers is not in the node facts` };
  }
  if (tables.fdb === undefined && t.flood === undefined && t.remote === undefined) {
    return { indeterminate: `${dev}: ${hop} is at ${n.lladdr}, but no forwarding database (bridge -j fdb show) says which remote has it` };
  }
  const withMac = (e: OuterEndpoint): OuterEndpoint => ({ ...e, innerMac: n.lladdr! });
  const own = (tables.fdb?.get(`${dev} ${n.lladdr}`) ?? []).map((e) => withMac(endpoint(e.dst, e)));
  if (own.length) return own;
  const d = defaults() ?? [];
  if (d.length) return d.map(withMac);
  return { dropped: `${dev}: no FDB entry for ${n.lladdr} (${hop}) and no all-zero default entry: vxlan_xmit drops it` };
}

/** The one WireGuard peer whose allowed IPs hold `ip` by longest prefix (the kernel's allowedips trie). */
function wireguardPeerOf(peers: readonly FactWireguardPeer[], ip: string): FactWireguardPeer | undefined {
  return longestMatch(peers.flatMap((p) => p.allowedIps.map((c) => [c, p] as const)), ip);
}

/**
 * WireGuard's send (drivers/net/wireguard/device.c wg_xmit): the peer is the one whose allowed
 * IPs hold the inner destination; none, or a peer without an endpoint, and the packet is
 * dropped (with an ICMP unreachable to the sender). The outer packet goes from the listen port
 * to the peer's endpoint.
 */
function wireguardPackets(i: FactInterface, t: FactTunnel, innerDst: string): OuterPackets {
  if (!t.wireguardPeers) return { indeterminate: `${i.name} (wireguard): its peers are not in the node facts (wg show all dump)` };
  const peer = wireguardPeerOf(t.wireguardPeers, innerDst);
  if (!peer) return { dropped: `${i.name}: no peer's allowed IPs hold ${innerDst} (wg_xmit drops it, sending ICMP host unreachable)` };
  if (!peer.endpoint) return { dropped: `${i.name}: peer ${peer.publicKey} has no endpoint (wg_xmit drops it: no endpoint configured or learned)` };
  const o: OuterEndpoint = { dst: peer.endpoint.address, dport: peer.endpoint.port };
  if (t.port !== undefined) o.sport = t.port;
  return [o];
}

/**
 * flanneld's UDP backend (flannel backend/udp, proxy tun_to_udp): a packet the kernel routes
 * into the TUN device is read by flanneld, which sends it in UDP from its port to the same
 * port of the node holding the longest subnet lease with the destination; no lease, and it
 * answers ICMP net unreachable instead.
 */
function udpPackets(i: FactInterface, t: FactTunnel, innerDst: string): OuterPackets {
  if (!t.peers) return { indeterminate: `${i.name} (flannel udp): the subnet leases of the other nodes are not in the node facts` };
  const leases: Array<readonly [FactCidr, string]> = [];
  for (const [prefix, dst] of Object.entries(t.peers)) {
    const c = parseCidr(prefix);
    if (typeof c !== "string") leases.push([c, dst]);
  }
  const dst = longestMatch(leases, innerDst);
  if (dst === undefined) return { dropped: `${i.name}: no subnet lease holds ${innerDst} (flanneld drops it and sends ICMP net unreachable)` };
  const port = t.port ?? FLANNEL_UDP_DEFAULT_PORT;
  return [{ dst, dport: port, sport: port }];
}

/** What the node view says of a tunnel device, or undefined when it is not one. */
function tunnelInfo(tables: TunnelTables, i: FactInterface | undefined): TunnelInfo | undefined {
  const t = i?.tunnel;
  if (!i || !t) return undefined;
  const withPackets = (base: Omit<TunnelInfo, "outerDestination" | "outerPackets">, packets: (nexthop: string | undefined, innerDst: string) => OuterPackets): TunnelInfo => ({
    ...base,
    outerPackets: packets,
    outerDestination: (nexthop, innerDst) => single(packets(nexthop, innerDst)),
  });
  switch (t.kind) {
    case "vxlan": {
      const base: Omit<TunnelInfo, "outerDestination" | "outerPackets"> = { kind: "vxlan", outerProto: 17, outerDport: t.port ?? VXLAN_DEFAULT_PORT };
      if (t.vni !== undefined) base.vni = t.vni;
      if (t.local !== undefined) base.outerSrc = t.local;
      return withPackets(base, (nexthop, innerDst) => vxlanPackets(i, t, tables, nexthop, innerDst));
    }
    case "ipip": {
      // ip_tunnel_xmit: a fixed remote, else (an NBMA device such as tunl0) the route's next
      // hop, which is the destination itself without a gateway (rt_nexthop).
      const base: Omit<TunnelInfo, "outerDestination" | "outerPackets"> = { kind: "ipip", outerProto: 4 };
      if (t.local !== undefined) base.outerSrc = t.local;
      return withPackets(base, (nexthop, innerDst) => [{ dst: t.remote ?? nexthop ?? innerDst }]);
    }
    case "udp": {
      const port = t.port ?? FLANNEL_UDP_DEFAULT_PORT;
      const base: Omit<TunnelInfo, "outerDestination" | "outerPackets"> = { kind: "udp", outerProto: 17, outerDport: port, outerSport: port };
      if (t.local !== undefined) base.outerSrc = t.local;
      return withPackets(base, (_nexthop, innerDst) => udpPackets(i, t, innerDst));
    }
    case "wireguard": {
      const base: Omit<TunnelInfo, "outerDestination" | "outerPackets"> = { kind: "wireguard", outerProto: 17 };
      if (t.port !== undefined) base.outerSport = t.port;
      const ports = new Set((t.wireguardPeers ?? []).flatMap((p) => (p.endpoint ? [p.endpoint.port] : [])));
      if (ports.size === 1) base.outerDport = [...ports][0]!;
      if (t.fwmark) base.outerMark = t.fwmark;
      return {
        ...withPackets(base, (_nexthop, innerDst) => wireguardPackets(i, t, innerDst)),
        acceptsInner: (innerSrc, outerSrc) => wireguardAccepts(i.name, t, innerSrc, outerSrc),
      };
    }
  }
}

/**
 * drivers/net/wireguard/receive.c wg_packet_consume_data_done: a decrypted packet whose source
 * is not in the allowed IPs of the peer that sent it (`wg_allowedips_lookup_src(...) != peer`)
 * is dropped ("unallowed src IP"). WireGuard knows the sender by its key; netfate by the
 * endpoint the outer packet came from, which is the peer's as long as it has not roamed.
 */
function wireguardAccepts(dev: string, t: FactTunnel, innerSrc: string, outerSrc: string): boolean | { indeterminate: string } {
  if (!t.wireguardPeers) return { indeterminate: `${dev} (wireguard): its peers are not in the node facts (wg show all dump)` };
  const senders = t.wireguardPeers.filter((p) => p.endpoint?.address === outerSrc);
  if (senders.length === 0) return { indeterminate: `${dev}: no peer has endpoint ${outerSrc} (WireGuard knows a peer by its key, and learns a roaming peer's new endpoint), so which peer sent it is not known` };
  const routed = wireguardPeerOf(t.wireguardPeers, innerSrc);
  const verdicts = new Set(senders.map((p) => p === routed));
  if (verdicts.size > 1) return { indeterminate: `${dev}: several peers have endpoint ${outerSrc}, and ${innerSrc} is in the allowed IPs of only some of them` };
  return verdicts.has(true);
}

/** The family of a device's underlay: its local or remote address's, IPv4 when neither is given (the kernel's default). */
function underlayFamily(t: FactTunnel): Family {
  const a = t.local ?? t.remote;
  return (a && addressFamily(a)) || "ipv4";
}

export interface OuterQuery {
  family: Family;
  proto: number;
  dst: string;
  dport?: number;
  vni?: number;
  src?: string;
}

type UpTunnel = { dev: string; t: FactTunnel };

/**
 * Which device takes an arriving outer packet apart, among the tunnel devices that are up. The
 * packet must be for this node (the tunnels' receive handlers run in local delivery); `isLocal`
 * answers that.
 */
function decapsulatorOf(tunnels: readonly UpTunnel[], outer: OuterQuery, isLocal: (ip: string, family: Family) => boolean): Decapsulator | undefined {
  if (!isLocal(outer.dst, outer.family)) return undefined;
  if (outer.proto === 4) return outer.family === "ipv4" ? ipipDecapsulator(tunnels.filter((x) => x.t.kind === "ipip"), outer) : undefined;
  if (outer.proto !== 17 || outer.dport === undefined) return undefined;
  const vxlan = tunnels.filter((x) => x.t.kind === "vxlan" && (x.t.port ?? VXLAN_DEFAULT_PORT) === outer.dport && (x.t.external || underlayFamily(x.t) === outer.family));
  if (vxlan.length) return vxlanDecapsulator(vxlan, outer);
  for (const { dev, t } of tunnels) {
    if (t.kind === "udp" && (t.port ?? FLANNEL_UDP_DEFAULT_PORT) === outer.dport && outer.family === "ipv4") {
      // flanneld listens on its public address only (net.ListenUDP("udp4", {IP: extIface.IfaceAddr, Port: port})).
      if (t.local !== undefined) {
        if (t.local === outer.dst) return { dev, kind: "udp" };
        continue;
      }
      return { dev, kind: "udp", assumption: `flanneld listens on its public address only; the node facts do not say which it is, so ${outer.dst} is assumed to be it` };
    }
    // wg_socket_init binds the listen port on every address, IPv4 and IPv6.
    if (t.kind === "wireguard" && t.port === outer.dport) return { dev, kind: "wireguard" };
  }
  return undefined;
}

/**
 * vxlan_rcv: the UDP socket of the port (one per port and family, bound to every address:
 * vxlan_create_sock; the `localbind` of newer kernels, which iproute2 6.1 neither sets nor shows, is not read)
 * hands the packet to the device of its VNI (vxlan_vs_find_vni); a collect-metadata device
 * takes every VNI. No device for the VNI, and the packet is dropped.
 */
function vxlanDecapsulator(devices: readonly UpTunnel[], outer: OuterQuery): Decapsulator | undefined {
  const external = devices.find((x) => x.t.external);
  if (external) return { dev: external.dev, kind: "vxlan" };
  const names = devices.map((x) => x.dev).join(", ");
  if (outer.vni !== undefined) {
    const match = devices.find((x) => x.t.vni === outer.vni);
    if (match) return { dev: match.dev, kind: "vxlan" };
    const unknown = devices.filter((x) => x.t.vni === undefined);
    if (unknown.length === 0) return undefined;
    return { dev: unknown[0]!.dev, kind: "vxlan", assumption: `VNI ${outer.vni}: the node facts do not give the VNI of ${unknown.map((x) => x.dev).join(", ")}; assumed ${unknown[0]!.dev}'s` };
  }
  if (devices.length === 1) return { dev: devices[0]!.dev, kind: "vxlan" };
  return { dev: devices[0]!.dev, kind: "vxlan", assumption: `the outer packet's VNI is not known and ${names} share port ${outer.dport}: assumed ${devices[0]!.dev}` };
}

/**
 * ipip_rcv → ip_tunnel_lookup (net/ipv4/ip_tunnel.c): a device whose ends are the packet's
 * (remote = outer source, local = outer destination), then one with that remote and any local,
 * then that local and any remote, then another with neither, and last the fallback device
 * (tunl0, which every namespace with the ipip module has); each only while up. No device, and
 * tunnel4_rcv answers ICMP port unreachable. Not modelled: the preference, within one step, for
 * a device bound (`dev`) to the underlay the packet came in on, and collect-metadata devices.
 */
function ipipDecapsulator(devices: readonly UpTunnel[], outer: OuterQuery): Decapsulator | undefined {
  const pick = (d: { dev: string } | undefined, assumption?: string): Decapsulator | undefined => (d ? { dev: d.dev, kind: "ipip", ...(assumption ? { assumption } : {}) } : undefined);
  const fixedRemote = devices.filter((x) => x.t.remote !== undefined);
  if (outer.src !== undefined) {
    const exact = fixedRemote.find((x) => x.t.remote === outer.src && x.t.local === outer.dst) ?? fixedRemote.find((x) => x.t.remote === outer.src && x.t.local === undefined);
    if (exact) return pick(exact);
  }
  const open = devices.filter((x) => x.t.remote === undefined);
  const d = open.find((x) => x.t.local === outer.dst) ?? open.find((x) => x.t.local === undefined && x.dev !== "tunl0") ?? open.find((x) => x.dev === "tunl0");
  if (outer.src === undefined && fixedRemote.length) {
    const note = `the outer source is not known: assumed none of ${fixedRemote.map((x) => `${x.dev}'s remote ${x.t.remote}`).join(", ")}`;
    return pick(d, note);
  }
  return pick(d);
}

/**
 * The tunnel questions of a node view. The tables and the list of tunnels are built on the first
 * question, so facts completed after the view was made (a cluster loader's peers) are seen; a
 * device's settings are read when asked.
 */
export function tunnelViewOf(facts: NodeFacts, isLocal: (ip: string, family: Family) => boolean): {
  tunnel(dev: string): TunnelInfo | undefined;
  decapsulator(outer: OuterQuery): Decapsulator | undefined;
} {
  let tables: TunnelTables | undefined;
  let byName: Map<string, FactInterface> | undefined;
  let up: UpTunnel[] | undefined;
  return {
    tunnel(dev) {
      tables ??= tunnelTables(facts);
      byName ??= new Map(facts.interfaces.map((i) => [i.name, i]));
      return tunnelInfo(tables, byName.get(dev));
    },
    decapsulator(outer) {
      // A device that is down has no socket (vxlan_stop, wg_stop release it) and is no tunnel
      // ip_tunnel_lookup picks (it skips devices without IFF_UP).
      up ??= facts.interfaces.flatMap((i) => (i.tunnel && i.up !== false ? [{ dev: i.name, t: i.tunnel }] : []));
      return decapsulatorOf(up, outer, isLocal);
    },
  };
}
