/**
 * `-m mac --mac-source XX:XX:XX:XX:XX:XX`: the Ethernet source address of a received frame.
 * The kernel accepts the match only in rules reachable from PREROUTING, INPUT and FORWARD;
 * iptables-restore fails on a ruleset using it elsewhere.
 */
import type { MatchExtension } from "../types.js";

export interface MacData {
  negated: boolean;
  /** Six lowercase two-digit hex octets joined by `:`. */
  address: string;
}

/** Exactly six two-digit hex octets, as iptables insists; lowercased as it prints them. */
function parseMac(text: string): string | undefined {
  return /^(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(text) ? text.toLowerCase() : undefined;
}

const HOOKS = new Set(["PREROUTING", "INPUT", "FORWARD"]);

export const mac: MatchExtension<MacData> = {
  type: "match",
  name: "mac",
  reads: () => [],
  printPrefixes: ["MAC"],
  options: [{ flags: ["--mac-source"], args: 1, negatable: true }],
  parse(options, ctx, span) {
    const o = options.find((x) => x.flag === "--mac-source");
    if (!o) return void ctx.error(span, "mac: --mac-source is required", "--mac-source XX:XX:XX:XX:XX:XX");
    const address = parseMac(o.values[0] ?? "");
    if (!address) return void ctx.error(o.span, `mac: bad mac address "${o.values[0] ?? ""}"`, "XX:XX:XX:XX:XX:XX", o.values[0]);
    return { negated: o.negated, address };
  },
  save(d) {
    return `${d.negated ? " !" : ""} --mac-source ${d.address}`;
  },
  print(d) {
    return ` MAC${d.negated ? " !" : ""} ${d.address}`;
  },
  parsePrint(s) {
    const m = s.match(/MAC( !)? ((?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2})(?=\s|$)/);
    if (!m) return undefined;
    return { negated: m[1] !== undefined, address: m[2]!.toLowerCase() };
  },
  evaluate(d, env) {
    if (!HOOKS.has(env.hook)) return { indeterminate: `-m mac is only valid in PREROUTING, INPUT and FORWARD: the kernel refuses a ruleset using it in ${env.hook}` };
    const p = env.packet;
    // Only an Ethernet header is read: loopback and locally generated packets fail, negated or not.
    if (p.inIface === undefined || p.inIface === "lo") return false;
    if (p.srcMac === undefined) return { indeterminate: "the packet's source MAC address is not given" };
    return (p.srcMac.toLowerCase() === d.address) !== d.negated;
  },
};
