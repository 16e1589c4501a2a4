/**
 * Packets worth asking both dumps about. A fate can only change where some rule's condition
 * changes its answer, so the packets come from the rules themselves: for every rule, a packet
 * that meets its conditions (and those of the first rule that jumps to its chain, so a rule
 * deep in KUBE-SEP-… is reached with the service address it needs), then packets on either
 * side of each boundary it draws (network and broadcast addresses, one past them, port-range
 * edges, marks), and what each extension offers as witnesses (its `witnesses` hook: set
 * members, a NAT destination...). A seeded random search mixes the same constants
 * into combinations no single rule spells out.
 *
 * Every step is linear in the rules; the result does not depend on which dump is "old", so
 * diff(A, B) and diff(B, A) ask the same packets.
 */
import { addressFamily } from "../model/address.js";
import type { Chain, Family, Rule, Ruleset, Table } from "../model/ast.js";
import { sameChainRules } from "./chain-changes.js";
import { nftFamilySees, nftPacketFamilies, type NftRuleset } from "../model/nft.js";
import { nftTableProbes } from "./nft-probes.js";
import { PROTO_TCP, PROTO_UDP, type PacketSpec } from "../model/packet.js";
import type { NodeFacts } from "../facts/model.js";
import type { IpSetCollection } from "../ipset/index.js";
import { boundMatch, boundTarget } from "../extensions/registry.js";
import type { Witness, WitnessFields } from "../extensions/types.js";
import { choosePackets, nodeAddrs, Wishes } from "./wish-packets.js";
import {
  addressProbe, ChainEntries, concreteIface, isAddressMatch, MEMBERS_PER_SET, merge, portEdges, portWant,
  rangeProbe, toBig, type Context, type ProbedChain, type Probe, type Want,
} from "./probes.js";

export { prng } from "./wish-packets.js";

export interface CandidateOptions {
  /** Interfaces and addresses of the node (arrival interfaces, local destinations). */
  facts?: NodeFacts;
  /** ipsets whose members are tried as addresses and ports. */
  sets?: IpSetCollection;
  /** At most this many packets from the rules' constants (default 20000). */
  max?: number;
  /** This many more packets from the seeded random search (default 1000). */
  random?: number;
  seed?: number;
  /** Also ask every packet again as part of an ESTABLISHED connection. */
  established?: boolean;
  /** nftables rulesets of both sides: their rules make probes too. */
  nft?: readonly NftRuleset[];
  /** Make every packet of every wish even when the first choices fill the cap: slower, the same packets (for tests). */
  makeAll?: boolean;
  /**
   * Compare the sides' chains by their bound rules only, also those whose dump lines are the
   * same (see sameChainRules): slower, the same answers (for tests).
   */
  bindAll?: boolean;
}

export const DEFAULT_MAX = 20000;
export const DEFAULT_RANDOM = 1000;
/** `10.0.0.0/24,tcp:22` → the address and port parts ipset prints. */
function memberParts(text: string): { addr?: string; port?: number } {
  const out: { addr?: string; port?: number } = {};
  for (const part of text.split(",")) {
    const addr = part.split("/")[0]!.split("-")[0]!;
    // Strictly a dotted quad or IPv6 text: a bitmap:port member `30080` is a port, not an address.
    const isAddr = addressFamily(addr) !== undefined;
    if (isAddr && out.addr === undefined) out.addr = addr;
    const port = /^(?:[a-z0-9]+:)?([0-9]+)(?:-[0-9]+)?$/.exec(part);
    if (port && !isAddr && out.port === undefined) out.port = Number(port[1]);
  }
  return out;
}

function setProbe(d: { name: string; flags: readonly ("src" | "dst")[]; negated: boolean }, p: Probe, c: Context): void {
  const members = c.sets.get(d.name) ?? [];
  const [addrDir, portDir] = d.flags;
  members.forEach((text, i) => {
    const m = memberParts(text);
    const v: Want = {};
    const addr = m.addr !== undefined && toBig(m.addr, c.family) !== undefined ? m.addr : undefined;
    if (addr !== undefined && addrDir) v[addrDir] = addr;
    if (m.port !== undefined && portDir) v[portDir === "src" ? "sport" : "dport"] = m.port;
    if (addr !== undefined) c.pool.addrs.add(addr);
    if (m.port !== undefined) c.pool.ports.add(m.port);
    if (i === 0 && !d.negated) Object.assign(p.want, v);
    p.variants.push(v);
  });
}

/** Packet fields a witness's `tries` add to the random search's pool. */
function pooled(f: WitnessFields, c: Context): void {
  if (f.src !== undefined) c.pool.addrs.add(f.src);
  if (f.dst !== undefined) c.pool.addrs.add(f.dst);
  if (f.sport !== undefined) c.pool.ports.add(f.sport);
  if (f.dport !== undefined) c.pool.ports.add(f.dport);
  if (f.mark !== undefined) c.pool.marks.add(f.mark);
}

/** What an extension offers (its `witnesses`), as the rule's wish and its boundary variants. */
function witnessProbe(w: Witness, p: Probe, c: Context): void {
  switch (w.kind) {
    case "fields":
      if (w.want) Object.assign(p.want, w.want);
      for (const t of w.tries ?? []) {
        p.variants.push({ ...t });
        pooled(t, c);
      }
      return;
    case "ports":
      w.ranges.forEach((r, i) => {
        if (i === 0) {
          const want = portWant({ lo: r.lo, hi: r.hi, negated: w.negated });
          if (want !== undefined) p.want[w.field] = want;
        }
        for (const x of portEdges(r.lo, r.hi)) {
          // Written out, not `{ [w.field]: x }`: see addressWant.
          p.variants.push(w.field === "sport" ? { sport: x } : { dport: x });
          c.pool.ports.add(x);
        }
      });
      return;
    case "addresses":
      rangeProbe(w, w.field, p, c);
      return;
    case "set":
      setProbe(w, p, c);
      return;
  }
}

const NO_WITNESSES: readonly Witness[] = [];
const NO_VARIANTS: readonly Want[] = [];

function ruleProbe(rule: Rule, c: Context): Probe {
  const p: Probe = { want: {}, variants: [] };
  if (isAddressMatch(rule.source)) addressProbe(rule.source, "src", p, c);
  if (isAddressMatch(rule.destination)) addressProbe(rule.destination, "dst", p, c);
  const inIf = rule.inInterface;
  if (inIf && "name" in inIf) {
    const name = concreteIface(inIf.name, c.ifaces);
    if (inIf.negated) p.variants.push({ from: name });
    else p.want.from = name;
  }
  if (rule.protocol) {
    const n = rule.protocol.number;
    p.want.proto = rule.protocol.negated ? (n === PROTO_TCP ? PROTO_UDP : PROTO_TCP) : n;
  }
  for (const m of rule.matches) {
    if (m.kind !== "match") continue;
    for (const w of boundMatch(m)?.witnesses?.(m.data) ?? NO_WITNESSES) witnessProbe(w, p, c);
  }
  const t = rule.target;
  if (t?.kind === "target") for (const w of boundTarget(t)?.witnesses?.(t.data) ?? NO_WITNESSES) witnessProbe(w, p, c);
  for (const k of ["src", "dst"] as const) if (p.want[k]) c.pool.addrs.add(p.want[k]);
  for (const k of ["sport", "dport"] as const) if (p.want[k] !== undefined) c.pool.ports.add(p.want[k]);
  return p;
}

function chainProbes(name: string, rules: readonly Rule[], c: Context): ProbedChain {
  const jumps: ProbedChain["jumps"] = [];
  rules.forEach((r, j) => {
    if (r.target?.kind === "chain") jumps.push({ rule: j, chain: r.target.chain });
  });
  return { name, probes: rules.map((r) => ruleProbe(r, c)), jumps };
}

/** A table's chains as the search read them: each chain's probes and ways in. */
type ProbedTable = Map<string, { chain: Chain; probed: ProbedChain; ways: readonly Want[] }>;

function sameWant(x: Want, y: Want): boolean {
  // One object often: a way in that merges nothing new is the want it came from (merge).
  if (x === y) return true;
  // for-in, not Object.keys: the key arrays were most of the cost (every chain's ways, both sides).
  let n = 0;
  for (const k in x) {
    if (!Object.prototype.hasOwnProperty.call(y, k) || x[k as keyof Want] !== y[k as keyof Want]) return false;
    n++;
  }
  for (const _ in y) n--;
  return n === 0;
}

function sameWants(a: readonly Want[], b: readonly Want[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameWant(a[i]!, b[i]!)) return false;
  return true;
}

/** The ways in without repeats (a chain jumped to from both PREROUTING and OUTPUT): a repeat asks for the packets the first did. */
function distinctWays(ways: readonly Want[]): readonly Want[] {
  if (ways.length < 2) return ways;
  const out: Want[] = [];
  for (let i = 0; i < ways.length; i++) {
    let repeat = false;
    for (let j = 0; j < i && !repeat; j++) repeat = sameWant(ways[j]!, ways[i]!);
    if (!repeat) out.push(ways[i]!);
  }
  return out;
}

/** The same table of the first side, and what the search read of it. */
interface Reference {
  table: Table;
  probed: ProbedTable;
}

/**
 * Asks for the packets of every rule of a table, through the jumps that reach each chain
 * (ChainEntries). `reference`: the same table of the other dump, read already. A chain with
 * the same rules there has the same probes (a probe is made from its rule alone), and when its
 * ways in are the same too, every packet it would ask for has been asked for: an upgrade that
 * changes a few services of 10,000 costs the search those few, and the rules of the chains it
 * left alike are not even bound (sameChainRules reads their dump lines). `keep`: what was read
 * is returned, for another side's table to be read against.
 */
function tableRequests(t: Table, c: Context, wishes: Wishes, reference: Reference | undefined, byLines: boolean, keep: boolean): ProbedTable | undefined {
  const refs = t.chains.map((ch) => reference?.probed.get(ch.name));
  const probed = t.chains.map((ch, i) => {
    const ref = refs[i];
    return ref && sameChainRules(reference!.table, ref.chain, t, ch, byLines) ? ref.probed : chainProbes(ch.name, ch.rules.load(), c);
  });
  const entries = new ChainEntries(probed);
  // What was read is kept only when another side's table will be read against it.
  const out: ProbedTable | undefined = keep ? new Map() : undefined;
  probed.forEach((pc, i) => {
    const ways = entries.at(i);
    out?.set(pc.name, { chain: t.chains[i]!, probed: pc, ways });
    const ref = refs[i];
    if (ref?.probed === pc && sameWants(ref.ways, ways)) return;
    const distinct = distinctWays(ways);
    for (const p of pc.probes) {
      // Boundary variants ride on the first way in only: they probe the rule, not the path.
      for (let k = 0; k < distinct.length; k++) wishes.add(merge(distinct[k]!, p.want), k === 0 ? p.variants : NO_VARIANTS);
    }
  });
  return out;
}

/**
 * `alike(t, ch)`: whether chain `ch` of table `t` has the same rules as a chain already read
 * (its interfaces are in already).
 */
function contextFor(family: Family, rulesets: readonly Ruleset[], o: CandidateOptions, alike: (t: Table, ch: Chain) => boolean): Context {
  const ifaces = new Set<string>();
  for (const i of o.facts?.interfaces ?? []) ifaces.add(i.name);
  // Interfaces the rules name count too: a node without facts still has them.
  for (const rs of rulesets) for (const t of rs.tables) for (const ch of t.chains) {
    if (alike(t, ch)) continue;
    for (const r of ch.rules.load()) {
      const i = r.inInterface;
      if (i && "name" in i && !i.name.endsWith("+")) ifaces.add(i.name);
    }
  }
  if (ifaces.size === 0) ifaces.add("eth0");
  const sets = new Map<string, string[]>();
  for (const s of o.sets?.sets ?? []) {
    if (s.family !== family) continue;
    const entries = s.entries.filter((e) => !e.nomatch).map((e) => e.text);
    sets.set(s.name, entries.length > MEMBERS_PER_SET ? [...entries.slice(0, MEMBERS_PER_SET - 1), entries[entries.length - 1]!] : entries);
  }
  return { family, ifaces: [...ifaces].sort(), sets, pool: { addrs: new Set(), ports: new Set([80, 443, 53, 22]), marks: new Set([0]) } };
}

/**
 * Candidate packets for comparing the rulesets of `sides` (all dumps of both sides): those
 * the rules' constants make, capped at `max`, then the random ones. Deterministic for a seed.
 */
/**
 * Each table of a side after the first, with the first side's table at its place (the same
 * family, flavour, position among those rulesets, and name), when it has one.
 */
function counterparts(sides: ReadonlyArray<readonly Ruleset[]>): Map<Table, Table> {
  const first = new Map<string, Table>();
  const out = new Map<Table, Table>();
  sides.forEach((side, s) => {
    const seen = new Map<string, number>();
    for (const rs of side) {
      const kind = `${rs.family} ${rs.flavour ?? ""}`;
      const n = seen.get(kind) ?? 0;
      seen.set(kind, n + 1);
      for (const t of rs.tables) {
        const place = `${kind} ${n} ${t.name}`;
        if (s === 0) {
          if (!first.has(place)) first.set(place, t);
        } else {
          const ref = first.get(place);
          if (ref) out.set(t, ref);
        }
      }
    }
  });
  return out;
}

export function candidatePackets(sides: ReadonlyArray<readonly Ruleset[]>, o: CandidateOptions = {}): PacketSpec[] {
  const all = sides.flat();
  const nftTables = (o.nft ?? []).flatMap((rs) => rs.tables);
  const families = [...new Set([...all.map((r) => r.family), ...nftPacketFamilies(o.nft ?? [])])].sort();
  const byLines = o.bindAll !== true;
  const refs = counterparts(sides);
  const byName = new Map<Table, Map<string, Chain>>();
  const alike = (t: Table, ch: Chain): boolean => {
    const ref = refs.get(t);
    if (!ref) return false;
    let names = byName.get(ref);
    if (!names) byName.set(ref, (names = new Map(ref.chains.map((c) => [c.name, c]))));
    const twin = names.get(ch.name);
    return twin !== undefined && sameChainRules(ref, twin, t, ch, byLines);
  };
  const wishes = families.map((family) => {
    const ctx = contextFor(family, all, o, alike);
    const node = nodeAddrs(o.facts, family);
    for (const a of node.byIface.values()) ctx.pool.addrs.add(a.own);
    const w = new Wishes({ ctx, node });
    // The first side's tables are read whole; another side's table reuses what it has alike.
    const read = new Map<Table, ProbedTable>();
    sides.forEach((side, s) => {
      for (const rs of side) {
        if (rs.family !== family) continue;
        for (const t of rs.tables) {
          const ref = refs.get(t);
          const refRead = ref && read.get(ref);
          const probed = tableRequests(t, ctx, w, refRead ? { table: ref, probed: refRead } : undefined, byLines, s === 0);
          if (probed) read.set(t, probed);
        }
      }
    });
    for (const t of nftTables) {
      if (!nftFamilySees(t.family, family)) continue;
      for (const p of nftTableProbes(t, ctx)) w.add(p.want, p.variants);
    }
    return w;
  });
  return choosePackets(wishes, { max: o.max ?? DEFAULT_MAX, random: o.random ?? DEFAULT_RANDOM, seed: o.seed ?? 1, established: o.established === true, makeAll: o.makeAll === true });
}
