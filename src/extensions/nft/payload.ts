/**
 * Payload expressions: a header field of a protocol (`ip saddr`, `tcp dport`, `th dport`),
 * or raw bits at an offset from a base (`@nh,16,16`). Field offsets, lengths and datatypes as
 * nft's proto.c describes the headers.
 *
 * Evaluated from the packet as it is now. A field of another protocol than the packet's is
 * absent: nft adds the protocol test itself (`tcp dport` carries `meta l4proto tcp`), so the
 * rule does not match; a non-first fragment has no transport header (nft_payload: NFT_BREAK
 * on fragoff).
 */
import type { Family } from "../../model/ast.js";
import type { JsonNode } from "../../model/json.js";
import type { NftPayload } from "../../model/nft.js";
import { absent, unknown, value, type NftExprEnv } from "../../model/nft-evaluation.js";
import { addressVal, fieldVal, type XVal } from "../../model/nft-values.js";
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP, hasPorts } from "../../model/packet.js";
import { wordTable, type ExprKind, type JsonExprReader, type WordReader } from "./types.js";

export interface PayloadField {
  type: string;
  /** Offset and length in bits from the start of the header. */
  offset: number;
  bits: number;
}

type Header = Readonly<Record<string, PayloadField>>;

const f = (type: string, offset: number, bits: number): PayloadField => ({ type, offset, bits });

/** The base each protocol's header is found at, for raw payload equivalence. */
export const PROTOCOL_BASE: Readonly<Record<string, "ll" | "nh" | "th">> = wordTable({
  ether: "ll", vlan: "ll", arp: "nh", ip: "nh", ip6: "nh", icmp: "th", icmpv6: "th", igmp: "th",
  tcp: "th", udp: "th", udplite: "th", sctp: "th", dccp: "th", th: "th", ah: "th", esp: "th", comp: "th",
});

/**
 * The headers only one family's packets carry: nft puts `meta nfproto` before them in an inet
 * table (icmp and igmp depend on ip, icmpv6 on ip6: payload.c payload_gen_special_dependency).
 */
const FAMILY_OF: Readonly<Record<string, Family>> = wordTable({ ip: "ipv4", icmp: "ipv4", igmp: "ipv4", ip6: "ipv6", icmpv6: "ipv6" });

const FIELDS: Readonly<Record<string, Header>> = {
  ether: { daddr: f("ether_addr", 0, 48), saddr: f("ether_addr", 48, 48), type: f("ether_type", 96, 16) },
  vlan: { pcp: f("integer", 0, 3), dei: f("integer", 3, 1), cfi: f("integer", 3, 1), id: f("integer", 4, 12), type: f("ether_type", 16, 16) },
  arp: {
    htype: f("integer", 0, 16), ptype: f("ether_type", 16, 16), hlen: f("integer", 32, 8), plen: f("integer", 40, 8),
    operation: f("arp_op", 48, 16), "saddr ether": f("ether_addr", 64, 48), "saddr ip": f("ipv4_addr", 112, 32),
    "daddr ether": f("ether_addr", 144, 48), "daddr ip": f("ipv4_addr", 192, 32),
  },
  ip: {
    version: f("integer", 0, 4), hdrlength: f("integer", 4, 4), dscp: f("dscp", 8, 6), ecn: f("ecn", 14, 2),
    length: f("integer", 16, 16), id: f("integer", 32, 16), "frag-off": f("integer", 48, 16), ttl: f("integer", 64, 8),
    protocol: f("inet_proto", 72, 8), checksum: f("integer", 80, 16), saddr: f("ipv4_addr", 96, 32), daddr: f("ipv4_addr", 128, 32),
  },
  ip6: {
    version: f("integer", 0, 4), dscp: f("dscp", 4, 6), ecn: f("ecn", 10, 2), flowlabel: f("integer", 12, 20),
    length: f("integer", 32, 16), nexthdr: f("inet_proto", 48, 8), hoplimit: f("integer", 56, 8),
    saddr: f("ipv6_addr", 64, 128), daddr: f("ipv6_addr", 192, 128),
  },
  icmp: {
    type: f("icmp_type", 0, 8), code: f("icmp_code", 8, 8), checksum: f("integer", 16, 16), id: f("integer", 32, 16),
    sequence: f("integer", 48, 16), gateway: f("ipv4_addr", 32, 32), mtu: f("integer", 48, 16),
  },
  icmpv6: {
    type: f("icmpv6_type", 0, 8), code: f("icmpv6_code", 8, 8), checksum: f("integer", 16, 16),
    "parameter-problem": f("integer", 32, 32), "packet-too-big": f("integer", 32, 32), id: f("integer", 32, 16),
    sequence: f("integer", 48, 16), "max-delay": f("integer", 32, 16),
  },
  igmp: { type: f("igmp_type", 0, 8), mrt: f("integer", 8, 8), checksum: f("integer", 16, 16), group: f("ipv4_addr", 32, 32) },
  tcp: {
    sport: f("inet_service", 0, 16), dport: f("inet_service", 16, 16), sequence: f("integer", 32, 32),
    ackseq: f("integer", 64, 32), doff: f("integer", 96, 4), reserved: f("integer", 100, 4), flags: f("tcp_flag", 104, 8),
    window: f("integer", 112, 16), checksum: f("integer", 128, 16), urgptr: f("integer", 144, 16),
  },
  udp: { sport: f("inet_service", 0, 16), dport: f("inet_service", 16, 16), length: f("integer", 32, 16), checksum: f("integer", 48, 16) },
  udplite: { sport: f("inet_service", 0, 16), dport: f("inet_service", 16, 16), checksum: f("integer", 48, 16) },
  sctp: { sport: f("inet_service", 0, 16), dport: f("inet_service", 16, 16), vtag: f("integer", 32, 32), checksum: f("integer", 64, 32) },
  dccp: { sport: f("inet_service", 0, 16), dport: f("inet_service", 16, 16), type: f("integer", 64, 4) },
  th: { sport: f("inet_service", 0, 16), dport: f("inet_service", 16, 16) },
  ah: { nexthdr: f("inet_proto", 0, 8), hdrlength: f("integer", 8, 8), reserved: f("integer", 16, 16), spi: f("integer", 32, 32), sequence: f("integer", 64, 32) },
  esp: { spi: f("integer", 0, 32), sequence: f("integer", 32, 32) },
  comp: { nexthdr: f("inet_proto", 0, 8), flags: f("integer", 8, 8), cpi: f("integer", 16, 16) },
};

export const PAYLOAD_FIELDS: Readonly<Record<string, Header>> = wordTable(
  Object.fromEntries(Object.entries(FIELDS).map(([k, v]) => [k, wordTable(v)])),
);

/** The field description of a named payload, if nft knows it. */
export function payloadField(protocol: string, field: string): PayloadField | undefined {
  return PAYLOAD_FIELDS[protocol]?.[field];
}

const RAW = /^@(ll|nh|th|ih),([0-9]+),([0-9]+)$/;

/** Words after the protocol that are not a field of it but start another expression (`tcp option`, `ip option`). */
function fieldWords(r: WordReader, protocol: string): string | undefined {
  const header = PAYLOAD_FIELDS[protocol]!;
  const w = r.peek(1);
  if (w === undefined) return undefined;
  // arp's addresses are two words: `arp saddr ip`.
  if (protocol === "arp") {
    const two = `${w} ${r.peek(2) ?? ""}`;
    if (header[two]) return two;
  }
  return Object.hasOwn(header, w) ? w : undefined;
}

export const payload: ExprKind<NftPayload> = {
  kind: "payload",
  keywords: Object.keys(FIELDS),
  starts(r) {
    const w = r.peek();
    if (w === undefined) return false;
    if (RAW.test(w)) return true;
    return Object.hasOwn(PAYLOAD_FIELDS, w) && fieldWords(r, w) !== undefined;
  },
  read(r) {
    const w = r.peek()!;
    const raw = RAW.exec(w);
    if (raw) {
      r.take();
      return { kind: "payload", base: raw[1] as "ll" | "nh" | "th" | "ih", offset: Number(raw[2]), len: Number(raw[3]) };
    }
    const field = fieldWords(r, w);
    r.take();
    if (field === undefined) return r.fail(`a field of ${w} (${Object.keys(PAYLOAD_FIELDS[w] ?? {}).join(", ")})`);
    for (let i = 0; i < field.split(" ").length; i++) r.take();
    return { kind: "payload", protocol: w, field };
  },
  jsonKeys: ["payload"],
  readJson,
  type(e) {
    if ("base" in e) return ["xinteger"];
    const t = payloadField(e.protocol, e.field)?.type;
    return t === undefined ? undefined : [t];
  },
  print(e) {
    return "base" in e ? `@${e.base},${e.offset},${e.len}` : `${e.protocol} ${e.field}`;
  },
  // (A raw offset reads either family's header.)
  family: (e) => ("protocol" in e ? FAMILY_OF[e.protocol] : undefined),
  evaluate,
  reader,
};

/** `{"payload": {"protocol": "tcp", "field": "dport"}}`, or raw: `{"payload": {"base": "nh", "offset": 96, "len": 32}}`. */
function readJson(_key: string, v: JsonNode, _n: JsonNode, { r }: JsonExprReader): NftPayload | undefined {
  const o = r.fields(v, "payload expression");
  if (!o) return undefined;
  if (o.has("base")) {
    const base = r.oneOf(o, "base", "raw payload expression", ["ll", "nh", "th", "ih"] as const);
    const offset = r.int(o, "offset", "raw payload expression", 0, 0xffffffff);
    const len = r.int(o, "len", "raw payload expression", 0, 0xffffffff);
    if (!base || !r.need(v, o, ["offset", "len"], "raw payload expression") || offset === undefined || len === undefined) return undefined;
    return { kind: "payload", base, offset, len };
  }
  const protocol = r.needStr(v, o, "protocol", "payload expression");
  const field = r.needStr(v, o, "field", "payload expression");
  return protocol === undefined || field === undefined ? undefined : { kind: "payload", protocol, field };
}

const L4: Readonly<Record<string, number>> = { tcp: PROTO_TCP, udp: PROTO_UDP, sctp: PROTO_SCTP, icmp: PROTO_ICMP, icmpv6: PROTO_ICMPV6, udplite: 136, dccp: 33 };

function num(n: number | undefined, what: string): XVal {
  return n === undefined ? unknown(`the packet's ${what} is not given`) : fieldVal(n);
}

function addr(text: string): XVal {
  return addressVal(text) ?? unknown(`address ${text} cannot be read`);
}

/**
 * Raw offsets that are plainly a field netfate has (`@th,16,16` is the destination port of
 * TCP, UDP and SCTP; `@nh,96,32` an IPv4 source): read as that field.
 */
function rawField(e: Extract<NftPayload, { base: string }>, family: "ipv4" | "ipv6", proto: number): { protocol: string; field: string } | undefined {
  const at = `${e.base},${e.offset},${e.len}`;
  if (e.base === "th" && hasPorts(proto)) return at === "th,0,16" ? { protocol: "th", field: "sport" } : at === "th,16,16" ? { protocol: "th", field: "dport" } : undefined;
  if (e.base !== "nh") return undefined;
  const v4: Readonly<Record<string, string>> = { "nh,96,32": "saddr", "nh,128,32": "daddr", "nh,72,8": "protocol", "nh,64,8": "ttl" };
  const v6: Readonly<Record<string, string>> = { "nh,64,128": "saddr", "nh,192,128": "daddr", "nh,48,8": "nexthdr", "nh,56,8": "hoplimit" };
  const field = (family === "ipv4" ? v4 : v6)[at];
  return field ? { protocol: family === "ipv4" ? "ip" : "ip6", field } : undefined;
}

function evaluate(e: NftPayload, env: NftExprEnv): XVal {
  const p = env.br.pkt;
  if (!("protocol" in e)) {
    const known = rawField(e, p.family, p.proto);
    if (known) return evaluate({ kind: "payload", ...known }, env);
    return unknown(`raw payload @${e.base},${e.offset},${e.len}: netfate does not read raw header bytes`);
  }
  const { protocol, field } = e;
  if (protocol === "ip" || protocol === "ip6") {
    if ((protocol === "ip") !== (p.family === "ipv4")) return absent(`the packet is not ${protocol === "ip" ? "IPv4" : "IPv6"}`);
    switch (field) {
      case "saddr":
        return addr(p.src);
      case "daddr":
        return addr(p.dst);
      case "protocol":
      case "nexthdr":
        return fieldVal(p.proto);
      case "ttl":
      case "hoplimit":
        return num(p.ttl, "TTL");
      case "length":
      case "payload_length":
        return num(p.length, "length");
      case "version":
        return fieldVal(protocol === "ip" ? 4 : 6);
      case "dscp":
        return p.tos === undefined ? unknown("the packet's TOS/DSCP is not given") : fieldVal(p.tos >> 2);
      case "ecn":
        return p.tos === undefined ? unknown("the packet's TOS/ECN is not given") : fieldVal(p.tos & 3);
      default:
        return unknown(`${protocol} ${field}: netfate does not model this header field`);
    }
  }
  if (protocol === "th") {
    if (p.fragment) return absent("a non-first fragment has no transport header");
    if (!hasPorts(p.proto)) return unknown(`th ${field} of protocol ${p.proto}: netfate does not read its header bytes`);
    if (field === "sport") return num(p.sport, "source port");
    if (field === "dport") return num(p.dport, "destination port");
    return unknown(`th ${field}: netfate does not model this header field`);
  }
  const want = L4[protocol];
  if (want === undefined) return unknown(`${protocol} ${field}: netfate does not model this protocol's header`);
  if (p.proto !== want) return absent(`the packet is not ${protocol}`);
  if (p.fragment) return absent("a non-first fragment has no transport header");
  if (protocol === "icmp" || protocol === "icmpv6") {
    if (field === "type") return num(p.icmpType, "ICMP type");
    if (field === "code") return num(p.icmpCode, "ICMP code");
    return unknown(`${protocol} ${field}: netfate does not model this header field`);
  }
  switch (field) {
    case "sport":
      return num(p.sport, "source port");
    case "dport":
      return num(p.dport, "destination port");
    case "flags":
      return protocol === "tcp" ? num(p.tcpFlags, "TCP flags") : unknown(`${protocol} flags: not modelled`);
    default:
      return unknown(`${protocol} ${field}: netfate does not model this header field`);
  }
}

/**
 * evaluate for one expression, its protocol and field looked at once: the fields rules test
 * most (addresses and ports) read the packet directly where it has them, and every other case
 * (another family or protocol, a fragment, a field not given) is evaluate's own answer.
 */
function reader(e: NftPayload): (env: NftExprEnv) => XVal {
  const slow = (env: NftExprEnv): XVal => evaluate(e, env);
  if (!("protocol" in e)) return slow;
  const { protocol, field } = e;
  const src = field === "saddr" || field === "sport";
  if ((protocol === "ip" || protocol === "ip6") && (field === "saddr" || field === "daddr")) {
    const family = protocol === "ip" ? "ipv4" : "ipv6";
    return (env) => {
      const p = env.br.pkt;
      return p.family === family ? addr(src ? p.src : p.dst) : slow(env);
    };
  }
  if (field !== "sport" && field !== "dport") return slow;
  if (protocol === "th") {
    return (env) => {
      const p = env.br.pkt;
      const n = src ? p.sport : p.dport;
      return n !== undefined && !p.fragment && hasPorts(p.proto) ? fieldVal(n) : slow(env);
    };
  }
  const want = L4[protocol];
  if (want === undefined || protocol === "icmp" || protocol === "icmpv6") return slow;
  return (env) => {
    const p = env.br.pkt;
    const n = src ? p.sport : p.dport;
    return n !== undefined && p.proto === want && !p.fragment ? fieldVal(n) : slow(env);
  };
}
