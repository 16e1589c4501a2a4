/**
 * `-m socket [--transparent] [--nowildcard] [--restore-skmark]`: whether a local socket owns
 * the packet, looked up by its addresses and ports (PREROUTING and INPUT only). The lookup
 * finds established sockets too, and TPROXY'd connections hold sockets bound to addresses
 * that are not the node's, so even a packet to a foreign address may match: with TCP or UDP
 * (or an ICMP error quoting one) the answer depends on the node's sockets, which netfate
 * does not know. Other packets have nothing to look up and never match.
 */
import type { MatchExtension, OptionSpec } from "../types.js";
import { collectOptions } from "../util.js";

export interface SocketData {
  transparent: boolean;
  nowildcard: boolean;
  restoreSkmark: boolean;
}

const FLAGS = [
  ["transparent", "--transparent"],
  ["nowildcard", "--nowildcard"],
  ["restoreSkmark", "--restore-skmark"],
] as const;

const OPTIONS: readonly OptionSpec[] = FLAGS.map(([, flag]) => ({ flags: [flag], args: 0 }));

/** ICMP error types whose quoted header the kernel looks a socket up by. */
const ICMP4_ERRORS: ReadonlySet<number> = new Set([3, 4, 5, 11, 12]);

function flagsText(d: SocketData): string {
  return FLAGS.filter(([k]) => d[k]).map(([, f]) => ` ${f}`).join("");
}

export const socket: MatchExtension<SocketData> = {
  type: "match",
  name: "socket",
  reads: () => [],
  printPrefixes: ["socket"],
  options: OPTIONS,
  parse(options, ctx) {
    const o = collectOptions(OPTIONS, options, ctx, "socket");
    return { transparent: o.has("--transparent"), nowildcard: o.has("--nowildcard"), restoreSkmark: o.has("--restore-skmark") };
  },
  save(d) {
    return flagsText(d);
  },
  print(d) {
    return ` socket${flagsText(d)}`;
  },
  parsePrint(s) {
    if (!s.literal("socket")) return undefined;
    const d: SocketData = { transparent: false, nowildcard: false, restoreSkmark: false };
    // The flags come in this order and only once each.
    for (const [k, f] of FLAGS) if (s.literal(f)) d[k] = true;
    return d;
  },
  evaluate(d, env) {
    if (env.hook !== "PREROUTING" && env.hook !== "INPUT") {
      return { indeterminate: `socket in ${env.hook}: the kernel accepts the socket match only in PREROUTING and INPUT, so this ruleset would not load` };
    }
    const p = env.packet;
    const icmp = p.family === "ipv4" ? p.proto === 1 : p.proto === 58;
    if (icmp) {
      if (p.icmpType === undefined) return { indeterminate: "socket: the ICMP type is not given (errors are looked up by the header they quote)" };
      const error = p.family === "ipv4" ? ICMP4_ERRORS.has(p.icmpType) : p.icmpType < 128;
      // Echo and other informational messages have no socket to look up.
      if (!error) return false;
    } else if (p.proto !== 6 && p.proto !== 17) return false;
    return { indeterminate: `socket${flagsText(d)}: whether a local socket${d.transparent ? " with IP_TRANSPARENT" : ""} owns this packet is not known` };
  },
};
