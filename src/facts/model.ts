/**
 * What a node knows about itself, in the form the evaluator's routing needs: interfaces with
 * addresses, routes per table, sysctls, and tunnel devices. Every node-facts reader ends here.
 */
import type { Family } from "../model/ast.js";

export interface FactAddress {
  address: string;
  prefixLength: number;
  family: Family;
  scope?: "global" | "link" | "host" | "site";
}

/**
 * A tunnel device's settings. `kind` says which: `vxlan`, `ipip`, `udp` (flannel's UDP backend: a
 * TUN device whose packets flanneld carries in UDP) or `wireguard`. Fields a kind does not use
 * are absent; a field the input did not give is absent too (never a default: the view applies
 * the kernel's or the daemon's, and says so).
 */
export interface FactTunnel {
  kind: "vxlan" | "ipip" | "udp" | "wireguard";
  /**
   * VXLAN: the UDP port (`dstport`; Linux's default without it is 8472, flannel's too). udp:
   * flanneld's port (8285 unless configured). wireguard: the listen port.
   */
  port?: number;
  /**
   * VXLAN: inner next hop (the peer's VTEP address) → outer destination, as given in node.json
   * (the neighbour and FDB tables give the same, joined by the view). udp: subnet lease prefix
   * (`10.1.63.0/24`) → the remote node's public address; a cluster loader may fill these in.
   */
  peers?: Record<string, string>;
  /** udp: this node's own subnet lease (`10.1.9.0/24`), from which the other nodes' `peers` can be filled (fillUdpPeers). */
  lease?: string;
  /** VXLAN: the VNI (`id`). */
  vni?: number;
  /** The outer source address (VXLAN and IPIP `local`; udp: the public address flanneld binds). */
  local?: string;
  /** IPIP: the one remote end (`remote`); absent for `remote any`, as on tunl0. */
  remote?: string;
  /** VXLAN: the underlay device (`dev`). */
  dev?: string;
  /** VXLAN: collect-metadata mode (`external`): the VNI and remote come from each packet's metadata (Cilium). */
  external?: boolean;
  /** VXLAN: outer destinations of the all-zero-MAC entries given in node.json (the FDB's `00:00:00:00:00:00 dst X`). */
  flood?: string[];
  /** wireguard: the fwmark its outer packets carry (0: none). */
  fwmark?: number;
  /** wireguard: its peers; absent when the input did not list them (`wg show all dump`). */
  wireguardPeers?: FactWireguardPeer[];
}

export interface FactWireguardPeer {
  publicKey: string;
  /** Absent when the peer has none (`(none)`): it has not been configured or heard from. */
  endpoint?: { address: string; port: number };
  allowedIps: FactCidr[];
}

export interface FactCidr {
  address: string;
  prefixLength: number;
  family: Family;
}

/** One neighbour entry (`ip neigh`): which link-layer address an IP address has on a device. */
export interface FactNeighbour {
  dev: string;
  address: string;
  family: Family;
  /** Absent for entries without one (INCOMPLETE, FAILED). */
  lladdr?: string;
  /** The NUD states, as ip prints them (PERMANENT, REACHABLE, STALE, ...). */
  state: string[];
}

/**
 * One forwarding database entry of a VXLAN device (`bridge fdb`): frames to `mac` go to the
 * remote VTEP `dst`; the all-zero MAC is the default entry (every one of them gets a copy).
 * `port`, `vni` and `via` override the device's own for this entry. Entries without `dst` (a
 * bridge's or a NIC's own) say nothing about tunnels and are not kept.
 */
export interface FactFdbEntry {
  dev: string;
  mac: string;
  dst: string;
  port?: number;
  vni?: number;
  via?: string;
}

export interface FactInterface {
  name: string;
  addrs: FactAddress[];
  kind?: string;
  mac?: string;
  /** Whether the link is up (IFF_UP), when the input says: a tunnel device that is down has no socket and takes nothing apart. */
  up?: boolean;
  tunnel?: FactTunnel;
}

export type RouteType = "unicast" | "local" | "broadcast" | "blackhole" | "unreachable" | "prohibit" | "throw" | "multicast" | "anycast";

export interface FactRoute {
  family: Family;
  table: string;
  type: RouteType;
  /** Network address and prefix (default = 0.0.0.0/0 or ::/0). */
  dst: string;
  prefixLength: number;
  gateway?: string;
  dev?: string;
  src?: string;
  metric?: number;
  scope?: string;
  proto?: string;
  onlink?: boolean;
}

/** An address selector of an `ip rule` (`from 10.0.0.0/8`); `all` is no selector at all. */
export interface FactPrefix {
  address: string;
  prefixLength: number;
}

export type RuleAction = "lookup" | "goto" | "nop" | "blackhole" | "unreachable" | "prohibit";

/**
 * One policy routing rule, as `ip rule show` / `ip -j rule` print it. Selectors that are
 * absent match every packet. `table` is kept as named (`main`, `local`, `default`, a number or a
 * name from rt_tables), the same spelling the routes' `table` uses.
 */
export interface FactRule {
  family: Family;
  priority: number;
  /** `not`: the rule applies to packets its selectors do not match. */
  not?: boolean;
  from?: FactPrefix;
  to?: FactPrefix;
  iif?: string;
  oif?: string;
  /** `iif NAME [detached]`: no such device when dumped, so the rule matches no packet (the kernel keeps ifindex -1). */
  iifDetached?: boolean;
  /** `oif NAME [detached]`: as iifDetached, for the output device. */
  oifDetached?: boolean;
  /** `fwmark VALUE[/MASK]`; without a mask iproute2 uses 0xffffffff. */
  fwmark?: number;
  fwmask?: number;
  tos?: number;
  ipproto?: number;
  sport?: readonly [number, number];
  dport?: readonly [number, number];
  /** `uidrange`, `l3mdev`, `tun_id`, `realms`, `protocol`-independent selectors netfate cannot decide from a packet: named so the lookup says so. */
  undecidable?: string[];
  action: RuleAction;
  /** For `lookup`. */
  table?: string;
  /** For `goto`: the priority to continue at. */
  goto?: number;
  /** `suppress_prefixlength N`: a lookup result with a prefix this short or shorter is ignored. */
  suppressPrefixLength?: number;
  /** `suppress_ifgroup N`: a lookup result whose device is in group N is ignored. */
  suppressIfgroup?: number;
}

export interface NodeFacts {
  interfaces: FactInterface[];
  routes: FactRoute[];
  /** The policy routing rules; absent when the input did not give them (the kernel's defaults are then assumed, and said). */
  rules?: FactRule[];
  sysctl: Record<string, string>;
  /** The neighbour tables (`ip neigh`); absent when not given. */
  neighbours?: FactNeighbour[];
  /** The VXLAN devices' forwarding entries with a remote (`bridge fdb`); absent when not given. */
  fdb?: FactFdbEntry[];
}

export function emptyFacts(): NodeFacts {
  return { interfaces: [], routes: [], sysctl: {} };
}
