/**
 * NAT, in one place: the binding a nat-table target asks for, when the nat chains are
 * consulted at all, the binding applied once its table has accepted the packet, conntrack
 * applying (or undoing) a connection's NAT for its later packets, and how a connection's
 * NAT reads in a trace.
 *
 * Targets choose what to translate to (DNAT's range, MASQUERADE's address, REDIRECT's
 * interface address, NETMAP's mapping): that stays in their extension files. What happens
 * to the packet and its conntrack entry then is the same for all of them, and is here.
 */
import { hasPorts } from "../model/packet.js";
import { assume, endpoint, snapshot, type Branch, type PendingNat } from "./branch.js";
import { pendingNatOf, type ConntrackSummary, type NatTo, type PacketState, type Step, type Tuple } from "../model/evaluation.js";

/** The binding a target asked for (TargetEffects.nat), applied when the nat table has finished. */
export const natBinding: (kind: "dnat" | "snat", to: NatTo, how: string) => PendingNat = pendingNatOf;

/** The nat table is consulted only for a connection's first packet (and never when untracked). */
export function natApplies(p: PacketState): boolean {
  return p.ct.state === "NEW" && p.ct.dir === "ORIGINAL";
}

/**
 * Applies the translation a nat target asked for, once its table has accepted the packet:
 * the packet is rewritten, the connection's reply tuple and status record it, and the rule
 * that asked for it shows the rewrite — unless the steps are not `described` (a lean
 * evaluation, TraverseContext.lean: nothing it answers reads a step's rewrites or packet).
 */
export function applyNat(br: Branch, described = true): void {
  const n = br.pendingNat;
  if (!n) return;
  br.pendingNat = undefined;
  const p = br.pkt;
  if (n.portNote !== undefined && hasPorts(p.proto)) assume(br, n.portNote);
  const last = described ? natStep(br.steps) : undefined;
  if (n.kind === "dnat") {
    const before = last && endpoint(p.dst, p.dport);
    if (n.addr !== undefined) p.dst = n.addr;
    if (n.port !== undefined && hasPorts(p.proto)) p.dport = n.port;
    const dnat: Tuple = { src: p.src, dst: p.dst };
    if (p.dport !== undefined) dnat.dport = p.dport;
    p.ct.dnat = dnat;
    p.ct.reply.src = p.dst;
    if (p.dport !== undefined) p.ct.reply.sport = p.dport;
    p.ct.status.add("DNAT");
    if (last) addRewrite(last, `${n.how} ${before} → ${endpoint(p.dst, p.dport)}`, p);
  } else {
    const before = last && endpoint(p.src, p.sport);
    if (n.addr !== undefined) p.src = n.addr;
    if (n.port !== undefined && hasPorts(p.proto)) p.sport = n.port;
    const snat: Tuple = { src: p.src, dst: p.dst };
    if (p.sport !== undefined) snat.sport = p.sport;
    p.ct.snat = snat;
    p.ct.reply.dst = p.src;
    if (p.sport !== undefined) p.ct.reply.dport = p.sport;
    p.ct.status.add("SNAT");
    if (last) addRewrite(last, `${n.how} source ${before} → ${endpoint(p.src, p.sport)}`, p);
  }
}

/** The step of the rule that asked for the translation: the last one that matched. */
function natStep(steps: readonly Step[]): Step | undefined {
  for (let k = steps.length - 1; k >= 0; k--) {
    const st = steps[k]!;
    if (st.matched && st.rule !== "policy") return st;
  }
  return undefined;
}

function addRewrite(s: Step, text: string, p: PacketState): void {
  (s.rewrites ??= []).push(text);
  s.packet = snapshot(p);
}

/**
 * For a packet of a known NATed connection (not its first), conntrack applies the
 * connection's NAT itself at the hook where the nat chains would run: the original
 * direction gets the connection's DNAT before routing and its SNAT on the way out; a reply
 * gets them undone in the same places.
 */
export function conntrackNat(br: Branch, manip: "dst" | "src"): void {
  const p = br.pkt;
  const ct = p.ct;
  if (ct.dir === "REPLY") {
    if (manip === "dst" && ct.status.has("SNAT")) {
      p.dst = ct.orig.src;
      if (ct.orig.sport !== undefined) p.dport = ct.orig.sport;
    }
    if (manip === "src" && ct.status.has("DNAT")) {
      p.src = ct.orig.dst;
      if (ct.orig.dport !== undefined) p.sport = ct.orig.dport;
    }
    return;
  }
  if (ct.state === "NEW") return;
  if (manip === "dst" && ct.status.has("DNAT")) {
    p.dst = ct.reply.src;
    if (ct.reply.sport !== undefined) p.dport = ct.reply.sport;
  }
  if (manip === "src" && ct.status.has("SNAT")) {
    p.src = ct.reply.dst;
    if (ct.reply.dport !== undefined) p.sport = ct.reply.dport;
  }
}

/** The NAT status bits of a connection (none, DNAT, SNAT or both). */
export const natOf = (ct: ConntrackSummary) => ct.status.filter((s) => s === "DNAT" || s === "SNAT");

/** A connection's NAT as a trace says it: `DNAT 10.96.0.10:53 → 10.244.0.2:53 and SNAT ...`. */
export function natText(ct: ConntrackSummary): string {
  const parts: string[] = [];
  if (ct.status.includes("DNAT")) parts.push(`DNAT ${endpoint(ct.orig.dst, ct.orig.dport)} → ${endpoint(ct.reply.src, ct.reply.sport)}`);
  if (ct.status.includes("SNAT")) parts.push(`SNAT ${endpoint(ct.orig.src, ct.orig.sport)} → ${endpoint(ct.reply.dst, ct.reply.dport)}`);
  return parts.join(" and ");
}
