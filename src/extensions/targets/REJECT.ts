/** `-j REJECT`: drops the packet and answers with an ICMP error or a TCP reset. */
import type { TargetExtension } from "../types.js";

const V4: ReadonlyArray<readonly [string, string[]]> = [
  ["icmp-net-unreachable", ["net-unreach"]], ["icmp-host-unreachable", ["host-unreach"]],
  ["icmp-port-unreachable", ["port-unreach"]], ["icmp-proto-unreachable", ["proto-unreach"]],
  ["icmp-net-prohibited", ["net-prohib"]], ["icmp-host-prohibited", ["host-prohib"]],
  ["icmp-admin-prohibited", ["admin-prohib"]], ["tcp-reset", ["tcp-rst"]],
];
const V6: ReadonlyArray<readonly [string, string[]]> = [
  ["icmp6-no-route", ["no-route"]], ["icmp6-adm-prohibited", ["adm-prohibited"]],
  ["icmp6-addr-unreachable", ["addr-unreach"]], ["icmp6-port-unreachable", ["port-unreach"]],
  ["tcp-reset", ["tcp-rst"]], ["icmp6-policy-fail", ["policy-fail"]], ["icmp6-reject-route", ["reject-route"]],
];

export interface RejectData {
  with: string;
}

export const REJECT: TargetExtension<RejectData> = {
  type: "target",
  name: "REJECT",
  options: [{ flags: ["--reject-with"], args: 1 }],
  parse(options, ctx) {
    const table = ctx.family === "ipv4" ? V4 : V6;
    const o = options.find((x) => x.flag === "--reject-with");
    if (!o) return { with: table === V4 ? "icmp-port-unreachable" : "icmp6-port-unreachable" };
    const v = o.values[0] ?? "";
    const hit = table.find(([n, aliases]) => n === v || aliases.includes(v));
    if (!hit) {
      ctx.error(o.span, "REJECT: unknown --reject-with", table.map(([n]) => n).join(", "), v);
      return undefined;
    }
    if (hit[0] === "tcp-reset" && (!ctx.protocol || ctx.protocol.number !== 6 || ctx.protocol.negated)) {
      ctx.error(o.span, "REJECT: tcp-reset needs -p tcp");
      return undefined;
    }
    return { with: hit[0] };
  },
  save(d) {
    return ` --reject-with ${d.with}`;
  },
  print(d) {
    return ` reject-with ${d.with}`;
  },
  parsePrint(s) {
    const m = s.match(/reject-with (\S+)/);
    return m ? { with: m[1]! } : undefined;
  },
  apply(d, env) {
    // The kernel's REJECT only works where a packet can be answered: INPUT, FORWARD, OUTPUT.
    if (env.hook !== "INPUT" && env.hook !== "FORWARD" && env.hook !== "OUTPUT") {
      return { indeterminate: `REJECT in ${env.hook} is refused by the kernel at load time` };
    }
    return { verdict: "REJECT", detail: d.with };
  },
};
