/**
 * Packets as users describe them, three ways: a short text (`tcp 10.244.1.5:43512 ->
 * 10.96.0.10:80 in eth0`), a pasted kernel LOG line or `xtables-monitor --trace` PACKET line,
 * or JSON. Every problem is reported with what was expected; nothing is defaulted silently.
 */
import ipaddr from "ipaddr.js";
import type { Family } from "../model/ast.js";
import type { PacketSpec } from "../model/packet.js";
import { hasPorts, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP } from "../model/packet.js";
import { protocolNumber } from "../extensions/protocols.js";
import { parseUnsigned } from "../extensions/util.js";
import { icmpTypeByName } from "./icmp-names.js";

export type PacketParse = { ok: true; packet: PacketSpec; notes: string[] } | { ok: false; error: string; col?: number };

const FLAG_LETTERS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20 };

export function parseTcpFlagLetters(s: string): number | undefined {
  if (s.toLowerCase() === "none") return 0;
  let v = 0;
  for (const ch of s.toUpperCase()) {
    const b = FLAG_LETTERS[ch];
    if (b === undefined) return undefined;
    v |= b;
  }
  return v;
}

function familyOf(ip: string): Family | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(ip)) return "ipv4";
  if (ipaddr.IPv6.isValid(ip)) return "ipv6";
  return undefined;
}

function canonical(ip: string, f: Family): string {
  return f === "ipv4" ? ipaddr.IPv4.parse(ip).toString() : ipaddr.IPv6.parse(ip).toRFC5952String();
}

/** `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:80`, `2001:db8::1`. */
function endpoint(s: string): { addr: string; port?: number; family: Family } | string {
  let host = s;
  let port: string | undefined;
  const br = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (br) {
    host = br[1]!;
    port = br[2];
  } else if (s.split(":").length === 2) {
    [host, port] = s.split(":") as [string, string];
  }
  const f = familyOf(host);
  if (!f) return `${JSON.stringify(s)} is not an address (expected ADDR or ADDR:PORT, [IPv6]:PORT)`;
  const out: { addr: string; port?: number; family: Family } = { addr: canonical(host, f), family: f };
  if (port !== undefined) {
    const n = Number(port);
    if (!/^\d+$/.test(port) || n > 65535) return `bad port ${JSON.stringify(port)} (expected 0-65535)`;
    out.port = n;
  }
  return out;
}

/** Checks a packet makes sense: ports only on port protocols, an icmp type only on icmp. */
export function validatePacket(p: PacketSpec): string | undefined {
  if ((p.sport !== undefined || p.dport !== undefined) && !hasPorts(p.proto)) return `protocol ${p.proto} has no ports`;
  if (p.tcpFlags !== undefined && p.proto !== PROTO_TCP) return "TCP flags on a packet that is not TCP";
  if (p.icmpType !== undefined && p.proto !== PROTO_ICMP && p.proto !== PROTO_ICMPV6) return "an ICMP type on a packet that is not ICMP";
  if (p.family === "ipv4" && p.proto === PROTO_ICMPV6) return "icmpv6 in an IPv4 packet";
  if (p.family === "ipv6" && p.proto === PROTO_ICMP) return "icmp in an IPv6 packet (use icmpv6)";
  if (p.from !== "local" && !p.src) return "a packet arriving on an interface needs a source address";
  if (p.mark !== undefined && (p.mark < 0 || p.mark > 0xffffffff)) return "mark out of range";
  return undefined;
}

export function parsePacketText(text: string): PacketParse {
  const t = text.trim();
  if (t === "") return { ok: false, error: "empty packet description", col: 1 };
  if (t.startsWith("{")) return parsePacketJson(t);
  if (/(^|\s)(IN=|SRC=)/.test(t)) return parseLogLine(t);
  const words: string[] = [];
  const cols: number[] = [];
  for (const m of t.matchAll(/\S+/g)) {
    words.push(m[0]);
    cols.push(m.index! + 1);
  }
  const colOf = (i: number) => cols[i] ?? t.length + 1;
  const protoWord = words[0]!.toLowerCase();
  const proto = protocolNumber(protoWord === "icmpv6" || protoWord === "icmp6" ? "ipv6-icmp" : protoWord);
  if (proto === undefined) return { ok: false, error: `unknown protocol ${JSON.stringify(words[0])} (expected tcp, udp, icmp, icmpv6, sctp or a number)`, col: 1 };
  let i = 1;
  let src: { addr: string; port?: number; family: Family } | undefined;
  if (words[i] !== "->" && words[i] !== undefined) {
    const e = endpoint(words[i]!);
    if (typeof e === "string") return { ok: false, error: e, col: colOf(i) };
    src = e;
    i++;
  }
  if (words[i] !== "->") return { ok: false, error: `expected "->" between source and destination`, col: words[i] ? colOf(i) : t.length + 1 };
  i++;
  if (!words[i]) return { ok: false, error: "expected a destination after ->", col: t.length + 1 };
  const dst = endpoint(words[i]!);
  if (typeof dst === "string") return { ok: false, error: dst, col: colOf(i) };
  i++;
  if (src && src.family !== dst.family) return { ok: false, error: "source and destination are of different families", col: 1 };
  const p: PacketSpec = { family: dst.family, from: "", dst: dst.addr, proto };
  if (src) {
    p.src = src.addr;
    if (src.port !== undefined) p.sport = src.port;
  }
  if (dst.port !== undefined) p.dport = dst.port;
  const notes: string[] = [];
  while (i < words.length) {
    const w = words[i]!.toLowerCase();
    const arg = words[i + 1];
    const need = (what: string): string | undefined => (arg === undefined ? `${w} needs ${what}` : undefined);
    switch (w) {
      case "in":
      case "from": {
        const e = need("an interface name");
        if (e) return { ok: false, error: e, col: colOf(i) };
        p.from = arg!;
        i += 2;
        continue;
      }
      case "local":
      case "out":
        p.from = "local";
        i++;
        continue;
      case "mark": {
        const e = need("a value");
        const v = arg === undefined ? undefined : parseUnsigned(arg);
        if (e || v === undefined) return { ok: false, error: e ?? `bad mark ${JSON.stringify(arg)} (expected a number or 0x hex)`, col: colOf(i) };
        p.mark = v;
        i += 2;
        continue;
      }
      case "new":
      case "established":
      case "related":
      case "invalid":
        p.state = w;
        i++;
        continue;
      case "reply":
        p.reply = true;
        i++;
        continue;
      case "flags": {
        const v = arg === undefined ? undefined : parseTcpFlagLetters(arg);
        if (v === undefined) return { ok: false, error: `bad TCP flags ${JSON.stringify(arg ?? "")} (expected letters among F S R P A U, e.g. SA, or none)`, col: colOf(i) };
        p.tcpFlags = v;
        i += 2;
        continue;
      }
      case "len":
      case "length":
      case "ttl":
      case "tos": {
        const v = arg === undefined ? undefined : parseUnsigned(arg, w === "len" || w === "length" ? 65535 : 255);
        if (v === undefined) return { ok: false, error: `bad ${w} ${JSON.stringify(arg ?? "")}`, col: colOf(i) };
        if (w === "ttl") p.ttl = v;
        else if (w === "tos") p.tos = v;
        else p.length = v;
        i += 2;
        continue;
      }
      case "mac":
        if (!arg || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(arg)) return { ok: false, error: `bad MAC ${JSON.stringify(arg ?? "")}`, col: colOf(i) };
        p.srcMac = arg.toLowerCase();
        i += 2;
        continue;
      case "frag":
      case "fragment":
        p.fragment = true;
        i++;
        continue;
      case "type": {
        const v = arg === undefined ? undefined : parseIcmp(arg, p.family);
        if (!v) return { ok: false, error: `bad ICMP type ${JSON.stringify(arg ?? "")}`, col: colOf(i) };
        p.icmpType = v.type;
        if (v.code !== undefined) p.icmpCode = v.code;
        i += 2;
        continue;
      }
      default: {
        const v = parseIcmp(words[i]!, p.family);
        if (v && (proto === PROTO_ICMP || proto === PROTO_ICMPV6)) {
          p.icmpType = v.type;
          if (v.code !== undefined) p.icmpCode = v.code;
          i++;
          continue;
        }
        return { ok: false, error: `unexpected ${JSON.stringify(words[i])} (expected in IFACE, local, mark M, established, reply, flags SA, len N, ttl N, an ICMP type)`, col: colOf(i) };
      }
    }
  }
  if (p.from === "") return { ok: false, error: 'say where the packet comes from: "in IFACE" or "local"', col: t.length + 1 };
  return finish(p, notes);
}

function parseIcmp(s: string, family: Family): { type: number; code?: number } | undefined {
  const m = /^(\d+)(?:\/(\d+))?$/.exec(s);
  if (m) return { type: Number(m[1]), ...(m[2] !== undefined ? { code: Number(m[2]) } : {}) };
  return icmpTypeByName(s, family);
}

function finish(p: PacketSpec, notes: string[]): PacketParse {
  if (p.proto === PROTO_TCP && p.tcpFlags === undefined && (p.state ?? "new") === "new" && !p.reply) {
    p.tcpFlags = 0x02;
    notes.push("TCP flags not given: a new connection's first packet, SYN");
  }
  const bad = validatePacket(p);
  if (bad) return { ok: false, error: bad };
  return { ok: true, packet: p, notes };
}

/** The kernel's LOG format (`IN=eth0 OUT= ... SRC= DST= ... PROTO=TCP SPT= DPT= ... SYN`) and xtables-monitor PACKET lines. */
export function parseLogLine(line: string): PacketParse {
  const kv = new Map<string, string>();
  const flags = new Set<string>();
  for (const m of line.matchAll(/([A-Z]+)=(\S*)|\b(SYN|ACK|FIN|RST|PSH|URG)\b/g)) {
    if (m[1]) {
      if (!kv.has(m[1])) kv.set(m[1], m[2]!);
    } else flags.add(m[3]!);
  }
  const src = kv.get("SRC");
  const dst = kv.get("DST");
  if (!src || !dst) return { ok: false, error: "a log line needs SRC= and DST=" };
  const f = familyOf(dst);
  if (!f || familyOf(src) !== f) return { ok: false, error: "SRC= and DST= must be addresses of one family" };
  const protoText = (kv.get("PROTO") ?? "").toLowerCase();
  const proto = protoText === "icmpv6" ? PROTO_ICMPV6 : protocolNumber(protoText);
  if (proto === undefined && !line.includes("SPORT=")) return { ok: false, error: `unknown PROTO=${kv.get("PROTO") ?? ""}` };
  const p: PacketSpec = {
    family: f, from: kv.get("IN") ? kv.get("IN")! : "local", src: canonical(src, f), dst: canonical(dst, f),
    proto: proto ?? (flags.size ? PROTO_TCP : 17),
  };
  const num = (k: string) => (kv.has(k) && /^\d+$/.test(kv.get(k)!) ? Number(kv.get(k)) : undefined);
  const sport = num("SPT") ?? num("SPORT");
  const dport = num("DPT") ?? num("DPORT");
  if (sport !== undefined) p.sport = sport;
  if (dport !== undefined) p.dport = dport;
  const len = num("LEN");
  if (len !== undefined) p.length = len;
  const ttl = num("TTL");
  if (ttl !== undefined) p.ttl = ttl;
  if (kv.has("MARK")) {
    const m = parseUnsigned(kv.get("MARK")!);
    if (m !== undefined) p.mark = m;
  }
  if (kv.has("TOS")) {
    const t = parseUnsigned(kv.get("TOS")!, 255);
    if (t !== undefined) p.tos = t;
  }
  const type = num("TYPE");
  if (type !== undefined && (p.proto === PROTO_ICMP || p.proto === PROTO_ICMPV6)) {
    p.icmpType = type;
    const code = num("CODE");
    if (code !== undefined) p.icmpCode = code;
  }
  if (p.proto === PROTO_TCP) {
    let v = 0;
    for (const fl of flags) v |= { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32 }[fl as "FIN"]!;
    p.tcpFlags = v;
    if (!(v & 0x02) || v & 0x10) p.state = "established";
  }
  const notes: string[] = [];
  if (p.from === "local") notes.push("IN= is empty: a locally generated packet");
  const bad = validatePacket(p);
  if (bad) return { ok: false, error: bad };
  return { ok: true, packet: p, notes };
}

/** `{"from":"eth0","src":...,"dst":...,"proto":"tcp","sport":1,"dport":2,"tcp_flags":"S","icmp_type":"echo-request","mark":"0x0","state":"new"}` */
export function parsePacketJson(text: string | object): PacketParse {
  let o: Record<string, unknown>;
  try {
    o = (typeof text === "string" ? JSON.parse(text) : text) as Record<string, unknown>;
  } catch (e) {
    return { ok: false, error: `not JSON: ${(e as Error).message}` };
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return { ok: false, error: "a packet is a JSON object" };
  const known = new Set(["from", "src", "dst", "proto", "sport", "dport", "tcp_flags", "icmp_type", "icmp_code", "mark", "state", "reply", "len", "ttl", "tos", "mac", "fragment", "family"]);
  for (const k of Object.keys(o)) if (!known.has(k)) return { ok: false, error: `unknown packet field ${JSON.stringify(k)} (known: ${[...known].join(", ")})` };
  if (typeof o.dst !== "string") return { ok: false, error: "dst is required (an address)" };
  if (typeof o.from !== "string") return { ok: false, error: 'from is required ("local" or an interface name)' };
  const dst = endpoint(o.dst);
  if (typeof dst === "string") return { ok: false, error: `dst: ${dst}` };
  const protoText = typeof o.proto === "number" ? String(o.proto) : String(o.proto ?? "");
  const proto = protocolNumber(protoText === "icmpv6" || protoText === "icmp6" ? "ipv6-icmp" : protoText);
  if (proto === undefined) return { ok: false, error: `unknown proto ${JSON.stringify(o.proto)}` };
  const p: PacketSpec = { family: dst.family, from: o.from, dst: dst.addr, proto };
  if (o.src !== undefined) {
    if (typeof o.src !== "string") return { ok: false, error: "src must be an address" };
    const src = endpoint(o.src);
    if (typeof src === "string") return { ok: false, error: `src: ${src}` };
    if (src.family !== dst.family) return { ok: false, error: "src and dst are of different families" };
    p.src = src.addr;
  }
  const int = (k: string, max: number): number | undefined | string => {
    const v = o[k];
    if (v === undefined) return undefined;
    const n = typeof v === "number" ? v : typeof v === "string" ? parseUnsigned(v, max) : undefined;
    if (n === undefined || !Number.isInteger(n) || n < 0 || n > max) return `${k} must be an integer 0-${max}`;
    return n;
  };
  for (const [k, max, set] of [
    ["sport", 65535, (n: number) => (p.sport = n)], ["dport", 65535, (n: number) => (p.dport = n)],
    ["mark", 0xffffffff, (n: number) => (p.mark = n)], ["len", 65535, (n: number) => (p.length = n)],
    ["ttl", 255, (n: number) => (p.ttl = n)], ["tos", 255, (n: number) => (p.tos = n)],
    ["icmp_code", 255, (n: number) => (p.icmpCode = n)],
  ] as const) {
    const v = int(k, max);
    if (typeof v === "string") return { ok: false, error: v };
    if (v !== undefined) set(v);
  }
  if (o.tcp_flags !== undefined) {
    const v = typeof o.tcp_flags === "string" ? parseTcpFlagLetters(o.tcp_flags) : undefined;
    if (v === undefined) return { ok: false, error: "tcp_flags: letters among F S R P A U, e.g. \"SA\"" };
    p.tcpFlags = v;
  }
  if (o.icmp_type !== undefined) {
    const v = typeof o.icmp_type === "number" ? { type: o.icmp_type } : typeof o.icmp_type === "string" ? parseIcmp(o.icmp_type, p.family) : undefined;
    if (!v) return { ok: false, error: `unknown icmp_type ${JSON.stringify(o.icmp_type)}` };
    p.icmpType = v.type;
    if ("code" in v && v.code !== undefined) p.icmpCode = v.code;
  }
  if (o.state !== undefined) {
    if (!["new", "established", "related", "invalid"].includes(String(o.state))) return { ok: false, error: "state: new, established, related or invalid" };
    p.state = o.state as PacketSpec["state"] & string;
  }
  if (o.reply === true) p.reply = true;
  if (o.fragment === true) p.fragment = true;
  if (typeof o.mac === "string") p.srcMac = o.mac.toLowerCase();
  return finish(p, []);
}
