/**
 * The sysctls netfate reads, and the values the kernel can print for them. Checked in a
 * network namespace (Linux 6.x): net.ipv4.ip_forward and net.ipv6.conf.all.forwarding take
 * any int (`sysctl -w net.ipv4.ip_forward=2` reads back 2, `-1` reads back -1, `banana` is
 * "Invalid argument"); nf_conntrack_tcp_loose takes only 0 or 1; br_netfilter stores any
 * non-zero bridge-nf-call-* as 1. Other keys are kept as given: netfate does not read them.
 */

const INT32: readonly [number, number] = [-2147483648, 2147483647];
const BOOL: readonly [number, number] = [0, 1];

const READ = new Map<string, readonly [number, number]>([
  ["net.ipv4.ip_forward", INT32],
  ["net.ipv6.conf.all.forwarding", INT32],
  ["net.netfilter.nf_conntrack_tcp_loose", BOOL],
  ["net.bridge.bridge-nf-call-iptables", BOOL],
  ["net.bridge.bridge-nf-call-ip6tables", BOOL],
]);

/** Why `value` cannot be what the kernel prints for `key`, or undefined. */
export function sysctlValueProblem(key: string, value: string): string | undefined {
  const range = READ.get(key);
  if (!range) return undefined;
  const n = /^-?\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (Number.isNaN(n) || n < range[0] || n > range[1]) {
    return `${key} = ${JSON.stringify(value)}: the kernel holds ${range === BOOL ? "0 or 1" : "an integer"} there`;
  }
  return undefined;
}
