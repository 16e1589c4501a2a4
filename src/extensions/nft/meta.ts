/**
 * Meta expressions: facts about the packet that are not in its headers (`meta l4proto`,
 * `iifname`, `meta mark`). nft reads every key after `meta`, and some bare; it prints bare only
 * the interface keys (`iifname "eth0"`, `iifgroup 1`) and `meta KEY` for the rest (`mark 0x10`
 * lists back as `meta mark 0x00000010`; checked with nft 1.0.6).
 *
 * Evaluated: interface names the kernel reads from the device the hook was called with: none
 * is the empty name (nft_meta_store_ifname), while `iif`/`oif` (an interface index) of no
 * device stop the rule.
 */
import type { Family } from "../../model/ast.js";
import type { JsonNode } from "../../model/json.js";
import type { NftConst, NftMeta } from "../../model/nft.js";
import { absent, unknown, value, type NftExprEnv } from "../../model/nft-evaluation.js";
import { addressNum, fieldVal, type XVal } from "../../model/nft-values.js";
import { familyOfNfproto, NFPROTO, PROTO_ICMP, PROTO_ICMPV6 } from "../../model/packet.js";
import { wordTable, type ExprKind, type JsonExprReader } from "./types.js";

/** Each key's datatype and width in bits (nft's meta.c meta_templates). */
export const META_KEYS: Readonly<Record<string, { type: string; bits: number }>> = wordTable({
  length: { type: "integer", bits: 32 },
  protocol: { type: "ether_type", bits: 16 },
  priority: { type: "classid", bits: 32 },
  mark: { type: "mark", bits: 32 },
  iif: { type: "iface_index", bits: 32 },
  iifname: { type: "ifname", bits: 128 },
  iiftype: { type: "iface_type", bits: 16 },
  oif: { type: "iface_index", bits: 32 },
  oifname: { type: "ifname", bits: 128 },
  oiftype: { type: "iface_type", bits: 16 },
  skuid: { type: "uid", bits: 32 },
  skgid: { type: "gid", bits: 32 },
  nftrace: { type: "integer", bits: 1 },
  rtclassid: { type: "realm", bits: 32 },
  // `meta secmark set "ctx"` names a secmark object.
  secmark: { type: "secmark", bits: 32 },
  ibrname: { type: "ifname", bits: 128 },
  obrname: { type: "ifname", bits: 128 },
  ibriport: { type: "ifname", bits: 128 },
  obriport: { type: "ifname", bits: 128 },
  pkttype: { type: "pkttype", bits: 8 },
  cpu: { type: "integer", bits: 32 },
  iifgroup: { type: "devgroup", bits: 32 },
  oifgroup: { type: "devgroup", bits: 32 },
  cgroup: { type: "integer", bits: 32 },
  random: { type: "integer", bits: 32 },
  secpath: { type: "boolean", bits: 1 },
  ipsec: { type: "boolean", bits: 1 },
  nfproto: { type: "nf_proto", bits: 8 },
  l4proto: { type: "inet_proto", bits: 8 },
  time: { type: "date", bits: 64 },
  day: { type: "day", bits: 8 },
  hour: { type: "hour", bits: 32 },
  iifkind: { type: "ifname", bits: 128 },
  oifkind: { type: "ifname", bits: 128 },
  sdif: { type: "iface_index", bits: 32 },
  sdifname: { type: "ifname", bits: 128 },
  broute: { type: "boolean", bits: 1 },
  ibrpvid: { type: "integer", bits: 16 },
  ibrvproto: { type: "ether_type", bits: 16 },
});

/** Keys nft reads without `meta` (its grammar's meta_key_unqualified). */
const READ_BARE = new Set(["mark", "iif", "iifname", "iiftype", "oif", "oifname", "oiftype", "skuid", "skgid", "nftrace", "rtclassid", "ibriport", "obriport", "ibrname", "obrname", "pkttype", "cpu", "iifgroup", "oifgroup", "cgroup", "random", "ipsec", "priority"]);

/** Keys nft prints without `meta` (meta_key_is_unqualified). */
const PRINT_BARE = new Set(["iif", "oif", "iifname", "oifname", "iifgroup", "oifgroup"]);

export const meta: ExprKind<NftMeta> = {
  kind: "meta",
  keywords: ["meta"],
  starts(r) {
    const w = r.peek();
    if (w === "meta") return r.peek(1) !== undefined && META_KEYS[r.peek(1)!] !== undefined;
    return w !== undefined && READ_BARE.has(w);
  },
  read(r) {
    if (r.peek() === "meta") {
      r.take();
      const k = r.peek();
      if (k === undefined || META_KEYS[k] === undefined) return r.fail(`a meta key (${Object.keys(META_KEYS).join(", ")})`);
      r.take();
      return { kind: "meta", key: k };
    }
    return { kind: "meta", key: r.take() };
  },
  jsonKeys: ["meta"],
  readJson,
  type(e) {
    const t = META_KEYS[e.key]?.type;
    return t === undefined ? undefined : [t];
  },
  print(e) {
    return PRINT_BARE.has(e.key) ? e.key : `meta ${e.key}`;
  },
  family,
  evaluate,
  reader,
};

/** `{"meta": {"key": "mark"}}`. */
function readJson(_key: string, v: JsonNode, _n: JsonNode, { r }: JsonExprReader): NftMeta | undefined {
  const o = r.fields(v, "meta expression");
  const key = o && r.needStr(v, o, "key", "meta expression");
  return key === undefined ? undefined : { kind: "meta", key };
}

/** ETH_P_IP and ETH_P_IPV6. */
const ETHERTYPE = { ipv4: 0x0800, ipv6: 0x86dd } as const;
/**
 * The family a comparison with `equals` holds for alone: `meta nfproto ipv6`, `meta protocol
 * ip`, and `meta l4proto icmpv6` (ICMPv6 in an IPv4 packet, or ICMP in an IPv6 one, is no
 * packet netfate takes: packet/checks.ts refuses them).
 */
function family(e: NftMeta, equals: NftConst | undefined): Family | undefined {
  const v = equals?.value;
  if (typeof v !== "number") return undefined;
  switch (e.key) {
    case "nfproto":
      return familyOfNfproto(v);
    case "protocol":
      return v === ETHERTYPE.ipv4 ? "ipv4" : v === ETHERTYPE.ipv6 ? "ipv6" : undefined;
    case "l4proto":
      return v === PROTO_ICMP ? "ipv4" : v === PROTO_ICMPV6 ? "ipv6" : undefined;
    default:
      return undefined;
  }
}

/** ARPHRD_LOOPBACK: the one link type netfate knows without link facts. */
const ARPHRD_LOOPBACK = 772;

function evaluate(e: NftMeta, env: NftExprEnv): XVal {
  const p = env.br.pkt;
  switch (e.key) {
    case "iifname":
      return value(p.inIface ?? "");
    case "oifname":
      return value(p.outIface ?? "");
    case "iif":
      return p.inIface === undefined ? absent("the packet has no input interface") : value(p.inIface);
    case "oif":
      return p.outIface === undefined ? absent("the packet has no output interface yet") : value(p.outIface);
    case "iiftype":
    case "oiftype": {
      const dev = e.key === "iiftype" ? p.inIface : p.outIface;
      if (dev === undefined) return absent(`the packet has no ${e.key === "iiftype" ? "input" : "output"} interface`);
      return dev === "lo" ? fieldVal(ARPHRD_LOOPBACK) : unknown(`meta ${e.key}: the node facts do not give ${dev}'s link type`);
    }
    case "mark":
      return fieldVal(p.mark);
    case "l4proto":
      return fieldVal(p.proto);
    case "nfproto":
      return fieldVal(NFPROTO[p.family]);
    case "protocol":
      return fieldVal(ETHERTYPE[p.family]);
    case "length":
      return p.length === undefined ? unknown("meta length: the packet's length is not given") : fieldVal(p.length);
    case "pkttype":
      return fieldVal(pktType(p.dst, p.family));
    case "skuid":
    case "skgid":
      return env.hook === "OUTPUT" || env.hook === "POSTROUTING"
        ? unknown(`meta ${e.key}: the sending socket's owner is not in the input`)
        : absent("only locally sent packets have a socket owner");
    default:
      return unknown(`meta ${e.key}: netfate does not model it (cpu, cgroup, random numbers, socket and device state are not in the input)`);
  }
}

/**
 * PACKET_HOST unless the destination says otherwise: nft_meta's own answer for a locally
 * sent packet (multicast and broadcast by address), and what an arriving unicast frame is.
 */
function pktType(dst: string, family: "ipv4" | "ipv6"): number {
  const n = addressNum(dst);
  if (n === undefined) return 0;
  if (family === "ipv4" && typeof n === "number") {
    if (n === 0xffffffff) return 1;
    if (n >>> 28 === 0xe) return 2;
    return 0;
  }
  // (An IPv6 address below 2^53 is a number: its top byte is 0, not multicast's ff.)
  return typeof n === "bigint" && n >> 120n === 0xffn ? 2 : 0;
}

/** evaluate for one expression, its key looked at once: the packet's mark and protocol read directly, every other key evaluate's. */
function reader(e: NftMeta): (env: NftExprEnv) => XVal {
  switch (e.key) {
    case "mark":
      return (env) => fieldVal(env.br.pkt.mark);
    case "l4proto":
      return (env) => fieldVal(env.br.pkt.proto);
    default:
      return (env) => evaluate(e, env);
  }
}
