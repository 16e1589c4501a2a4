/**
 * What every packet reader ends with: the defaults that are said out loud, then the checks
 * a whole packet must pass, each blamed on the column of the field at fault.
 */
import type { PacketSpec } from "../model/packet.js";
import { hasPorts, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP } from "../model/packet.js";

export type PacketParse = { ok: true; packet: PacketSpec; notes: string[] } | { ok: false; error: string; col?: number };

/** A field of a packet a problem can be blamed on; each reader knows where it read each. */
export type PacketField = "from" | "src" | "dst" | "proto" | "sport" | "dport" | "tcpFlags" | "icmpType" | "mark";

/** Where each field was read (1-based column), for errors found once the packet is whole. */
export type FieldColumns = Partial<Record<PacketField, number>>;

/** A port as the kernel prints it and users type it: decimal 0-65535. */
export function portNumber(s: string): number | undefined {
  return /^\d{1,5}$/.test(s) && Number(s) <= 65535 ? Number(s) : undefined;
}

/** What makes a packet impossible (ports on a protocol without them, ...), and which field to blame. */
export function packetProblem(p: PacketSpec): { error: string; field: PacketField } | undefined {
  if (p.sport !== undefined && !hasPorts(p.proto)) return { error: `protocol ${p.proto} has no ports`, field: "sport" };
  if (p.dport !== undefined && !hasPorts(p.proto)) return { error: `protocol ${p.proto} has no ports`, field: "dport" };
  if (p.tcpFlags !== undefined && p.proto !== PROTO_TCP) return { error: "TCP flags on a packet that is not TCP", field: "tcpFlags" };
  if (p.icmpType !== undefined && p.proto !== PROTO_ICMP && p.proto !== PROTO_ICMPV6) return { error: "an ICMP type on a packet that is not ICMP", field: "icmpType" };
  if (p.family === "ipv4" && p.proto === PROTO_ICMPV6) return { error: "icmpv6 in an IPv4 packet", field: "proto" };
  if (p.family === "ipv6" && p.proto === PROTO_ICMP) return { error: "icmp in an IPv6 packet (use icmpv6)", field: "proto" };
  if (p.from !== "local" && !p.src) return { error: "a packet arriving on an interface needs a source address", field: "from" };
  if (p.mark !== undefined && (p.mark < 0 || p.mark > 0xffffffff)) return { error: "mark out of range", field: "mark" };
  return undefined;
}

/** Checks a packet makes sense; the reason it does not, or undefined. */
export function validatePacket(p: PacketSpec): string | undefined {
  return packetProblem(p)?.error;
}

/**
 * Defaults that are said (a TCP packet without flags is a SYN; a non-first fragment has no
 * TCP header, so no flags), then the checks, blamed on a column.
 */
export function finish(p: PacketSpec, notes: string[], at: FieldColumns): PacketParse {
  if (p.proto === PROTO_TCP && p.tcpFlags === undefined && (p.state ?? "new") === "new" && !p.reply && !p.fragment) {
    p.tcpFlags = 0x02;
    notes.push("TCP flags not given: a new connection's first packet, SYN");
  }
  const bad = packetProblem(p);
  if (bad) {
    const col = at[bad.field] ?? at.proto;
    return { ok: false, error: bad.error, ...(col !== undefined ? { col } : {}) };
  }
  return { ok: true, packet: p, notes };
}

