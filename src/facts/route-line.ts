/**
 * One `ip route` line (`10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink`, `blackhole
 * 10.244.153.192/26 proto bird`, `local 10.0.0.1 dev eth0 table local ...`) into a FactRoute.
 * Words iproute2 prints that do not change forwarding (`linkdown`, `pref medium`, `expires`)
 * are accepted and ignored; anything unknown is an error naming the word.
 */
import ipaddr from "ipaddr.js";
import type { Family } from "../model/ast.js";
import type { FactRoute, RouteType } from "./model.js";
import { interfaceNameProblem } from "./interface-name.js";
import { addressFamily, canonicalAddress } from "../model/address.js";

export const ROUTE_TYPES: ReadonlySet<string> = new Set<RouteType>(["unicast", "local", "broadcast", "blackhole", "unreachable", "prohibit", "throw", "multicast", "anycast"]);
/** Keywords followed by one value that netfate keeps or may ignore. */
const VALUED = new Set(["via", "dev", "proto", "scope", "src", "metric", "table", "pref", "mtu", "advmss", "expires", "realm", "realms", "initcwnd", "initrwnd", "hoplimit", "rtt", "rttvar", "window", "quickack", "features", "congctl", "nhid", "weight", "tos", "dsfield", "error", "ttl-propagate"]);
const FLAGS = new Set(["onlink", "linkdown", "pervasive", "offload", "trap", "notify", "dead", "rt_offload", "rt_trap", "cache"]);

/**
 * A table as ip prints it: a number, or a name from rt_tables. ip prints the reserved tables
 * 253, 254 and 255 as `default`, `main` and `local` (and as numbers with -N): those numbers
 * are spelled as the names, so that rules and routes from either form name one table.
 */
export function tableName(text: string): string {
  return text === "253" ? "default" : text === "254" ? "main" : text === "255" ? "local" : text;
}

export type RouteLineParse = { ok: true; route: FactRoute } | { ok: false; error: string; col: number };

/** `default`, ADDR or ADDR/LEN as the network it names (host bits cleared), or undefined. */
export function netOf(text: string): { address: string; prefixLength: number; family: Family } | undefined {
  if (text === "default") return { address: "0.0.0.0", prefixLength: 0, family: "ipv4" };
  const [a, p] = text.split("/");
  try {
    if (ipaddr.IPv4.isValidFourPartDecimal(a!)) {
      const len = p === undefined ? 32 : Number(p);
      if (!Number.isInteger(len) || len < 0 || len > 32) return undefined;
      const n = ipaddr.IPv4.parse(a!).toByteArray().reduce((x, b) => x * 256 + b, 0);
      const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      const net = (n & m) >>> 0;
      return { address: [net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join("."), prefixLength: len, family: "ipv4" };
    }
    if (ipaddr.IPv6.isValid(a!)) {
      const len = p === undefined ? 128 : Number(p);
      if (!Number.isInteger(len) || len < 0 || len > 128) return undefined;
      const bytes = ipaddr.IPv6.parse(a!).toByteArray().map((b, i) => {
        const bits = Math.max(0, Math.min(8, len - i * 8));
        return b & ((0xff << (8 - bits)) & 0xff);
      });
      return { address: (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String(), prefixLength: len, family: "ipv6" };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export function parseRouteLine(line: string, defaultFamily: Family = "ipv4"): RouteLineParse {
  const words: string[] = [];
  const cols: number[] = [];
  for (const m of line.matchAll(/\S+/g)) {
    words.push(m[0]);
    cols.push(m.index! + 1);
  }
  let i = 0;
  let type: RouteType = "unicast";
  if (words[0] && ROUTE_TYPES.has(words[0])) {
    type = words[0] as RouteType;
    i++;
  }
  const dstWord = words[i];
  if (!dstWord) return { ok: false, error: "expected a destination (default or ADDR/LEN)", col: line.length + 1 };
  // Only IPv6 routes carry a router preference (RTA_PREF; ip prints `pref medium` for every one
  // of them): an IPv6 `default` route says its family so even without an IPv6 gateway
  // (`unreachable default dev lo table 300 metric 1024 pref medium`).
  const v6Default = defaultFamily === "ipv6" || words.includes("pref");
  const net = dstWord === "default" && v6Default ? { address: "::", prefixLength: 0, family: "ipv6" as Family } : netOf(dstWord);
  if (!net) return { ok: false, error: `expected a destination (default or ADDR/LEN), found ${JSON.stringify(dstWord)}`, col: cols[i]! };
  i++;
  const r: FactRoute = { family: net.family, table: type === "local" || type === "broadcast" ? "local" : "main", type, dst: net.address, prefixLength: net.prefixLength };
  while (i < words.length) {
    const w = words[i]!;
    if (FLAGS.has(w)) {
      if (w === "onlink") r.onlink = true;
      i++;
      continue;
    }
    if (w === "nexthop") {
      // Multipath: the first next hop stands for the route; ECMP choice is by flow hash.
      i++;
      continue;
    }
    if (!VALUED.has(w)) return { ok: false, error: `unknown word ${JSON.stringify(w)} in a route`, col: cols[i]! };
    const v = words[i + 1];
    if (v === undefined) return { ok: false, error: `${w} needs a value`, col: line.length + 1 };
    switch (w) {
      case "via": {
        const g = v === "inet6" || v === "inet" ? words[++i + 1] : v;
        const gn = g ? netOf(g) : undefined;
        if (!gn || (gn.prefixLength !== 32 && gn.prefixLength !== 128)) return { ok: false, error: `bad gateway ${JSON.stringify(g)}`, col: cols[i + 1] ?? line.length + 1 };
        if (r.gateway === undefined) r.gateway = gn.address;
        // `default via fe80::1 dev eth0` (as `ip -6 route` prints it) is IPv6 by its gateway.
        if (dstWord === "default" && gn.family === "ipv6" && r.family === "ipv4") Object.assign(r, { family: "ipv6", dst: "::" });
        break;
      }
      case "dev": {
        const bad = interfaceNameProblem(v);
        if (bad) return { ok: false, error: bad, col: cols[i + 1]! };
        if (r.dev === undefined) r.dev = v;
        break;
      }
      case "src": {
        const f = addressFamily(v);
        if (f !== r.family) return { ok: false, error: `bad src ${JSON.stringify(v)} (expected an ${r.family === "ipv4" ? "IPv4" : "IPv6"} address)`, col: cols[i + 1]! };
        r.src = canonicalAddress(v, f);
        break;
      }
      case "metric": {
        const n = /^\d{1,10}$/.test(v) ? Number(v) : NaN;
        if (!(n <= 0xffffffff)) return { ok: false, error: `bad metric ${JSON.stringify(v)} (expected an integer 0-4294967295)`, col: cols[i + 1]! };
        r.metric = n;
        break;
      }
      case "table":
        r.table = tableName(v);
        break;

      case "scope":
        r.scope = v;
        break;
      case "proto":
        r.proto = v;
        break;
    }
    i += 2;
  }
  return { ok: true, route: r };
}
