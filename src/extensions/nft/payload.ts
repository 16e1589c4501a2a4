/**
 * Payload expressions: a header field of a protocol (`ip saddr`, `tcp dport`, `th dport`),
 * or raw bits at an offset from a base (`@nh,16,16`). Field offsets, lengths and datatypes as
 * nft's proto.c describes the headers.
 */
import type { NftPayload } from "../../model/nft.js";
import { wordTable, type ExprKind, type WordReader } from "./types.js";

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

export const payloadKind: ExprKind<NftPayload> = {
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
  type(e) {
    if ("base" in e) return ["xinteger"];
    const t = payloadField(e.protocol, e.field)?.type;
    return t === undefined ? undefined : [t];
  },
  print(e) {
    return "base" in e ? `@${e.base},${e.offset},${e.len}` : `${e.protocol} ${e.field}`;
  },
};
