/**
 * What the packet search is made of, whichever rules it reads (iptables or nftables): the
 * wish a rule makes of a packet, the boundaries around it, and the ways into a chain through
 * the rules that jump there.
 */
import type { AddressMatch, Family } from "../model/ast.js";
import { bigIntToIp, ipToBigInt, ipToNum, ipv4Text, numText } from "../model/address.js";
import type { WitnessFields } from "../extensions/types.js";

/** Members tried per set: enough for the boundaries a set draws, not a walk of a 100k-member set. */
export const MEMBERS_PER_SET = 64;
/** Ways into one chain that are tried (see probesThroughJumps). */
const ENTRIES_PER_CHAIN = 8;

/** What a packet should carry to meet one rule (fields it does not care about are absent). */
export interface Want extends WitnessFields {
  /** The arrival interface (`-i`), or "local". */
  from?: string;
}

/** One rule's wish, and the small changes to it that sit on its boundaries. */
export interface Probe {
  want: Want;
  variants: Want[];
}

// ---------- addresses as integers, for "one past the boundary" ----------

export const BITS: Record<Family, number> = { ipv4: 32, ipv6: 128 };

export function toBig(ip: string, family: Family): bigint | undefined {
  const n = ipToNum(ip, family);
  return n === undefined ? undefined : ipToBigInt(n);
}

export function fromBig(n: bigint, family: Family): string | undefined {
  const ip = bigIntToIp(n, family);
  return ip === undefined ? undefined : numText(ip);
}

export function offset(ip: string, by: bigint, family: Family): string | undefined {
  const n = toBig(ip, family);
  return n === undefined ? undefined : fromBig(n + by, family);
}

/** Inside address, and the boundary addresses: network, last, one before and one past. */
export function netEdges(m: AddressMatch, family: Family): { inside?: string; outside?: string; edges: string[] } {
  if (family === "ipv4" && m.prefixLength !== null) {
    const a = ipToNum(m.address, family);
    if (typeof a === "number") return ipv4NetEdges(a, m.prefixLength);
  }
  const addr = toBig(m.address, family);
  // An address of the other family (an inet table's `ip saddr` read for IPv6 packets) asks nothing of them.
  if (addr === undefined) return { edges: [] };
  if (m.prefixLength === null) return { inside: m.address, edges: [m.address] };
  const size = 1n << BigInt(BITS[family] - m.prefixLength);
  // Rules hold the network address already; an interface's address needs its host bits cleared.
  const net = addr - (addr % size);
  const at = (n: bigint) => fromBig(n, family);
  const last = net + size - 1n;
  const edges = [at(net), at(net + 1n), at(last), at(net - 1n), at(last + 1n)].filter((x): x is string => x !== undefined);
  // A host inside, not the network address: some paths treat that one specially.
  const inside = size > 2n ? at(net + 1n) : at(net);
  const outside = at(last + 1n) ?? at(net - 1n);
  return { ...(inside ? { inside } : {}), ...(outside ? { outside } : {}), edges };
}

/**
 * netEdges of an IPv4 address (as an unsigned 32-bit number) in plain numbers: every rule's
 * addresses are read so, and BigInt arithmetic was most of the search's cost per address.
 * Exact: every value stays below 2^33.
 */
function ipv4NetEdges(addr: number, prefixLength: number): { inside?: string; outside?: string; edges: string[] } {
  const size = 2 ** (32 - prefixLength);
  const net = addr - (addr % size);
  const at = (n: number) => (n < 0 || n > 0xffffffff ? undefined : ipv4Text(n));
  const last = net + size - 1;
  // Each address written once: a /32's network is its last address, a /31's next one is.
  const first = at(net);
  const next = at(net + 1);
  const lastText = size === 1 ? first : size === 2 ? next : at(last);
  const before = at(net - 1);
  const past = size === 1 ? next : at(last + 1);
  const edges = [first, next, lastText, before, past].filter((x): x is string => x !== undefined);
  const inside = size > 2 ? next : first;
  const outside = past ?? before;
  return { ...(inside ? { inside } : {}), ...(outside ? { outside } : {}), edges };
}

export function isAddressMatch(v: unknown): v is AddressMatch {
  return typeof v === "object" && v !== null && "address" in v && "prefixLength" in v;
}

// ---------- what each rule asks for ----------

export function portEdges(lo: number, hi: number): number[] {
  return [lo, hi, lo - 1, hi + 1].filter((p) => p >= 0 && p <= 65535);
}

export function portWant(r: { lo: number; hi: number; negated: boolean }): number | undefined {
  if (!r.negated) return r.lo;
  return r.hi < 65535 ? r.hi + 1 : r.lo > 0 ? r.lo - 1 : undefined;
}

/** A concrete name for `-i`: `cni+` becomes a known interface with that prefix, or `cni0`. */
export function concreteIface(name: string, known: readonly string[]): string {
  if (!name.endsWith("+")) return name;
  const prefix = name.slice(0, -1);
  return known.find((k) => k.startsWith(prefix)) ?? `${prefix}0`;
}


export interface Context {
  family: Family;
  ifaces: string[];
  sets: Map<string, string[]>;
  /** Every address, port and mark met, for the random search. */
  pool: { addrs: Set<string>; ports: Set<number>; marks: Set<number> };
}

export function addressProbe(m: AddressMatch, key: "src" | "dst", p: Probe, c: Context): void {
  if (m.prefixLength === 0) return;
  const e = netEdges(m, c.family);
  const want = m.negated ? e.outside : e.inside;
  if (want) p.want[key] = want;
  const edges = e.edges;
  for (let i = 0; i < edges.length; i++) {
    const a = edges[i]!;
    // A repeat (a /32's network is its last address) would ask for the packets the first did.
    if (edges.indexOf(a) < i) continue;
    p.variants.push(addressWant(key, a));
    c.pool.addrs.add(a);
  }
}

/**
 * `{ [key]: a }` written out: an object literal with a computed key is built on a slow path,
 * and every rule's addresses make five of them.
 */
export function addressWant(key: "src" | "dst", a: string): Want {
  return key === "src" ? { src: a } : { dst: a };
}

export function rangeProbe(r: { negated: boolean; from: string; to: string }, key: "src" | "dst", p: Probe, c: Context): void {
  // A range of the other family's addresses asks nothing of this family's packets (offset says undefined for them).
  if (toBig(r.from, c.family) === undefined || toBig(r.to, c.family) === undefined) return;
  const edges = [r.from, r.to, offset(r.from, -1n, c.family), offset(r.to, 1n, c.family)].filter((x): x is string => x !== undefined);
  const want = r.negated ? edges[3] ?? edges[2] : r.from;
  if (want) p.want[key] = want;
  for (const a of edges) {
    p.variants.push(addressWant(key, a));
    c.pool.addrs.add(a);
  }
}


/**
 * The rule's own wishes over those inherited from the chain's entry. Made for every rule and
 * way in (hundreds of thousands for 10,000 services), so when one side adds nothing the other
 * is returned as it is rather than copied: a want is never changed once made (a probe's is
 * filled while its rule is read, before anything merges it), so sharing it is as good as a copy.
 */
export function merge(outer: Want, inner: Want): Want {
  let adds = false;
  let whole = true;
  for (const k in inner) {
    if (inner[k as keyof Want] !== undefined) adds = true;
    else whole = false;
  }
  if (!adds) return outer;
  // A field present as undefined is left out of a merge (and reads differently from absent, see wishKey).
  if (whole && isEmpty(outer)) return inner;
  const out: Want = { ...outer };
  // for-in, not Object.entries: the pairs' arrays were most of its cost.
  for (const k in inner) {
    const v = inner[k as keyof Want];
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

function isEmpty(w: Want): boolean {
  for (const _ in w) return false;
  return true;
}

/** A chain as the search sees it: each rule's probe, and the jumps its rules make. */
export interface ProbedChain {
  name: string;
  probes: Probe[];
  /** Jumps (and gotos, and verdict map entries) to other chains, with what the jump itself asks beyond its rule. */
  jumps: Array<{ rule: number; chain: string; want?: Want }>;
}

/** The want of a jump that asks nothing beyond its rule: shared, as a want is never changed once made (see merge). */
const NOTHING: Want = {};

/** A jump into a chain, as the search follows it back: the chain it is in, and what it asks. */
interface Caller {
  chain: number;
  want: Want;
}

/**
 * The ways into every chain: the rules that jump there, each merged with the ways into its own
 * chain. Each chain keeps at most ENTRIES_PER_CHAIN ways in, worked out once: a KUBE-SEP chain
 * is reached both as a ClusterIP and as a NodePort, and the cost stays linear. The ways in are
 * worked out with an explicit stack, callers first: a chain 10,000 jumps deep needs no deep
 * recursion. A chain reached only through itself (a loop) is entered with no conditions.
 *
 * Chains are numbered by name once (a name only jumped to gets a number too) and followed by
 * number: a table of 10,000 services has 40,000 chains, and a lookup by name at every step
 * was a good part of this walk's time. Which ways a chain in a loop gets depends on the
 * chain asked first (its loop's other chains are open then), as it always did: ask in the
 * chains' order for the same answers.
 */
export class ChainEntries {
  private readonly ids = new Map<string, number>();
  /** By chain number: the jumps into it, at most ENTRIES_PER_CHAIN. */
  private readonly callers: Caller[][] = [];
  /** By chain number: its ways in, once worked out. */
  private readonly ways: Array<Want[] | undefined> = [];
  private readonly open: boolean[] = [];
  /** The number of each chain of the list, by its place. */
  private readonly placed: number[];

  constructor(chains: readonly ProbedChain[]) {
    this.placed = chains.map((ch) => this.id(ch.name));
    chains.forEach((ch, i) => {
      const from = this.placed[i]!;
      for (const j of ch.jumps) {
        const list = this.callers[this.id(j.chain)]!;
        if (list.length < ENTRIES_PER_CHAIN) list.push({ chain: from, want: merge(ch.probes[j.rule]?.want ?? NOTHING, j.want ?? NOTHING) });
      }
    });
  }

  private id(name: string): number {
    let n = this.ids.get(name);
    if (n === undefined) {
      n = this.callers.length;
      this.ids.set(name, n);
      this.callers.push([]);
      this.ways.push(undefined);
      this.open.push(false);
    }
    return n;
  }

  /** The ways into the chain at place `i` of the list given. */
  at(i: number): Want[] {
    return this.worked(this.placed[i]!);
  }

  private worked(root: number): Want[] {
    const { callers, ways, open } = this;
    const stack = [root];
    while (stack.length) {
      const c = stack[stack.length - 1]!;
      if (ways[c] !== undefined) {
        stack.pop();
        continue;
      }
      open[c] = true;
      const into = callers[c]!;
      let pending = -1;
      for (let k = 0; k < into.length && pending < 0; k++) {
        const from = into[k]!.chain;
        if (ways[from] === undefined && !open[from]) pending = from;
      }
      if (pending >= 0) {
        stack.push(pending);
        continue;
      }
      // The first ENTRIES_PER_CHAIN of every caller's ways in merged with its jump: only those are made.
      const made: Want[] = [];
      for (const j of into) {
        for (const e of ways[j.chain] ?? []) {
          if (made.length === ENTRIES_PER_CHAIN) break;
          made.push(merge(e, j.want));
        }
      }
      ways[c] = made.length ? made : [{}];
      open[c] = false;
      stack.pop();
    }
    return ways[root]!;
  }
}

/**
 * Probes for every rule, each merged with each way into its chain (ChainEntries). Boundary
 * variants ride on the first way in only: they probe the rule, not the path.
 */
export function probesThroughJumps(chains: readonly ProbedChain[]): Probe[] {
  const entries = new ChainEntries(chains);
  return chains.flatMap((ch, i) => {
    const ways = entries.at(i);
    return ch.probes.flatMap((p) => ways.map((e, k) => ({ want: merge(e, p.want), variants: k === 0 ? p.variants : [] })));
  });
}
