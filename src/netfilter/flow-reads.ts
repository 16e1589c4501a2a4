/**
 * What one evaluation read of its packet's source address and source port, for the flow memo
 * (flow-memo.ts). Every other field of the packet (family, interface, destination, protocol,
 * destination port, flags, mark, state...) is part of the memo's key as it is: only the source
 * — the field that differs between a service's clients — is left free, and only as far as the
 * evaluation shows it did not look.
 *
 * The evaluator reports here each thing that depends on the source:
 * - a rule's `-s`/`-d` test of the packet's own source: a condition "in this network, or not"
 *   (the same test gives the same answer to every source that meets it);
 * - a match or target that says it reads the source (its extension's `reads`), or says
 *   nothing (then it may read anything): the source, or its port, is then keyed exactly;
 * - a routing decision made with the source in its query: the memo asks the node again for
 *   the next packet's source, and the answer must be the same;
 * - an address or port a NAT target wrote: a later comparison of the packet's source with it
 *   (histories merge when their packets are equal) must come out the same;
 * - anything stateful (a set changed, a match that counts packets): no memo at all.
 *
 * A read of a field that holds the source at that moment (a destination that conntrack set
 * to it) counts as a read of the source: `dst`/`dport` reads are checked for it.
 */
import type { PacketRead } from "../extensions/types.js";
import { ipToNum, inNet, type IpNum, type NetTest } from "../model/address.js";
import type { NodeView, PacketState, RouteDecision, RouteQuery } from "../model/evaluation.js";
import type { PacketSpec } from "../model/packet.js";

/** One routing decision whose query held the source: asked again for another source. */
export interface RouteRead {
  kind: "input" | "output";
  query: RouteQuery;
  /** Fields of the query that were the packet's source address, and its source port. */
  srcAt: ReadonlyArray<"src" | "dst">;
  sportAt: ReadonlyArray<"sport" | "dport">;
  /** The decision: another source must get exactly this one. */
  decision: RouteDecision;
}

/** A network test of the source address, and how it came out. */
export interface SourceTest {
  test: { net: IpNum; mask: IpNum };
  holds: boolean;
}

/** More networks than this in a node's routing: its decisions are asked again instead (RouteRead). */
const MAX_ROUTE_TESTS = 256;

/** More conditions than this on the source: the answer is not worth keeping (memory stays bounded). */
export const MAX_TESTS = 512;
const MAX_ROUTES = 16;

export class FlowReads {
  readonly src: string | undefined;
  readonly sport: number | undefined;
  readonly srcNum: IpNum | undefined;
  readonly tests: SourceTest[] = [];
  /** The answer rests on the whole source address (or port): keyed on it exactly. */
  srcExact = false;
  sportExact = false;
  /** Why the answer cannot be kept (undefined: it can). */
  uncacheable: string | undefined;
  /** The evaluation changed state later packets see (an ipset): every kept answer is stale. */
  changedState = false;
  readonly routes: RouteRead[] = [];
  readonly wroteAddrs: string[] = [];
  readonly wrotePorts: number[] = [];
  private readonly tested = new Set<object>();
  /** The routing's networks are among `tests` already (they are the same for every decision of the packet's family). */
  private routingTested = false;
  /** Where in `tests` the routing's networks are (from, to): answers whose sources they split alike share them. */
  routingTests: readonly [number, number] = [0, 0];

  constructor(spec: PacketSpec) {
    this.src = spec.src;
    this.sport = spec.sport;
    this.srcNum = spec.src === undefined ? undefined : ipToNum(spec.src, spec.family);
    // A source that is not an address of the family is answered with it in the words.
    if (spec.src !== undefined && this.srcNum === undefined) this.srcExact = true;
  }

  /** A rule tested `value` against a network: a condition on the source when `value` is the source. */
  addr(value: string | undefined, test: { net: IpNum; mask: IpNum }): void {
    if (value !== this.src || this.srcExact || this.tested.has(test)) return;
    this.tested.add(test);
    if (this.tests.length >= MAX_TESTS) {
      this.uncacheable ??= `more than ${MAX_TESTS} tests of the source`;
      return;
    }
    this.tests.push({ test, holds: inNet(this.srcNum!, test) });
  }

  /** A match or target read these fields of `p` (undefined: it did not say, and may read any). */
  fields(reads: readonly PacketRead[] | undefined, p: Readonly<PacketState>): void {
    if (reads === undefined) {
      this.srcExact = true;
      this.sportExact = true;
      return;
    }
    for (const r of reads) {
      switch (r) {
        case "src":
          this.srcExact = true;
          break;
        case "sport":
          this.sportExact = true;
          break;
        case "dst":
          if (p.dst === this.src) this.srcExact = true;
          break;
        case "dport":
          if (p.dport === this.sport) this.sportExact = true;
          break;
        case "state":
          this.uncacheable ??= "a match or target with state of its own";
          break;
      }
    }
  }

  /** The current destination (and port) were read: the source, when they hold it. */
  destination(p: Readonly<PacketState>): void {
    if (p.dst === this.src) this.srcExact = true;
    if (p.dport !== undefined && p.dport === this.sport) this.sportExact = true;
  }

  /** The whole source address was read. */
  source(): void {
    this.srcExact = true;
  }

  /**
   * A routing decision was made for `query` by `node`: its conditions on the source are the
   * networks routing compares addresses with (NodeView.routeTests), else the decision itself.
   */
  route(kind: RouteRead["kind"], query: RouteQuery, d: RouteDecision, node: NodeView): void {
    const srcAt: Array<"src" | "dst"> = [];
    const sportAt: Array<"sport" | "dport"> = [];
    if (this.src !== undefined) {
      if (query.src === this.src) srcAt.push("src");
      if (query.dst === this.src) srcAt.push("dst");
    }
    if (this.sport !== undefined) {
      if (query.sport === this.sport) sportAt.push("sport");
      if (query.dport === this.sport) sportAt.push("dport");
    }
    if (srcAt.length === 0 && sportAt.length === 0) return;
    // Words that name the source are the source's own: keyed on it.
    if (this.src !== undefined && mentions(d, this.src)) this.srcExact = true;
    if (this.sport !== undefined && mentions(d, this.sport)) this.sportExact = true;
    const routing = node.routeTests?.(query.family);
    if (routing && routing.tests.length <= MAX_ROUTE_TESTS) {
      if (srcAt.length && !this.routingTested) {
        this.routingTested = true;
        const from = this.tests.length;
        for (const t of routing.tests) this.addr(this.src, t);
        this.routingTests = [from, this.tests.length];
      }
      if (sportAt.length && routing.ports) this.sportExact = true;
      return;
    }
    if (this.routes.length >= MAX_ROUTES) {
      this.uncacheable ??= `more than ${MAX_ROUTES} routing decisions`;
      return;
    }
    this.routes.push({ kind, query: { ...query }, srcAt, sportAt, decision: d });
  }

  /** A NAT target asked to translate to this address and port. */
  wrote(to: { addr?: string; port?: number }): void {
    if (to.addr !== undefined) this.wroteAddrs.push(to.addr);
    if (to.port !== undefined) this.wrotePorts.push(to.port);
  }

  /** Something later packets see was changed (a set's members). */
  stateChanged(): void {
    this.changedState = true;
    this.uncacheable ??= "the packet changed state later packets see";
  }

  uncache(why: string): void {
    this.uncacheable ??= why;
  }
}

/**
 * Whether any text in `value` (a string, or the strings of its arrays and objects) contains
 * `what`: an address, or a port as a number written on its own (not part of a longer one).
 */
export function mentions(value: unknown, what: string | number, depth = 0): boolean {
  if (typeof value === "string") return typeof what === "string" ? value.includes(what) : numberIn(value, String(what));
  if (typeof value !== "object" || value === null || depth > 4) return false;
  if (Array.isArray(value)) return value.some((v) => mentions(v, what, depth + 1));
  for (const k in value) if (mentions((value as Record<string, unknown>)[k], what, depth + 1)) return true;
  return false;
}

function numberIn(text: string, digits: string): boolean {
  const isDigit = (i: number) => i >= 0 && i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57;
  for (let i = text.indexOf(digits); i >= 0; i = text.indexOf(digits, i + 1)) {
    if (!isDigit(i - 1) && !isDigit(i + digits.length)) return true;
  }
  return false;
}
