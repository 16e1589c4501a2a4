/**
 * A packet's way through a cluster, hop by hop. Each node's part is the single-node evaluator's
 * own outcome (the same code that answers for one node); between nodes the packet crosses a
 * link this module finds from the facts: a pod's veth, a bridge, the underlay between nodes,
 * or a tunnel, whose outer packet is carried to the remote node and taken apart there.
 *
 * Replies: every node keeps its own conntrack. A reply is traced back from where the request
 * ended; on each node it meets, the entry the request left there (if the reply's tuple is that
 * entry's reply tuple) undoes the node's NAT. A reply that reaches its sender other than as
 * the reply of the connection the sender opened is `reply-lost`, with where the two paths part.
 *
 * The walk is an explicit work list with bounded hops per way and bounded ways in all.
 */
import type { Family } from "../model/ast.js";
import type { NodeFacts } from "../facts/model.js";
import type { Arrival, ClusterHop, ClusterOutcome, Place, PodSpec } from "../model/cluster.js";
import type { ConntrackSummary, Fate, Outcome, PacketSnapshot, Tuple } from "../model/evaluation.js";
import type { PacketSpec } from "../model/packet.js";
import { addressFamily, canonicalOf, netContains } from "../model/address.js";
import type { CompileProblem } from "./compile.js";
import { withoutConnection } from "./conntrack-view.js";
import { endpoint } from "./branch.js";
import type { EvaluateOptions, NetfilterNode } from "./model.js";

/** One node of a cluster: its name, its evaluator, and the facts it was built from (addresses, routes, tunnels). */
export interface ClusterMember {
  name: string;
  node: NetfilterNode;
  facts: NodeFacts;
}

export interface ClusterInputs {
  nodes: readonly ClusterMember[];
  pods: readonly PodSpec[];
}

export interface ClusterEvaluateOptions extends EvaluateOptions {
  /** Also follow the reply of every request that is let through, back to its sender. */
  reply?: boolean;
}

export interface ClusterEvaluation {
  packet: PacketSpec;
  start: Place;
  outcomes: ClusterOutcome[];
  /** Load-time findings of the nodes the packet crossed. */
  problems: { node: string; problem: CompileProblem }[];
}

/** Ways one evaluation may produce before it stops with an error (each node's branches multiply). */
const MAX_WAYS = 4096;
/** Hops one way may take: the kernel's TTL ends a loop between nodes; this ends any other. */
const MAX_HOPS = 256;
/** The TTL a packet starts with when the packet does not say (Linux's net.ipv4.ip_default_ttl). */
const DEFAULT_TTL = 64;

/** Link kinds that carry packets somewhere else than onto their own wire: a packet into one with no known peer goes nowhere netfate can say. */
const CARRIERS: ReadonlySet<string> = new Set(["tun", "wireguard", "gre", "gretap", "ipip", "sit", "ip6tnl", "ip6gre", "vxlan", "geneve", "vti", "xfrm"]);

/** A packet wrapped in the one being carried, waiting to be taken apart at the far end. */
interface Wrapped {
  packet: PacketSpec;
  dev: string;
  kind: string;
  /** VXLAN: the VNI the outer packet carries, and the MAC the inner frame is addressed to. */
  vni?: number;
  innerMac?: string;
}

/** One way under construction: what it has done so far, and where its packet is now. */
interface Way {
  probability: number;
  assumptions: string[];
  given: string[];
  hops: ClusterHop[];
  at: Place;
  packet: PacketSpec;
  arrival: Arrival;
  depth: number;
  wrapped: Wrapped[];
  /** Routers (nodes) the packet has been forwarded by: each takes one from its TTL. */
  forwards: number;
}

/** The conntrack entries a request left on each node, for its reply to find. */
type Entries = ReadonlyMap<string, readonly Entry[]>;

interface Entry {
  proto: number;
  ct: ConntrackSummary;
  /** Set when IPVS sent the request on from this node (its service and method): IPVS undoes that NAT itself. */
  ipvs?: string;
}

interface Walk {
  opts: EvaluateOptions;
  /** Set when the walk is a reply's: each node looks its packet up in the request's entries. */
  entries?: Entries;
}

export class Cluster {
  readonly members: ReadonlyMap<string, ClusterMember>;
  readonly pods: readonly PodSpec[];
  private readonly podByAddress = new Map<string, PodSpec>();
  private readonly podsByLink = new Map<string, PodSpec[]>();
  private readonly podByPlace = new Map<string, PodSpec>();
  private readonly podsByName = new Map<string, PodSpec[]>();
  /** Pods found behind a bridge or veth while walking (see podOnLink), by place. */
  private readonly foundPods = new Map<string, PodSpec>();
  /** address → the node holding it and the interface it is on. */
  private readonly owners = new Map<string, { node: string; iface: string }>();

  constructor(inputs: ClusterInputs) {
    const members = new Map<string, ClusterMember>();
    for (const m of inputs.nodes) members.set(m.name, m);
    this.members = members;
    this.pods = inputs.pods;
    for (const p of inputs.pods) this.addPod(p);
    for (const m of inputs.nodes) {
      for (const i of m.facts.interfaces) {
        for (const a of i.addrs) {
          // Loopback addresses are every node's own: they say nothing about which node is meant.
          if (i.name === "lo" || a.scope === "host") continue;
          const key = addressKey(a.address);
          if (!this.owners.has(key)) this.owners.set(key, { node: m.name, iface: i.name });
        }
      }
    }
  }

  private addPod(p: PodSpec): void {
    this.podByAddress.set(addressKey(p.address), p);
    this.podByPlace.set(linkKey(p.node, p.name), p);
    const named = this.podsByName.get(p.name);
    if (named) named.push(p);
    else this.podsByName.set(p.name, [p]);
    const link = linkKey(p.node, p.nodeIface);
    const list = this.podsByLink.get(link);
    if (list) list.push(p);
    else this.podsByLink.set(link, [p]);
  }

  private podAt(at: Place): PodSpec | undefined {
    return at.pod === undefined ? undefined : this.podByPlace.get(linkKey(at.node, at.pod)) ?? this.foundPods.get(linkKey(at.node, at.pod));
  }

  /** The pod or node that holds `address` (a pod first), for a packet whose start is not said. */
  placeOf(address: string): Place | undefined {
    const key = addressKey(address);
    const pod = this.podByAddress.get(key);
    if (pod) return { node: pod.node, pod: pod.name };
    const owner = this.owners.get(key);
    return owner ? { node: owner.node } : undefined;
  }

  /**
   * A place named as a user names it: a node, a pod (`net-test1`, or `node-01/net-test1` when
   * two nodes have pods of that name), or an address a pod or node holds. A string says why not.
   */
  placeNamed(name: string): Place | string {
    if (this.members.has(name)) return { node: name };
    const slash = name.indexOf("/");
    if (slash > 0 && this.members.has(name.slice(0, slash))) {
      const at = { node: name.slice(0, slash), pod: name.slice(slash + 1) };
      return this.podAt(at) ? at : `no pod ${at.pod} on node ${at.node}`;
    }
    const pods = this.podsByName.get(name) ?? [];
    if (pods.length === 1) return { node: pods[0]!.node, pod: name };
    if (pods.length > 1) return `pods named ${name} run on ${pods.map((p) => p.node).join(" and ")}: say NODE/${name}`;
    if (addressFamily(name)) return this.placeOf(name) ?? `no node or pod of the cluster holds ${name}`;
    return `no node or pod named ${name} (nodes: ${[...this.members.keys()].join(", ")})`;
  }

  /**
   * The reply to one way of a request (`evaluate(packet, start)`'s outcome), back from where
   * the request ended, judged: delivered to the sender as its connection's reply, or lost.
   * Undefined when nothing replies (the request was not let through, or is not answered).
   */
  evaluateReply(packet: PacketSpec, start: Place, outcome: ClusterOutcome, opts: EvaluateOptions = {}): ClusterOutcome[] | undefined {
    return this.replyOf(packet, start, outcome, opts);
  }

  evaluate(packet: PacketSpec, start: Place, opts: ClusterEvaluateOptions = {}): ClusterEvaluation {
    const { reply, ...single } = opts;
    const problems: { node: string; problem: CompileProblem }[] = [];
    const startError = this.checkStart(packet, start);
    const outcomes = startError
      ? [errorWay(start, startError)]
      : this.walk(packet, start, { opts: single });
    if (reply) {
      for (const o of outcomes) {
        const back = this.replyOf(packet, start, o, single);
        if (back) o.reply = back;
      }
    }
    const seen = new Set<string>();
    for (const o of outcomes) {
      for (const h of [...o.hops, ...(o.reply ?? []).flatMap((r) => r.hops)]) {
        if (h.at.pod !== undefined || seen.has(h.at.node)) continue;
        seen.add(h.at.node);
        const m = this.members.get(h.at.node);
        for (const problem of m?.node.rules(packet.family).problems ?? []) problems.push({ node: h.at.node, problem });
      }
    }
    return { packet, start, outcomes, problems };
  }

  private checkStart(packet: PacketSpec, start: Place): string | undefined {
    if (!this.members.has(start.node)) return `no node ${start.node} in the cluster (nodes: ${[...this.members.keys()].join(", ")})`;
    if (start.pod === undefined) return undefined;
    const pod = this.podAt(start);
    if (!pod) return `no pod ${start.pod} on node ${start.node}`;
    if (packet.from !== "local") return `a packet starting in pod ${pod.name} is sent by the pod: say \`local\`, not \`in ${packet.from}\``;
    if (pod.family !== packet.family) return `pod ${pod.name} has an ${pod.family} address, the packet is ${packet.family}`;
    return undefined;
  }

  /** Every way `packet` can go from `start`, finished. */
  private walk(packet: PacketSpec, start: Place, w: Walk): ClusterOutcome[] {
    const done: ClusterOutcome[] = [];
    const todo: Way[] = [{
      probability: 1, assumptions: [], given: [], hops: [], at: start, packet, arrival: { kind: "start" }, depth: 0, wrapped: [], forwards: 0,
    }];
    while (todo.length > 0) {
      const way = todo.pop()!;
      if (done.length + todo.length >= MAX_WAYS) {
        done.push(finish(way, { kind: "error", reason: `more than ${MAX_WAYS} ways through the cluster: the answer was cut short` }));
        break;
      }
      if (way.hops.length >= MAX_HOPS) {
        done.push(finish(way, { kind: "error", reason: `more than ${MAX_HOPS} hops: the way was cut short` }));
        continue;
      }
      if (way.at.pod !== undefined) this.podHop(way, todo, done);
      else this.nodeHop(way, w, todo, done);
    }
    return done.reverse();
  }

  /** A pod: the packet's sender or its receiver. Pods are endpoints with one interface and no rules. */
  private podHop(way: Way, todo: Way[], done: ClusterOutcome[]): void {
    const pod = this.podAt(way.at)!;
    const spec = way.packet;
    const notes = pod.inferred ? [`pod ${pod.name} inferred from ${pod.inferred}`] : [];
    const src = spec.src ?? pod.address;
    const own = sameAddress(spec.dst, pod.address);
    if (way.arrival.kind !== "start" || own) {
      const fate: Fate = own
        ? { kind: "delivered", iface: way.arrival.kind === "start" ? "lo" : "eth0" }
        : { kind: "indeterminate", reason: `pod ${pod.name} is not ${spec.dst}: pods are modelled as endpoints, which forward nothing` };
      const hop = podHopOf(way, spec, src, fate, notes, way.arrival.kind === "start" ? undefined : "eth0");
      done.push(finish({ ...way, hops: [...way.hops, hop], assumptions: [...way.assumptions, ...notes] }, fate));
      return;
    }
    // The pod's only route: its default, out eth0 to its gateway, which is its node's end.
    const fate: Fate = { kind: "sent", iface: "eth0", ...(pod.gateway ? { via: pod.gateway } : {}) };
    const hop = podHopOf(way, spec, src, fate, notes);
    todo.push({
      ...way, hops: [...way.hops, hop], assumptions: [...way.assumptions, ...notes],
      at: { node: pod.node }, packet: { ...wireSpec(spec, hop.outcome.final), from: pod.nodeIface },
      arrival: { kind: "link", from: way.at, fromIface: "eth0", iface: pod.nodeIface },
    });
  }

  private nodeHop(way: Way, w: Walk, todo: Way[], done: ClusterOutcome[]): void {
    const member = this.members.get(way.at.node)!;
    const { spec, opts, note, ipvs } = this.knownConnection(member.name, way.packet, w);
    if (ipvs !== undefined) {
      // A Route or Tunnel real server answers the client directly, from the virtual address it
      // holds itself: that way back is not modelled, so not guessed.
      done.push(finish(way, { kind: "indeterminate", reason: `the reply reaches ${member.name}, where IPVS sent the request on (${ipvs}): the replies of direct-routing and tunnelled IPVS connections are not modelled` }));
      return;
    }
    const ev = member.node.evaluate(spec, opts);
    // A node given no rules of the packet's family has empty tables to the evaluator: said, never silent.
    const standing = member.node.hasRules(spec.family) ? [] : [`no ${spec.family === "ipv6" ? "ip6tables" : "iptables"} rules were given for this node: its tables are taken as empty (every packet accepted)`];
    for (const o of ev.outcomes) {
      const hop: ClusterHop = { at: way.at, depth: way.depth, packet: spec, arrival: way.arrival, outcome: o };
      const next = grow(way, hop, o, member.name, note, standing);
      this.after(next, member, o, todo, done);
    }
  }

  /** What the node's conntrack knows of a reply: the request's entry on this node whose reply tuple the packet is. */
  private knownConnection(node: string, spec: PacketSpec, w: Walk): { spec: PacketSpec; opts: EvaluateOptions; note?: string; ipvs?: string } {
    if (!w.entries) return { spec, opts: w.opts };
    const entry = w.entries.get(node)?.find((e) => e.proto === spec.proto && sameTuple(e.ct.reply, spec));
    if (entry?.ipvs !== undefined) return { spec, opts: w.opts, ipvs: entry.ipvs };
    if (entry) return { spec: { ...spec, state: "established", reply: true }, opts: { ...w.opts, connection: entry.ct, firstReply: true } };
    // No entry here: this node sees the packet as conntrack sees a packet of no connection.
    const member = this.members.get(node)!;
    const alone = withoutConnection({ ...spec, state: undefined }, member.node.node.sysctl("net.netfilter.nf_conntrack_tcp_loose"));
    const state = alone ? (alone.state === "NEW" ? "new" : alone.state === "INVALID" ? "invalid" : undefined) : "new";
    const { reply: _r, state: _s, ...rest } = spec;
    const plain: PacketSpec = state ? { ...rest, state } : rest;
    return { spec: plain, opts: w.opts, note: `${node} holds no conntrack entry for this packet${alone ? `: ${alone.why}` : ""}` };
  }

  /** Where a node's outcome takes the way next. */
  private after(way: Way, member: ClusterMember, o: Outcome, todo: Way[], done: ClusterOutcome[]): void {
    const f = o.fate;
    if (f.kind === "delivered") {
      if (way.depth > 0) this.decapsulate(way, member, o, todo, done);
      else done.push(finish(way, f));
      return;
    }
    if (f.kind !== "forwarded" && f.kind !== "sent") {
      done.push(finish(way, f));
      return;
    }
    const forwards = way.forwards + (f.kind === "forwarded" ? 1 : 0);
    if (forwards >= (way.packet.ttl ?? DEFAULT_TTL)) {
      done.push(finish(way, { kind: "unroutable", reason: `the TTL ran out on ${member.name} after ${forwards} routers: the packet loops between nodes` }));
      return;
    }
    const moved = { ...way, forwards };
    if (o.encapsulated) {
      this.carryOuter(moved, member, o, f.iface, todo, done);
      return;
    }
    this.cross(moved, member, f.iface, f.via, o.final, todo, done);
  }

  /** A packet sent into a tunnel device: its outer packets (already traced on this node) go on; it waits inside them. */
  private carryOuter(way: Way, member: ClusterMember, o: Outcome, dev: string, todo: Way[], done: ClusterOutcome[]): void {
    const tunnel = member.node.node.tunnel(dev);
    const endpoints = tunnel?.outerPackets?.("via" in o.fate ? o.fate.via : undefined, o.final.dst);
    for (const outer of o.encapsulated ?? []) {
      const f = outer.final;
      // Which of the device's outer packets this is: its VNI and the inner frame's MAC go with it.
      const endpoint = Array.isArray(endpoints) ? endpoints.find((e) => sameAddress(e.dst, f.dst)) : undefined;
      const inner: Wrapped = {
        packet: wireSpec(way.packet, o.final), dev, kind: tunnel?.kind ?? "tunnel",
        ...(endpoint?.vni ?? tunnel?.vni) !== undefined ? { vni: (endpoint?.vni ?? tunnel?.vni)! } : {},
        ...(endpoint?.innerMac !== undefined ? { innerMac: endpoint.innerMac } : {}),
      };
      const outerSpec: PacketSpec = {
        family: addressFamily(f.dst) ?? way.packet.family, from: "local", src: f.src, dst: f.dst, proto: tunnel?.outerProto ?? 0,
        ...(f.sport !== undefined ? { sport: f.sport } : {}),
        ...(f.dport !== undefined ? { dport: f.dport } : {}),
      };
      const hop: ClusterHop = { at: way.at, depth: way.depth + 1, packet: outerSpec, arrival: { kind: "encapsulated", dev, tunnel: inner.kind }, outcome: outer };
      const next = grow({ ...way, depth: way.depth + 1, wrapped: [...way.wrapped, inner], packet: outerSpec }, hop, outer, member.name);
      this.after(next, member, outer, todo, done);
    }
  }

  /** An outer packet delivered to this node: the tunnel device it is addressed to takes it apart. */
  private decapsulate(way: Way, member: ClusterMember, o: Outcome, todo: Way[], done: ClusterOutcome[]): void {
    const inner = way.wrapped[way.wrapped.length - 1]!;
    const outer = way.packet;
    const view = member.node.node;
    const dec = view.decapsulator?.({
      family: outer.family, proto: outer.proto, dst: o.final.dst, src: o.final.src,
      ...(o.final.dport !== undefined ? { dport: o.final.dport } : {}),
      ...(inner.vni !== undefined ? { vni: inner.vni } : {}),
    });
    if (!dec) {
      const what = outer.proto === 4 ? "protocol 4 (IPIP)" : `${protoName(outer.proto)}${o.final.dport !== undefined ? ` port ${o.final.dport}` : ""}${inner.vni !== undefined ? ` VNI ${inner.vni}` : ""}`;
      done.push(finish(way, { kind: "unroutable", reason: `${member.name} has no tunnel device that takes ${what} apart: the ${inner.kind} packet from ${outer.src} is not decapsulated` }));
      return;
    }
    // VXLAN: the inner frame is addressed to the remote device's MAC (the sender's neighbour
    // entry); a frame for another MAC is PACKET_OTHERHOST and ip_rcv drops it before PREROUTING.
    const mac = member.facts.interfaces.find((i) => i.name === dec.dev)?.mac;
    if (inner.innerMac !== undefined && mac !== undefined && inner.innerMac.toLowerCase() !== mac.toLowerCase()) {
      done.push(finish(way, { kind: "unroutable", reason: `the inner frame is addressed to ${inner.innerMac}, not to ${dec.dev}'s ${mac} on ${member.name}: the kernel drops it before PREROUTING (the sender's neighbour entry for its next hop is stale)` }));
      return;
    }
    const accepts = view.tunnel(dec.dev)?.acceptsInner?.(inner.packet.src ?? "", outer.src ?? "");
    if (accepts === false) {
      // drivers/net/wireguard/receive.c: a decrypted packet whose source is not in the sending
      // peer's allowed IPs is dropped by the device, before netfilter sees it.
      done.push(finish(way, { kind: "unroutable", reason: `${dec.dev} on ${member.name} drops the inner packet: its source ${inner.packet.src} is not in the allowed IPs of the peer at ${outer.src}` }));
      return;
    }
    const next: Way = {
      ...way, depth: way.depth - 1, wrapped: way.wrapped.slice(0, -1),
      packet: { ...inner.packet, from: dec.dev },
      arrival: { kind: "decapsulated", dev: dec.dev, tunnel: dec.kind, outerSrc: outer.src ?? "", outerDst: o.final.dst },
    };
    const notes = [...(typeof accepts === "object" ? [accepts.indeterminate] : []), ...(dec.assumption !== undefined ? [dec.assumption] : [])].map((t) => `${member.name}: ${t}`);
    if (notes.length) next.assumptions = [...next.assumptions, ...notes];
    todo.push(next);
  }

  /** A packet leaving `node` by `iface` towards `via` (or its destination): the place at the other end of the link. */
  private cross(way: Way, member: ClusterMember, iface: string, via: string | undefined, final: PacketSnapshot, todo: Way[], done: ClusterOutcome[]): void {
    const onWire = wireSpec(way.packet, final);
    const target = via ?? final.dst;
    const from: Place = { node: member.name };
    // A pod on this link that holds the destination.
    const pod = this.podOnLink(member, iface, final.dst);
    if (pod) {
      if (pod.inferred && !this.podAt({ node: pod.node, pod: pod.name })) this.foundPods.set(linkKey(pod.node, pod.name), pod);
      todo.push({
        ...way, at: { node: pod.node, pod: pod.name }, packet: { ...onWire, from: "eth0" },
        arrival: { kind: "link", from, fromIface: iface, iface: "eth0" },
      });
      return;
    }
    // Another node holding the next hop (or the destination, when the route has no gateway).
    const owner = this.owners.get(addressKey(target));
    if (owner && owner.node !== member.name) {
      const sameNet = onOneSubnet(member.facts, iface, target);
      const assumed = `${member.name}'s ${iface} is assumed to reach ${owner.node}'s ${owner.iface} (no address of ${iface} is on ${target}'s subnet)`;
      todo.push({
        ...way, at: { node: owner.node }, packet: { ...onWire, from: owner.iface },
        ...(sameNet ? {} : { assumptions: [...way.assumptions, assumed] }),
        arrival: {
          kind: "link", from, fromIface: iface, iface: owner.iface,
          ...(via !== undefined ? { via } : {}),
          ...(sameNet ? {} : { assumed }),
        },
      });
      return;
    }
    // A router outside the cluster: it is assumed to carry the packet to whichever node holds
    // the destination, which receives it on the interface it reaches the sender node by.
    const dest = this.placeOf(final.dst);
    if (via !== undefined && dest && dest.node !== member.name) {
      const receiver = this.members.get(dest.node)!;
      const arriveOn = facingInterface(receiver, member, iface, onWire.family);
      if (arriveOn) {
        const assumed = `the router ${via} is assumed to carry it to ${dest.node}, where it arrives on ${arriveOn} (the interface ${dest.node} reaches ${member.name}'s ${iface} by)`;
        todo.push({
          ...way, at: { node: dest.node }, packet: { ...onWire, from: arriveOn }, assumptions: [...way.assumptions, assumed],
          arrival: { kind: "link", from, fromIface: iface, iface: arriveOn, via, assumed },
        });
        return;
      }
    }
    const kind = member.facts.interfaces.find((i) => i.name === iface)?.kind;
    if (kind !== undefined && CARRIERS.has(kind)) {
      done.push(finish(way, { kind: "indeterminate", reason: `${iface} on ${member.name} is a ${kind} device, and the facts do not say where it sends ${final.dst} (give the tunnel's peers)` }));
      return;
    }
    const f: Fate = way.hops[way.hops.length - 1]!.outcome.fate;
    if (way.depth > 0) {
      done.push(finish(way, { kind: "indeterminate", reason: `the ${way.wrapped[way.wrapped.length - 1]!.kind} outer packet to ${final.dst} leaves ${member.name} by ${iface}, but no node of the cluster holds ${final.dst}` }));
      return;
    }
    const out = finish(way, f);
    out.leftCluster = `left the cluster from ${member.name} by ${iface}${via ? ` via ${via}` : ""}: no node or pod of the cluster holds ${final.dst}`;
    done.push(out);
  }

  /** The pod at the other end of `iface` holding `dst`: declared, or inferred from a bridge's subnet or a pod veth's route. */
  private podOnLink(member: ClusterMember, iface: string, dst: string): PodSpec | undefined {
    const declared = this.podsByLink.get(linkKey(member.name, iface))?.find((p) => sameAddress(p.address, dst));
    if (declared) return declared;
    const byAddress = this.podByAddress.get(addressKey(dst));
    if (byAddress && byAddress.node === member.name) return byAddress;
    if (this.owners.has(addressKey(dst))) return undefined;
    const i = member.facts.interfaces.find((x) => x.name === iface);
    const family = addressFamily(dst);
    if (!i || !family) return undefined;
    if (i.kind === "bridge") {
      const net = i.addrs.find((a) => a.family === family && netContains(a.address, a.prefixLength, dst, family));
      if (!net) return undefined;
      return { name: dst, node: member.name, family, address: dst, nodeIface: iface, gateway: net.address, inferred: `${iface}'s subnet ${net.address}/${net.prefixLength} on ${member.name} (a bridge: whatever holds ${dst} there is taken for a pod)` };
    }
    if (i.kind === "veth" && !i.addrs.some((a) => a.family === family && a.scope !== "link")) {
      return { name: dst, node: member.name, family, address: dst, nodeIface: iface, inferred: `the route to ${dst} by the veth ${iface} on ${member.name} (taken for a pod's)` };
    }
    return undefined;
  }

  /**
   * The reply to one way of a request, back from where the request ended, with the conntrack
   * entries the request left on every node. Undefined when there is nothing to reply to.
   */
  private replyOf(request: PacketSpec, start: Place, o: ClusterOutcome, opts: EvaluateOptions): ClusterOutcome[] | undefined {
    const last = o.hops[o.hops.length - 1];
    if (!last || (o.fate.kind !== "delivered" && !o.leftCluster)) return undefined;
    const reply = replySpec(request, last.outcome.final);
    if (!reply) return undefined;
    // A request that left the cluster is answered from outside: the reply comes back in by the
    // interface the request left by (the way out is assumed to be the way back).
    const exit = o.leftCluster && (o.fate.kind === "forwarded" || o.fate.kind === "sent") ? o.fate.iface : undefined;
    const entries = new Map<string, Entry[]>();
    for (const h of o.hops) {
      const ct = h.outcome.conntrack;
      if (h.at.pod !== undefined || !ct) continue;
      // A Masq reply is undone by IPVS on the node (path.ts ipvsReply); Route and Tunnel replies go to the client directly.
      const sentOn = h.outcome.steps.find((st) => st.ipvs?.method === "route" || st.ipvs?.method === "tunnel");
      const e: Entry = { proto: h.packet.proto, ct, ...(sentOn ? { ipvs: `${sentOn.chain}, ${sentOn.ipvs!.method}` } : {}) };
      const list = entries.get(h.at.node);
      if (list) list.push(e);
      else entries.set(h.at.node, [e]);
    }
    const sender = request.src ?? firstSource(o);
    const ways = this.walk({ ...reply, from: exit ?? "local" }, o.at, { opts, entries });
    return ways.map((r) => judgeReply(r, o, start, request, sender));
  }
}

export function buildCluster(inputs: ClusterInputs): Cluster {
  return new Cluster(inputs);
}

function addressKey(address: string): string {
  const family = addressFamily(address);
  return (family && canonicalOf(address, family)) ?? address;
}

function sameAddress(a: string, b: string): boolean {
  return addressKey(a) === addressKey(b);
}

function linkKey(node: string, iface: string): string {
  return `${node}\u0000${iface}`;
}

function sameTuple(t: Tuple, p: { src?: string; dst: string; sport?: number; dport?: number }): boolean {
  return p.src !== undefined && sameAddress(t.src, p.src) && sameAddress(t.dst, p.dst) && t.sport === p.sport && t.dport === p.dport;
}

function protoName(proto: number): string {
  return proto === 6 ? "TCP" : proto === 17 ? "UDP" : proto === 132 ? "SCTP" : `protocol ${proto}`;
}

/** The interface of `receiver` that its own routes use towards the sender's `iface` address: where a routed packet from there comes in. */
function facingInterface(receiver: ClusterMember, sender: ClusterMember, iface: string, family: Family): string | undefined {
  const address = sender.facts.interfaces.find((i) => i.name === iface)?.addrs.find((a) => a.family === family && a.scope !== "link" && a.scope !== "host")?.address;
  if (address === undefined) return undefined;
  const back = receiver.node.node.routeOutput({ family, dst: address, mark: 0, proto: 0 });
  return back.kind === "unicast" ? back.dev : undefined;
}

/** Whether `iface` of the node has an address on the subnet of `target`. */
function onOneSubnet(facts: NodeFacts, iface: string, target: string): boolean {
  const family = addressFamily(target);
  const i = facts.interfaces.find((x) => x.name === iface);
  return !!family && !!i && i.addrs.some((a) => a.family === family && netContains(a.address, a.prefixLength, target, family));
}

/** The packet as the next place receives it: the node's final addresses and ports; the mark stays on the node. */
function wireSpec(spec: PacketSpec, final: PacketSnapshot): PacketSpec {
  const { mark: _mark, src: _src, sport: _sport, dport: _dport, ...rest } = spec;
  const out: PacketSpec = { ...rest, src: final.src, dst: final.dst };
  if (final.sport !== undefined) out.sport = final.sport;
  if (final.dport !== undefined) out.dport = final.dport;
  return out;
}

/** The way so far plus one hop, its chance and what it rests on (each said with the node it was said on). */
function grow(way: Way, hop: ClusterHop, o: Outcome, node: string, note?: string, standing: readonly string[] = []): Way {
  const on = (t: string) => `${node}: ${t}`;
  const given = (o.given ?? []).map(on);
  const assumptions = [...standing.map(on), ...(note ? [on(note)] : []), ...o.assumptions.map(on)];
  return {
    ...way,
    probability: way.probability * o.probability,
    hops: [...way.hops, hop],
    assumptions: [...way.assumptions, ...assumptions.filter((a) => !way.assumptions.includes(a))],
    given: [...way.given, ...given.filter((g) => !way.given.includes(g))],
  };
}

function finish(way: Way, fate: Fate): ClusterOutcome {
  const out: ClusterOutcome = { probability: way.probability, assumptions: way.assumptions, hops: way.hops, fate, at: way.at };
  if (way.given.length) out.given = way.given;
  return out;
}

function errorWay(at: Place, reason: string): ClusterOutcome {
  return { probability: 1, assumptions: [], hops: [], fate: { kind: "error", reason }, at };
}

/** A pod's own part of a way: no rules, so no steps; the packet as the pod sends or receives it. */
function podHopOf(way: Way, spec: PacketSpec, src: string, fate: Fate, notes: string[], inIface?: string): ClusterHop {
  const final: PacketSnapshot = { src, dst: spec.dst, mark: "0x0", ctmark: "0x0", ctstate: "NEW" };
  if (spec.sport !== undefined) final.sport = spec.sport;
  if (spec.dport !== undefined) final.dport = spec.dport;
  if (inIface !== undefined) final.inIface = inIface;
  if (fate.kind === "sent") final.outIface = fate.iface;
  const outcome: Outcome = { probability: 1, assumptions: notes, fate, steps: [], final };
  return { at: way.at, depth: way.depth, packet: { ...spec, src }, arrival: way.arrival, outcome };
}

/** The source the request's sender chose (the routing decision's, before any SNAT on its own node). */
function firstSource(o: ClusterOutcome): string | undefined {
  const first = o.hops[0]?.outcome;
  return first?.conntrack?.orig.src ?? first?.final.src;
}

/**
 * The first reply to a request as its receiver sends it: addresses and ports swapped, a SYN
 * answered by SYN-ACK, an echo request by an echo reply. Undefined when nothing replies (an
 * ICMP message other than an echo request).
 */
function replySpec(request: PacketSpec, delivered: PacketSnapshot): PacketSpec | undefined {
  const r: PacketSpec = { family: request.family, from: "local", src: delivered.dst, dst: delivered.src, proto: request.proto };
  if (delivered.dport !== undefined) r.sport = delivered.dport;
  if (delivered.sport !== undefined) r.dport = delivered.sport;
  if (request.proto === 6) r.tcpFlags = request.tcpFlags === undefined || (request.tcpFlags & 0x12) === 0x02 ? 0x12 : 0x10;
  if (request.proto === 1 || request.proto === 58) {
    const echo = request.proto === 1 ? 8 : 128;
    if (request.icmpType !== echo) return undefined;
    r.icmpType = echo + (request.proto === 1 ? -8 : 1);
    r.icmpCode = 0;
  }
  return r;
}

/** A reply way, judged: delivered to the sender as its connection's reply, or lost (and where the two paths part). */
function judgeReply(r: ClusterOutcome, req: ClusterOutcome, start: Place, request: PacketSpec, sender: string | undefined): ClusterOutcome {
  const f = r.fate;
  if (f.kind === "indeterminate" || f.kind === "error" || f.kind === "queued") return r;
  const parted = partingOf(req, r);
  const lost = (reason: string, cause?: Fate): ClusterOutcome => ({
    ...r, fate: { kind: "reply-lost", reason, ...(parted ? { parted } : {}), ...(cause ? { cause } : {}) },
  });
  const final = r.hops[r.hops.length - 1]?.outcome.final;
  const expected = { src: request.dst, dst: sender ?? "", sport: request.dport, dport: request.sport };
  const asExpected = !!final && sameAddress(final.src, expected.src) && !!sender && sameAddress(final.dst, expected.dst) && final.sport === expected.sport && final.dport === expected.dport;
  const where = (p: Place) => (p.pod !== undefined ? `pod ${p.pod} on ${p.node}` : p.node);
  const tuple = (p: { src: string; dst: string; sport?: number; dport?: number }) => `${endpoint(p.src, p.sport)} -> ${endpoint(p.dst, p.dport)}`;
  if (request.from !== "local" && f.kind !== "dropped" && f.kind !== "rejected" && f.kind !== "martian" && f.kind !== "unroutable") {
    // The sender is behind the interface the request came in by: the reply must leave the
    // start node by it, as the connection's reply.
    const out = [...r.hops].reverse().find((h) => h.depth === 0 && h.at.pod === undefined && h.at.node === start.node);
    const of = out?.outcome.fate;
    if (!out || !of || (of.kind !== "forwarded" && of.kind !== "sent") || of.iface !== request.from) {
      return lost(`the reply does not leave ${start.node} by ${request.from}, where the request came in${out && of && (of.kind === "forwarded" || of.kind === "sent") ? ` (it leaves by ${of.iface})` : ""}`);
    }
    const t = out.outcome.final;
    if (!(sameAddress(t.src, expected.src) && sameAddress(t.dst, expected.dst) && t.sport === expected.sport && t.dport === expected.dport)) {
      return lost(`the reply leaves ${start.node} by ${request.from} as ${tuple(t)}, but the sender expects ${tuple(expected)}: conntrack did not undo the NAT`);
    }
    return r;
  }
  if (r.leftCluster) return lost(`the reply ${r.leftCluster}, instead of coming back to the sender ${where(start)}`);
  if (f.kind === "delivered") {
    const home = r.at.node === start.node && r.at.pod === start.pod;
    if (!home) return lost(`the reply is delivered to ${where(r.at)}, not to the sender ${where(start)}`);
    if (!final || !asExpected) {
      return lost(`the reply reaches ${where(r.at)} as ${final ? tuple(final) : "?"}, but the connection the sender opened expects ${tuple({ ...expected, dst: expected.dst || "?" })}: conntrack did not undo the NAT`);
    }
    return r;
  }
  return lost(`the reply is stopped on ${where(r.at)}: ${fateWords(f)}`, f);
}

function fateWords(f: Fate): string {
  switch (f.kind) {
    case "dropped":
      return `dropped by ${f.table} ${f.chain} ${f.rule === "policy" ? "policy" : `rule ${f.rule}`} (hook ${f.hook})`;
    case "rejected":
      return `rejected by ${f.table} ${f.chain} rule ${f.rule} (hook ${f.hook})`;
    case "martian":
      return `the routing decision drops it${f.iface ? ` on ${f.iface}` : ""} (${f.check === "rp_filter" ? "reverse-path filter" : `martian ${f.check}`})`;
    case "unroutable":
      return `unroutable (${f.reason})`;
    default:
      return f.kind;
  }
}

/**
 * Where request and reply part: the first node the reply comes to by another interface than
 * the request left it, or a node the request never crossed; else a node whose conntrack holds
 * NAT for the connection that the reply never crosses.
 */
function partingOf(req: ClusterOutcome, reply: ClusterOutcome): string | undefined {
  const leftBy = new Map<string, Set<string>>();
  const crossed = new Set<string>();
  for (const h of req.hops) {
    if (h.at.pod !== undefined) continue;
    crossed.add(h.at.node);
    const f = h.outcome.fate;
    if ((f.kind === "forwarded" || f.kind === "sent") && h.depth === 0) {
      const s = leftBy.get(h.at.node) ?? new Set<string>();
      s.add(f.iface);
      leftBy.set(h.at.node, s);
    }
  }
  const replyNodes = new Set<string>();
  for (const h of reply.hops) {
    if (h.at.pod !== undefined || h.depth !== 0) continue;
    replyNodes.add(h.at.node);
    if (h.arrival.kind === "start") continue;
    const came = h.packet.from;
    if (!crossed.has(h.at.node)) return `the reply crosses ${h.at.node}, which the request did not`;
    const left = leftBy.get(h.at.node);
    if (left && came !== "local" && !left.has(came)) {
      return `request and reply part at ${h.at.node}: the request left by ${[...left].join(", ")}, the reply comes back on ${came}`;
    }
  }
  for (const h of req.hops) {
    const st = h.outcome.conntrack?.status ?? [];
    if (h.at.pod === undefined && !replyNodes.has(h.at.node) && (st.includes("DNAT") || st.includes("SNAT"))) {
      return `the reply bypasses ${h.at.node}, whose conntrack holds the connection's ${st.includes("DNAT") ? "DNAT" : "SNAT"}`;
    }
  }
  return undefined;
}
