/**
 * Packets as users describe them, three ways: a short text (`tcp 10.244.1.5:43512 ->
 * 10.96.0.10:80 in eth0`), a pasted kernel LOG line or `xtables-monitor --trace` PACKET line
 * (src/packet/log-line.ts), or JSON. Every problem is reported with what was expected and
 * the column of the word at fault; nothing is defaulted silently. One packet typed any of
 * the three ways gives one PacketSpec.
 */
import type { Family } from "../model/ast.js";
import type { PacketSpec } from "../model/packet.js";
import { PROTO_ICMP, PROTO_ICMPV6 } from "../model/packet.js";
import { protocolNumber } from "../extensions/protocols.js";
import { parseUnsigned } from "../extensions/util.js";
import { addressFamily, canonicalAddress } from "../model/address.js";
import { isEthernetAddress } from "../facts/ip-text.js";
import { interfaceNameProblem } from "../facts/interface-name.js";
import { jsonKindName, jsonNodeOf, parseLocatedJson, type JsonNode } from "../facts/located-json.js";
import { icmpTypeByName } from "../model/icmp-names.js";
import { parseTcpFlags, TCP_FLAGS_EXPECTED } from "./tcp-flags.js";
import { parseLogLine } from "./log-line.js";
import { finish, portNumber, type FieldColumns, type PacketField, type PacketParse } from "./checks.js";

export { parseLogLine };
export { validatePacket, type PacketParse } from "./checks.js";

/** `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:80`, `2001:db8::1`. */
export function endpoint(s: string): { addr: string; port?: number; family: Family } | string {
  let host = s;
  let port: string | undefined;
  // (Only a text that starts with `[` can be bracketed: the common IPv4 one skips the pattern.)
  const br = s.charCodeAt(0) === 91 ? /^\[([^\]]+)\](?::([^:]*))?$/.exec(s) : null;
  const colon = s.indexOf(":");
  if (br) {
    host = br[1]!;
    port = br[2];
  } else if (colon >= 0 && s.indexOf(":", colon + 1) < 0) {
    // Exactly one colon: ADDR:PORT.
    host = s.slice(0, colon);
    port = s.slice(colon + 1);
  }
  const f = addressFamily(host);
  if (!f) return `${JSON.stringify(s)} is not an address (expected ADDR or ADDR:PORT, [IPv6]:PORT)`;
  const out: { addr: string; port?: number; family: Family } = { addr: canonicalAddress(host, f), family: f };
  if (port !== undefined) {
    const n = portNumber(port);
    if (n === undefined) return `bad port ${JSON.stringify(port)} (expected 0-65535)`;
    out.port = n;
  }
  return out;
}

/**
 * interfaceNameProblem, remembered for the names lately read: a batch names the same few
 * interfaces on every line. Bounded: a file of a million different names keeps at most 256.
 */
const interfaceProblems = new Map<string, string | undefined>();
function interfaceProblem(name: string): string | undefined {
  if (interfaceProblems.has(name)) return interfaceProblems.get(name);
  const bad = interfaceNameProblem(name);
  if (interfaceProblems.size >= 256) interfaceProblems.clear();
  interfaceProblems.set(name, bad);
  return bad;
}

/** The text form's and JSON's protocol: a name iptables knows, icmpv6/icmp6, or a number 0-255. */
function protocolOf(text: string): number | undefined {
  const t = text.toLowerCase();
  const n = protocolNumber(t === "icmpv6" || t === "icmp6" ? "ipv6-icmp" : t);
  return n !== undefined && n <= 255 ? n : undefined;
}

/** An ICMP type, `TYPE/CODE` or a type name, with type and code 0-255. */
function parseIcmp(s: string, family: Family): { type: number; code?: number } | string {
  const m = /^(\d+)(?:\/(\d+))?$/.exec(s);
  if (m) {
    const type = Number(m[1]);
    if (m[1]!.length > 3 || type > 255) return `ICMP type ${m[1]} is not 0-255`;
    if (m[2] === undefined) return { type };
    const code = Number(m[2]);
    if (m[2].length > 3 || code > 255) return `ICMP code ${m[2]} is not 0-255`;
    return { type, code };
  }
  return icmpTypeByName(s, family) ?? `unknown ICMP type ${JSON.stringify(s)} (expected a name such as echo-request, a number 0-255 or TYPE/CODE)`;
}

/** Whether the character at `i` is white space as `\s` reads it (ASCII decided without a pattern). */
function isSpace(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return /\s/.test(text[i]!);
}

/** The words of `text` (what `/\S+/g` finds) and their 1-based columns, without a match object per word. */
export function splitWords(text: string, words: string[], cols: number[]): void {
  let i = 0;
  const n = text.length;
  for (;;) {
    while (i < n && isSpace(text, i)) i++;
    if (i >= n) return;
    const start = i;
    while (i < n && !isSpace(text, i)) i++;
    words.push(text.slice(start, i));
    cols.push(start + 1);
  }
}

export function parsePacketText(text: string): PacketParse {
  const t = text.trim();
  if (t === "") return { ok: false, error: "empty packet description", col: 1 };
  if (t.startsWith("{")) return parsePacketJson(text);
  if (/IN=|SRC=|^PACKET:/.test(t)) return parseLogLine(text);
  const words: string[] = [];
  const cols: number[] = [];
  splitWords(text, words, cols);
  const end = text.trimEnd().length + 1;
  const colOf = (i: number) => cols[i] ?? end;
  const fail = (error: string, i: number): PacketParse => ({ ok: false, error, col: colOf(i) });
  const proto = protocolOf(words[0]!);
  if (proto === undefined) return fail(`unknown protocol ${JSON.stringify(words[0])} (expected tcp, udp, icmp, icmpv6, sctp or a number 0-255)`, 0);
  const at: FieldColumns = { proto: colOf(0) };
  let i = 1;
  let src: { addr: string; port?: number; family: Family } | undefined;
  if (words[i] !== "->" && words[i] !== undefined) {
    const e = endpoint(words[i]!);
    if (typeof e === "string") return fail(e, i);
    src = e;
    at.src = at.sport = colOf(i);
    i++;
  }
  if (words[i] !== "->") return fail(`expected "->" between source and destination`, i);
  i++;
  if (!words[i]) return fail("expected a destination after ->", i);
  const dst = endpoint(words[i]!);
  if (typeof dst === "string") return fail(dst, i);
  at.dst = at.dport = colOf(i);
  if (src && src.family !== dst.family) return fail("source and destination are of different families", i);
  i++;
  const p: PacketSpec = { family: dst.family, from: "", dst: dst.addr, proto };
  if (src) {
    p.src = src.addr;
    if (src.port !== undefined) p.sport = src.port;
  }
  if (dst.port !== undefined) p.dport = dst.port;
  /** Each field once: the column where it was first given, by field. */
  const given = new Map<string, number>();
  const once = (field: string, k: number): PacketParse | undefined => {
    const first = given.get(field);
    if (first !== undefined) return fail(`${words[k]} given twice: the packet's ${field} was already given at column ${first}`, k);
    given.set(field, colOf(k));
    return undefined;
  };
  while (i < words.length) {
    const w = words[i]!.toLowerCase();
    const arg = words[i + 1];
    const need = (what: string): PacketParse | undefined => (arg === undefined ? fail(`${w} needs ${what}`, i) : undefined);
    const valued = (field: string, what: string) => once(field, i) ?? need(what);
    switch (w) {
      case "in":
      case "from": {
        const e = valued("interface", "an interface name");
        if (e) return e;
        if (arg === "local") return fail(`say "local" alone for a locally generated packet; "${w} local" would name an interface`, i + 1);
        const bad = interfaceProblem(arg!);
        if (bad) return fail(bad, i + 1);
        p.from = arg!;
        at.from = colOf(i);
        i += 2;
        continue;
      }
      case "local":
      case "out": {
        const e = once("interface", i);
        if (e) return e;
        p.from = "local";
        at.from = colOf(i);
        i++;
        continue;
      }
      case "mark": {
        const e = valued("mark", "a value");
        if (e) return e;
        const v = parseUnsigned(arg!);
        if (v === undefined) return fail(`bad mark ${JSON.stringify(arg)} (expected a number 0-0xffffffff, decimal or 0x hex)`, i + 1);
        p.mark = v;
        at.mark = colOf(i);
        i += 2;
        continue;
      }
      case "new":
      case "established":
      case "related":
      case "invalid": {
        const e = once("conntrack state", i);
        if (e) return e;
        p.state = w;
        i++;
        continue;
      }
      case "reply": {
        const e = once("direction", i);
        if (e) return e;
        p.reply = true;
        i++;
        continue;
      }
      case "flags": {
        const e = valued("TCP flags", "the TCP flags");
        if (e) return e;
        const v = parseTcpFlags(arg!);
        if (v === undefined) return fail(`bad TCP flags ${JSON.stringify(arg)} (expected ${TCP_FLAGS_EXPECTED})`, i + 1);
        p.tcpFlags = v;
        at.tcpFlags = colOf(i);
        i += 2;
        continue;
      }
      case "len":
      case "length":
      case "ttl":
      case "tos": {
        const field = w === "length" ? "len" : w;
        const e = valued(field, "a number");
        if (e) return e;
        const max = field === "len" ? 65535 : 255;
        const v = parseUnsigned(arg!, max);
        if (v === undefined) return fail(`bad ${w} ${JSON.stringify(arg)} (expected a number 0-${max})`, i + 1);
        if (field === "ttl") p.ttl = v;
        else if (field === "tos") p.tos = v;
        else p.length = v;
        i += 2;
        continue;
      }
      case "mac": {
        const e = valued("source MAC", "a MAC address");
        if (e) return e;
        if (!isEthernetAddress(arg!)) return fail(`bad MAC ${JSON.stringify(arg)} (expected six hex bytes separated by colons)`, i + 1);
        p.srcMac = arg!.toLowerCase();
        i += 2;
        continue;
      }
      case "frag":
      case "fragment": {
        const e = once("fragment", i);
        if (e) return e;
        p.fragment = true;
        i++;
        continue;
      }
      case "type": {
        const e = valued("ICMP type", "an ICMP type");
        if (e) return e;
        const v = parseIcmp(arg!, p.family);
        if (typeof v === "string") return fail(v, i + 1);
        p.icmpType = v.type;
        if (v.code !== undefined) p.icmpCode = v.code;
        at.icmpType = colOf(i);
        i += 2;
        continue;
      }
      default: {
        if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) {
          const v = parseIcmp(words[i]!, p.family);
          if (typeof v !== "string" || /^\d/.test(words[i]!)) {
            if (typeof v === "string") return fail(v, i);
            const e = once("ICMP type", i);
            if (e) return e;
            p.icmpType = v.type;
            if (v.code !== undefined) p.icmpCode = v.code;
            at.icmpType = colOf(i);
            i++;
            continue;
          }
        }
        return fail(`unexpected ${JSON.stringify(words[i])} (expected in IFACE, local, mark M, established, reply, flags SA, len N, ttl N, an ICMP type)`, i);
      }
    }
  }
  if (p.from === "") return { ok: false, error: 'say where the packet comes from: "in IFACE" or "local"', col: end };
  return finish(p, [], at);
}

const JSON_FIELDS = ["from", "src", "dst", "proto", "sport", "dport", "tcp_flags", "icmp_type", "icmp_code", "mark", "state", "reply", "len", "ttl", "tos", "mac", "fragment", "family"];

/** `{"from":"eth0","src":...,"dst":...,"proto":"tcp","sport":1,"dport":2,"tcp_flags":"S","icmp_type":"echo-request","mark":"0x0","state":"new"}` */
export function parsePacketJson(text: string | object): PacketParse {
  let root: JsonNode;
  if (typeof text === "string") {
    const r = parseLocatedJson(text);
    if (!r.ok) return { ok: false, error: r.message, col: r.at + 1 };
    root = r.value;
  } else root = jsonNodeOf(text);
  const colOf = (n: { at: number }) => (n.at >= 0 ? { col: n.at + 1 } : {});
  const wrong = (n: JsonNode, field: string, expected: string): PacketParse => ({ ok: false, error: `${field}: found ${jsonKindName(n)} (expected ${expected})`, ...colOf(n) });
  if (root.kind !== "object") return wrong(root, "a packet", "a JSON object");
  const twice = root.duplicates[0];
  if (twice) return { ok: false, error: `${JSON.stringify(twice.key)} given twice`, ...colOf({ at: twice.keyAt }) };
  for (const [k, f] of root.fields) if (!JSON_FIELDS.includes(k)) return { ok: false, error: `unknown packet field ${JSON.stringify(k)} (known: ${JSON_FIELDS.join(", ")})`, ...colOf({ at: f.keyAt }) };
  const o = new Map([...root.fields].map(([k, f]) => [k, f.value]));
  const at: FieldColumns = {};
  const where = (field: PacketField, n: JsonNode) => {
    if (n.at >= 0) at[field] = n.at + 1;
  };
  const str = (k: string, expected: string): string | PacketParse | undefined => {
    const n = o.get(k);
    if (n === undefined) return undefined;
    return n.kind === "string" ? n.value : wrong(n, k, expected);
  };

  const dstNode = o.get("dst");
  if (!dstNode) return { ok: false, error: "dst is required (an address)", ...colOf(root) };
  if (dstNode.kind !== "string") return wrong(dstNode, "dst", "an address");
  const dst = plainAddress(dstNode.value, "dst", "dport");
  if (typeof dst === "string") return { ok: false, error: dst, ...colOf(dstNode) };
  where("dst", dstNode);

  const fromNode = o.get("from");
  if (!fromNode) return { ok: false, error: 'from is required ("local" or an interface name)', ...colOf(root) };
  if (fromNode.kind !== "string") return wrong(fromNode, "from", '"local" or an interface name');
  const badFrom = fromNode.value === "local" ? undefined : interfaceNameProblem(fromNode.value);
  if (badFrom) return { ok: false, error: `from: ${badFrom}`, ...colOf(fromNode) };
  where("from", fromNode);

  const protoNode = o.get("proto");
  if (!protoNode) return { ok: false, error: 'proto is required ("tcp", "udp", "icmp", ... or a number 0-255)', ...colOf(root) };
  const proto = protoNode.kind === "string" ? protocolOf(protoNode.value) : protoNode.kind === "number" && Number.isInteger(protoNode.value) && protoNode.value >= 0 && protoNode.value <= 255 ? protoNode.value : undefined;
  if (proto === undefined) return wrong(protoNode, "proto", "tcp, udp, icmp, icmpv6, sctp, another protocol name or a number 0-255");
  where("proto", protoNode);

  const p: PacketSpec = { family: dst.family, from: fromNode.value, dst: dst.addr, proto };
  const familyNode = o.get("family");
  if (familyNode) {
    if (familyNode.kind !== "string" || (familyNode.value !== "ipv4" && familyNode.value !== "ipv6")) return wrong(familyNode, "family", '"ipv4" or "ipv6"');
    if (familyNode.value !== dst.family) return { ok: false, error: `family ${familyNode.value} but dst ${dst.addr} is ${dst.family}`, ...colOf(familyNode) };
  }
  const srcNode = o.get("src");
  if (srcNode) {
    if (srcNode.kind !== "string") return wrong(srcNode, "src", "an address");
    const src = plainAddress(srcNode.value, "src", "sport");
    if (typeof src === "string") return { ok: false, error: src, ...colOf(srcNode) };
    if (src.family !== dst.family) return { ok: false, error: "src and dst are of different families", ...colOf(srcNode) };
    p.src = src.addr;
    where("src", srcNode);
  }
  for (const [k, max, set, field] of [
    ["sport", 65535, (n: number) => (p.sport = n), "sport"], ["dport", 65535, (n: number) => (p.dport = n), "dport"],
    ["mark", 0xffffffff, (n: number) => (p.mark = n), "mark"], ["len", 65535, (n: number) => (p.length = n), undefined],
    ["ttl", 255, (n: number) => (p.ttl = n), undefined], ["tos", 255, (n: number) => (p.tos = n), undefined],
    ["icmp_code", 255, (n: number) => (p.icmpCode = n), "icmpType"],
  ] as const) {
    const n = o.get(k);
    if (n === undefined) continue;
    const v = n.kind === "number" ? n.value : n.kind === "string" ? parseUnsigned(n.value, max) : undefined;
    if (v === undefined || !Number.isInteger(v) || v < 0 || v > max) return wrong(n, k, `an integer 0-${max}`);
    set(v);
    if (field) where(field, n);
  }
  const flagsNode = o.get("tcp_flags");
  if (flagsNode) {
    // A number is how netfate's own JSON output writes them.
    const v = flagsNode.kind === "string" ? parseTcpFlags(flagsNode.value) : flagsNode.kind === "number" && Number.isInteger(flagsNode.value) && flagsNode.value >= 0 && flagsNode.value <= 0x3f ? flagsNode.value : undefined;
    if (v === undefined) return wrong(flagsNode, "tcp_flags", `${TCP_FLAGS_EXPECTED}; or the bits as a number 0-63`);
    p.tcpFlags = v;
    where("tcpFlags", flagsNode);
  }
  const typeNode = o.get("icmp_type");
  if (typeNode) {
    const v = typeNode.kind === "string" ? parseIcmp(typeNode.value, p.family) : typeNode.kind === "number" && Number.isInteger(typeNode.value) && typeNode.value >= 0 ? parseIcmp(String(typeNode.value), p.family) : undefined;
    if (v === undefined) return wrong(typeNode, "icmp_type", "a type name such as echo-request, a number 0-255 or \"TYPE/CODE\"");
    if (typeof v === "string") return { ok: false, error: `icmp_type: ${v}`, ...colOf(typeNode) };
    p.icmpType = v.type;
    if (v.code !== undefined) {
      if (p.icmpCode !== undefined && p.icmpCode !== v.code) return { ok: false, error: `icmp_type ${typeNode.kind === "string" ? typeNode.value : ""} says code ${v.code} but icmp_code says ${p.icmpCode}`, ...colOf(typeNode) };
      p.icmpCode = v.code;
    }
    where("icmpType", typeNode);
  }
  const state = str("state", '"new", "established", "related" or "invalid"');
  if (typeof state === "object") return state;
  if (state !== undefined) {
    if (state !== "new" && state !== "established" && state !== "related" && state !== "invalid") return wrong(o.get("state")!, "state", '"new", "established", "related" or "invalid"');
    p.state = state;
  }
  for (const [k, set] of [["reply", () => (p.reply = true)], ["fragment", () => (p.fragment = true)]] as const) {
    const n = o.get(k);
    if (n === undefined) continue;
    if (n.kind !== "boolean") return wrong(n, k, "true or false");
    if (n.value) set();
  }
  const mac = str("mac", "a MAC address");
  if (typeof mac === "object") return mac;
  if (mac !== undefined) {
    if (!isEthernetAddress(mac)) return wrong(o.get("mac")!, "mac", "six hex bytes separated by colons, such as 52:54:00:8e:1a:11");
    p.srcMac = mac.toLowerCase();
  }
  return finish(p, [], at);
}

/** JSON's src and dst: an address alone (ports are sport and dport). */
function plainAddress(s: string, field: string, portField: string): { addr: string; family: Family } | string {
  const e = endpoint(s);
  if (typeof e === "string") return `${field}: ${e}`;
  if (e.port !== undefined) return `${field}: ${JSON.stringify(s)} has a port; give the address alone and the port as ${portField}`;
  return e;
}
