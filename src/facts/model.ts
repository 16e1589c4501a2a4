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

export interface FactTunnel {
  kind: "vxlan" | "ipip";
  /** VXLAN UDP port (Linux's default without `dstport` is 8472, flannel's too). */
  port?: number;
  /** VXLAN forwarding database: inner next hop (the peer's VTEP address) → outer destination. */
  peers?: Record<string, string>;
}

export interface FactInterface {
  name: string;
  addrs: FactAddress[];
  kind?: string;
  mac?: string;
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
}

export function emptyFacts(): NodeFacts {
  return { interfaces: [], routes: [], sysctl: {} };
}
