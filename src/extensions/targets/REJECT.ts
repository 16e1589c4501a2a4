/** `-j REJECT`: drops the packet and answers with an ICMP error or a TCP reset. */
import type { TargetExtension } from "../types.js";

/** [name, alias] in the kernel's numbering order, which decides what an abbreviation means. */
const V4: ReadonlyArray<readonly [string, string]> = [
  ["icmp-net-unreachable", "net-unreach"], ["icmp-host-unreachable", "host-unreach"],
  ["icmp-proto-unreachable", "proto-unreach"], ["icmp-port-unreachable", "port-unreach"],
  ["icmp-net-prohibited", "net-prohib"], ["icmp-host-prohibited", "host-prohib"],
  ["tcp-reset", "tcp-rst"], ["icmp-admin-prohibited", "admin-prohib"],
];
const V6: ReadonlyArray<readonly [string, string]> = [
  ["icmp6-no-route", "no-route"], ["icmp6-adm-prohibited", "adm-prohibited"],
  ["icmp6-addr-unreachable", "addr-unreach"], ["icmp6-port-unreachable", "port-unreach"],
  ["tcp-reset", "tcp-reset"], ["icmp6-policy-fail", "policy-fail"], ["icmp6-reject-route", "reject-route"],
];

/**
 * libip(6)t_REJECT takes the first type whose name or alias starts with the text, ignoring
 * case: `icmp-host` is icmp-host-unreachable, `ICMP-HOST-PROHIB` icmp-host-prohibited.
 */
export function rejectType(text: string, family: "ipv4" | "ipv6"): string | undefined {
  if (text === "") return undefined;
  const t = text.toLowerCase();
  return (family === "ipv4" ? V4 : V6).find(([n, alias]) => n.startsWith(t) || alias.startsWith(t))?.[0];
}

export interface RejectData {
  with: string;
}

export const REJECT: TargetExtension<RejectData> = {
  type: "target",
  name: "REJECT",
  reads: () => [],
  // ipt_REJECT/ip6t_REJECT register for the filter table only (measured: raw, mangle and
  // security refuse it in both flavours).
  tables: ["filter"],
  options: [{ flags: ["--reject-with"], args: 1 }],
  parse(options, ctx) {
    if (options.length > 1) return void ctx.error(options[1]!.span, "REJECT: --reject-with given more than once");
    const o = options[0];
    if (!o) return { with: ctx.family === "ipv4" ? "icmp-port-unreachable" : "icmp6-port-unreachable" };
    const v = o.values[0] ?? "";
    const hit = rejectType(v, ctx.family);
    if (!hit) {
      ctx.error(o.span, `REJECT: unknown reject type "${v}"`, (ctx.family === "ipv4" ? V4 : V6).map(([n]) => n).join(", "), v);
      return undefined;
    }
    if (hit === "tcp-reset" && (!ctx.protocol || ctx.protocol.number !== 6 || ctx.protocol.negated)) {
      ctx.error(o.span, "REJECT: tcp-reset needs -p tcp (the kernel refuses it otherwise)");
      return undefined;
    }
    return { with: hit };
  },
  save(d) {
    return ` --reject-with ${d.with}`;
  },
  print(d) {
    return ` reject-with ${d.with}`;
  },
  parsePrint(s, ctx) {
    const m = s.match(/reject-with (\S+)(?=\s|$)/);
    return m && (ctx.family === "ipv4" ? V4 : V6).some(([n]) => n === m[1]) ? { with: m[1]! } : undefined;
  },
  apply(d, env) {
    // The kernel's REJECT only works where a packet can be answered: INPUT, FORWARD, OUTPUT.
    if (env.hook !== "INPUT" && env.hook !== "FORWARD" && env.hook !== "OUTPUT") {
      return { indeterminate: `REJECT in ${env.hook} is refused by the kernel at load time` };
    }
    return { verdict: "REJECT", detail: d.with };
  },
};
