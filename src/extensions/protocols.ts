import { cNumber } from "../model/c-number.js";

/**
 * IP protocol names as iptables 1.8.9 on Debian prints them (it reads /etc/protocols; these
 * are the names that file gives, so `-p 4` saves as `-p ipencap`). Written out here so the
 * output does not depend on the machine netfate runs on.
 */
const BY_NUMBER = new Map<number, string>([
  [1, "icmp"], [2, "igmp"], [3, "ggp"], [4, "ipencap"], [5, "st"], [6, "tcp"], [8, "egp"],
  [9, "igp"], [12, "pup"], [17, "udp"], [20, "hmp"], [22, "xns-idp"], [27, "rdp"],
  [29, "iso-tp4"], [33, "dccp"], [36, "xtp"], [37, "ddp"], [38, "idpr-cmtp"], [41, "ipv6"],
  [43, "ipv6-route"], [44, "ipv6-frag"], [45, "idrp"], [46, "rsvp"], [47, "gre"], [50, "esp"],
  [51, "ah"], [57, "skip"], [58, "ipv6-icmp"], [59, "ipv6-nonxt"], [60, "ipv6-opts"],
  [73, "rspf"], [81, "vmtp"], [88, "eigrp"], [89, "ospf"], [93, "ax.25"], [94, "ipip"],
  [97, "etherip"], [98, "encap"], [103, "pim"], [108, "ipcomp"], [112, "vrrp"], [115, "l2tp"],
  [124, "isis"], [132, "sctp"], [133, "fc"], [135, "mobility-header"], [136, "udplite"],
  [137, "mpls-in-ip"], [138, "manet"], [139, "hip"], [140, "shim6"], [141, "wesp"],
  [142, "rohc"], [143, "ethernet"], [262, "mptcp"],
]);

/** Names iptables itself knows besides /etc/protocols (its `xtables_chain_protos`). */
const EXTRA_NAMES = new Map<string, number>([
  ["all", 0], ["icmpv6", 58], ["ipv6-icmp", 58], ["mh", 135],
]);

const BY_NAME = new Map<string, number>();
for (const [n, name] of BY_NUMBER) BY_NAME.set(name, n);
for (const [name, n] of EXTRA_NAMES) BY_NAME.set(name, n);

/** The number a `-p` argument stands for, or undefined when it is neither a number nor a known name. */
export function protocolNumber(text: string): number | undefined {
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    return n <= 255 ? n : undefined;
  }
  return BY_NAME.get(text.toLowerCase());
}

/**
 * The number an iptables `-p` (or `--ctproto`) argument stands for: libxtables reads a base-0
 * number first (`010` is 8, egp; `0x6` is tcp), then a name. Listings print plain decimal and
 * go through protocolNumber.
 */
export function iptablesProtocol(text: string): number | undefined {
  return cNumber(text, 255) ?? (/^[0-9]/.test(text) ? undefined : protocolNumber(text));
}

/** The name iptables-save prints for a protocol number. */
export function protocolName(n: number): string {
  return BY_NUMBER.get(n) ?? String(n);
}
