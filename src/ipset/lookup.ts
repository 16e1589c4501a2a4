/**
 * Set membership as the kernel's ipset types decide it (net/netfilter/ipset/ip_set_core.c
 * `ip_set_test` and each type's `kadt`), indexed so a lookup costs a few hash probes whatever
 * the set size: exact keys, one map per prefix-length combination for the net dimensions
 * (tried from the most specific, as the kernel walks its cidr list; the first hit decides, and
 * a `nomatch` entry there makes the lookup fail), list:set by its members in order.
 *
 * Before any element is looked at, `ip_set_test` answers no match when the rule gives fewer
 * direction flags than the set has dimensions (`opt->dim < set->type->dimension`) or when the
 * packet's family is not the set's; extra flags are ignored. Checked against the kernel in
 * test/kernel/ipset-dimensions.test.ts.
 */
import type { Family } from "../model/ast.js";
import { ipKey, ipToNum, isZeroIp, networkOf, type IpNum } from "../model/address.js";
import type { KernelIpsetView, SetLookupResult, SetMatch, SetQuery } from "../model/evaluation.js";
import type { IpSet, IpSetCollection } from "./ast.js";
import { parseElement, setHeader, type SetHeader } from "./element.js";
import { familyFits } from "./types.js";

type Dir = "src" | "dst";
type Indeterminate = { indeterminate: string };

interface Entry {
  nomatch: boolean;
  /** hash:net,iface `wildcard`: the interface part is a prefix. */
  wildcard?: string;
  /** bitmap:ip,mac: the entry's MAC, "" while the kernel has not filled it. */
  mac?: string;
}

interface Group {
  prefixes: Array<number | undefined>;
  entries: Map<string, Entry>;
  /** Wildcard hash:net,iface entries of this prefix, keyed by the net part. */
  wildcards: Map<string, Array<Entry & { wildcard: string }>>;
  /** hash:net,iface: the net parts present at this prefix, whatever their interface. */
  nets: Set<string>;
}

interface Index {
  header: SetHeader;
  /** Prefix combinations present, most specific first. */
  groups: Group[];
  unreadable: number;
}

function buildIndex(set: IpSet): Index | { problem: string } {
  const header = setHeader(set);
  if ("problem" in header) return header;
  const groups = new Map<string, Group>();
  let unreadable = 0;
  const ifaceAt = header.info.dims.indexOf("iface");
  const ipmac = set.type === "bitmap:ip,mac";
  for (const e of set.entries) {
    const r = parseElement(set.type, header, e.text);
    if ("problem" in r) {
      unreadable++;
      continue;
    }
    const p = r.key;
    const gk = p.prefixes.join("/");
    let g = groups.get(gk);
    if (!g) {
      g = { prefixes: p.prefixes, entries: new Map(), wildcards: new Map(), nets: new Set() };
      groups.set(gk, g);
    }
    const entry: Entry = { nomatch: e.nomatch };
    // physdev entries hash apart from a packet's element (physdev is part of the hashed key).
    if (ifaceAt >= 0 && !p.parts[ifaceAt]!.startsWith("physdev:")) g.nets.add(p.parts.filter((_, i) => i !== ifaceAt).join("|"));
    if (ipmac) {
      g.entries.set(p.parts[0]!, { ...entry, mac: p.parts[1]! });
    } else if (ifaceAt >= 0 && e.options.some((o) => o.key === "wildcard")) {
      const k = p.parts.filter((_, i) => i !== ifaceAt).join("|");
      const list = g.wildcards.get(k) ?? [];
      list.push({ ...entry, wildcard: p.parts[ifaceAt]! });
      g.wildcards.set(k, list);
    } else g.entries.set(p.parts.join("|"), entry);
  }
  const sorted = [...groups.values()].sort((a, b) => {
    for (let i = 0; i < a.prefixes.length; i++) {
      const d = (b.prefixes[i] ?? 0) - (a.prefixes[i] ?? 0);
      if (d) return d;
    }
    return 0;
  });
  return { header, groups: sorted, unreadable };
}

/** One dimension of the packet's element: an address to mask per group, or a finished key part. */
type Part = { addr: IpNum } | { key: string };

/**
 * The packet's element for the set, dimension by dimension, as the type's kadt reads it; false
 * where the kadt refuses the packet (-EINVAL, out of a bitmap's range: no match).
 */
function packetParts(set: IpSet, h: SetHeader, q: SetQuery, flags: readonly Dir[]): Part[] | false | Indeterminate {
  const out: Part[] = [];
  const dims = h.info.dims;
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    const src = flags[i] === "src";
    switch (d) {
      case "ip":
      case "net": {
        const text = src ? q.src : q.dst;
        let n = ipToNum(text, h.family);
        if (n === undefined) return { indeterminate: `the packet's ${src ? "source" : "destination"} ${text} is not an ${h.family} address` };
        if (h.range && typeof n === "number" && (n < h.range.first || n > h.range.last)) return false;
        if (d === "ip" && h.netmask !== undefined) n = networkOf(n, h.netmask, h.family);
        // hash:ip refuses the all-zero address (hash_ip4_kadt: -EINVAL).
        if (set.type === "hash:ip" && isZeroIp(n)) return false;
        out.push({ addr: n });
        break;
      }
      case "port": {
        const r = portKey(set.type === "bitmap:port", h, q, src);
        if (typeof r !== "string") return r;
        out.push({ key: r });
        break;
      }
      case "iface": {
        // The kernel reads the in-interface for src, the out-interface for dst; none is -EINVAL.
        const name = src ? q.inIface : q.outIface;
        if (!name) return false;
        out.push({ key: name });
        break;
      }
      case "mac": {
        // bitmap:ip,mac reads the MAC after finding the address (see lookup).
        if (set.type === "bitmap:ip,mac") {
          out.push({ key: "" });
          break;
        }
        const mac = macOf(q, flags[i]!);
        if (typeof mac !== "string") return mac;
        out.push({ key: mac });
        break;
      }
      case "mark":
        if (q.mark === undefined) return { indeterminate: "the packet's mark is not given" };
        out.push({ key: String((q.mark & h.markmask) >>> 0) });
        break;
      case "set":
        return { indeterminate: "list:set is looked up by its members" };
    }
  }
  return out;
}

/**
 * The frame's MAC for a direction flag. A MAC header exists only on a received frame (not on
 * a locally generated packet; loopback's is all zeros, which the kernel refuses: no match).
 */
function macOf(q: SetQuery, dir: Dir): string | false | Indeterminate {
  if (!q.inIface || q.inIface === "lo") return false;
  if (dir !== "src") return { indeterminate: "the frame's destination MAC (the node's own) is not modelled" };
  return q.srcMac ? q.srcMac.toLowerCase() : { indeterminate: "the packet's source MAC is not given" };
}

/** The port part the kernel builds (ip_set_getport.c), or false where it has none. */
function portKey(bitmap: boolean, h: SetHeader, q: SetQuery, src: boolean): string | false | Indeterminate {
  if (q.fragment || q.proto <= 0) return false;
  const p = q.proto;
  if (p === 6 || p === 17 || p === 132 || p === 136) {
    const port = src ? q.sport : q.dport;
    if (port === undefined) return { indeterminate: `the packet's ${src ? "source" : "destination"} port is not given` };
    if (!bitmap) return `${p}:${port}`;
    // bitmap:port takes TCP and UDP only (ip_set_get_ip_port), and only ports in its range.
    if (p !== 6 && p !== 17) return false;
    return h.range && (port < h.range.first || port > h.range.last) ? false : String(port);
  }
  if (bitmap) return false;
  if (p === 1 || p === 58) {
    // The kernel keys ICMP by type<<8|code; a packet described without a code has code 0, as for -m icmp.
    if (q.icmpType === undefined) return { indeterminate: "the packet's ICMP type is not given" };
    return `${p}:${(q.icmpType << 8) | (q.icmpCode ?? 0)}`;
  }
  return `${p}:0`;
}

function keyOf(parts: Part[], prefixes: Array<number | undefined>, family: Family, skip = -1): string {
  const full = family === "ipv4" ? 32 : 128;
  const keys: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (i === skip) continue;
    const p = parts[i]!;
    keys.push("addr" in p ? String(ipKey(networkOf(p.addr, prefixes[i] ?? full, family))) : p.key);
  }
  return keys.join("|");
}

export function ipsetView(c: IpSetCollection): KernelIpsetView {
  const byName = new Map(c.sets.map((s) => [s.name, s] as const));
  const indexes = new Map<string, Index | { problem: string }>();
  const index = (s: IpSet) => {
    let i = indexes.get(s.name);
    if (!i) indexes.set(s.name, (i = buildIndex(s)));
    return i;
  };

  /** A non-list set's raw answer: a plain entry, a nomatch entry, none, or indeterminate. */
  const lookup = (s: IpSet, idx: Index, q: SetQuery, flags: readonly Dir[]): SetLookupResult => {
    const fam = idx.header.family;
    const parts = packetParts(s, idx.header, q, flags);
    if (parts === false || "indeterminate" in parts) return parts;
    const ifaceAt = idx.header.info.dims.indexOf("iface");
    const ipmac = s.type === "bitmap:ip,mac";
    for (const g of idx.groups) {
      const hit = g.entries.get(keyOf(parts, g.prefixes, fam, ipmac ? 1 : -1));
      if (hit && ipmac) {
        // The address is there; the kernel needs the frame's MAC header, then an entry the
        // kernel has not filled yet takes this frame's MAC (-EAGAIN, then add) and matches.
        const mac = macOf(q, flags[1]!);
        if (mac === false || hit.mac === "") return mac !== false;
        return typeof mac === "string" ? mac === hit.mac : mac;
      }
      if (hit) return hit.nomatch ? "nomatch" : true;
      if (ifaceAt >= 0) {
        const net = keyOf(parts, g.prefixes, fam, ifaceAt);
        const iface = (parts[ifaceAt] as { key: string }).key;
        const w = g.wildcards.get(net)?.find((x) => iface.startsWith(x.wildcard));
        if (w) return w.nomatch ? "nomatch" : true;
        // hash:net,iface (IP_SET_HASH_WITH_MULTI): once an entry's net equals the packet's at
        // this prefix, shorter prefixes are not tried, even when its interface differs
        // (measured: 10.244.0.0/24,cni0 hides 10.0.0.0/8,et wildcard from a packet out of eth0).
        if (g.nets.has(net)) break;
      }
    }
    if (idx.unreadable) return { indeterminate: `${idx.unreadable} members of ${s.name} could not be read` };
    return false;
  };

  /** ip_set_test: the dimension and family checks, then the type's own test. */
  const kernelTest = (name: string, q: SetQuery, flags: readonly Dir[], returnNomatch: boolean, depth: number): SetMatch | "nomatch" => {
    const s = byName.get(name);
    if (!s) return { indeterminate: `ipset ${name} is not in the ipset dump` };
    const idx = index(s);
    if ("problem" in idx) return { indeterminate: idx.problem };
    if (flags.length < idx.header.info.dims.length) return false;
    const fam = q.family ?? (q.src.includes(":") || q.dst.includes(":") ? "ipv6" : "ipv4");
    if (!familyFits(idx.header.info, s.family, fam)) return false;
    if (s.type === "list:set") {
      // Members in order, each with the rule's flags and options; the first that matches wins.
      // ipset refuses list:set members of a list:set, so depth stays 1 for restorable input.
      if (depth > 0) return { indeterminate: `list:set ${name} inside a list:set (ipset restore refuses that)` };
      let undecided: Indeterminate | undefined;
      for (const e of s.entries) {
        const r = kernelTest(e.text, q, flags, returnNomatch, depth + 1);
        if (r === true) return true;
        if (typeof r === "object") undecided ??= r;
      }
      return undecided ?? false;
    }
    const r = lookup(s, idx, q, flags);
    if (typeof r === "object") return r;
    // --return-nomatch inverts the answer of types with nomatch entries (ip_set_test).
    if (returnNomatch && idx.header.info.nomatch) return r === "nomatch";
    return r === "nomatch" ? (depth > 0 ? false : "nomatch") : r;
  };

  return {
    test: (name, t, flags) => kernelTest(name, t, flags, false, 0),
    match: (name, q, flags, opts) => {
      const r = kernelTest(name, q, flags, opts.returnNomatch, 0);
      return r === "nomatch" ? false : r;
    },
    // Lookups answer from the sets as dumped: what a SET target adds or deletes while packets
    // pass is not kept (one packet's evaluation must not change the next one's answer).
    add: () => undefined,
    del: () => undefined,
  };
}
