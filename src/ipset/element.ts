/**
 * One ipset element (`10.0.0.0/24,udp:53`, `eth0`, `30080`) read the way `ipset restore` reads
 * it for the set's type, into the key the lookup index uses. What `ipset restore` refuses is a
 * problem of severity error, with the message the tool gives (each pinned against ipset 7.17
 * in test/unit/ipset-honesty.test.ts); what it accepts but netfate cannot know (a host name or
 * service name it resolves when loading, a range it expands) is a warning, and the element is
 * left unreadable so that lookups it could decide are indeterminate.
 */
import type { Family } from "../model/ast.js";
import { inetAton, ipKey, ipToNum, ipv4LastOf, ipv4Text, isZeroIp, networkOf, type IpNum } from "../model/address.js";
import { protocolNumber } from "../extensions/protocols.js";
import { cNumber } from "../model/c-number.js";
import type { IpSet } from "./ast.js";
import { SET_TYPES, type Dim, type SetTypeInfo } from "./types.js";

/** A set's header as lookups and element checks need it. */
export interface SetHeader {
  info: SetTypeInfo;
  family: Family;
  /** hash:ip and bitmap:ip `netmask`: elements and packets are masked to it. */
  netmask?: number;
  /** bitmap:ip(,mac) first..last address, bitmap:port first..last port. */
  range?: { first: number; last: number };
  /** hash:ip,mark `markmask` (all ones when not given). */
  markmask: number;
}

export interface ElementKey {
  /** Key parts per dimension; ip/net parts are the masked address. */
  parts: string[];
  /** Prefix length of each address dimension (undefined elsewhere). */
  prefixes: Array<number | undefined>;
}

export interface ElementProblem {
  severity: "error" | "warning";
  message: string;
  expected?: string;
  found?: string;
  /** Where in the element text, 0-based, and how long. */
  at: number;
  len: number;
}

export type ElementResult = { key: ElementKey } | { problem: ElementProblem };

const PORT_PROTOS = new Set([6, 17, 132, 136]);

/** ICMP type/code names as ipset spells them (lib/icmp.c, read back from `ipset save`). */
const ICMP_NAMES = new Map<string, number>(([
  ["echo-reply", 0, 0], ["pong", 0, 0], ["network-unreachable", 3, 0], ["host-unreachable", 3, 1],
  ["protocol-unreachable", 3, 2], ["port-unreachable", 3, 3], ["fragmentation-needed", 3, 4],
  ["source-route-failed", 3, 5], ["network-unknown", 3, 6], ["host-unknown", 3, 7],
  ["network-prohibited", 3, 9], ["host-prohibited", 3, 10], ["tos-network-unreachable", 3, 11],
  ["tos-host-unreachable", 3, 12], ["communication-prohibited", 3, 13], ["host-precedence-violation", 3, 14],
  ["precedence-cutoff", 3, 15], ["source-quench", 4, 0], ["network-redirect", 5, 0], ["host-redirect", 5, 1],
  ["tos-network-redirect", 5, 2], ["tos-host-redirect", 5, 3], ["echo-request", 8, 0], ["ping", 8, 0],
  ["router-advertisement", 9, 0], ["router-solicitation", 10, 0], ["ttl-zero-during-transit", 11, 0],
  ["ttl-zero-during-reassembly", 11, 1], ["ip-header-bad", 12, 0], ["required-option-missing", 12, 1],
  ["timestamp-request", 13, 0], ["timestamp-reply", 14, 0], ["address-mask-request", 17, 0], ["address-mask-reply", 18, 0],
] as const).map(([n, t, c]) => [n, (t << 8) | c]));

/** ICMPv6 names as ipset spells them (lib/icmpv6.c). */
const ICMPV6_NAMES = new Map<string, number>(([
  ["no-route", 1, 0], ["communication-prohibited", 1, 1], ["address-unreachable", 1, 3], ["port-unreachable", 1, 4],
  ["packet-too-big", 2, 0], ["ttl-zero-during-transit", 3, 0], ["ttl-zero-during-reassembly", 3, 1],
  ["bad-header", 4, 0], ["unknown-header-type", 4, 1], ["unknown-option", 4, 2], ["echo-request", 128, 0],
  ["ping", 128, 0], ["echo-reply", 129, 0], ["pong", 129, 0], ["router-solicitation", 133, 0],
  ["router-advertisement", 134, 0], ["neighbour-solicitation", 135, 0], ["neighbour-advertisement", 136, 0], ["redirect", 137, 0],
] as const).map(([n, t, c]) => [n, (t << 8) | c]));

const err = (message: string, at: number, len: number, expected?: string, found?: string): { problem: ElementProblem } => ({
  problem: { severity: "error", message, at, len, ...(expected !== undefined ? { expected } : {}), ...(found !== undefined ? { found } : {}) },
});
const warn = (message: string, at: number, len: number): { problem: ElementProblem } => ({ problem: { severity: "warning", message, at, len } });

function uint(text: string, max: number): number | undefined {
  if (!/^(?:0x[0-9a-f]+|\d+)$/i.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/** The header fields lookups need; a problem when the header cannot be read. */
export function setHeader(set: IpSet): SetHeader | { problem: string } {
  const info = SET_TYPES.get(set.type);
  if (!info) return { problem: `set type ${set.type} is not modelled` };
  const opt = (k: string) => set.options.find((o) => o.key === k)?.value;
  const h: SetHeader = { info, family: info.family === "ipv4" ? "ipv4" : set.family, markmask: 0xffffffff };
  const full = h.family === "ipv4" ? 32 : 128;
  const nm = opt("netmask");
  if (nm !== undefined) {
    const n = uint(nm, full);
    if (n === undefined || n === 0) return { problem: `netmask ${nm} is not 1-${full}` };
    h.netmask = n;
  }
  const mm = opt("markmask");
  if (mm !== undefined) {
    const n = uint(mm, 0xffffffff);
    if (n === undefined) return { problem: `markmask ${mm} is not a 32-bit number` };
    h.markmask = n;
  }
  if (set.type.startsWith("bitmap:")) {
    const r = opt("range");
    const range = r === undefined ? undefined : set.type === "bitmap:port" ? portRange(r) : ipv4Range(r);
    if (!range) return { problem: r === undefined ? `a ${set.type} set needs a range` : `range ${r} cannot be read` };
    h.range = range;
  }
  return h;
}

function portRange(text: string): { first: number; last: number } | undefined {
  const m = /^(?:(?:tcp|udp):)?(\d+)-(\d+)$/.exec(text);
  if (!m) return undefined;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a <= 65535 && b <= 65535 ? { first: Math.min(a, b), last: Math.max(a, b) } : undefined;
}

function ipv4Range(text: string): { first: number; last: number } | undefined {
  const cidr = /^([^/-]+)\/([0-9a-fA-FxX]+)$/.exec(text);
  if (cidr) {
    const n = ipsetIpv4(cidr[1]!);
    const p = cNumber(cidr[2]!, 32);
    if (n === undefined || p === undefined) return undefined;
    return { first: networkOf(n, p, "ipv4") as number, last: ipv4LastOf(n, p) };
  }
  const [a, b] = text.split("-");
  const x = ipsetIpv4(a ?? "");
  const y = ipsetIpv4(b ?? "");
  return x === undefined || y === undefined ? undefined : { first: Math.min(x, y), last: Math.max(x, y) };
}

/**
 * An IPv4 address as ipset 7.17 reads one (asked of it in a namespace:
 * test/kernel/number-spellings.test.ts): as inet_aton reads it, one to four parts, a leading
 * zero octal (`010.0.0.1` is 8.0.0.1, `10.1` is 10.0.0.1, `167772161` is 10.0.0.1), but no hex
 * part (`0x0a000001` is refused).
 */
function ipsetIpv4(text: string): number | undefined {
  // Most elements are written as ipset save writes them: the strict reader takes those at once.
  const n = ipToNum(text, "ipv4") as number | undefined;
  if (n !== undefined) return n;
  return /0[xX]/.test(text) ? undefined : inetAton(text);
}

/** An address of the family as ipset reads it: IPv4 as ipsetIpv4, IPv6 as inet_pton. */
function ipsetAddress(text: string, family: Family): IpNum | undefined {
  return family === "ipv4" ? ipsetIpv4(text) : ipToNum(text, family);
}

/** A name a resolver could look up: letters, digits and hyphens in labels, the last one not all digits. */
function hostLike(text: string): boolean {
  return /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]*[a-z][a-z0-9-]*$/i.test(text);
}

/** An address dimension: ADDR[/CIDR] of the set's family. */
function address(h: SetHeader, d: "ip" | "net", text: string, at: number, type: string): { key: string; prefix: number | undefined } | { problem: ElementProblem } {
  const fam = h.family;
  const full = fam === "ipv4" ? 32 : 128;
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  if (slash < 0 && addr.includes("-") && !addr.includes(":")) return warn(`the range ${text} is not modelled: ipset restore adds every address in it`, at, text.length);
  let n = ipsetAddress(addr, fam);
  if (n === undefined) {
    const other = ipsetAddress(addr, fam === "ipv4" ? "ipv6" : "ipv4");
    if (other === undefined && hostLike(addr)) return warn(`${addr} is a host name: ipset restore resolves it when loading, netfate cannot`, at, addr.length);
    const v = fam === "ipv4" ? "IPv4" : "IPv6";
    return err(`cannot parse ${addr}: resolving to ${v} address failed`, at, addr.length, `an ${v} address (the set is family ${fam === "ipv4" ? "inet" : "inet6"})`, addr);
  }
  let cidr: number | undefined;
  if (slash >= 0) {
    const c = text.slice(slash + 1);
    // ipset reads numbers base 0, as strtoull does (`/010` is /8, `/08` is no number).
    const bits = cNumber(c, full);
    if (bits === undefined) return err(/^\d+$/.test(c) && cNumber(c, Infinity) !== undefined ? `'${c}' is out of range 0-${full}` : `'${c}' is invalid as number`, at + slash + 1, c.length, `a prefix length 0-${full}`, c);
    cidr = bits;
    // hash:net and the net parts of the other types refuse /0 (IPSET_ERR_INVALID_CIDR).
    if (cidr === 0 && (d === "net" || type.startsWith("hash:"))) return err("The value of the CIDR parameter of the IP address is invalid", at + slash + 1, c.length, `a prefix length 1-${full}`, c);
  }
  // An ip dimension stores single addresses, masked by the set's netmask: a CIDR there adds
  // every address (every netmask-sized block) in it, which is the same as a prefix entry.
  const prefix = d === "net" ? cidr ?? full : Math.min(cidr ?? full, h.netmask ?? full);
  n = networkOf(n, prefix, fam);
  if (type === "hash:ip" && isZeroIp(n)) return err("Null-valued element, cannot be stored in a hash type of set", at, text.length, "an address other than 0", text);
  if (h.range && typeof n === "number") {
    const last = ipv4LastOf(n, prefix);
    if (n < h.range.first || last > h.range.last) return err("Element is out of the range of the set", at, text.length, `an address in ${rangeText(h.range, "ipv4")}`, text);
  }
  return { key: String(ipKey(n)), prefix: d === "net" || prefix !== full ? prefix : undefined };
}

function rangeText(r: { first: number; last: number }, kind: "ipv4" | "port"): string {
  if (kind === "port") return `${r.first}-${r.last}`;
  return `${ipv4Text(r.first)}-${ipv4Text(r.last)}`;
}

/** `[PROTO:]PORT` of a hash type: the key is `PROTO:PORT`, ICMP's "port" is type<<8|code as the kernel stores it. */
function protoPort(h: SetHeader, text: string, at: number): string | { problem: ElementProblem } {
  const colon = text.indexOf(":");
  const protoText = colon < 0 ? "tcp" : text.slice(0, colon).toLowerCase();
  const portText = colon < 0 ? text : text.slice(colon + 1);
  const pat = colon < 0 ? at : at + colon + 1;
  if (protoText === "icmp" || protoText === "icmpv6" || protoText === "ipv6-icmp") {
    const v6 = protoText !== "icmp";
    if (v6 !== (h.family === "ipv6")) return err(`protocol ${protoText} in a family ${h.family === "ipv4" ? "inet" : "inet6"} set`, at, text.length, `${h.family === "ipv4" ? "icmp" : "icmpv6"}:TYPE/CODE`, text);
    const tc = /^([0-9][0-9a-fA-FxX]*)\/([0-9][0-9a-fA-FxX]*)$/.exec(portText);
    let v: number | undefined;
    if (tc) {
      const [type, code] = [cNumber(tc[1]!, 255), cNumber(tc[2]!, 255)];
      for (const [part, n] of [[tc[1]!, type], [tc[2]!, code]] as const) if (n === undefined) return err(`'${part}' is out of range 0-255`, pat, portText.length, "0-255", part);
      v = (type! << 8) | code!;
    } else v = (v6 ? ICMPV6_NAMES : ICMP_NAMES).get(portText.toLowerCase());
    if (v === undefined) return err(`Cannot parse ${portText} as an ${v6 ? "ICMPv6" : "ICMP"} type/code.`, pat, portText.length, "TYPE/CODE or an ipset ICMP name", portText);
    return `${v6 ? 58 : 1}:${v}`;
  }
  const proto = protoText === "all" || protoText === "mh" ? undefined : cNumber(protoText, 255) ?? (/^[0-9]/.test(protoText) ? undefined : protocolNumber(protoText));
  if (proto === undefined) {
    if (/^\d+$/.test(protoText)) return err(`cannot parse '${protoText}' as a protocol`, at, protoText.length, "a protocol 0-255", protoText);
    return err(`cannot parse '${protoText}' as a protocol`, at, protoText.length, "tcp, udp, sctp, udplite, icmp, icmpv6 or an /etc/protocols name", protoText);
  }
  if (!PORT_PROTOS.has(proto)) {
    if (portText !== "0") return err(`Protocol ${protoText} can be used with pseudo port value 0 only.`, pat, portText.length, "0", portText);
    return `${proto}:0`;
  }
  const port = portNumber(portText, pat, protoText);
  return typeof port === "number" ? `${proto}:${port}` : port;
}

function portNumber(text: string, at: number, proto: string): number | { problem: ElementProblem } {
  if (/^[0-9]/.test(text) && !text.includes("-")) {
    // Base 0, as ipset reads every number (`010` is 8, `0x50` is 80, `080` is no number).
    const n = cNumber(text, 65535);
    if (n !== undefined) return n;
    if (cNumber(text, Infinity) !== undefined) return err(`'${text}' is out of range 0-65535`, at, text.length, `a ${proto} port 0-65535`, text);
    return err(`'${text}' is invalid as number`, at, text.length, `a ${proto} port 0-65535`, text);
  }
  if (/^[^-]+-[^-]+$/.test(text)) return warn(`the port range ${text} is not modelled: ipset restore adds every port in it`, at, text.length);
  if (/^[a-z][a-z0-9-]*$/i.test(text)) return warn(`${text} is a service name: ipset restore looks it up in /etc/services when loading, netfate cannot`, at, text.length);
  return err(`cannot parse '${text}' as a ${proto} port`, at, text.length, `a ${proto} port 0-65535`, text);
}

/** bitmap:port: a port (optionally `tcp:`/`udp:`) inside the set's range. */
function bitmapPort(h: SetHeader, text: string, at: number): string | { problem: ElementProblem } {
  const m = /^(tcp|udp):/i.exec(text);
  const p = portNumber(m ? text.slice(m[0].length) : text, at + (m?.[0].length ?? 0), "tcp");
  if (typeof p !== "number") return p;
  if (h.range && (p < h.range.first || p > h.range.last)) return err("Element is out of the range of the set", at, text.length, `a port in ${rangeText(h.range, "port")}`, text);
  return String(p);
}

/** Reads `text` as an element of a set with header `h` (list:set members are checked where sets are known). */
export function parseElement(type: string, h: SetHeader, text: string): ElementResult {
  const dims = h.info.dims;
  if (type === "list:set") return { key: { parts: [text], prefixes: [undefined] } };
  const pieces = text.split(",");
  // bitmap:ip,mac takes an address alone too: the kernel fills the MAC from the first packet.
  const optionalLast = type === "bitmap:ip,mac" && pieces.length === 1;
  if (pieces.length < dims.length && !optionalLast) {
    const which = ["Second", "Third"][pieces.length - 1] ?? "An";
    return err(`${which} element is missing from ${text}.`, 0, text.length, elementShape(dims), text);
  }
  if (pieces.length > dims.length) return err(`Syntax error: elements separated by commas, more than the ${dims.length} of ${type}`, 0, text.length, elementShape(dims), text);
  const key: ElementKey = { parts: [], prefixes: [] };
  let at = 0;
  for (let i = 0; i < pieces.length; i++) {
    const r = dimension(type, h, dims[i]!, pieces[i]!, at);
    if (typeof r === "object" && "problem" in r) return r;
    if (typeof r === "string") {
      key.parts.push(r);
      key.prefixes.push(undefined);
    } else {
      key.parts.push(r.key);
      key.prefixes.push(r.prefix);
    }
    at += pieces[i]!.length + 1;
  }
  if (optionalLast) {
    key.parts.push("");
    key.prefixes.push(undefined);
  }
  return { key };
}

const SHAPES: Record<Dim, string> = { ip: "IP", net: "IP[/CIDR]", port: "[PROTO:]PORT", iface: "IFACE", mac: "MAC", mark: "MARK", set: "SETNAME" };

/** What an element of these dimensions looks like: `IP,[PROTO:]PORT`. */
export function elementShape(dims: readonly Dim[]): string {
  return dims.map((d) => SHAPES[d]).join(",");
}

function dimension(type: string, h: SetHeader, d: Dim, t: string, at: number): string | { key: string; prefix: number | undefined } | { problem: ElementProblem } {
  switch (d) {
    case "ip":
    case "net":
      return address(h, d, t, at, type);
    case "port":
      return type === "bitmap:port" ? bitmapPort(h, t, at) : protoPort(h, t, at);
    case "iface": {
      const physdev = t.startsWith("physdev:");
      const name = physdev ? t.slice(8) : t;
      if (name.length > 15) return err(`interface name '${name}' is longer than 15 characters`, at, t.length, "an interface name of at most 15 characters", name);
      if (name.length === 0) return err("missing the interface name", at, t.length, "an interface name", t);
      return t;
    }
    case "mac":
      if (!/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i.test(t)) return err(`cannot parse ${t} as a MAC address`, at, t.length, "a MAC address such as 00:11:22:33:44:55", t);
      return t.toLowerCase();
    case "mark": {
      const n = uint(t, 0xffffffff);
      if (n === undefined) return err(`cannot parse ${t} as a mark`, at, t.length, "a 32-bit number", t);
      return String((n & h.markmask) >>> 0);
    }
    case "set":
      return t;
  }
}
