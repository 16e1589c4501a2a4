/**
 * How conntrack takes a packet, as far as the packet itself decides it: what a packet that
 * meets no connection becomes (NEW, INVALID or UNTRACKED), and which status bits a later
 * packet of a connection finds set. Read from the kernel's nf_conntrack_core.c,
 * nf_conntrack_proto_tcp.c, _udp.c, _icmp.c and _icmpv6.c, and pinned in
 * test/kernel/connection-state.test.ts.
 */
import type { PacketSpec } from "../model/packet.js";
import type { CtStatusBit } from "../model/evaluation.js";

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

/** How conntrack takes a packet with no connection, when that is not simply NEW. */
export interface Unconnected {
  state: "NEW" | "INVALID" | "UNTRACKED";
  /** Why, as a trace states it. */
  why: string;
  /** For INVALID: the state it has when its connection exists (`established` or `related`). */
  withConnection?: "established" | "related";
}

/** ICMP types conntrack opens a connection for (icmp_packet's valid_new): echo, timestamp, information and address-mask requests. */
const ICMP_OPENS = new Set([8, 13, 15, 17]);
/** ICMP errors: conntrack looks up the connection they are about, and finds them INVALID without one. */
const ICMP_ERRORS = new Set([3, 4, 5, 11, 12]);
/** ICMPv6 echo request and node information query. */
const ICMPV6_OPENS = new Set([128, 139]);
/**
 * MLD, neighbour discovery and multicast router discovery: nf_conntrack_icmpv6_error leaves them
 * untracked whatever came before. (Router discovery, 151 and 152, joined the list in 2024:
 * older kernels find those INVALID; kernel 6.18 checked in test/kernel/connection-state.test.ts.)
 */
const ICMPV6_UNTRACKED = new Set([130, 131, 132, 133, 134, 135, 136, 143, 151, 152]);

function isBareAck(flags: number): boolean {
  return (flags & (TCP_SYN | TCP_FIN | TCP_RST)) === 0 && (flags & TCP_ACK) !== 0;
}

/** A plain SYN as conntrack indexes TCP flags (PSH, URG, ECE and CWR aside). */
function isSyn(flags: number): boolean {
  return (flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) === TCP_SYN;
}

/**
 * What conntrack makes of `spec` when no connection exists for it, or undefined when that is
 * plainly NEW (or the packet does not say enough to tell). `loose` is
 * net.netfilter.nf_conntrack_tcp_loose as the node facts give it.
 */
export function withoutConnection(spec: PacketSpec, loose: string | undefined): Unconnected | undefined {
  if (spec.proto === 6 && spec.tcpFlags !== undefined) {
    const f = spec.tcpFlags;
    if (isSyn(f)) return undefined;
    // tcp_new: a bare ACK is picked up mid-stream unless nf_conntrack_tcp_loose is 0; SYN-ACK,
    // FIN, RST and any other combination open nothing, and the packet goes on without a connection.
    if (isBareAck(f)) {
      if (loose?.trim() === "0") return { state: "INVALID", why: "with nf_conntrack_tcp_loose=0 conntrack finds a bare ACK with no connection INVALID", withConnection: "established" };
      return { state: "NEW", why: `conntrack picks a bare ACK up mid-stream as NEW (nf_conntrack_tcp_loose=1${loose === undefined ? ", the default" : ""})` };
    }
    return { state: "INVALID", why: "conntrack finds these TCP flags INVALID for a packet with no connection (only a SYN, or a bare ACK picked up mid-stream, opens one)", withConnection: "established" };
  }
  if ((spec.proto === 1 || spec.proto === 58) && spec.icmpType !== undefined) {
    const t = spec.icmpType;
    const v6 = spec.proto === 58;
    if (v6 && ICMPV6_UNTRACKED.has(t)) return alwaysUntracked(spec);
    if ((v6 ? ICMPV6_OPENS : ICMP_OPENS).has(t)) return undefined;
    if (v6 ? t < 128 : ICMP_ERRORS.has(t)) {
      return { state: "INVALID", why: "conntrack finds an ICMP error INVALID when the connection it is about does not exist", withConnection: "related" };
    }
    const what = t === (v6 ? 129 : 0) ? "an echo reply" : `ICMP${v6 ? "v6" : ""} type ${t}`;
    return { state: "INVALID", why: `conntrack opens no connection for ${what} and finds it INVALID with none (only requests open one)`, withConnection: "established" };
  }
  return undefined;
}

/** ICMPv6 neighbour discovery, MLD and multicast router discovery, which conntrack never tracks. */
export function alwaysUntracked(spec: PacketSpec): Unconnected | undefined {
  if (spec.proto !== 58 || spec.icmpType === undefined || !ICMPV6_UNTRACKED.has(spec.icmpType)) return undefined;
  return { state: "UNTRACKED", why: "conntrack leaves ICMPv6 neighbour discovery, MLD and multicast router discovery messages untracked (UNTRACKED), whatever state is said" };
}

export interface LaterStatus {
  status: CtStatusBit[];
  unknown: Partial<Record<CtStatusBit, string>>;
}

/**
 * The status bits an ESTABLISHED packet's rules see. The original direction is ESTABLISHED only
 * once a reply was seen (SEEN_REPLY), and a later packet's connection is confirmed. A reply sees
 * SEEN_REPLY too: nf_conntrack_in sets it before the hooks after conntrack's run.
 *
 * ASSURED depends on the protocol: TCP sets it on the ACK that completes the handshake (or the
 * first original-direction packet after a reply to a picked-up connection), so every later
 * original-direction packet and every reply after the first has it; the first reply (the
 * SYN-ACK) does not. UDP sets it, on current kernels, only once traffic went both ways and the
 * connection is over 2 seconds old: unknown, except on the first reply. ICMP never sets it.
 * Other protocols: unknown.
 */
export function establishedStatus(spec: PacketSpec, firstReply: boolean): LaterStatus {
  const status: CtStatusBit[] = ["SEEN_REPLY", "CONFIRMED"];
  const unknown: Partial<Record<CtStatusBit, string>> = {};
  const reply = spec.reply === true;
  if (reply && firstReply) {
    // The first reply: every tracker sets ASSURED only on a packet after a reply was seen
    // (TCP's on the handshake's last ACK, after this SYN-ACK).
  } else if (spec.proto === 6) {
    if (!reply) status.push("ASSURED");
    else if (spec.tcpFlags !== undefined && (spec.tcpFlags & TCP_SYN) !== 0) {
      // A SYN-ACK is the first reply.
    } else if (spec.tcpFlags !== undefined) status.push("ASSURED");
    else unknown.ASSURED = "whether conntrack has set ASSURED on the connection: a reply has it unless it is the SYN-ACK; give its TCP flags";
  } else if (spec.proto === 1 || spec.proto === 58) {
    // Never set for ICMP.
  } else {
    unknown.ASSURED = spec.proto === 17
      ? "whether conntrack has set ASSURED on the UDP connection: current kernels set it once traffic went both ways and the connection is over 2 seconds old"
      : "whether conntrack has set ASSURED on the connection: it depends on the protocol's tracker and the connection's history";
  }
  return { status, unknown };
}

/** A RELATED packet's connection is another one (an expectation's, or the one an ICMP error is about): its status is not said. */
export function relatedStatus(): LaterStatus {
  const why = "the status of the connection a RELATED packet belongs to is not said";
  return { status: [], unknown: { EXPECTED: why, SEEN_REPLY: why, ASSURED: why, CONFIRMED: why } };
}
