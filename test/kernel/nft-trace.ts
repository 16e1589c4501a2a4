/**
 * Reads `nft -a monitor trace` (nftables 1.0.6) into each injected packet's kernel path: the
 * ordered rule and policy events of every table it met (native nft tables and iptables-nft's
 * alike), with family, table, chain, rule handle and verdict, and the headers each base chain
 * saw (so rewrites show: a DNAT'd destination in the next base chain's `packet:` line).
 *
 * The line shapes, as captured in test/kernel/fixtures/nft-monitor-trace.txt:
 *   trace id ID FAMILY TABLE CHAIN packet: iif "veth0" ... ip saddr A ip daddr B ... ip id N ...
 *   trace id ID FAMILY TABLE CHAIN rule RULE TEXT # handle H (verdict V)   (no `# handle H` without -a)
 *   trace id ID FAMILY TABLE CHAIN unknown rule handle H (verdict V)   (rule loaded after nft cached)
 *   trace id ID FAMILY TABLE CHAIN policy V [meta mark 0x...]
 *   trace id ID FAMILY TABLE CHAIN verdict V [meta mark 0x...]         (the end of a regular chain)
 * Only rules that gave a verdict appear (continue included): a rule whose match failed prints
 * nothing, so a trace is the path's matched rules, not every rule tried.
 */
import { continuesPacket } from "./harness.js";

export interface NftTraceStep {
  family: string;
  table: string;
  chain: string;
  kind: "rule" | "policy" | "verdict";
  /** The rule's handle (rules only, and only when the monitor ran with -a). */
  handle?: number;
  /** As nft prints it: accept, drop, continue, return, jump X, goto X, queue... (`reject` prints as drop). */
  verdict: string;
  /** The rule as nft listed it, without its handle (absent for `unknown rule` lines). */
  rule?: string;
}

/** What a base chain's `packet:` line showed of the packet. */
export interface NftPacketView {
  family: string;
  table: string;
  chain: string;
  iif?: string;
  oif?: string;
  saddr?: string;
  daddr?: string;
  /** tcp, udp, icmp... as the transport header printed. */
  l4?: string;
  sport?: number;
  dport?: number;
  ipId?: number;
  mark?: number;
}

export interface NftPacketTrace {
  ipId: number;
  /** The kernel's trace ids this packet's lines carried (a packet looped through lo gets a new one). */
  traceIds: string[];
  steps: NftTraceStep[];
  views: NftPacketView[];
}

export type NftTraceEvent =
  | { traceId: string; type: "packet"; view: NftPacketView }
  | { traceId: string; type: "step"; step: NftTraceStep };

const EVENT = /^trace id ([0-9a-f]+) (ip|ip6|inet|arp|bridge|netdev) (\S+) (\S+) (packet:|rule|unknown rule|policy|verdict) ?(.*?)\s*$/;

/** One line of the monitor's output as an event, or undefined for anything else (blank, `Error:` lines...). */
export function parseTraceLine(line: string): NftTraceEvent | undefined {
  const m = EVENT.exec(line);
  if (!m) return undefined;
  const [, traceId, family, table, chain, kind, rest] = m as unknown as [string, string, string, string, string, string, string];
  if (kind === "packet:") return { traceId, type: "packet", view: { family, table, chain, ...packetFields(rest) } };
  if (kind === "policy" || kind === "verdict") {
    // `policy accept meta mark 0x00000004`: the verdict is the first word.
    return { traceId, type: "step", step: { family, table, chain, kind, verdict: rest.split(" ")[0]! } };
  }
  // The rule text may itself hold `# handle` (in a comment): the handle and verdict are the
  // line's end. Without -a the monitor prints no handle: `rule counter (verdict continue)`.
  const r = /^(.*?)\s*(?:(?:# )?handle (\d+) )?\(verdict ([^)]*)\)$/.exec(rest);
  if (!r) return undefined;
  const step: NftTraceStep = { family, table, chain, kind: "rule", ...(r[2] !== undefined ? { handle: Number(r[2]) } : {}), verdict: r[3]!.trim() };
  if (kind === "rule") step.rule = r[1]!;
  return { traceId, type: "step", step };
}

/** The fields of a `packet:` line the harness needs. */
function packetFields(rest: string): Omit<NftPacketView, "family" | "table" | "chain"> {
  const v: Omit<NftPacketView, "family" | "table" | "chain"> = {};
  const str = (re: RegExp) => re.exec(rest)?.[1];
  const num = (re: RegExp) => {
    const s = str(re);
    return s === undefined ? undefined : Number(s);
  };
  const iif = str(/\biif "([^"]*)"/);
  const oif = str(/\boif "([^"]*)"/);
  const saddr = str(/\bip saddr (\S+)/);
  const daddr = str(/\bip daddr (\S+)/);
  const l4 = str(/\b(tcp|udp|udplite|sctp|dccp|icmp) (?:sport|dport|type)\b/);
  const sport = num(/\b(?:tcp|udp|sctp|dccp|udplite) sport (\d+)/);
  const dport = num(/\b(?:tcp|udp|sctp|dccp|udplite) dport (\d+)/);
  const ipId = num(/\bip id (\d+)/);
  const mark = str(/\bmeta mark (0x[0-9a-f]+)/);
  if (iif !== undefined) v.iif = iif;
  if (oif !== undefined) v.oif = oif;
  if (saddr !== undefined) v.saddr = saddr;
  if (daddr !== undefined) v.daddr = daddr;
  if (l4 !== undefined) v.l4 = l4;
  if (sport !== undefined) v.sport = sport;
  if (dport !== undefined) v.dport = dport;
  if (ipId !== undefined) v.ipId = ipId;
  if (mark !== undefined) v.mark = Number(mark);
  return v;
}

/**
 * The monitor's text as one trace per packet, keyed by IP ID (the harness tags each injected
 * packet with its own). The IP ID, not the trace id, decides which packet a line belongs to:
 * the kernel derives the trace id from the skb's address, so a later packet in a reused skb
 * gets an earlier one's id, and a packet looped through lo gets a new id but keeps its IP ID.
 * An ICMP error the node sends about a packet (after `reject`) has an IP ID of its own that may
 * equal a sent packet's by chance; a packet line whose transport differs from the one first
 * seen for that IP ID is another packet, and so is one without an iif (sent by the node) when
 * the first arrived from outside (only a packet looped through lo comes back under a new trace
 * id); their lines are left out.
 */
export function parseNftTrace(text: string): Map<number, NftPacketTrace> {
  const byTraceId = new Map<string, NftPacketTrace | undefined>();
  const out = new Map<number, NftPacketTrace>();
  for (const line of text.split("\n")) {
    const ev = parseTraceLine(line);
    if (!ev) continue;
    if (ev.type === "packet") {
      const id = ev.view.ipId;
      let tr = byTraceId.get(ev.traceId);
      if (id !== undefined && tr?.ipId !== id) {
        const known = out.get(id);
        const first = known?.views[0];
        if (known && first && !continuesPacket(first, ev.view)) {
          byTraceId.set(ev.traceId, undefined);
          continue;
        }
        tr = known ?? { ipId: id, traceIds: [], steps: [], views: [] };
        out.set(id, tr);
        byTraceId.set(ev.traceId, tr);
      }
      if (!tr) continue;
      if (!tr.traceIds.includes(ev.traceId)) tr.traceIds.push(ev.traceId);
      tr.views.push(ev.view);
      continue;
    }
    byTraceId.get(ev.traceId)?.steps.push(ev.step);
  }
  return out;
}

/**
 * The branch a numgen rule took, as its keys: for `numgen ... vmap { K : V, ... }` the keys
 * whose verdict is the one the kernel gave; for `dnat to numgen ... map { K : ADDR, ... }`
 * (whose verdict is always accept) the keys whose address is `dnatTo`, the destination the
 * packet left with. One key, unless two share a value — then all of them, since the trace
 * cannot tell them apart. Undefined when the step is no such rule.
 */
export function numgenBranch(step: Pick<NftTraceStep, "rule" | "verdict">, dnatTo?: string): string[] | undefined {
  const m = /\bnumgen (?:random|inc) mod \d+(?: offset \d+)? (vmap|map) \{ ([^}]*) \}/.exec(step.rule ?? "");
  if (!m) return undefined;
  const chosen = m[1] === "vmap" ? step.verdict : dnatTo;
  if (chosen === undefined) return undefined;
  const keys: string[] = [];
  for (const el of m[2]!.split(", ")) {
    const [key, value] = el.split(" : ");
    if (value?.trim() === chosen) keys.push(key!.trim());
  }
  return keys;
}
