/**
 * `meta KEY` (and the bare `iifname`, `mark`... forms). Interface names the kernel reads from
 * the device the hook was called with: none is the empty name (nft_meta_store_ifname), while
 * `iif`/`oif` (an interface index) of no device stop the rule.
 */
import type { NftMeta } from "../../../model/nft.js";
import { addressNum, fieldVal } from "../../../model/nft-values.js";
import { absent, unknown, value, type NftEnv } from "./env.js";
import type { XVal } from "../../../model/nft-values.js";

/** NFPROTO_IPV4 and NFPROTO_IPV6; ETH_P_IP and ETH_P_IPV6. */
const NFPROTO = { ipv4: 2, ipv6: 10 } as const;
const ETHERTYPE = { ipv4: 0x0800, ipv6: 0x86dd } as const;
/** ARPHRD_LOOPBACK: the one link type netfate knows without link facts. */
const ARPHRD_LOOPBACK = 772;

export function meta(e: NftMeta, env: NftEnv): XVal {
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
