/**
 * The packet search's wishes from nftables rules: what each rule's tests ask of a packet
 * (addresses, ports, protocol, arrival interface, mark, state, a local destination), the
 * boundaries around them, and the ways into each chain: jumps, gotos and every element of a
 * verdict map, whose key says what the packet carries there (kube-proxy's `service-ips` map
 * holds each service's address, protocol and port: the way into that service's chain).
 */
import type { NftChain, NftElement, NftExpr, NftSet, NftStmt, NftTable } from "../model/nft.js";
import { protocolNumber } from "../extensions/protocols.js";
import { statementKind } from "../extensions/nft/statements/registry.js";
import {
  addressProbe, concreteIface, MEMBERS_PER_SET, portEdges, probesThroughJumps, rangeProbe, toBig,
  type Context, type ProbedChain, type Probe, type Want,
} from "./probes.js";

/** The packet field an expression reads, when the search can set it. */
type Field = "src" | "dst" | "sport" | "dport" | "proto" | "from" | "mark" | "state" | "dstType";


/** ct state's bit for established (nf_conntrack_common.h: IP_CT_ESTABLISHED, shifted as nft shows it). */
const CT_STATE_ESTABLISHED = 2;

function fieldOf(e: NftExpr): { field: Field; proto?: number } | undefined {
  switch (e.kind) {
    case "payload": {
      if (!("protocol" in e)) return undefined;
      if ((e.protocol === "ip" || e.protocol === "ip6") && (e.field === "saddr" || e.field === "daddr")) return { field: e.field === "saddr" ? "src" : "dst" };
      if ((e.protocol === "ip" && e.field === "protocol") || (e.protocol === "ip6" && e.field === "nexthdr")) return { field: "proto" };
      if (e.field === "sport" || e.field === "dport") {
        // `th` (any transport header) names no protocol; tcp, udp, sctp... do.
        const proto = e.protocol === "th" ? undefined : protocolNumber(e.protocol);
        return { field: e.field, ...(proto !== undefined ? { proto } : {}) };
      }
      return undefined;
    }
    case "meta":
      if (e.key === "l4proto") return { field: "proto" };
      if (e.key === "iifname" || e.key === "iif") return { field: "from" };
      if (e.key === "mark") return { field: "mark" };
      return undefined;
    case "ct":
      return e.key === "state" && e.dir === undefined ? { field: "state" } : undefined;
    case "fib":
      return e.result === "type" && e.flags.includes("daddr") ? { field: "dstType" } : undefined;
    default:
      return undefined;
  }
}

/** What setting `field` to the constant `v` means for a packet, or nothing when it cannot be set. */
function wantOf(field: Field, v: NftExpr, c: Context): Want | undefined {
  if (v.kind !== "const") return undefined;
  const x = v.value;
  switch (field) {
    case "src":
    case "dst":
      return typeof x === "string" && toBig(x, c.family) !== undefined ? { [field]: x } : undefined;
    case "sport":
    case "dport":
    case "proto":
    case "mark":
      return typeof x === "number" ? { [field]: x } : undefined;
    case "from":
      if (typeof x !== "string") return undefined;
      // A wildcard (`"veth*"`) becomes a known interface of that prefix, as `-i veth+` does.
      return { from: v.wildcard ? concreteIface(`${x.replace(/\*$/, "")}+`, c.ifaces) : x };
    case "state":
      return typeof x === "number" && (x & CT_STATE_ESTABLISHED) !== 0 ? { established: true } : undefined;
    case "dstType":
      return x === "local" || v.text === "local" ? { dstLocal: true } : undefined;
  }
}

/** The elements of a set literal or of the named set it refers to (bounded). */
function elementsOf(e: NftExpr, sets: ReadonlyMap<string, NftSet>): readonly NftElement[] {
  if (e.kind === "set") return e.elements;
  if (e.kind === "setref") return sets.get(e.name)?.elements ?? [];
  return [];
}

/** The wish of one key (a constant, prefix, range or concatenation) for the fields of `left`. */
function keyWant(left: NftExpr, key: NftExpr, c: Context, p: Probe | undefined, negated: boolean): Want {
  const lefts = left.kind === "concat" ? left.parts : [left];
  const keys = key.kind === "concat" ? key.parts : [key];
  const want: Want = {};
  lefts.forEach((l, i) => {
    const f = fieldOf(l);
    const k = keys[i];
    if (!f || !k) return;
    if (f.proto !== undefined) want.proto ??= f.proto;
    if (k.kind === "prefix" && (f.field === "src" || f.field === "dst") && typeof k.base.value === "string") {
      const probe: Probe = p ?? { want: {}, variants: [] };
      addressProbe({ negated, address: k.base.value, prefixLength: k.len, mask: null }, f.field, probe, c);
      if (probe.want[f.field] !== undefined) want[f.field] = probe.want[f.field]!;
      return;
    }
    if (k.kind === "range") {
      const lo = k.lo.value;
      const hi = k.hi.value;
      if ((f.field === "src" || f.field === "dst") && typeof lo === "string" && typeof hi === "string") {
        const probe: Probe = p ?? { want: {}, variants: [] };
        rangeProbe({ negated, from: lo, to: hi }, f.field, probe, c);
        if (probe.want[f.field] !== undefined) want[f.field] = probe.want[f.field]!;
      } else if ((f.field === "sport" || f.field === "dport") && typeof lo === "number" && typeof hi === "number") {
        want[f.field] = negated ? (hi < 65535 ? hi + 1 : Math.max(0, lo - 1)) : lo;
        for (const x of portEdges(lo, hi)) {
          p?.variants.push({ [f.field]: x });
          c.pool.ports.add(x);
        }
      }
      return;
    }
    const w = wantOf(f.field, k, c);
    if (!w) return;
    if (negated) {
      // Anything else passes a `!=`: the value itself is the boundary worth trying.
      p?.variants.push(w);
      return;
    }
    Object.assign(want, w);
  });
  if (want.src !== undefined) c.pool.addrs.add(want.src);
  if (want.dst !== undefined) c.pool.addrs.add(want.dst);
  if (want.sport !== undefined) c.pool.ports.add(want.sport);
  if (want.dport !== undefined) c.pool.ports.add(want.dport);
  if (want.mark !== undefined) c.pool.marks.add(want.mark);
  return want;
}

/** One rule's wish; its jumps (a verdict map's elements each a way in, with the element's key). */
function ruleProbe(stmts: readonly NftStmt[], rule: number, c: Context, sets: ReadonlyMap<string, NftSet>, jumps: ProbedChain["jumps"]): Probe {
  const p: Probe = { want: {}, variants: [] };
  for (const s of stmts) {
    if (s.kind === "match") {
      const negated = s.op === "!=";
      const many = elementsOf(s.right, sets);
      if (s.right.kind === "set" || s.right.kind === "setref") {
        many.slice(0, MEMBERS_PER_SET).forEach((el, i) => {
          const w = keyWant(s.left, el.key, c, undefined, false);
          if (i === 0 && !negated) Object.assign(p.want, w);
          p.variants.push(w);
        });
      } else if (s.op === "implicit" || s.op === "==" || s.op === "!=") {
        Object.assign(p.want, keyWant(s.left, s.right, c, p, negated));
      }
    } else if (s.kind === "vmap") {
      for (const el of elementsOf(s.map, sets)) {
        const d = el.data;
        const w = keyWant(s.key, el.key, c, undefined, false);
        if (d?.kind === "verdict" && (d.verdict === "jump" || d.verdict === "goto") && d.chain !== undefined) jumps.push({ rule, chain: d.chain, want: w });
        else if (p.variants.length < MEMBERS_PER_SET) p.variants.push(w);
      }
    } else if (s.kind === "verdict" && (s.verdict === "jump" || s.verdict === "goto") && s.chain !== undefined) {
      jumps.push({ rule, chain: s.chain });
    } else {
      // After DNAT the packet carries the new destination: worth asking as a packet of its own.
      for (const w of statementKind(s)?.destinationsGiven?.(s) ?? []) if (toBig(w.dst, c.family) !== undefined) p.variants.push(w);
    }
  }
  return p;
}

function chainProbes(ch: NftChain, c: Context, sets: ReadonlyMap<string, NftSet>): ProbedChain {
  const jumps: ProbedChain["jumps"] = [];
  const probes = ch.rules.map((r, i) => ruleProbe(r.stmts, i, c, sets, jumps));
  return { name: ch.name, probes, jumps };
}

/** Probes for every rule of an nft table, through the jumps and verdict maps that reach each chain. */
export function nftTableProbes(t: NftTable, c: Context): Probe[] {
  const sets = new Map(t.sets.map((s) => [s.name, s] as const));
  return probesThroughJumps(t.chains.map((ch) => chainProbes(ch, c, sets)));
}
