/**
 * `-m pkttype --pkt-type unicast|broadcast|multicast`: the link-layer class of the packet
 * (skb->pkt_type). A received frame is classed by its destination MAC, which follows the
 * destination address: a broadcast address (limited or of a local subnet) arrives as
 * broadcast, a multicast group as multicast, anything else as to-us (unicast). A locally
 * generated packet keeps the kernel's default class, to-us, whatever its destination.
 */
import type { EvalEnv, Tri } from "../../model/evaluation.js";
import type { MatchExtension } from "../types.js";
import { isMulticastAddress } from "../../model/address.js";

export type PktType = "unicast" | "broadcast" | "multicast";

export interface PkttypeData {
  negated: boolean;
  type: PktType;
}

/** Every spelling iptables accepts, case-insensitively; the first three are how it prints them. */
const NAMES: ReadonlyArray<readonly [string, PktType]> = [
  ["unicast", "unicast"], ["broadcast", "broadcast"], ["multicast", "multicast"],
  ["bcast", "broadcast"], ["mcast", "multicast"], ["host", "unicast"],
];

/** The class of the packet's destination, or indeterminate when the node does not say. */
function packetType(env: EvalEnv): PktType | { indeterminate: string } {
  const p = env.packet;
  if (p.inIface === undefined) return "unicast";
  if (isMulticastAddress(p.dst, p.family)) return "multicast";
  if (p.family === "ipv4" && p.dst === "255.255.255.255") return "broadcast";
  if (p.family === "ipv6") return "unicast";
  // The kernel reads the frame's type, which the packet does not show: a sender puts the
  // arriving link's own broadcast address in a broadcast frame, any other address (another
  // subnet's broadcast included) in a unicast one (test/kernel/routing.test.ts).
  const t = env.node.addressType(p.dst, p.family, p.inIface);
  if (typeof t === "object") return { indeterminate: `whether ${p.dst} is a broadcast address is not known (${t.indeterminate})` };
  return t === "BROADCAST" ? "broadcast" : t === "MULTICAST" ? "multicast" : "unicast";
}

export const pkttype: MatchExtension<PkttypeData> = {
  type: "match",
  name: "pkttype",
  reads: () => ["dst"],
  printPrefixes: ["PKTTYPE"],
  options: [{ flags: ["--pkt-type"], args: 1, negatable: true }],
  parse(options, ctx, span) {
    const o = options.find((x) => x.flag === "--pkt-type");
    if (!o) return void ctx.error(span, "pkttype: --pkt-type is required", "--pkt-type unicast|broadcast|multicast");
    const v = o.values[0] ?? "";
    const hit = NAMES.find(([n]) => n === v.toLowerCase());
    if (!hit) return void ctx.error(o.span, `pkttype: bad packet type '${v}'`, "unicast, broadcast or multicast", v);
    return { negated: o.negated, type: hit[1] };
  },
  save(d) {
    return `${d.negated ? " !" : ""} --pkt-type ${d.type}`;
  },
  print(d) {
    return ` PKTTYPE ${d.negated ? "!" : ""}= ${d.type}`;
  },
  parsePrint(s) {
    const m = s.match(/PKTTYPE (!?)= (unicast|broadcast|multicast)(?=\s|$)/);
    if (!m) return undefined;
    return { negated: m[1] === "!", type: m[2] as PktType };
  },
  evaluate(d, env): Tri {
    const t = packetType(env);
    if (typeof t === "object") return t;
    return (t === d.type) !== d.negated;
  },
};
