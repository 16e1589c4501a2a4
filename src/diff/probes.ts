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
  if (addr === undefined || m.prefixLength === null) return { inside: m.address, edges: [m.address] };
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

/**
 * The ways into every chain: the rules that jump there, each merged with the ways into its own
 * chain. Each chain keeps at most ENTRIES_PER_CHAIN ways in, worked out once: a KUBE-SEP chain
 * is reached both as a ClusterIP and as a NodePort, and the cost stays linear. The ways in are
 * worked out with an explicit stack, callers first: a chain 10,000 jumps deep needs no deep
 * recursion. A chain reached only through itself (a loop) is entered with no conditions.
 */
export function chainEntries(chains: readonly ProbedChain[]): (chain: string) => Want[] {
  const into = new Map<string, Array<{ chain: string; want: Want }>>();
  for (const ch of chains) {
    for (const j of ch.jumps) {
      const list = into.get(j.chain) ?? [];
      if (list.length < ENTRIES_PER_CHAIN) list.push({ chain: ch.name, want: merge(ch.probes[j.rule]?.want ?? {}, j.want ?? {}) });
      into.set(j.chain, list);
    }
  }
  const entries = new Map<string, Want[]>();
  const open = new Set<string>();
  return (root: string): Want[] => {
    const stack = [root];
    while (stack.length) {
      const name = stack[stack.length - 1]!;
      if (entries.has(name)) {
        stack.pop();
        continue;
      }
      open.add(name);
      const callers = into.get(name) ?? [];
      const pending = callers.find((j) => !entries.has(j.chain) && !open.has(j.chain));
      if (pending) {
        stack.push(pending.chain);
        continue;
      }
      // The first ENTRIES_PER_CHAIN of every caller's ways in merged with its jump: only those are made.
      const ways: Want[] = [];
      for (const j of callers) {
        for (const e of entries.get(j.chain) ?? []) {
          if (ways.length === ENTRIES_PER_CHAIN) break;
          ways.push(merge(e, j.want));
        }
      }
      entries.set(name, ways.length ? ways : [{}]);
      open.delete(name);
      stack.pop();
    }
    return entries.get(root)!;
  };
}

/**
 * Probes for every rule, each merged with each way into its chain (chainEntries). Boundary
 * variants ride on the first way in only: they probe the rule, not the path.
 */
export function probesThroughJumps(chains: readonly ProbedChain[]): Probe[] {
  const entry = chainEntries(chains);
  return chains.flatMap((ch) => {
    const ways = entry(ch.name);
    return ch.probes.flatMap((p) => ways.map((e, k) => ({ want: merge(e, p.want), variants: k === 0 ? p.variants : [] })));
  });
}
