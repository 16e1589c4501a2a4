/** Words shared by the cluster renderers: how a place, a hop's arrival and a way's verdict read. */
import type { Arrival, ClusterHop, ClusterOutcome, Place } from "../model/cluster.js";
import { protocolName } from "../extensions/protocols.js";
import { endpointText } from "./describe.js";
import { answerVerdict, outcomeVerdict, worseVerdict, type Verdict } from "./text.js";

/** `node-01`, or `pod net-test1 on node-01`. */
export function placeText(p: Place): string {
  return p.pod !== undefined ? `pod ${p.pod} on ${p.node}` : p.node;
}

export function samePlace(a: Place, b: Place): boolean {
  return a.node === b.node && a.pod === b.pod;
}

/** The outer packet a tunnel device sends, as one line: `UDP 172.16.100.101 → 172.16.100.102:8472`. */
function outerPacketText(h: ClusterHop): string {
  const p = h.packet;
  // IP-in-IP is protocol 4, "ipencap" in /etc/protocols; users know it as IPIP.
  const proto = p.proto === 58 ? "ICMPv6" : p.proto === 4 ? "IPIP" : protocolName(p.proto).toUpperCase();
  return `${proto} ${endpointText(p.src, p.sport)} → ${endpointText(p.dst, p.dport)}`;
}

/** What a link arrival says beyond its ends: the router it crossed and what was assumed of it. */
function linkNotes(a: Extract<Arrival, { kind: "link" }>): string {
  return `${a.via !== undefined ? ` via ${a.via}` : ""}${a.assumed !== undefined ? ` (assumed: ${a.assumed})` : ""}`;
}

/**
 * How a packet came to a hop, as one line: `arrived from pod net-test1 on cali073b411309a`,
 * `over the underlay from node-01 ens192 on ens192`, `decapsulated by flannel.1 (vxlan) from
 * 172.16.100.101`, `encapsulated by flannel.1: UDP 172.16.100.101 → 172.16.100.102:8472`.
 */
export function arrivalText(h: ClusterHop): string {
  const a = h.arrival;
  switch (a.kind) {
    case "start":
      return "starts here";
    case "link": {
      // Between two nodes the link is the underlay; a pod's link is its veth (or its bridge).
      if (a.from.pod === undefined && h.at.pod === undefined) return `over the underlay from ${a.from.node} ${a.fromIface} on ${a.iface}${linkNotes(a)}`;
      const from = a.from.node === h.at.node
        ? (a.from.pod !== undefined ? `pod ${a.from.pod}` : `${a.from.node} ${a.fromIface}`)
        : `${placeText(a.from)} ${a.fromIface}`;
      return `arrived from ${from} on ${a.iface}${linkNotes(a)}`;
    }
    case "decapsulated":
      return `decapsulated by ${a.dev} (${a.tunnel}) from ${a.outerSrc}`;
    case "encapsulated":
      return `encapsulated by ${a.dev}: ${outerPacketText(h)}`;
  }
}

/**
 * A way's verdict with its reply: lost when the request is lost or, for a request let through,
 * when some way back is lost (a connection whose reply never arrives fails as surely as a drop).
 */
export function clusterOutcomeVerdict(o: ClusterOutcome): Verdict {
  const own = outcomeVerdict(o);
  if (own === "lost") return own;
  return (o.reply ?? []).reduce<Verdict>((v, r) => worseVerdict(v, clusterOutcomeVerdict(r)), own);
}

/** Lost when any way (or its reply) is lost, else unknown when any cannot be told or there is none, else through. */
export function clusterVerdict(ev: { outcomes: readonly ClusterOutcome[] }): Verdict {
  return answerVerdict(ev.outcomes.map(clusterOutcomeVerdict));
}

/**
 * The places a way went through, each once per visit, a node reached through a tunnel saying
 * so: `pod a on n1 → n1 → n2 (through flannel.1, vxlan) → pod b on n2`.
 */
export function wayPlaces(hops: readonly ClusterHop[]): string[] {
  const out: string[] = [];
  let tunnel: string | undefined;
  let prev: Place | undefined;
  for (const h of hops) {
    if (h.arrival.kind === "encapsulated") tunnel = `${h.arrival.dev}, ${h.arrival.tunnel}`;
    if (prev && samePlace(prev, h.at)) continue;
    // The outer packet reaches the far node first; the tunnel is named on that node.
    out.push(h.depth > 0 && tunnel !== undefined ? `${placeText(h.at)} (through ${tunnel})` : placeText(h.at));
    prev = h.at;
  }
  return out;
}
