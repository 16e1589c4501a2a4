/**
 * Set membership as the kernel's ipset types decide it, indexed so a lookup costs a few hash
 * probes whatever the set size: exact keys for hash:ip and ports, one map per prefix length
 * for hash:net (tried from the most specific, the first hit decides — a `nomatch` entry
 * there makes the lookup fail, as the kernel does), list:set by its members in order.
 */
import type { Family } from "../model/ast.js";
import { inNet, ipKey, ipToNum, maskFromPrefix, type IpNum } from "../netfilter/ipnum.js";
import type { IpsetView, SetLookupResult, SetTuple } from "../netfilter/types.js";
import type { IpSet, IpSetCollection } from "./ast.js";

type Dim = "ip" | "net" | "port" | "iface" | "mac" | "mark" | "set";

const DIMS: Record<string, Dim[]> = {
  "hash:ip": ["ip"], "hash:net": ["net"], "hash:ip,port": ["ip", "port"], "hash:net,port": ["net", "port"],
  "hash:ip,port,ip": ["ip", "port", "ip"], "hash:ip,port,net": ["ip", "port", "net"], "hash:net,iface": ["net", "iface"],
  "hash:net,net": ["net", "net"], "hash:net,port,net": ["net", "port", "net"], "hash:ip,mark": ["ip", "mark"],
  "hash:mac": ["mac"], "hash:ip,mac": ["ip", "mac"], "bitmap:port": ["port"], "bitmap:ip": ["ip"], "bitmap:ip,mac": ["ip", "mac"],
  "list:set": ["set"],
};

const PROTOS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, udplite: 136, icmp: 1, icmpv6: 58, "ipv6-icmp": 58 };

interface Parsed {
  /** Key parts; net parts are the masked network. */
  parts: string[];
  /** Prefix length of each net dimension (undefined elsewhere). */
  prefixes: Array<number | undefined>;
  nomatch: boolean;
}

function netPart(text: string, family: Family, ipOnly: boolean, netmask?: number): { key: string; prefix: number } | undefined {
  const [a, p] = text.split("/");
  const full = family === "ipv4" ? 32 : 128;
  const prefix = p === undefined ? (ipOnly && netmask !== undefined ? netmask : full) : Number(p);
  const n = ipToNum(a!, family);
  if (n === undefined || !(prefix >= 0 && prefix <= full)) return undefined;
  return { key: String(ipKey(mask(n, prefix, family))), prefix };
}

function mask(n: IpNum, prefix: number, family: Family): IpNum {
  const m = maskFromPrefix(prefix, family);
  if (typeof n === "number") return (n & (m as number)) >>> 0;
  return n.map((w, i) => (w & (m as readonly number[])[i]!) >>> 0) as unknown as IpNum;
}

/** `tcp:80`, `udp:53`, `80` (tcp), `icmp:8/0`. */
function portPart(text: string): string | undefined {
  const m = /^(?:([a-z0-9-]+):)?(\d+(?:\/\d+)?)$/.exec(text);
  if (!m) return undefined;
  const proto = m[1] === undefined ? 6 : PROTOS[m[1]] ?? (/^\d+$/.test(m[1]) ? Number(m[1]) : undefined);
  if (proto === undefined) return undefined;
  return `${proto}:${m[2]}`;
}

function parseElement(set: IpSet, text: string, dims: Dim[], nomatch: boolean): Parsed | undefined {
  const pieces = set.type === "list:set" ? [text] : text.split(",");
  if (pieces.length !== dims.length) return undefined;
  const netmask = set.options.find((o) => o.key === "netmask")?.value;
  const out: Parsed = { parts: [], prefixes: [], nomatch };
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    const t = pieces[i]!;
    if (d === "ip" || d === "net") {
      const r = netPart(t, set.family, d === "ip", netmask !== undefined ? Number(netmask) : undefined);
      if (!r) return undefined;
      out.parts.push(r.key);
      out.prefixes.push(d === "net" || netmask !== undefined ? r.prefix : undefined);
    } else if (d === "port") {
      const r = set.type === "bitmap:port" ? (/^\d+$/.test(t) ? `6:${t}` : undefined) : portPart(t);
      if (!r) return undefined;
      out.parts.push(set.type === "bitmap:port" ? t : r);
      out.prefixes.push(undefined);
    } else {
      out.parts.push(d === "iface" ? t.replace(/^physdev:/, "") : t.toLowerCase());
      out.prefixes.push(undefined);
    }
  }
  return out;
}

interface Index {
  set: IpSet;
  dims: Dim[];
  /** Prefix combinations present, most specific first; each with its entries by key. */
  byPrefixes: Array<{ prefixes: Array<number | undefined>; entries: Map<string, Parsed> }>;
  unreadable: number;
}

function buildIndex(set: IpSet): Index | undefined {
  const dims = DIMS[set.type];
  if (!dims) return undefined;
  const groups = new Map<string, { prefixes: Array<number | undefined>; entries: Map<string, Parsed> }>();
  let unreadable = 0;
  for (const e of set.entries) {
    const p = parseElement(set, e.text, dims, e.nomatch);
    if (!p) {
      unreadable++;
      continue;
    }
    const gk = p.prefixes.join("/");
    let g = groups.get(gk);
    if (!g) {
      g = { prefixes: p.prefixes, entries: new Map() };
      groups.set(gk, g);
    }
    g.entries.set(p.parts.join("|"), p);
  }
  const byPrefixes = [...groups.values()].sort((a, b) => {
    for (let i = 0; i < a.prefixes.length; i++) {
      const d = (b.prefixes[i] ?? 0) - (a.prefixes[i] ?? 0);
      if (d) return d;
    }
    return 0;
  });
  return { set, dims, byPrefixes, unreadable };
}

function tupleParts(idx: Index, t: SetTuple, flags: readonly ("src" | "dst")[], prefixes: Array<number | undefined>): string[] | string {
  const out: string[] = [];
  const fam = idx.set.family;
  for (let i = 0; i < idx.dims.length; i++) {
    const d = idx.dims[i]!;
    const dir = flags[i] ?? flags[flags.length - 1] ?? "src";
    if (d === "ip" || d === "net") {
      const ip = dir === "src" ? t.src : t.dst;
      const n = ipToNum(ip, fam);
      if (n === undefined) return `the packet is not ${fam}`;
      const full = fam === "ipv4" ? 32 : 128;
      out.push(String(ipKey(mask(n, prefixes[i] ?? full, fam))));
    } else if (d === "port") {
      const port = dir === "src" ? t.sport : t.dport;
      if (idx.set.type === "bitmap:port") {
        if (port === undefined) return "the packet has no port";
        out.push(String(port));
      } else {
        if (port === undefined && t.proto !== 1 && t.proto !== 58) return "the packet has no port";
        out.push(`${t.proto}:${port ?? 0}`);
      }
    } else if (d === "iface") {
      const ifc = dir === "src" ? t.inIface : t.outIface;
      if (ifc === undefined) return "the packet has no interface on that side";
      out.push(ifc);
    } else if (d === "mac") {
      if (!t.srcMac) return "the packet's MAC address is not given";
      out.push(t.srcMac.toLowerCase());
    } else return `set type ${idx.set.type} lookups are not modelled`;
  }
  return out;
}

export function ipsetView(c: IpSetCollection): IpsetView {
  const byName = new Map(c.sets.map((s) => [s.name, s] as const));
  const indexes = new Map<string, Index | undefined>();
  const index = (s: IpSet) => {
    if (!indexes.has(s.name)) indexes.set(s.name, buildIndex(s));
    return indexes.get(s.name);
  };
  const test = (name: string, t: SetTuple, flags: readonly ("src" | "dst")[], depth = 0): SetLookupResult => {
    const s = byName.get(name);
    if (!s) return { indeterminate: `ipset ${name} is not in the ipset dump` };
    if (s.type === "list:set") {
      if (depth > 4) return { indeterminate: "list:set nesting too deep" };
      for (const e of s.entries) {
        const r = test(e.text, t, flags, depth + 1);
        if (r === true || r === "nomatch" || typeof r === "object") return r;
      }
      return false;
    }
    const idx = index(s);
    if (!idx) return { indeterminate: `set type ${s.type} is not modelled` };
    for (const g of idx.byPrefixes) {
      const parts = tupleParts(idx, t, flags, g.prefixes);
      if (typeof parts === "string") return { indeterminate: parts };
      const hit = g.entries.get(parts.join("|"));
      if (hit) return hit.nomatch ? "nomatch" : true;
    }
    if (idx.unreadable) return { indeterminate: `${idx.unreadable} members of ${name} could not be read` };
    return false;
  };
  return {
    test: (name, t, flags) => test(name, t, flags),
    add: (name) => void indexes.delete(name),
    del: (name) => void indexes.delete(name),
  };
}

export { inNet };
