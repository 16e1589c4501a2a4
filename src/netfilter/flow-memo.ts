/**
 * The flow memo of `netfate batch --fields`: a packet whose answer can only be what an earlier
 * packet's was gets that answer again, without being evaluated (as Open vSwitch's megaflow
 * cache does for its flows).
 *
 * An answer is kept under its packet's fields except the source address and port (the key:
 * the fields that are the same for a service's clients), with the conditions on the source
 * that the evaluation showed its answer rests on (flow-reads.ts): network tests with their
 * results (rather than a bit mask: kube-proxy tests each endpoint's `/32` and the reverse-path
 * check looks the source up, so a mask would take nearly all of it), the routing decisions that
 * must come out the same, and the exact source or port where something read them whole.
 * Another packet with the same key that meets every condition is evaluated the same way step
 * by step; its answer is the kept one with its own source and port where the packet's were
 * carried through (the final packet, the connection's tuples). Nothing else of the answer can
 * hold them: a text naming the source keys it exactly.
 *
 * What is kept of an answer is its keeper's choice (`made`): `evaluate` keeps its outcomes, cut
 * to what the fields print (the deciding step without the packet it made, texts shared with the
 * answers that have the same ones); `netfate batch --fields` keeps the lines they print, made
 * once by the fields' formatter with stand-ins where the source, port and line number go
 * (find / miss / keep: a hit is then no evaluation and no formatting, and a kept answer is a
 * few hundred bytes of text).
 * Bounded: at most MAX_PER_FLOW answers a key, and kept answers of at most MEMO_BYTES all told
 * (each weighed by what it holds on the heap: keptBytes); which stay is the room's choice
 * (flow-memo-room.ts: those whose keys are looked up most lately, a few new ones besides).
 * Only the lean evaluation (`--fields`: fate, final packet, rule, chances, conditions,
 * connection) is kept: the full trace describes each step with the packet as it was.
 */
import type { PacketSpec } from "../model/packet.js";
import { inNet, ipToNum, type IpNum, type NetTest } from "../model/address.js";
import type { ConntrackSummary, Fate, InputRouteQuery, NodeView, Outcome, PacketSnapshot, Step, Tuple } from "../model/evaluation.js";
import type { EvaluateOptions, Evaluation, NetfilterNode } from "./model.js";
import { FlowReads, MAX_TESTS, mentions, type RouteRead, type SourceTest } from "./flow-reads.js";
import { MemoRoom, type Resident } from "./flow-memo-room.js";

export const MAX_PER_FLOW = 8;
/** What the kept answers may weigh, all told (keptBytes: about what they hold on the heap). */
export const MEMO_BYTES = 64 << 20;
/** An answer with more outcomes than this is not kept. */
export const MAX_OUTCOMES = 64;

/** The conditions on the source (and its port) an answer holds under. */
interface Conditions {
  /** The exact source (port) when the answer rests on all of it. */
  src?: string | undefined;
  sport?: number | undefined;
  srcExact: boolean;
  sportExact: boolean;
  /** The tests of the source, when not all are IPv4 (else `v4` holds them). */
  tests: readonly SourceTest[];
  /** The tests as numbers (net, mask, holds) when all are IPv4 ones: those of the routing's networks (shared by the answers whose sources they split alike), and the rest. */
  v4Routing?: readonly number[] | undefined;
  v4?: readonly number[] | undefined;
  /** Source ports the answer's packet may not have (ports a NAT wrote, the destination port). */
  notPorts: readonly number[];
  routes: readonly RouteRead[];
}

/**
 * One kept answer: its conditions, and what its keeper made of its outcomes (`made`: the
 * outcomes themselves for `evaluate`, or the lines they print, made once by the fields'
 * formatter for `netfate batch --fields`).
 */
export interface Kept<T> extends Conditions, Resident {
  made: T;
  /** The outcomes' fates (what a batch counts). */
  fates: readonly Fate[];
  /** The key it is kept under. */
  flow: Flow<T>;
}

/** An evaluated answer that may be kept (FlowMemo.keep): its conditions and its outcomes, with the packet's source and port in them. */
export interface Keepable {
  readonly packet: PacketSpec;
  readonly conditions: Conditions;
  readonly outcomes: readonly Outcome[];
}

export interface MemoStats {
  hits: number;
  misses: number;
  /** Evaluated answers that could not be kept. */
  unkept: number;
}

export class FlowMemo<T = readonly Outcome[]> {
  /** The flows by keyHash (several keys may share one: each flow's key is compared whole). */
  private readonly flows = new Map<number, Array<Flow<T>>>();
  /** Which answers stay (and what they weigh all told). */
  private readonly room: MemoRoom<Kept<T>>;
  /** Texts kept answers share (interned). */
  private readonly texts = new Interned();
  /** Tests, ports and fates kept answers share. */
  private readonly shared = new Shared();
  /**
   * `connection`: the answers are read for their connection (`--fields nat`): `evaluate` keeps
   * it with them (else a kept outcome has none, which is most of its size). `budget`: what the
   * kept answers may weigh (keptBytes), all told.
   */
  constructor(
    private readonly node: NetfilterNode, private readonly opts: EvaluateOptions,
    readonly stats: MemoStats = { hits: 0, misses: 0, unkept: 0 }, private readonly connection = true,
    private readonly budget = MEMO_BYTES,
  ) {
    if (!opts.lean || opts.verbose) throw new Error("the flow memo keeps only lean answers");
    this.room = new MemoRoom<Kept<T>>(budget, (k) => this.unkeep(k));
  }

  /** The packet's answer: kept (its source and port carried through), or evaluated (and kept when it can be). */
  evaluate(this: FlowMemo<readonly Outcome[]>, packet: PacketSpec): Evaluation {
    const k = this.find(packet);
    if (k) return this.answerOf({ src: k.src, sport: k.sport, outcomes: k.made }, packet);
    const { evaluation, keepable } = this.miss(packet);
    if (keepable) {
      const outcomes = evaluation.outcomes.map((o) => lean(o, this.connection, this.texts));
      this.keep(keepable, outcomes, keptBytes(0, 0, outcomes.length) - keptBytes(0, 0, 0));
    }
    return evaluation;
  }

  /** The kept answer whose conditions the packet meets (a hit), or undefined. */
  find(packet: PacketSpec): Kept<T> | undefined {
    // A reply takes its tuples from the connection the other way round: not kept.
    if (packet.reply) return undefined;
    const hash = keyHash(packet);
    this.room.lookedUp(hash);
    const bucket = this.flows.get(hash);
    if (!bucket) return undefined;
    let known: Flow<T> | undefined;
    for (const f of bucket) {
      if (sameKey(f.key, packet)) {
        known = f;
        break;
      }
    }
    if (!known) return undefined;
    const srcNum = packet.src === undefined ? undefined : ipToNum(packet.src, packet.family);
    for (const k of known.answers) {
      if (this.holds(k, packet, srcNum)) {
        this.stats.hits++;
        k.used = true;
        return k;
      }
    }
    return undefined;
  }

  /** The packet evaluated (no kept answer holds for it), and its answer when it may be kept. */
  miss(packet: PacketSpec): { evaluation: Evaluation; keepable?: Keepable } {
    if (packet.reply) return { evaluation: this.node.evaluate(packet, this.opts) };
    this.stats.misses++;
    const reads = new FlowReads(packet);
    const e = this.node.evaluate(packet, { ...this.opts, flow: reads });
    if (reads.changedState) {
      this.flows.clear();
      this.room.clear();
    }
    const conditions = conditionsOf(reads, packet, e, this.shared);
    if (!conditions) {
      this.stats.unkept++;
      return { evaluation: e };
    }
    return { evaluation: e, keepable: { packet, conditions, outcomes: e.outcomes } };
  }

  /** Keeps an answer as `made` (weighing `madeBytes`), for later packets of its key that meet its conditions. */
  keep(a: Keepable, made: T, madeBytes: number): void {
    const c = a.conditions;
    const hash = keyHash(a.packet);
    const bucket = this.flows.get(hash);
    let flow = bucket?.find((f) => sameKey(f.key, a.packet));
    if (flow) {
      if (flow.answers.length >= MAX_PER_FLOW) this.room.remove(flow.answers.shift()!);
    } else {
      flow = { key: keyOf(a.packet), hash, answers: [] };
      if (bucket) bucket.push(flow);
      else this.flows.set(hash, [flow]);
    }
    const fates = this.shared.fates(a.outcomes.map((o) => o.fate));
    const bytes = keptBytes(c.tests.length + (c.v4 ? c.v4.length / 3 : 0), c.routes.length, 0) + madeBytes;
    // Field by field, not spread: a spread object with more fields after it is a dictionary, some 500 bytes more.
    const kept: Kept<T> = {
      src: c.src, sport: c.sport, srcExact: c.srcExact, sportExact: c.sportExact, tests: c.tests, v4: c.v4, v4Routing: c.v4Routing,
      notPorts: c.notPorts, routes: c.routes, made, fates, flow, bytes, hash, used: false, inWindow: undefined,
    };
    flow.answers.push(kept);
    this.room.add(kept);
  }

  /** A kept answer the room let go: out of its key's answers (and the key gone with its last). */
  private unkeep(k: Kept<T>): void {
    const flow = k.flow;
    const i = flow.answers.indexOf(k);
    if (i < 0) return;
    flow.answers.splice(i, 1);
    if (flow.answers.length) return;
    const bucket = this.flows.get(flow.hash)!;
    if (bucket.length === 1) this.flows.delete(flow.hash);
    else bucket.splice(bucket.indexOf(flow), 1);
  }

  /** An evaluated answer that is not kept after all (its keeper could not make what it keeps). */
  forgo(): void {
    this.stats.unkept++;
  }

  /** keptBytes of the answers kept now: at most the budget, unless the answers of one lookup hash alone weigh more. */
  get keptBytes(): number {
    return this.room.bytes;
  }

  /** Whether `packet` meets every condition the kept answer rests on. */
  private holds(k: Conditions, packet: PacketSpec, srcNum: IpNum | undefined): boolean {
    if (k.srcExact) {
      if (packet.src !== k.src) return false;
    } else if (packet.src !== undefined && srcNum === undefined) return false;
    if (k.sportExact && packet.sport !== k.sport) return false;
    if (packet.sport !== undefined && k.notPorts.includes(packet.sport)) return false;
    const v4 = k.v4;
    if (v4) {
      if (typeof srcNum !== "number") return false;
      if (!holdsV4(v4, srcNum) || (k.v4Routing && !holdsV4(k.v4Routing, srcNum))) return false;
    } else if (k.tests.length) {
      if (srcNum === undefined) return false;
      for (const t of k.tests) if (inNet(srcNum, t.test) !== t.holds) return false;
    }
    for (const r of k.routes) if (!sameRoute(this.node.node, r, packet)) return false;
    return true;
  }

  /**
   * The answer of `k`'s packet (a kept one, or one just evaluated) for `packet`, a packet of its
   * key: its outcomes with `packet`'s source and port where the kept packet's were carried through.
   */
  answerOf(k: { src?: string | undefined; sport?: number | undefined; outcomes: readonly Outcome[] }, packet: PacketSpec): Evaluation {
    // The very packet again: its answer as it was.
    if (k.src === packet.src && k.sport === packet.sport) return { packet, outcomes: k.outcomes as Outcome[], ...this.problemsOf(packet) };
    const sub = new Substitution(k.src, packet.src, k.sport, packet.sport);
    const outcomes = k.outcomes.map((o) => outcomeWith(o, o.steps, sub.snapshot(o.final), o.conntrack && sub.connection(o.conntrack)));
    return { packet, outcomes, ...this.problemsOf(packet) };
  }

  /** The load-time findings an evaluation of `packet` carries (the same for every packet of its family). */
  private problemsOf(packet: PacketSpec): Pick<Evaluation, "problems" | "nftProblems"> {
    const rules = this.node.rules(packet.family);
    const nft = this.node.nftRules(packet.family);
    return { problems: rules.problems, ...(nft?.problems.length ? { nftProblems: nft.problems } : {}) };
  }
}

/** Every field of the packet but its source address and port (and whether it has them). */
type FlowKey = Omit<PacketSpec, "src" | "sport" | "reply"> & { hasSrc: boolean; hasSport: boolean };

/** The answers kept for one key. */
interface Flow<T> {
  key: FlowKey;
  hash: number;
  answers: Array<Kept<T>>;
}

/** Whether the source comes out of each test as it did: [net, mask, holds (1 or 0)] per test, the IPv4 tests as inNet makes them, without its calls. */
function holdsV4(v4: readonly number[], srcNum: number): boolean {
  for (let i = 0; i < v4.length; i += 3) if ((((srcNum & v4[i + 1]!) >>> 0) === v4[i] ? 1 : 0) !== v4[i + 2]) return false;
  return true;
}

function keyOf(p: PacketSpec): FlowKey {
  return {
    family: p.family, from: p.from, dst: p.dst, proto: p.proto, dport: p.dport, tcpFlags: p.tcpFlags, icmpType: p.icmpType, icmpCode: p.icmpCode,
    length: p.length, ttl: p.ttl, tos: p.tos, srcMac: p.srcMac, mark: p.mark, state: p.state, fragment: p.fragment,
    hasSrc: p.src !== undefined, hasSport: p.sport !== undefined,
  };
}

/** Whether the packet has this key: field by field (a text made of the fields, hashed by a Map, cost more than the rest of a memo's answer). */
function sameKey(k: FlowKey, p: PacketSpec): boolean {
  return k.dst === p.dst && k.dport === p.dport && k.proto === p.proto && k.from === p.from && k.family === p.family &&
    k.tcpFlags === p.tcpFlags && k.icmpType === p.icmpType && k.icmpCode === p.icmpCode && k.length === p.length && k.ttl === p.ttl &&
    k.tos === p.tos && k.srcMac === p.srcMac && k.mark === p.mark && k.state === p.state && k.fragment === p.fragment &&
    k.hasSrc === (p.src !== undefined) && k.hasSport === (p.sport !== undefined);
}

/** A number from the fields that tell a batch's keys apart most (destination, its port, protocol, interface): where a key is looked up. */
function keyHash(p: PacketSpec): number {
  let h = 0x811c9dc5;
  const d = p.dst;
  for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d.charCodeAt(i), 0x01000193);
  const f = p.from;
  for (let i = 0; i < f.length; i++) h = Math.imul(h ^ f.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (p.dport ?? 0x10000), 0x01000193);
  return Math.imul(h ^ p.proto, 0x01000193) | 0;
}

function v4Of(tests: readonly SourceTest[]): number[] | undefined {
  if (!tests.every((t) => typeof t.test.net === "number")) return undefined;
  // (A plain array: a typed array per kept answer would be an off-heap buffer each.)
  const a: number[] = [];
  for (const t of tests) {
    const net = t.test.net as number;
    const mask = t.test.mask as number;
    // A network of every address (a default route's) holds, or not, for any source alike.
    if (mask === 0) continue;
    // The same network tested again (the routing's, a rule's) comes out the same: once is enough
    // (looked for among the first few only, so that the search stays linear in the tests).
    if (sameTestAt(a, net, mask)) continue;
    a.push(net, mask, t.holds ? 1 : 0);
  }
  return a;
}

/** Whether the first DEDUP_TESTS [net, mask, holds] triples of `a` test this network already. */
function sameTestAt(a: readonly number[], net: number, mask: number): boolean {
  const end = Math.min(a.length, 3 * DEDUP_TESTS);
  for (let i = 0; i < end; i += 3) if (a[i] === net && a[i + 1] === mask) return true;
  return false;
}

const DEDUP_TESTS = 48;

/** A network test that holds for this one address. */
function exactly(addr: string, family: PacketSpec["family"]): NetTest | undefined {
  const net = ipToNum(addr, family);
  if (net === undefined) return undefined;
  return { net, mask: typeof net === "number" ? 0xffffffff : [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], negated: false };
}

/** The conditions an evaluated answer holds under; undefined when it cannot be kept. */
function conditionsOf(flow: FlowReads, packet: PacketSpec, e: Evaluation, shared: Shared): Conditions | undefined {
  if (flow.uncacheable !== undefined) return undefined;
  // (An outer packet's legs are the node's own packets, from the tunnel's addresses: they carry
  // nothing of the inner packet's source, and the memo leaves them as they are.)
  if (e.outcomes.length > MAX_OUTCOMES || e.outcomes.some((o) => o.conntrack?.ipvs)) return undefined;
  const src = packet.src;
  const sport = packet.sport;
  // The outcomes' words, made once for the source and its port.
  let said: string[] | undefined;
  const words = () => (said ??= e.outcomes.map(wordsOf));
  let srcExact = flow.srcExact;
  let sportExact = flow.sportExact;
  const [routingFrom, routingTo] = flow.routingTests;
  // The routing's networks apart: the answers of sources they split alike share their results.
  const routing = flow.tests.slice(routingFrom, routingTo);
  const tests = [...flow.tests.slice(0, routingFrom), ...flow.tests.slice(routingTo)];
  if (src !== undefined && !srcExact) {
    // The addresses the packet's source is compared with when histories merge (NAT's, and the
    // destination): another source must be equal to each as this one is, or unequal.
    for (const a of [packet.dst, ...flow.wroteAddrs]) {
      if (a === src) srcExact = true;
      const t = exactly(a, packet.family);
      if (t) tests.push({ test: t, holds: false });
    }
    // Words that name the source (a martian's, an assumption's) are this source's own.
    if (!srcExact && words().some((w) => mentions(w, src))) srcExact = true;
  }
  // Words that name the source port (a connection's NAT in an assumption) likewise; any number
  // written alike counts, so this may key a port that was not read, never the other way.
  if (sport !== undefined && !sportExact && words().some((w) => mentions(w, sport))) sportExact = true;
  const notPorts = sport === undefined ? [] : [...flow.wrotePorts, ...(packet.dport !== undefined ? [packet.dport] : [])];
  if (sport !== undefined && notPorts.includes(sport)) sportExact = true;
  if (tests.length + routing.length > MAX_TESTS) return undefined;
  const own = srcExact ? undefined : v4Of(tests);
  const ofRouting = own && v4Of(routing);
  const v4 = ofRouting && shared.numbers(own);
  const v4Routing = ofRouting?.length ? shared.numbers(ofRouting) : undefined;
  return {
    src, sport, srcExact, sportExact,
    tests: srcExact || v4 ? NO_TESTS : [...tests, ...routing], v4, v4Routing,
    notPorts: sportExact ? NO_PORTS : shared.numbers([...new Set(notPorts)]),
    routes: srcExact && sportExact ? [] : flow.routes,
  };
}

const NO_TESTS: readonly SourceTest[] = [];
const NO_PORTS: readonly number[] = [];

/**
 * About what a kept answer holds on the heap (measured with the collector on the bench's
 * kube-proxy answers, 8-byte pointers: the answer and its share of its key's flow and lookup
 * entry some 600 bytes, an outcome with its step, final packet and connection some hundreds, a
 * test of the source three numbers): what MEMO_BYTES is counted in.
 */
export function keptBytes(tests: number, routes: number, outcomes: number): number {
  return 640 + 32 * tests + 512 * routes + 640 * outcomes;
}

/** The texts of an outcome the memo does not rewrite, as one. */
function wordsOf(o: Outcome): string {
  let w = "";
  for (const k in o.fate) {
    const v = (o.fate as Record<string, unknown>)[k];
    if (typeof v === "string") w += v + "\n";
    else if (typeof v === "object") w += JSON.stringify(v) + "\n";
  }
  return w + o.assumptions.join("\n") + "\n" + (o.given?.join("\n") ?? "") + "\n" + (o.routing?.join("\n") ?? "");
}

/**
 * The outcome as a lean answer reads it: its steps cut to the one that decided it (the last
 * matched step every history took), so that a kept answer holds a few objects, not its walk.
 * (That step's rewrites name the kept packet's source: the fields never print them.)
 */
function lean(o: Outcome, connection: boolean, texts: Interned): Outcome {
  let steps: Outcome["steps"] = [];
  for (let k = o.steps.length - 1; k >= 0; k--) {
    const s = o.steps[k]!;
    if (s.matched && !s.uncertain) {
      steps = [decidingOnly(s)];
      break;
    }
  }
  const n = outcomeWith(o, steps, o.final, connection ? o.conntrack : undefined);
  n.assumptions = texts.list(o.assumptions);
  if (o.given) n.given = texts.list(o.given);
  if (o.routing) n.routing = texts.list(o.routing);
  return n;
}

/**
 * The deciding step as the fields read it (where it is, the rule, its verdict): not the
 * packet it made or its rewrites, which name the kept packet's source and are most of its size.
 */
function decidingOnly(s: Step): Step {
  const n: Step = { hook: s.hook, table: s.table, chain: s.chain, rule: s.rule, verdict: s.verdict, matched: s.matched };
  if (s.ruleNode) n.ruleNode = s.ruleNode;
  if (s.nft) n.nft = s.nft;
  if (s.ipvs) n.ipvs = s.ipvs;
  if (s.legacy) n.legacy = s.legacy;
  return n;
}

/**
 * Lists of texts kept answers share: the answers of a service's clients say the same
 * assumptions and routing, and one copy of them serves all. Bounded: forgotten (not the
 * answers holding them) past MAX_INTERNED.
 */
class Interned {
  private readonly lists = new Map<string, readonly string[]>();

  list(l: readonly string[]): string[] {
    if (l.length === 0) return EMPTY as string[];
    const key = l.length === 1 ? l[0]! : l.join("\n");
    const known = this.lists.get(key);
    // (Texts with line breaks of their own could join alike: only an equal list is shared.)
    if (known) return (known.length === l.length && known.every((t, i) => t === l[i]) ? known : l) as string[];
    if (this.lists.size >= MAX_INTERNED) this.lists.clear();
    this.lists.set(key, l);
    return l as string[];
  }
}

const EMPTY: readonly string[] = [];
const MAX_INTERNED = 4096;
const MAX_SHARED_LENGTH = 96;

/**
 * Lists of numbers (tests of the source, ports) and of fates kept answers share: one copy of
 * those that come out alike (the routing's networks tested of most clients' sources) serves
 * all. Bounded like Interned.
 */
class Shared {
  private readonly lists = new Map<string, readonly unknown[]>();

  numbers(l: readonly number[]): readonly number[] {
    if (l.length === 0) return NO_PORTS;
    // (A long list is not looked for: what the map may hold on to stays small.)
    return l.length > MAX_SHARED_LENGTH ? l : this.one(l.join(","), l);
  }

  fates(l: readonly Fate[]): readonly Fate[] {
    return this.one(JSON.stringify(l), l);
  }

  private one<V>(key: string, l: readonly V[]): readonly V[] {
    const known = this.lists.get(key);
    if (known) return known as readonly V[];
    if (this.lists.size >= MAX_INTERNED) this.lists.clear();
    this.lists.set(key, l);
    return l;
  }
}

/** The outcome with these steps, final packet and connection (built field by field: one object shape for all). */
function outcomeWith(o: Outcome, steps: Outcome["steps"], final: PacketSnapshot, conntrack: ConntrackSummary | undefined): Outcome {
  const n: Outcome = { probability: o.probability, assumptions: o.assumptions, fate: o.fate, steps, final };
  if (o.given) n.given = o.given;
  if (o.routing) n.routing = o.routing;
  if (o.encapsulated) n.encapsulated = o.encapsulated;
  if (conntrack) n.conntrack = conntrack;
  return n;
}


/** Whether the routing decision comes out the same for the packet's own source and port. */
function sameRoute(node: NodeView, r: RouteRead, packet: PacketSpec): boolean {
  const q = { ...r.query } as InputRouteQuery;
  const w = q as unknown as Record<string, unknown>;
  for (const f of r.srcAt) w[f] = packet.src;
  for (const f of r.sportAt) w[f] = packet.sport;
  const d = r.kind === "input" ? node.routeInput(q) : node.routeOutput(q);
  return sameDecision(d, r.decision);
}

/** Two routing decisions field by field (their lists element by element). */
function sameDecision(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    n++;
    const u = x[k];
    const v = y[k];
    if (u === v) continue;
    if (!Array.isArray(u) || !Array.isArray(v) || u.length !== v.length || u.some((e, i) => e !== v[i])) return false;
  }
  for (const _ in y) n--;
  return n === 0;
}

/** The kept packet's source address and port replaced by the new packet's, wherever they were carried through. */
class Substitution {
  constructor(
    private readonly fromSrc: string | undefined, private readonly toSrc: string | undefined,
    private readonly fromSport: number | undefined, private readonly toSport: number | undefined,
  ) {}

  private addr(a: string): string {
    return a === this.fromSrc ? this.toSrc! : a;
  }

  private port(p: number | undefined): number | undefined {
    return p !== undefined && p === this.fromSport ? this.toSport : p;
  }

  snapshot(s: PacketSnapshot): PacketSnapshot {
    const n: PacketSnapshot = { ...s, src: this.addr(s.src), dst: this.addr(s.dst) };
    if (s.sport !== undefined) n.sport = this.port(s.sport)!;
    if (s.dport !== undefined) n.dport = this.port(s.dport)!;
    return n;
  }

  private tuple(t: Tuple): Tuple {
    const n: Tuple = { ...t, src: this.addr(t.src), dst: this.addr(t.dst) };
    if (t.sport !== undefined) n.sport = this.port(t.sport)!;
    if (t.dport !== undefined) n.dport = this.port(t.dport)!;
    return n;
  }

  connection(c: ConntrackSummary): ConntrackSummary {
    return { ...c, orig: this.tuple(c.orig), reply: this.tuple(c.reply) };
  }
}
