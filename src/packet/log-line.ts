/**
 * A packet from a line the kernel or xtables-monitor printed about it, read field by field
 * in the order they are printed — never by searching the text, since the LOG prefix is free
 * text (`SYN-FLOOD: `) and an ICMP error embeds the packet it is about in `[...]`.
 *
 * The LOG target (net/netfilter/nf_log_syslog.c) prints
 *   PREFIX IN=.. OUT=.. [PHYSIN=.. PHYSOUT=..] [MAC=dst:src:type | MACSRC=.. MACDST=.. MACPROTO=..]
 *   IPv4: SRC=.. DST=.. LEN=.. TOS=0x.. PREC=0x.. TTL=.. ID=.. [CE] [DF] [MF] [FRAG:N] [OPT (..)]
 *   IPv6: SRC=.. DST=.. LEN=.. TC=.. HOPLIMIT=.. FLOWLBL=.. [extension headers]
 *   then PROTO=TCP SPT=.. DPT=.. [SEQ=.. ACK=..] WINDOW=.. RES=0x.. [CWR ECE URG ACK PSH RST SYN FIN] URGP=.. [OPT (..)]
 *     or PROTO=UDP|UDPLITE SPT=.. DPT=.. LEN=..,  PROTO=ICMP|ICMPv6 TYPE=.. CODE=.. [...],  PROTO=N
 *   then [UID=.. GID=..] [MARK=0x..] (MARK only when the mark is not 0).
 * The prefix is glued to IN= (`--log-prefix DROP` gives `DROPIN=eth0`). IN= is always
 * printed, empty for a locally generated packet. TOS= holds the TOS byte's bits 0x1e and
 * PREC= its bits 0xe0; bit 0x01 is not printed.
 *
 * xtables-monitor --trace prints `PACKET: FAMILY ID [IN=..] [OUT=..] [MACSRC=.. MACDST=..
 * MACPROTO=..] SRC=.. DST=.. LEN=.. TOS=0x.. TTL=.. ID=.. [DF] [SPORT=.. DPORT=.. [flags]]
 * [MARK=0x..]`: no IN= for a locally generated packet, and no protocol.
 *
 * A line says nothing about conntrack: the state is left unsaid, as in the text form.
 */
import type { PacketSpec } from "../model/packet.js";
import { hasPorts, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP } from "../model/packet.js";
import { addressFamily, canonicalAddress } from "../model/address.js";
import { interfaceNameProblem } from "../facts/interface-name.js";
import { finish, portNumber, type FieldColumns, type PacketParse } from "./checks.js";
import { TCP_FLAG_BITS } from "./tcp-flags.js";

interface Token {
  w: string;
  col: number;
}

/** TCP flag words as both printers print them; CWR and ECE are bits no iptables match reads. */
const FLAG_WORDS = new Set([...Object.keys(TCP_FLAG_BITS), "CWR", "ECE"]);

/** The LOG target's PROTO= names (others are printed as numbers). */
const PROTO_UDPLITE = 136;
const LOG_PROTOCOLS: Readonly<Record<string, number>> = { TCP: PROTO_TCP, UDP: PROTO_UDP, UDPLITE: PROTO_UDPLITE, ICMP: PROTO_ICMP, ICMPv6: PROTO_ICMPV6, AH: 51, ESP: 50 };

const LOG_NETWORK_KEYS = new Set(["IN", "OUT", "PHYSIN", "PHYSOUT", "MAC", "MACSRC", "MACDST", "MACPROTO", "SRC", "DST", "LEN", "TOS", "PREC", "TTL", "ID", "TC", "HOPLIMIT", "FLOWLBL", "PROTO"]);
const LOG_TRANSPORT_KEYS = new Set(["SPT", "DPT", "SEQ", "ACK", "WINDOW", "RES", "URGP", "LEN", "TYPE", "CODE", "ID", "PARAMETER", "GATEWAY", "MTU", "POINTER", "SPI", "UID", "GID", "MARK"]);
const TRACE_KEYS = new Set(["IN", "OUT", "MACSRC", "MACDST", "MACPROTO", "SRC", "DST", "LEN", "TOS", "TTL", "ID", "TC", "HOPLIMIT", "FLOWLBL", "SPORT", "DPORT", "MARK"]);

type Fields = Map<string, Token>;

interface Read {
  net: Fields;
  transport: Fields;
  flags: Token[];
  fragment: boolean;
}

const fail = (error: string, t: Token | undefined, fallback = 1): PacketParse => ({ ok: false, error, col: t?.col ?? fallback });

export function parseLogLine(line: string): PacketParse {
  const tokens: Token[] = [...line.matchAll(/\S+/g)].map((m) => ({ w: m[0], col: m.index! + 1 }));
  const packet = tokens.findIndex((t) => t.w === "PACKET:");
  if (packet >= 0) return traceLine(tokens, packet);
  // The prefix is free text glued to IN=: the field is the first IN= that OUT= follows.
  let k = -1;
  let inAt = -1;
  for (let i = 0; i + 1 < tokens.length && k < 0; i++) {
    const p = tokens[i]!.w.indexOf("IN=");
    if (p >= 0 && tokens[i + 1]!.w.startsWith("OUT=")) [k, inAt] = [i, p];
  }
  if (k < 0) {
    const near = tokens.find((t) => /IN=|SRC=/.test(t.w));
    return fail("not a kernel LOG line: it has no IN=... OUT=... fields (the LOG target prints IN= before SRC=, empty for a locally generated packet)", near);
  }
  const fields = [{ w: tokens[k]!.w.slice(inAt), col: tokens[k]!.col + inAt }, ...tokens.slice(k + 1)];
  const r = readFields(fields, "log");
  if ("ok" in r) return r;
  return build(r, "log");
}

function traceLine(tokens: Token[], at: number): PacketParse {
  const family = tokens[at + 1];
  const id = tokens[at + 2];
  if (!family || !/^\d+$/.test(family.w) || !id || !/^[0-9a-f]{1,8}$/i.test(id.w)) return fail("a PACKET line starts PACKET: FAMILY ID (as xtables-monitor --trace prints it)", family ?? tokens[at]);
  const r = readFields(tokens.slice(at + 3), "trace");
  if ("ok" in r) return r;
  return build(r, "trace");
}

/** Splits the fields into the network part and (LOG lines) the transport part after PROTO=; anything unknown is an error. */
function readFields(tokens: Token[], kind: "log" | "trace"): Read | PacketParse {
  const r: Read = { net: new Map(), transport: new Map(), flags: [], fragment: false };
  let part = r.net;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const w = t.w;
    if (w.startsWith("[") && part === r.transport) {
      // The packet an ICMP error is about, or INCOMPLETE's byte count: not this packet's fields.
      if (tokens[i - 1]?.w === "INCOMPLETE") return fail("the line says this packet's transport header is incomplete (INCOMPLETE): its ports and flags are unknown", tokens[i - 1]);
      while (i < tokens.length && !tokens[i]!.w.endsWith("]")) i++;
      continue;
    }
    if (w === "OPT" && tokens[i + 1]?.w.startsWith("(")) {
      i++;
      while (i < tokens.length && !tokens[i]!.w.endsWith(")")) i++;
      continue;
    }
    const kv = /^([A-Z]+)=(.*)$/.exec(w);
    if (kv) {
      const key = kv[1]!;
      const known = kind === "trace" ? TRACE_KEYS : part === r.net ? LOG_NETWORK_KEYS : LOG_TRANSPORT_KEYS;
      if (!known.has(key)) return fail(`unexpected field ${key}= in a ${kind === "log" ? "LOG" : "PACKET"} line${kind === "log" && part === r.net && LOG_TRANSPORT_KEYS.has(key) ? " before PROTO=" : ""}`, t);
      if (part.has(key)) return fail(`${key}= given twice (first at column ${part.get(key)!.col})`, t);
      part.set(key, { w: kv[2]!, col: t.col + key.length + 1 });
      if (key === "PROTO" && kind === "log") part = r.transport;
      continue;
    }
    if (FLAG_WORDS.has(w) && (kind === "trace" || part === r.transport)) {
      const first = r.flags.find((f) => f.w === w);
      if (first) return fail(`TCP flag ${w} given twice (first at column ${first.col})`, t);
      r.flags.push(t);
      continue;
    }
    if (part === r.net && (w === "CE" || w === "DF" || w === "MF")) continue;
    const frag = /^FRAG:(\d+)$/.exec(w);
    if (part === r.net && frag) {
      if (Number(frag[1]) > 0) r.fragment = true;
      continue;
    }
    // An IPv6 fragment header: its identification and "more fragments".
    if (part === r.net && (/^ID:[0-9a-fA-F]+$/.test(w) || w === "INCOMPLETE")) continue;
    if (w === "INCOMPLETE") return fail("the line says this packet's transport header is incomplete (INCOMPLETE): its ports and flags are unknown", t);
    return fail(`unexpected ${JSON.stringify(w)} in a ${kind === "log" ? "LOG" : "PACKET"} line${FLAG_WORDS.has(w) ? " (TCP flags come after PROTO=TCP)" : ""}`, t);
  }
  return r;
}

const hexByte = (s: string) => (/^0x[0-9a-fA-F]{1,2}$/.test(s) ? parseInt(s.slice(2), 16) : undefined);
const decimal = (s: string, max: number) => (/^\d{1,10}$/.test(s) && Number(s) <= max ? Number(s) : undefined);

/** A MAC as printed (`52:54:00:8e:1a:11`, or xtables-monitor's unpadded `72:c5:7:f2:b3:fb`), in canonical form. */
function macOf(s: string): string | undefined {
  const bytes = s.split(":");
  if (bytes.length !== 6 || !bytes.every((b) => /^[0-9a-fA-F]{1,2}$/.test(b))) return undefined;
  return bytes.map((b) => b.toLowerCase().padStart(2, "0")).join(":");
}

function build(r: Read, kind: "log" | "trace"): PacketParse {
  const notes: string[] = [];
  const at: FieldColumns = {};
  const src = r.net.get("SRC");
  const dst = r.net.get("DST");
  if (!src || !dst) return fail("the line has no SRC= and DST= fields", src ?? dst);
  const family = addressFamily(dst.w);
  if (!family) return fail(`DST=${dst.w} is not an address`, dst);
  if (addressFamily(src.w) !== family) return fail(`SRC=${src.w} is not an ${family === "ipv4" ? "IPv4" : "IPv6"} address like DST=`, src);
  at.src = src.col;
  at.dst = dst.col;

  const inField = r.net.get("IN");
  let from: string;
  if (inField === undefined || inField.w === "") {
    // The LOG target prints IN= always (empty when there is no input device); xtables-monitor leaves it out.
    from = "local";
    notes.push(kind === "log" ? "IN= is empty: a locally generated packet" : "no IN=: a locally generated packet");
  } else {
    const bad = interfaceNameProblem(inField.w);
    if (bad) return fail(`IN=: ${bad}`, inField);
    from = inField.w;
    at.from = inField.col;
  }
  for (const k of ["OUT", "PHYSIN", "PHYSOUT"]) {
    const v = r.net.get(k);
    const bad = v && v.w !== "" ? interfaceNameProblem(v.w) : undefined;
    if (bad) return fail(`${k}=: ${bad}`, v);
  }

  const ports = kind === "log" ? r.transport : r.net;
  let proto: number;
  const protoField = r.net.get("PROTO");
  if (kind === "log") {
    if (!protoField) return fail("the line has no PROTO= field (the LOG target always prints it: is the line cut short?)", dst);
    const n = LOG_PROTOCOLS[protoField.w] ?? decimal(protoField.w, 255);
    if (n === undefined) return fail(`unknown PROTO=${protoField.w} (expected ${Object.keys(LOG_PROTOCOLS).join(", ")} or a number 0-255)`, protoField);
    proto = n;
    at.proto = protoField.col;
  } else {
    const sport = r.net.get("SPORT");
    if (!sport) return fail("a PACKET line without SPORT= does not say its protocol (xtables-monitor prints none): give the packet in the text form", dst);
    proto = r.flags.length ? PROTO_TCP : PROTO_UDP;
    at.proto = sport.col;
    if (!r.flags.length) notes.push("xtables-monitor prints no protocol: SPORT= without TCP flags read as UDP (a TCP packet with no flag set would print the same)");
  }
  const p: PacketSpec = { family, from, src: canonicalAddress(src.w, family), dst: canonicalAddress(dst.w, family), proto };
  if (r.fragment) p.fragment = true;

  const number = (part: Fields, key: string, max: number, parse: (s: string, max: number) => number | undefined = decimal): number | PacketParse | undefined => {
    const f = part.get(key);
    if (!f) return undefined;
    const v = parse(f.w, max);
    return v === undefined ? fail(`bad ${key}=${f.w} (expected ${parse === decimal ? `a number 0-${max}` : `0x hex 0-0x${max.toString(16)}`})`, f) : v;
  };
  const len = number(r.net, "LEN", family === "ipv4" ? 65535 : 65535 + 40);
  if (typeof len === "object") return len;
  if (len !== undefined) p.length = len;
  const ttl = number(r.net, family === "ipv4" ? "TTL" : "HOPLIMIT", 255);
  if (typeof ttl === "object") return ttl;
  if (ttl !== undefined) p.ttl = ttl;
  if (family === "ipv4") {
    const tos = number(r.net, "TOS", 255, hexByte);
    const prec = number(r.net, "PREC", 255, hexByte);
    if (typeof tos === "object") return tos;
    if (typeof prec === "object") return prec;
    if (tos !== undefined) {
      if (kind === "log") {
        if ((tos & ~0x1e) !== 0) return fail(`bad TOS=0x${tos.toString(16)}: the LOG target prints only bits 0x1e there`, r.net.get("TOS"));
        if (prec !== undefined && (prec & ~0xe0) !== 0) return fail(`bad PREC=0x${prec.toString(16)}: the LOG target prints only bits 0xe0 there`, r.net.get("PREC"));
        p.tos = tos | (prec ?? 0);
        notes.push("the TOS byte's bit 0x01 (ECN) is not in a LOG line: taken as 0");
      } else p.tos = tos;
    }
  } else {
    const tc = number(r.net, "TC", 255);
    if (typeof tc === "object") return tc;
    if (tc !== undefined) p.tos = tc;
  }
  const mac = r.net.get("MACSRC") ?? r.net.get("MAC");
  if (mac && mac.w !== "") {
    // MAC= is the whole link-layer header; on Ethernet, destination (6 bytes), source (6), type (2).
    const bytes = mac.w.split(":");
    const m = r.net.has("MACSRC") ? macOf(mac.w) : bytes.length === 14 ? macOf(bytes.slice(6, 12).join(":")) : undefined;
    if (r.net.has("MACSRC") && !m) return fail(`bad MACSRC=${mac.w} (expected six hex bytes separated by colons)`, mac);
    if (m) p.srcMac = m;
  }

  // The LOG target prints ports for TCP, UDP and UDP-Lite only; xtables-monitor for TCP and UDP.
  const portsPrinted = proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_UDPLITE;
  if (hasPorts(proto) && !portsPrinted && !p.fragment) notes.push(`a LOG line prints no ports for protocol ${proto}: its ports are unknown`);
  if (portsPrinted && !p.fragment) {
    const sKey = kind === "log" ? "SPT" : "SPORT";
    const dKey = kind === "log" ? "DPT" : "DPORT";
    const s = ports.get(sKey);
    const d = ports.get(dKey);
    if (!s || !d) return fail(`the line has no ${s ? dKey : sKey}= field for a ${protoField?.w ?? "TCP or UDP"} packet (is it cut short?)`, s ?? protoField ?? dst);
    const sp = portNumber(s.w);
    if (sp === undefined) return fail(`bad ${sKey}=${s.w} (expected a port 0-65535)`, s);
    const dp = portNumber(d.w);
    if (dp === undefined) return fail(`bad ${dKey}=${d.w} (expected a port 0-65535)`, d);
    p.sport = sp;
    p.dport = dp;
    at.sport = s.col;
    at.dport = d.col;
  } else {
    const stray = ports.get(kind === "log" ? "SPT" : "SPORT");
    if (stray && kind === "log") return fail(`SPT= on a PROTO=${protoField!.w} packet, which has no ports`, stray);
  }
  if (proto === PROTO_TCP && !p.fragment) {
    let v = 0;
    for (const f of r.flags) v |= TCP_FLAG_BITS[f.w] ?? 0;
    p.tcpFlags = v;
    if (r.flags.length) at.tcpFlags = r.flags[0]!.col;
    const ecn = r.flags.filter((f) => f.w === "CWR" || f.w === "ECE").map((f) => f.w);
    if (ecn.length) notes.push(`TCP flag${ecn.length > 1 ? "s" : ""} ${ecn.join(" ")} left out: no iptables match netfate models reads ${ecn.length > 1 ? "them" : "it"}`);
  } else if (r.flags.length && kind === "log") return fail(`TCP flag ${r.flags[0]!.w} on a PROTO=${protoField!.w} packet`, r.flags[0]);
  if ((proto === PROTO_ICMP || proto === PROTO_ICMPV6) && !p.fragment) {
    const type = number(r.transport, "TYPE", 255);
    if (typeof type === "object") return type;
    const code = number(r.transport, "CODE", 255);
    if (typeof code === "object") return code;
    if (type === undefined) return fail("the line has no TYPE= field for an ICMP packet (is it cut short?)", protoField);
    p.icmpType = type;
    if (code !== undefined) p.icmpCode = code;
    at.icmpType = r.transport.get("TYPE")!.col;
  }
  const markPart = kind === "log" ? r.transport : r.net;
  const mark = number(markPart, "MARK", 0xffffffff, (s) => (/^0x[0-9a-fA-F]{1,8}$/.test(s) ? parseInt(s.slice(2), 16) : undefined));
  if (typeof mark === "object") return mark;
  if (mark !== undefined) {
    p.mark = mark;
    at.mark = markPart.get("MARK")!.col;
  }
  return finish(p, notes, at);
}
