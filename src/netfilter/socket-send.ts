/**
 * What the sending socket lets through before netfilter sees a packet the node makes: the
 * route is known, the protocol decides whether a packet is made at all. Checked in a
 * namespace with real sockets (test/kernel/socket-send.test.ts):
 *
 * - TCP never connects to a broadcast or multicast address: tcp_v4_connect refuses a route the
 *   kernel marked broadcast or multicast, tcp_v6_connect a multicast destination (ENETUNREACH).
 * - Anything else is sent to a broadcast address only by a socket with SO_BROADCAST
 *   (udp_sendmsg, raw_sendmsg: EACCES without it). The packet asked about exists, so its
 *   socket had it: said as an assumption, with what happens otherwise.
 * - A broadcast leaving by a device other than lo is also looped back to the node itself
 *   (ip_mc_output clones it through POSTROUTING, then PREROUTING and INPUT on that device).
 */
import type { Family } from "../model/ast.js";
import type { Fate, RouteDecision } from "../model/evaluation.js";
import { isMulticastAddress } from "../model/address.js";

export interface SocketSend {
  /** The send is refused: no packet is made. */
  refused?: Fate;
  /** What the outcome rests on when the packet is made. */
  assumptions: string[];
}

const TCP = 6;

export function socketSend(family: Family, proto: number | undefined, dst: string, d: RouteDecision): SocketSend {
  const cast = d.kind === "unicast" ? d.cast : undefined;
  // tcp_v6_connect looks at the address before any route; tcp_v4_connect at the route's flags.
  const tcpCast = family === "ipv6" ? (isMulticastAddress(dst, "ipv6") ? "multicast" : undefined) : cast;
  if (proto === TCP && tcpCast) {
    return {
      refused: { kind: "unroutable", reason: `the node cannot open a TCP connection to ${dst}, a ${tcpCast} address: connect() is refused (ENETUNREACH) and no packet is sent` },
      assumptions: [],
    };
  }
  if (cast !== "broadcast" || d.kind !== "unicast") return { assumptions: [] };
  const assumptions = [`sent by a socket with SO_BROADCAST set (without it the kernel refuses to send to the broadcast address ${dst}: EACCES)`];
  if (d.dev !== "lo") assumptions.push(`the kernel also loops a copy back to the node itself (POSTROUTING, then PREROUTING and INPUT on ${d.dev}); this trace follows the one sent out ${d.dev}`);
  return { assumptions };
}
