/**
 * One possible history of the packet: its probability, the assumptions it rests on, the
 * steps so far and the packet as it is now. Branches fork at random matches, at matches
 * netfate cannot decide, and at route alternatives.
 *
 * Two kinds of fork, kept apart because they mean different things:
 * - a random one (a match that answers with `branches`): the children are chances, their
 *   probabilities add up to the parent's;
 * - one on something the input does not say (an unknown match, an unknown target): the
 *   children are alternatives, each keeping the parent's probability and recording the side
 *   it took as a `Literal` in `given`. An outcome's probability is then its chance *given*
 *   its literals; probabilities are never added across different literal sets.
 */
import type { PacketSnapshot, PacketState, Step } from "../model/evaluation.js";
import { hex } from "../extensions/util.js";

/** One side of a condition the input does not decide. */
export interface Literal {
  /** The same for both sides of one condition (rule position and what was unknown). */
  condition: string;
  holds: boolean;
  /** As the trace says it: `-m foo: assumed to match (why)`. */
  text: string;
}

/** A translation a nat-table target asked for (nat.ts applies it when the nat table has finished). */
import type { PendingNat } from "../model/evaluation.js";
export type { PendingNat };

/** Something a target did that its step lists, kept as a value until the step is finished. */
export type Note =
  /** A header field netfate does not follow further (TOS, TTL, MSS...). */
  | { kind: "rewrite"; field: string; value: number | string }
  /** The packet's tuple added to (or deleted from) an ipset. */
  | { kind: "set"; name: string; del: boolean };

/** A note as the step's rewrites list it. */
export function noteText(n: Note): string {
  if (n.kind === "rewrite") return `${n.field} → ${typeof n.value === "number" ? hex(n.value) : n.value}`;
  return `${n.del ? "deleted from" : "added to"} set ${n.name}`;
}

export interface Branch {
  probability: number;
  /** Everything this history rests on, as the trace lists it (the texts of `given` included). */
  assumptions: string[];
  /** The sides taken at conditions the input does not decide. */
  given: Literal[];
  steps: Step[];
  pkt: PacketState;
  /** NAT a nat-table target asked for, applied when the nat table has finished. */
  pendingNat?: PendingNat;
  /** Effects a target noted in the current rule (rewrites of fields netfate does not follow, set updates). */
  notes: Note[];
  /** The kernel log line the current rule produced. */
  logLine?: string;
  /** Which way a random branch went at the current rule. */
  randomChoice?: string;
  /** A new route chosen during OUTPUT, in force from POSTROUTING on. */
  rerouted?: import("../model/evaluation.js").RouteDecision;
  /** The routing decisions so far, each with the rule and route that made it. */
  routing?: string[];
  /** Elements nft rules added to or deleted from named sets in this history (nft/set-state.ts). */
  nftSets?: ReadonlyMap<string, { digest: string }>;
}

export function clonePacket(p: PacketState): PacketState {
  // Assigned, not spread conditionally: every copy of a packet keeps one object shape.
  const ct = { ...p.ct, orig: { ...p.ct.orig }, reply: { ...p.ct.reply }, status: new Set(p.ct.status) };
  if (p.ct.dnat) ct.dnat = { ...p.ct.dnat };
  if (p.ct.snat) ct.snat = { ...p.ct.snat };
  return { ...p, ct };
}

/** A copy of `b` to go on separately: a random child when `probabilityFactor` < 1. */
export function fork(b: Branch, probabilityFactor: number): Branch {
  return newBranchOf(b.probability * probabilityFactor, [...b.assumptions], [...b.given], b.steps.slice(), clonePacket(b.pkt), {
    pendingNat: b.pendingNat ? { ...b.pendingNat } : undefined,
    rerouted: b.rerouted,
    routing: b.routing ? [...b.routing] : undefined,
    nftSets: b.nftSets,
  });
}

/**
 * The history for one alternative of a random choice made in `b`: a fork with that chance,
 * except for the last alternative that can happen, which takes `b` itself over (its chance
 * scaled as a fork's would be) instead of copying it once more: the history forked there goes
 * on only as its children.
 */
export function randomAlternative(b: Branch, probability: number, last: boolean): Branch {
  if (!last) return fork(b, probability);
  b.probability *= probability;
  return b;
}

/**
 * A branch with every field there from the start (undefined until set), so that all branches
 * share one object shape and setting a field later is a plain store.
 */
export function newBranchOf(
  probability: number, assumptions: string[], given: Literal[], steps: Step[], pkt: PacketState,
  carried: Pick<Branch, "pendingNat" | "rerouted" | "routing" | "nftSets"> = {},
): Branch {
  return {
    probability, assumptions, given, steps, pkt,
    pendingNat: carried.pendingNat, notes: [], logLine: undefined, randomChoice: undefined,
    rerouted: carried.rerouted, routing: carried.routing, nftSets: carried.nftSets,
  };
}

/** A copy of `b` that takes one side of an undecided condition. */
export function alternative(b: Branch, literal: Literal): Branch {
  const nb = fork(b, 1);
  nb.given.push(literal);
  if (!nb.assumptions.includes(literal.text)) nb.assumptions.push(literal.text);
  return nb;
}

/** Records a standing assumption (one that is not a choice between alternatives) once. */
export function assume(b: Branch, text: string): void {
  if (!b.assumptions.includes(text)) b.assumptions.push(text);
}

/** A mark as a snapshot shows it; most are 0, one string for all of those. */
const markText = (n: number) => (n === 0 ? "0x0" : hex(n));

export function snapshot(p: PacketState): PacketSnapshot {
  const s: PacketSnapshot = { src: p.src, dst: p.dst, mark: markText(p.mark), ctmark: markText(p.ct.mark), ctstate: p.ct.state };
  if (p.sport !== undefined) s.sport = p.sport;
  if (p.dport !== undefined) s.dport = p.dport;
  if (p.inIface !== undefined) s.inIface = p.inIface;
  if (p.outIface !== undefined) s.outIface = p.outIface;
  return s;
}

/** `10.0.0.1:80`, `[2001:db8::1]:80`, or the bare address. */
export function endpoint(addr: string, port: number | undefined): string {
  if (port === undefined) return addr;
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** Everything about a branch's packet that later hooks, NAT or the fate can depend on. */
export function stateKey(b: Branch): string {
  const p = b.pkt;
  const ct = p.ct;
  const t = (x: { src: string; dst: string; sport?: number; dport?: number } | undefined) => (x ? `${x.src}|${x.dst}|${x.sport}|${x.dport}` : "-");
  const n = b.pendingNat;
  const r = b.rerouted as Record<string, unknown> | undefined;
  return [
    p.src, p.dst, p.sport, p.dport, p.proto, p.tcpFlags, p.icmpType, p.icmpCode, p.inIface, p.outIface, p.nexthop, p.mark,
    ct.state, ct.dir, ct.mark, ct.zone, ct.helper, t(ct.orig), t(ct.reply), t(ct.dnat), t(ct.snat), [...ct.status].sort().join(","),
    ct.statusUnknown ? Object.keys(ct.statusUnknown).sort().join(",") : "-",
    n ? `${n.kind}|${n.addr}|${n.port}|${n.how}` : "-",
    r ? JSON.stringify(r) : "-",
    b.nftSets ? [...b.nftSets].map(([k, v]) => `${k}=${v.digest}`).join("\u0002") : "-",
  ].join("\u0001");
}

/**
 * Whether any two of the histories may be merged (mergeBranches). Most calls have nothing to
 * merge (kube-proxy's endpoints differ in their destination): a cheap look at the fields that
 * differ most settles those without building full keys, or wrapping the histories to ask.
 */
export function mayMerge<T>(list: readonly T[], br: (x: T) => Branch): boolean {
  if (list.length < 2) return false;
  if (list.length <= 8) {
    // A few histories (the common case): compared field by field, no key strings built.
    for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) if (quickSame(br(list[i]!), br(list[j]!))) return true;
    return false;
  }
  const cheap = new Set<string>();
  for (const x of list) cheap.add(quickKey(br(x)));
  return cheap.size < list.length;
}

const itself = (b: Branch) => b;

/** mergeBranches of bare histories, `list` itself when none merge (no wrappers made to ask). */
export function mergeHistories(list: Branch[], extraKey: (b: Branch) => string): Branch[] {
  if (!mayMerge(list, itself)) return list;
  return mergeBranches(list.map((br) => ({ br })), (x) => extraKey(x.br)).map((x) => x.br);
}

/** Whether two branches agree in quickKey's fields (without building it). */
function quickSame(a: Branch, b: Branch): boolean {
  const p = a.pkt;
  const q = b.pkt;
  return p.src === q.src && p.dst === q.dst && p.sport === q.sport && p.dport === q.dport && p.mark === q.mark && p.ct.mark === q.ct.mark && p.outIface === q.outIface;
}

/** A few fields of stateKey: branches that differ in them cannot merge. */
function quickKey(b: Branch): string {
  const p = b.pkt;
  return `${p.src}|${p.dst}|${p.sport}|${p.dport}|${p.mark}|${p.ct.mark}|${p.outIface}`;
}

function givenKey(given: readonly Literal[]): string {
  return given.map((l) => `${l.holds ? "+" : "-"}${l.condition}`).sort().join("\u0001");
}

/** The literal on which `a` and `b` differ, when that is their only difference (`a` holding it one way, `b` the other). */
function complementary(a: readonly Literal[], b: readonly Literal[]): Literal | undefined {
  if (a.length !== b.length) return undefined;
  let diff: Literal | undefined;
  for (const la of a) {
    const same = b.find((lb) => lb.condition === la.condition);
    if (!same) return undefined;
    if (same.holds !== la.holds) {
      if (diff) return undefined;
      diff = la;
    }
  }
  return diff;
}

/** Steps `b` has after the steps it shares with `a` (forked histories share their Step objects). */
function sharedPrefix(a: readonly Step[], b: readonly Step[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function markUncertain(steps: readonly Step[], condition: string): Step[] {
  return steps.map((s) => ({ ...s, uncertain: s.uncertain ? [condition, ...s.uncertain] : [condition] }));
}

function probabilityWords(p: number): string {
  return `with probability ${p === 1 ? "1" : p.toFixed(p < 0.001 ? 8 : 4)}`;
}

/**
 * Two histories that end in the same state as one: when they rest on the same literals (they
 * differ by chance: probabilities add), or on literal sets that differ only in the two sides
 * of one condition with the same probability (the condition did not matter: it is dropped).
 * The steps only one of them took are kept, marked with when they happen.
 */
function mergePair(a: Branch, b: Branch): Branch | undefined {
  let conditionA: string;
  let conditionB: string;
  let given: Literal[];
  let probability: number;
  const dropped = new Set<string>();
  if (givenKey(a.given) === givenKey(b.given)) {
    // Chances of one history cannot exceed 1; floating-point sums of many branches can, by an ulp.
    probability = Math.min(1, a.probability + b.probability);
    conditionA = probabilityWords(a.probability / probability);
    conditionB = probabilityWords(b.probability / probability);
    // Two halves (0.5 and 0.5, or 0.49995 and 0.50005 in four digits) read alike: which steps
    // go together must still show (the kernel differential read them as one run).
    if (conditionA === conditionB) {
      conditionA += ", one way";
      conditionB += ", the other way";
    }
    given = a.given;
  } else {
    const lit = complementary(a.given, b.given);
    if (!lit || Math.abs(a.probability - b.probability) > 1e-12 * Math.max(a.probability, b.probability)) return undefined;
    const other = b.given.find((l) => l.condition === lit.condition)!;
    probability = a.probability;
    conditionA = `only if ${lit.text}`;
    conditionB = `only if ${other.text}`;
    given = a.given.filter((l) => l.condition !== lit.condition);
    dropped.add(lit.text).add(other.text);
  }
  const assumptions: string[] = [];
  for (const x of [...a.assumptions, ...b.assumptions]) if (!dropped.has(x) && !assumptions.includes(x)) assumptions.push(x);
  const shared = sharedPrefix(a.steps, b.steps);
  const steps = [
    ...a.steps.slice(0, shared),
    ...markUncertain(a.steps.slice(shared), conditionA),
    ...markUncertain(b.steps.slice(shared), conditionB),
  ];
  return newBranchOf(probability, assumptions, [...given], steps, a.pkt, { pendingNat: a.pendingNat, rerouted: a.rerouted, nftSets: a.nftSets });
}

/**
 * Merges branches that are at the same point in the same state (see mergePair), so that
 * conditions which do not change what happens next do not multiply the histories. `extraKey`
 * adds what must also be equal (e.g. the fate). Order of first appearance is kept.
 */
export function mergeBranches<T extends { br: Branch }>(list: T[], extraKey: (x: T) => string = () => ""): T[] {
  if (!mayMerge(list, (x) => x.br)) return list;
  return mergeByKeys(list, extraKey);
}

/** mergeBranches by full keys, without the quick look first (exported for the test that holds the quick look to it). */
export function mergeByKeys<T extends { br: Branch }>(list: T[], extraKey: (x: T) => string): T[] {
  const buckets = new Map<string, T[]>();
  const order: string[] = [];
  for (const x of list) {
    const k = `${extraKey(x)}\u0002${stateKey(x.br)}`;
    const bucket = buckets.get(k);
    if (bucket) bucket.push(x);
    else {
      buckets.set(k, [x]);
      order.push(k);
    }
  }
  if (order.length === list.length) return list;
  const out: T[] = [];
  for (const k of order) for (const x of mergeBucket(buckets.get(k)!)) out.push(x);
  return out;
}

/**
 * Merges histories known to be at one point in one state: first those resting on the same
 * literals (chances add), then, until nothing changes, pairs that differ only in the side of
 * one condition. Each pass is linear: partners are found by key, never by trying every pair.
 */
function mergeBucket<T extends { br: Branch }>(bucket: T[]): T[] {
  if (bucket.length < 2) return bucket;
  const byGiven = new Map<string, T>();
  for (const x of bucket) {
    const k = givenKey(x.br.given);
    const prev = byGiven.get(k);
    const m = prev && mergePair(prev.br, x.br);
    if (prev && m) byGiven.set(k, { ...prev, br: m });
    else if (!prev) byGiven.set(k, x);
  }
  let items = [...byGiven.values()];
  for (let changed = items.length > 1; changed; ) {
    changed = false;
    // Each item under the key of its literals without one of them: partners share such a key.
    const partner = new Map<string, number>();
    const done = new Set<number>();
    const next: T[] = [];
    items.forEach((x, i) => {
      for (const lit of x.br.given) {
        const rest = givenKey(x.br.given.filter((l) => l !== lit));
        const key = `${rest}\u0003${lit.condition}`;
        const j = partner.get(key);
        if (j !== undefined && !done.has(j) && !done.has(i)) {
          const m = mergePair(items[j]!.br, x.br);
          if (m) {
            done.add(j).add(i);
            next.push({ ...items[j]!, br: m });
            changed = true;
            return;
          }
        }
        if (!partner.has(key)) partner.set(key, i);
      }
    });
    if (!changed) break;
    items = [...next, ...items.filter((_, i) => !done.has(i))];
  }
  return items;
}
