/**
 * One possible history of the packet: its probability, the assumptions it rests on, the
 * steps so far and the packet as it is now. Branches fork at `statistic` rules, at matches
 * netfate cannot decide, and at route alternatives.
 */
import type { PacketSnapshot, PacketState, Step } from "./types.js";
import { hex } from "../extensions/util.js";

export interface Branch {
  probability: number;
  assumptions: string[];
  steps: Step[];
  pkt: PacketState;
  /** NAT a nat-table target asked for, applied when the nat table has finished. */
  pendingNat?: { kind: "dnat" | "snat"; addr?: string; port?: number; how: string };
  /** Log lines and other effects noted by targets in the current rule. */
  notes: string[];
  /** A new route chosen during OUTPUT, in force from POSTROUTING on. */
  rerouted?: import("./types.js").RouteDecision;
}

export function clonePacket(p: PacketState): PacketState {
  return {
    ...p,
    ct: {
      ...p.ct,
      orig: { ...p.ct.orig },
      reply: { ...p.ct.reply },
      ...(p.ct.dnat ? { dnat: { ...p.ct.dnat } } : {}),
      ...(p.ct.snat ? { snat: { ...p.ct.snat } } : {}),
      status: new Set(p.ct.status),
    },
  };
}

export function fork(b: Branch, probabilityFactor: number, assumption?: string): Branch {
  const nb: Branch = {
    probability: b.probability * probabilityFactor,
    assumptions: assumption ? [...b.assumptions, assumption] : [...b.assumptions],
    steps: b.steps.slice(),
    pkt: clonePacket(b.pkt),
    notes: [],
  };
  if (b.pendingNat) nb.pendingNat = { ...b.pendingNat };
  if (b.rerouted) nb.rerouted = b.rerouted;
  return nb;
}

export function snapshot(p: PacketState): PacketSnapshot {
  const s: PacketSnapshot = { src: p.src, dst: p.dst, mark: hex(p.mark), ctmark: hex(p.ct.mark), ctstate: p.ct.state };
  if (p.sport !== undefined) s.sport = p.sport;
  if (p.dport !== undefined) s.dport = p.dport;
  if (p.inIface !== undefined) s.inIface = p.inIface;
  if (p.outIface !== undefined) s.outIface = p.outIface;
  return s;
}

export function sameSnapshot(a: PacketSnapshot, b: PacketSnapshot): boolean {
  return a.src === b.src && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport && a.mark === b.mark &&
    a.ctmark === b.ctmark && a.ctstate === b.ctstate && a.inIface === b.inIface && a.outIface === b.outIface;
}

/** `10.0.0.1:80`, `[2001:db8::1]:80`, or the bare address. */
export function endpoint(addr: string, port: number | undefined): string {
  if (port === undefined) return addr;
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}
