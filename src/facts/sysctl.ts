/**
 * The sysctls netfate reads, and the values the kernel can print for them. Checked in a
 * network namespace (Linux 6.18, test/unit/facts-sysctl.test.ts pins it): net.ipv4.ip_forward,
 * and every net.ipv4.conf.{all,default,IFACE}.{rp_filter,route_localnet,accept_local,forwarding}
 * and net.ipv6.conf.{all,default,IFACE}.forwarding, take any int (`sysctl -w` of 2, 3, -1 and
 * 2147483647 reads back the same; 2147483648 and `banana` are "Invalid argument"), rp_filter
 * too: the kernel uses the larger of `all` and the interface's value, 1 is strict and any
 * other non-zero value loose (__fib_validate_source tests `rpf == 1`).
 * nf_conntrack_tcp_loose takes only 0 or 1; br_netfilter stores any non-zero
 * bridge-nf-call-* as 1. Other keys are kept as given: netfate does not read them.
 *
 * sysctl prints an interface whose name has a dot with a slash instead
 * (`net.ipv4.conf.flannel/1.rp_filter`, since the dot separates the key's parts): keys are
 * kept in that spelling, whichever one the input used.
 */
import type { Family } from "../model/ast.js";

const INT32: readonly [number, number] = [-2147483648, 2147483647];
const BOOL: readonly [number, number] = [0, 1];

const READ = new Map<string, readonly [number, number]>([
  ["net.ipv4.ip_forward", INT32],
  ["net.netfilter.nf_conntrack_tcp_loose", BOOL],
  ["net.bridge.bridge-nf-call-iptables", BOOL],
  ["net.bridge.bridge-nf-call-ip6tables", BOOL],
]);

/** Per-interface settings (`net.ipv4.conf.IFACE.KEY`, with `all` and `default`), each any int. */
export const CONF_READ: Readonly<Record<Family, readonly string[]>> = {
  ipv4: ["rp_filter", "route_localnet", "accept_local", "forwarding"],
  ipv6: ["forwarding"],
};

const CONF_KEY = /^net\.(ipv4|ipv6)\.conf\.(.+)\.([\w-]+)$/;

/** The key of an interface's setting as sysctl prints it: `confKey("ipv4", "flannel.1", "rp_filter")` is net.ipv4.conf.flannel/1.rp_filter. */
export function confKey(family: Family, iface: string, setting: string): string {
  return `net.${family}.conf.${iface.replaceAll(".", "/")}.${setting}`;
}

/** A key in sysctl's spelling: the dots of an interface name in a conf key become slashes. */
export function canonicalSysctlKey(key: string): string {
  const m = CONF_KEY.exec(key);
  return m && m[2]!.includes(".") ? confKey(m[1] as Family, m[2]!, m[3]!) : key;
}

/** The value of an interface's setting in `sysctl` (keys as canonicalSysctlKey spells them), if given. */
export function confValue(sysctl: Readonly<Record<string, string>>, family: Family, iface: string, setting: string): string | undefined {
  return sysctl[confKey(family, iface, setting)];
}

function rangeOf(key: string): readonly [number, number] | undefined {
  const m = CONF_KEY.exec(key);
  if (m && CONF_READ[m[1] as Family].includes(m[3]!)) return INT32;
  return READ.get(key);
}

/** Why `value` cannot be what the kernel prints for `key`, or undefined. */
export function sysctlValueProblem(key: string, value: string): string | undefined {
  const range = rangeOf(key);
  if (!range) return undefined;
  const n = /^-?\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (Number.isNaN(n) || n < range[0] || n > range[1]) {
    return `${key} = ${JSON.stringify(value)}: the kernel holds ${range === BOOL ? "0 or 1" : "an integer"} there`;
  }
  return undefined;
}
