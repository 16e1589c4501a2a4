/**
 * A packet's way through a cluster, hop by hop: each node's part is the single-node evaluator's
 * outcome; between nodes the packet crosses a pod's veth, the underlay or a tunnel.
 */
import type { NodeFacts } from "../facts/model.js";
import type { ClusterOutcome, Place, PodSpec } from "../model/cluster.js";
import type { PacketSpec } from "../model/packet.js";
import type { CompileProblem } from "./compile.js";
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
