/**
 * A tiny NodeView for evaluator unit tests: addresses per interface and a route list, longest
 * prefix first. The real one (src/node) reads ip/route output; this keeps evaluator tests
 * independent of it.
 */
import type { Family } from "../../src/model/ast.js";
import type { NodeView, RouteDecision } from "../../src/model/evaluation.js";
import { applyMask, inNet, ipToNum, maskFromPrefix } from "../../src/model/address.js";

export interface SimpleNodeSpec {
  addrs: Record<string, string[]>;
  routes: Array<{ dst: string; dev?: string; via?: string; type?: "blackhole" | "unreachable" }>;
  forwarding?: boolean;
}

function parseCidr(c: string, family: Family) {
  const [a, p] = c.split("/");
  const prefix = p === undefined ? (family === "ipv4" ? 32 : 128) : Number(p);
  const mask = maskFromPrefix(prefix, family);
  const n = ipToNum(a!, family)!;
  const net = applyMask(n, mask);
  return { net, mask, prefix, addr: a! };
}

export function simpleNode(spec: SimpleNodeSpec): NodeView {
  const family: Family = "ipv4";
  const local = new Map<string, string>();
  for (const [dev, list] of Object.entries(spec.addrs)) for (const c of list) local.set(c.split("/")[0]!, dev);
  local.set("127.0.0.1", "lo");
  const connected = Object.entries(spec.addrs).flatMap(([dev, list]) => list.map((c) => ({ dst: c, dev })));
  const routes = [...connected, ...spec.routes].map((r) => ({ ...r, n: parseCidr(r.dst.replace("default", "0.0.0.0/0"), family) }))
    .sort((a, b) => b.n.prefix - a.n.prefix);
  const lookup = (dst: string): RouteDecision => {
    if (local.has(dst) || dst.startsWith("127.")) return { kind: "local", dev: "lo" };
    const d = ipToNum(dst, family)!;
    for (const r of routes) {
      if (!inNet(d, r.n)) continue;
      if ("type" in r && r.type) return { kind: r.type };
      const dev = r.dev!;
      const src = spec.addrs[dev]?.[0]?.split("/")[0];
      const out: RouteDecision = { kind: "unicast", dev };
      if ("via" in r && r.via) out.gateway = r.via;
      if (src) out.src = src;
      return out;
    }
    return { kind: "none" };
  };
  // What the kernel marks a broadcast or multicast route for a packet the node sends (the loopback
  // broadcast 127.255.255.255 is in the local table as `broadcast 127.255.255.255 dev lo`; a
  // subnet's broadcast address is not: this view has no broadcast addresses).
  const castOf = (d: RouteDecision, dst: string): RouteDecision => {
    if (dst === "127.255.255.255") return { kind: "unicast", dev: "lo", cast: "broadcast" };
    if (d.kind !== "unicast") return d;
    const first = Number(dst.split(".")[0]);
    if (dst === "255.255.255.255") return { ...d, cast: "broadcast" };
    if (first >= 224 && first < 240) return { ...d, cast: "multicast" };
    return d;
  };
  return {
    known: true,
    addressType: (ip) => (local.has(ip) || ip.startsWith("127.") ? "LOCAL" : "UNICAST"),
    isLocal: (ip) => local.has(ip) || ip.startsWith("127."),
    routeInput: (q) => lookup(q.dst),
    routeOutput: (q) => castOf(lookup(q.dst), q.dst),
    // xt_rpfilter's reverse lookup, without policy rules (node-view.ts has the full one).
    reversePath: (q, flags) => {
      const back = lookup(q.src);
      if (back.kind === "local") return flags.acceptLocal;
      return back.kind === "unicast" && (flags.loose || back.dev === q.iif);
    },
    primaryAddress: (dev) => spec.addrs[dev]?.[0]?.split("/")[0],
    masqueradeAddress: (dev) => (spec.addrs[dev]?.[0] ?? Object.values(spec.addrs).flat()[0])?.split("/")[0],
    forwarding: () => spec.forwarding ?? true,
    tunnel: () => undefined,
    sysctl: () => undefined,
  };
}
