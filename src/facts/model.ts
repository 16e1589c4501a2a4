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

export interface NodeFacts {
  interfaces: FactInterface[];
  routes: FactRoute[];
  sysctl: Record<string, string>;
}

export function emptyFacts(): NodeFacts {
  return { interfaces: [], routes: [], sysctl: {} };
}
