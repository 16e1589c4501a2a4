/**
 * A packet as the user describes it, and the state of one packet as it moves through the
 * netfilter path (addresses and ports as rewritten so far, marks, conntrack view, interfaces).
 */
import type { Family } from "./ast.js";

export type CtState = "NEW" | "ESTABLISHED" | "RELATED" | "INVALID" | "UNTRACKED";

/**
 * What a packet's headers say beyond its source, the same whether the user describes the
 * packet (PacketSpec) or it is on its way through netfilter (netfilter's PacketState).
 */
export interface PacketHeaders {
  family: Family;
  dst: string;
  /** IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6, 132 sctp, 4 ipip...). */
  proto: number;
  sport?: number;
  dport?: number;
  /** TCP flag bits: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20. */
  tcpFlags?: number;
  icmpType?: number;
  icmpCode?: number;
  length?: number;
  ttl?: number;
  tos?: number;
  srcMac?: string;
}

/** What the user tells: where the packet comes from and what it carries. */
export interface PacketSpec extends PacketHeaders {
  /** An interface name it arrives on, or "local" for a packet this node sends. */
  from: string;
  /** Absent for a local packet whose source the routing decision picks. */
  src?: string;
  /** The skb mark it starts with. */
  mark?: number;
  /** Conntrack state to assume for the packet; NEW when absent. */
  state?: "new" | "established" | "related" | "invalid";
  /** Whether the packet belongs to the reply direction of its connection. */
  reply?: boolean;
  /** A non-first fragment (what `-f` matches). */
  fragment?: boolean;
}

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMP = 1;
export const PROTO_ICMPV6 = 58;

/** The kernel's NFPROTO_IPV4 and NFPROTO_IPV6: what `meta nfproto` and `ct l3proto` read. */
export const NFPROTO: Readonly<Record<Family, number>> = { ipv4: 2, ipv6: 10 };

/** The family an NFPROTO value names; undefined for any other value (or none). */
export function familyOfNfproto(v: unknown): Family | undefined {
  return v === NFPROTO.ipv4 ? "ipv4" : v === NFPROTO.ipv6 ? "ipv6" : undefined;
}
export const PROTO_SCTP = 132;

export function hasPorts(proto: number): boolean {
  return proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP || proto === 33 || proto === 136;
}
