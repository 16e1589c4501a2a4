/** Words shared by every renderer: how a packet, a fate and a step read. */
import type { PacketSpec } from "../model/packet.js";
import { protocolName } from "../extensions/protocols.js";
import type { Fate, Outcome, PacketSnapshot, Step } from "../model/evaluation.js";
import { ruleSaveLine } from "../print/save.js";
import type { Family } from "../model/ast.js";

export function endpointText(addr: string | undefined, port: number | undefined): string {
  const a = addr ?? "(chosen by routing)";
  if (port === undefined) return a;
  return a.includes(":") ? `[${a}]:${port}` : `${a}:${port}`;
}

export function packetText(p: PacketSpec): string {
  const proto = p.proto === 58 ? "icmpv6" : protocolName(p.proto);
  let s = `${proto} ${endpointText(p.src, p.sport)} -> ${endpointText(p.dst, p.dport)}`;
  if (p.icmpType !== undefined) s += ` type ${p.icmpType}${p.icmpCode !== undefined ? `/${p.icmpCode}` : ""}`;
  s += p.from === "local" ? " local" : ` in ${p.from}`;
  if (p.mark) s += ` mark 0x${p.mark.toString(16)}`;
  if (p.state && p.state !== "new") s += ` ${p.state}`;
  if (p.reply) s += " reply";
  // A SYN is what a TCP packet is unless said otherwise; other flags change its fate.
  if (p.tcpFlags !== undefined && p.tcpFlags !== 0x02) s += ` flags ${tcpFlagLetters(p.tcpFlags)}`;
  return s;
}

/** TCP flags as the packet text writes them (`SA`, `FA`, `R`), in the order S, A, F, R, P, U. */
function tcpFlagLetters(f: number): string {
  const order: Array<[string, number]> = [["S", 0x02], ["A", 0x10], ["F", 0x01], ["R", 0x04], ["P", 0x08], ["U", 0x20]];
  const s = order.filter(([, bit]) => (f & bit) !== 0).map(([l]) => l).join("");
  return s === "" ? "none" : s;
}

export function snapshotText(p: PacketSnapshot): string {
  let s = `${endpointText(p.src, p.sport)} -> ${endpointText(p.dst, p.dport)}`;
  if (p.mark !== "0x0") s += ` mark ${p.mark}`;
  if (p.ctmark !== "0x0") s += ` ctmark ${p.ctmark}`;
  return s;
}

export function fateText(f: Fate): string {
  switch (f.kind) {
    case "delivered":
      return `delivered locally${f.iface ? ` (arrived on ${f.iface})` : ""}`;
    case "forwarded":
      return `forwarded out ${f.iface}${f.via ? ` via ${f.via}` : ""}`;
    case "sent":
      return `sent out ${f.iface}${f.via ? ` via ${f.via}` : ""}`;
    case "dropped":
      return `DROPPED by ${chainPlaceText(f)} ${f.rule === "policy" ? "policy" : `rule ${f.rule}`}${handleText(f.nft)} (hook ${f.hook})`;
    case "rejected":
      return `REJECTED (${f.with}) by ${chainPlaceText(f)} rule ${f.rule}${handleText(f.nft)} (hook ${f.hook})`;
    case "queued":
      return `QUEUED to user space${f.queue ? ` (${f.queue})` : ""} by ${chainPlaceText(f)} rule ${f.rule}${handleText(f.nft)}`;
    case "unroutable":
      return `unroutable: ${f.reason}`;
    case "martian":
      return `DROPPED by the routing decision${f.iface ? ` on ${f.iface}` : ""}: ${f.check === "rp_filter" ? "" : `martian ${f.check}: `}${f.reason}`;
    case "indeterminate":
      return `indeterminate: ${f.reason}`;
    case "error":
      return `error: ${f.reason}`;
    case "reply-lost":
      return `REPLY LOST: ${f.reason}${f.parted ? ` (${f.parted})` : ""}`;
  }
}

export function isDrop(o: Pick<Outcome, "fate">): boolean {
  return o.fate.kind === "dropped" || o.fate.kind === "rejected" || o.fate.kind === "martian" || o.fate.kind === "reply-lost";
}

/** The rule as iptables-save prints it (`-A CHAIN ...`), or the policy line. */
/**
 * Where a step or fate happened, as its users name it: `nat KUBE-SEP-X` for an iptables
 * table (`legacy nat KUBE-SEP-X` for iptables-legacy's, on a node that runs both backends),
 * `ip kube-proxy services` (family, table, chain, as `nft list chain` takes them) for nftables.
 */
export function chainPlaceText(p: { table: string; chain: string; nft?: { family: string; table: string }; legacy?: true }): string {
  return p.nft ? `${p.nft.family} ${p.nft.table} ${p.chain}` : `${p.legacy ? "legacy " : ""}${p.table} ${p.chain}`;
}

/** ` (handle 12)` for an nft rule whose handle the input gave. */
function handleText(p: { handle?: number } | undefined): string {
  return p?.handle !== undefined ? ` (handle ${p.handle})` : "";
}

export function stepRuleText(s: Step, family: Family): string {
  if (s.ruleNode) return ruleSaveLine(s.chain, s.ruleNode, family, false);
  // An nft rule as `nft list` prints it, with the verdict map element it chose.
  if (s.nft) return `${s.nft.text ?? `policy ${s.verdict.toLowerCase()}`}${handleText(s.nft)}${s.nft.element ? `  [${s.nft.element}]` : ""}`;
  // An IPVS step: the virtual service and the chosen real server in ipvsadm-save -n form.
  if (s.ipvs) return s.ipvs.lines.join("\n");
  return `:${s.chain} ${s.verdict}`;
}

export function probabilityText(p: number): string {
  if (p === 1) return "1";
  return p.toFixed(p < 0.001 ? 8 : 4);
}
