/**
 * Routing and address questions answered from node facts the way the kernel answers them:
 * the local table first (the node's own addresses, derived from the interfaces as the kernel
 * derives them, plus 127.0.0.0/8 on lo), then main by longest prefix and lowest metric;
 * source selection from the route's `src`, else an address of the output device in the
 * gateway's (or destination's) subnet, else its first global address, else another
 * interface's (inet_select_addr). Policy routing (`ip rule`, fwmark tables) is not modelled:
 * lookups use main, and say so when a mark is set.
 */
import type { Family } from "../model/ast.js";
import type { FactInterface, FactRoute, NodeFacts } from "../facts/model.js";
import { inNet, ipToNum, maskFromPrefix, type IpNum } from "./ipnum.js";
import type { AddrType, NodeView, RouteDecision, Tri, TunnelInfo } from "./types.js";

interface Compiled {
  route: FactRoute;
  net: IpNum;
  mask: IpNum;
}

function masked(n: IpNum, m: IpNum): IpNum {
  return typeof n === "number" ? ((n & (m as number)) >>> 0) : (n.map((w, k) => (w & (m as readonly number[])[k]!) >>> 0) as unknown as IpNum);
}

function compile(r: FactRoute): Compiled | undefined {
  const n = ipToNum(r.dst, r.family);
  if (n === undefined) return undefined;
  // The route's own text may carry host bits (a connected route is named by the address).
  const mask = maskFromPrefix(r.prefixLength, r.family);
  return { route: r, net: masked(n, mask), mask };
}

/** The route the kernel adds for each address: its network, out of its device (IPv4 and IPv6 alike). */
function connected(i: FactInterface): FactRoute[] {
  return i.addrs.map((a) => {
    const n = ipToNum(a.address, a.family)!;
    const net = masked(n, maskFromPrefix(a.prefixLength, a.family));
    const dst = typeof net === "number" ? [net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join(".") : a.address;
    return { family: a.family, table: "main", type: "unicast", dst, prefixLength: a.prefixLength, dev: i.name, src: a.address, scope: "link", proto: "kernel" } as FactRoute;
  });
}

export function nodeViewFromFacts(facts: NodeFacts): NodeView {
  const local = new Map<string, string>(); // address → device
  for (const i of facts.interfaces) for (const a of i.addrs) local.set(a.address, i.name);
  const broadcast = new Set<string>();
  for (const i of facts.interfaces) {
    for (const a of i.addrs) {
      if (a.family !== "ipv4" || a.prefixLength >= 31) continue;
      const n = ipToNum(a.address, "ipv4") as number;
      const hostBits = (2 ** (32 - a.prefixLength)) - 1;
      const b = (n | hostBits) >>> 0;
      broadcast.add([b >>> 24, (b >>> 16) & 255, (b >>> 8) & 255, b & 255].join("."));
    }
  }
  const explicit = facts.routes.filter((r) => r.table === "main" || r.table === "local" || r.table === "default");
  for (const r of explicit) if (r.type === "local" && r.prefixLength === (r.family === "ipv4" ? 32 : 128)) local.set(r.dst, r.dev ?? "lo");
  const localNets = explicit.filter((r) => r.type === "local" && r.prefixLength < (r.family === "ipv4" ? 32 : 128)).map(compile).filter((x): x is Compiled => !!x);
  localNets.push(compile({ family: "ipv4", table: "local", type: "local", dst: "127.0.0.0", prefixLength: 8, dev: "lo" })!);
  const main = [...explicit.filter((r) => r.table !== "local" && r.type !== "local" && r.type !== "broadcast"), ...facts.interfaces.flatMap(connected)]
    .map(compile).filter((x): x is Compiled => !!x)
    // Longest prefix first; among equals, lowest metric, explicit routes before derived ones.
    .sort((a, b) => b.route.prefixLength - a.route.prefixLength || (a.route.metric ?? 0) - (b.route.metric ?? 0));
  const ifaceByName = new Map(facts.interfaces.map((i) => [i.name, i]));

  const isLocalAddr = (ip: string, family: Family): boolean => {
    if (local.has(ip)) return true;
    const n = ipToNum(ip, family);
    if (n === undefined) return false;
    if (family === "ipv6") return ip === "::1";
    return localNets.some((c) => c.route.family === family && inNet(n, c));
  };

  const lookup = (dst: string, family: Family): FactRoute | undefined => {
    const n = ipToNum(dst, family);
    if (n === undefined) return undefined;
    for (const c of main) if (c.route.family === family && inNet(n, c)) return c.route;
    return undefined;
  };

  const selectSource = (dev: string, family: Family, towards: string): string | undefined => {
    const i = ifaceByName.get(dev);
    const addrs = (i?.addrs ?? []).filter((a) => a.family === family && a.scope !== "host");
    const same = addrs.find((a) => netContains(a.address, a.prefixLength, towards, family));
    if (same) return same.address;
    const global = addrs.find((a) => (a.scope ?? "global") === "global");
    if (global) return global.address;
    if (addrs[0]) return addrs[0].address;
    // inet_select_addr falls back to a global address of another interface.
    for (const other of facts.interfaces) {
      const g = other.addrs.find((a) => a.family === family && (a.scope ?? "global") === "global" && other.name !== "lo");
      if (g) return g.address;
    }
    return undefined;
  };

  const decide = (dst: string, family: Family, forInput: boolean): RouteDecision => {
    // Local routes send through the loopback device whichever interface owns the address.
    if (isLocalAddr(dst, family)) return { kind: "local", dev: "lo" };
    // An arriving packet to a local subnet's broadcast address (or 255.255.255.255) meets the
    // local table's `broadcast` route: the kernel delivers it (ip_route_input_slow, brd_input),
    // it does not forward it (test/kernel/pinned.test.ts).
    if (forInput && family === "ipv4" && (dst === "255.255.255.255" || broadcast.has(dst))) return { kind: "local", dev: "lo" };
    const r = lookup(dst, family);
    if (!r) return { kind: "none", detail: `no route to ${dst} in the node facts` };
    if (r.type !== "unicast") return { kind: r.type === "multicast" || r.type === "anycast" ? "none" : (r.type as "blackhole"), detail: `${r.type} ${r.dst}/${r.prefixLength}` };
    if (!r.dev) return { kind: "indeterminate", reason: `route ${r.dst}/${r.prefixLength} names no device` };
    const d: RouteDecision = { kind: "unicast", dev: r.dev };
    if (r.gateway) d.gateway = r.gateway;
    if (r.onlink) d.onlink = true;
    if (!forInput) {
      const src = r.src ?? selectSource(r.dev, family, r.gateway ?? dst);
      if (src) d.src = src;
    }
    return d;
  };

  const sysctl = (k: string) => (facts.sysctl[k] === undefined ? undefined : String(facts.sysctl[k]));

  return {
    known: true,
    isLocal: (ip, family): Tri => isLocalAddr(ip, family),
    addressType(ip, family): AddrType {
      if (isLocalAddr(ip, family)) return "LOCAL";
      if (family === "ipv4") {
        if (ip === "255.255.255.255" || broadcast.has(ip)) return "BROADCAST";
        const first = Number(ip.split(".")[0]);
        if (first >= 224 && first <= 239) return "MULTICAST";
      } else if (ip.toLowerCase().startsWith("ff")) return "MULTICAST";
      const r = lookup(ip, family);
      if (r?.type === "blackhole") return "BLACKHOLE";
      if (r?.type === "unreachable") return "UNREACHABLE";
      if (r?.type === "prohibit") return "PROHIBIT";
      return "UNICAST";
    },
    routeInput: (dst, family) => decide(dst, family, true),
    routeOutput: (dst, family) => decide(dst, family, false),
    primaryAddress(dev, family) {
      return ifaceByName.get(dev)?.addrs.find((a) => a.family === family)?.address;
    },
    masqueradeAddress(dev, family, nexthop) {
      const global = (addrs: readonly { family: Family; scope?: string; address: string; prefixLength: number }[]) =>
        addrs.filter((a) => a.family === family && (a.scope ?? defaultScope(a.address)) === "global");
      const own = global(ifaceByName.get(dev)?.addrs ?? []);
      if (own.length) return (nexthop ? own.find((a) => netContains(a.address, a.prefixLength, nexthop, family)) : undefined)?.address ?? own[0]!.address;
      for (const i of facts.interfaces) {
        const any = global(i.addrs)[0];
        if (any) return any.address;
      }
      return undefined;
    },
    forwarding(family): Tri {
      const k = family === "ipv4" ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding";
      const v = sysctl(k);
      if (v === undefined) return { indeterminate: `${k} not given in the node facts` };
      // The kernel forwards for any non-zero value (ip_forward = 2 included); the facts reader
      // has checked it is an integer.
      return Number(v.trim()) !== 0;
    },
    tunnel(dev): TunnelInfo | undefined {
      const t = ifaceByName.get(dev)?.tunnel;
      if (!t) return undefined;
      if (t.kind === "vxlan") {
        return {
          kind: "vxlan", outerProto: 17, outerDport: t.port ?? 8472,
          outerDestination: (nexthop) => (nexthop ? t.peers?.[nexthop] : undefined),
        };
      }
      // IPIP: the onlink gateway of the route is the remote node itself.
      return { kind: "ipip", outerProto: 4, outerDestination: (nexthop) => nexthop };
    },
    sysctl,
  };
}

/** The kernel gives loopback addresses host scope whatever was asked (devinet.c). */
function defaultScope(address: string): string {
  return address.startsWith("127.") || address === "::1" ? "host" : "global";
}

function netContains(addr: string, prefix: number, ip: string, family: Family): boolean {
  const a = ipToNum(addr, family);
  const b = ipToNum(ip, family);
  if (a === undefined || b === undefined) return false;
  const mask = maskFromPrefix(prefix, family);
  const net = typeof a === "number" ? ((a & (mask as number)) >>> 0) : a.map((w, k) => (w & (mask as readonly number[])[k]!) >>> 0);
  return inNet(b, { net: net as IpNum, mask });
}
