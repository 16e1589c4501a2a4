/**
 * A cluster: nodes, each evaluated by the single-node evaluator, the pods on them, and the
 * answers that follow a packet from node to node (through tunnels, over the underlay, into
 * pods) and, when asked, its reply back.
 */
import type { Family } from "./ast.js";
import type { Fate, Outcome } from "./evaluation.js";
import type { PacketSpec } from "./packet.js";

/**
 * A pod: a network namespace with one interface (its `eth0`), one address, a default route to
 * its gateway and, as usual for pods, no rules of its own. Its other end is on its node.
 */
export interface PodSpec {
  name: string;
  /** The node the pod runs on (a node's name in the cluster). */
  node: string;
  family: Family;
  address: string;
  /** The node's end of the pod's link: the pod's veth (cali…, veth…) or the bridge it hangs on (cni0, docker0). */
  nodeIface: string;
  /** The pod's default gateway (Calico: 169.254.1.1; bridge CNIs: the bridge's address). */
  gateway?: string;
  /**
   * How netfate found the pod when the user did not declare it, said wherever the answer rests
   * on it: "route 10.244.153.204 dev calice0906292e2 scope link on node-01".
   */
  inferred?: string;
}

/** Where a packet is: on a node, or in a pod (which runs on a node). */
export interface Place {
  node: string;
  pod?: string;
}

/** How a packet came to a hop. */
export type Arrival =
  /** Where the user said the packet starts. */
  | { kind: "start" }
  /**
   * Over a link from another place: a pod's veth to its node (or back), the underlay between
   * nodes. `assumed` says what netfate had to assume about the link (a router between nodes).
   */
  | { kind: "link"; from: Place; fromIface: string; iface: string; via?: string; assumed?: string }
  /** Taken out of an outer packet by a tunnel device of this node. */
  | { kind: "decapsulated"; dev: string; tunnel: string; outerSrc: string; outerDst: string }
  /** Wrapped by a tunnel device of this node: the outer packet the node itself sends. */
  | { kind: "encapsulated"; dev: string; tunnel: string };

/** One node's (or pod's) part of a packet's way: what arrived, how, and what the node did with it. */
export interface ClusterHop {
  at: Place;
  /** 0 for the packet itself, 1 for the outer packet of a tunnel it crosses, and so on. */
  depth: number;
  /** The packet as it came to this hop (before the node's rules). */
  packet: PacketSpec;
  arrival: Arrival;
  /** The node's own outcome for this hop: steps, routing decisions, rewrites, final packet and fate. */
  outcome: Outcome;
}

/** One way a packet's journey through the cluster can go. */
export interface ClusterOutcome {
  /** The chance of this way given its `given` conditions (the product of every branch taken on every hop). */
  probability: number;
  /** Everything the way rests on, hop by hop, as the trace lists it (includes `given`). */
  assumptions: string[];
  /** Sides taken at conditions the input does not decide; outcomes with different ones are alternatives, not chances. */
  given?: string[];
  hops: ClusterHop[];
  /**
   * How the journey ended. For a request: the fate of its last hop (`delivered` at the pod or
   * node it was addressed to, a drop, ...). For a reply: `delivered` when it reaches the
   * sender's socket as the reply of its connection, else `reply-lost` (or indeterminate).
   */
  fate: Fate;
  /** Where the fate happened. */
  at: Place;
  /** Set when the packet left the cluster: sent towards an address no node or pod of it holds. What happens beyond is not modelled. */
  leftCluster?: string;
  /** The reply's ways back, when asked, for a request that was let through. */
  reply?: ClusterOutcome[];
}
