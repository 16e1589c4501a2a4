/**
 * The JSON of a cluster trace: the single-node trace's shape (trace.schema.json, its cluster
 * form) for every hop, each hop and each of its steps saying the node (and pod) it happened
 * on, the reply's ways nested in the way they answer.
 */
import type { ClusterHop, ClusterOutcome, Place } from "../model/cluster.js";
import type { ClusterEvaluation } from "../netfilter/cluster.js";
import { outcomeJson, packetJson, TRACE_JSON_VERSION } from "./json.js";

function placeJson(p: Place): { node: string; pod?: string } {
  return { node: p.node, ...(p.pod !== undefined ? { pod: p.pod } : {}) };
}

function hopJson(h: ClusterHop): Record<string, unknown> {
  const at = placeJson(h.at);
  return { ...at, depth: h.depth, packet: packetJson(h.packet), arrival: h.arrival, ...outcomeJson(h.outcome, h.packet.family, at) };
}

function wayJson(w: ClusterOutcome): Record<string, unknown> {
  return {
    probability: w.probability,
    assumptions: w.assumptions,
    given: w.given ?? [],
    fate: w.fate,
    at: placeJson(w.at),
    ...(w.leftCluster !== undefined ? { leftCluster: w.leftCluster } : {}),
    hops: w.hops.map(hopJson),
    ...(w.reply ? { reply: w.reply.map(wayJson) } : {}),
  };
}

export function clusterEvaluationJson(ev: ClusterEvaluation): Record<string, unknown> {
  return {
    version: TRACE_JSON_VERSION,
    kind: "cluster",
    packet: packetJson(ev.packet),
    start: placeJson(ev.start),
    outcomes: ev.outcomes.map(wayJson),
    problems: ev.problems.map((p) => ({ node: p.node, ...p.problem })),
  };
}
