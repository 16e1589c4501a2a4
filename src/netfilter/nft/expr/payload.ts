/**
 * Header fields (`ip saddr`, `tcp dport`, `th dport`, `icmp type`...) from the packet as it is
 * now. A field of another protocol than the packet's is absent: nft adds the protocol test
 * itself (`tcp dport` carries `meta l4proto tcp`), so the rule does not match; a non-first
 * fragment has no transport header (nft_payload: NFT_BREAK on fragoff).
 */
import type { NftPayload } from "../../../model/nft.js";
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP, hasPorts } from "../../../model/packet.js";
import { addressVal, fieldVal } from "../../../model/nft-values.js";
import { absent, unknown, value, type NftEnv } from "./env.js";
import type { XVal } from "../../../model/nft-values.js";

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

export function payload(e: NftPayload, env: NftEnv): XVal {
  const p = env.br.pkt;
  if (!("protocol" in e)) {
    const known = rawField(e, p.family, p.proto);
    if (known) return payload({ kind: "payload", ...known }, env);
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
