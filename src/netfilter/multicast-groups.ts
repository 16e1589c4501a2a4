/**
 * The IPv6 multicast groups a device is in without any program asking (addrconf): what
 * ip6_mc_input reads to deliver an arriving multicast packet or drop it after PREROUTING.
 * Checked in a namespace with `ip -6 maddr show dev X` and traces of packets sent to each:
 *
 * - all-nodes, ff02::1 (and ff01::1), on every device with IPv6;
 * - the solicited-node group ff02::1:ffXX:XXXX of each of the device's addresses;
 * - all-routers, ff02::2 (ff01::2, ff05::2), while the device forwards.
 *
 * Any other group is joined by a program (mDNS's ff02::fb, a routing daemon's ff02::5), which
 * the node facts do not show: said as an assumption, as for IPv4.
 */
import { ipToNum } from "../model/address.js";
import type { Tri } from "../model/evaluation.js";

type V6 = readonly [number, number, number, number];

const v6 = (ip: string) => ipToNum(ip, "ipv6") as V6 | undefined;
const same = (a: V6, b: V6) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];

const ALL_NODES = ["ff02::1", "ff01::1"].map((a) => v6(a)!);
const ALL_ROUTERS = ["ff02::2", "ff01::2", "ff05::2"].map((a) => v6(a)!);

/** The scope of an IPv6 multicast address (its fourth hex digit): 1 interface-local, 2 link-local, … */
export function multicastScope6(group: string): number | undefined {
  const g = v6(group);
  return g && (g[0] >>> 16) & 0xf;
}

export type Membership = { joined: boolean } | { indeterminate: string };

/**
 * Whether `dev`, holding `addrs` (its IPv6 addresses) and forwarding as `forwards` says, is in
 * the group `group` by the kernel's own doing.
 */
export function kernelMembership6(group: string, dev: string, addrs: readonly string[], forwards: Tri): Membership {
  const g = v6(group);
  if (!g) return { joined: false };
  if (ALL_NODES.some((a) => same(a, g))) return { joined: true };
  for (const a of addrs) {
    const n = v6(a);
    if (n && same(g, [0xff020000, 0, 1, (0xff000000 | (n[3] & 0xffffff)) >>> 0])) return { joined: true };
  }
  if (ALL_ROUTERS.some((a) => same(a, g))) {
    if (forwards === true) return { joined: true };
    if (forwards !== false) return { indeterminate: `${dev} is in the all-routers group ${group} only while it forwards: ${forwards.indeterminate}` };
  }
  return { joined: false };
}
