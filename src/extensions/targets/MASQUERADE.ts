/**
 * `-j MASQUERADE`: SNAT to the address the output interface would use towards the next hop,
 * chosen when the connection's first packet leaves (nat POSTROUTING).
 */
import type { TargetExtension } from "../types.js";
import { hasPorts } from "../../model/packet.js";

export interface MasqueradeData {
  minPort?: number;
  maxPort?: number;
  random: boolean;
  randomFully: boolean;
}

function ports(d: MasqueradeData): string {
  if (d.minPort === undefined) return "";
  return d.minPort === d.maxPort ? `${d.minPort}` : `${d.minPort}-${d.maxPort}`;
}

export const MASQUERADE: TargetExtension<MasqueradeData> = {
  type: "target",
  name: "MASQUERADE",
  tables: ["nat"],
  options: [
    { flags: ["--to-ports"], args: 1 },
    { flags: ["--random"], args: 0 },
    { flags: ["--random-fully"], args: 0 },
  ],
  parse(options, ctx) {
    const d: MasqueradeData = { random: false, randomFully: false };
    for (const o of options) {
      if (o.flag === "--random") d.random = true;
      else if (o.flag === "--random-fully") d.randomFully = true;
      else if (o.flag === "--to-ports") {
        const m = /^(\d+)(?:-(\d+))?$/.exec(o.values[0] ?? "");
        const lo = m ? Number(m[1]) : NaN;
        const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
        if (!m || lo > 65535 || hi > 65535 || hi < lo) {
          ctx.error(o.span, "MASQUERADE: bad --to-ports", "PORT[-PORT]", o.values[0]);
          return undefined;
        }
        // iptables refuses ports without a port protocol (reference UNSUPPORTED.md).
        const p = ctx.protocol;
        if (!p || p.negated || !hasPorts(p.number)) {
          ctx.error(o.span, "MASQUERADE: Need TCP, UDP, SCTP or DCCP with port specification");
          return undefined;
        }
        d.minPort = lo;
        d.maxPort = hi;
      }
    }
    return d;
  },
  save(d) {
    return `${d.minPort !== undefined ? ` --to-ports ${ports(d)}` : ""}${d.random ? " --random" : ""}${d.randomFully ? " --random-fully" : ""}`;
  },
  print(d) {
    return `${d.minPort !== undefined ? ` masq ports: ${ports(d)}` : ""}${d.random ? " random" : ""}${d.randomFully ? " random-fully" : ""}`;
  },
  parsePrint(s) {
    const d: MasqueradeData = { random: false, randomFully: false };
    const m = s.match(/masq ports: (\d+)(?:-(\d+))?/);
    if (m) {
      d.minPort = Number(m[1]);
      d.maxPort = m[2] !== undefined ? Number(m[2]) : d.minPort;
    }
    if (s.literal("random")) d.random = true;
    if (s.literal("random-fully")) d.randomFully = true;
    return d;
  },
  apply(d, env, fx) {
    const p = env.packet;
    if (!p.outIface) return { indeterminate: "MASQUERADE without an output interface" };
    const addr = env.node.primaryAddress(p.outIface, p.family, p.nexthop);
    if (!addr) {
      // The kernel drops the packet when the interface has no address (masquerade_tg: NF_DROP).
      if (env.node.known) return { verdict: "DROP", detail: `MASQUERADE: ${p.outIface} has no address` };
      return { indeterminate: `MASQUERADE needs the address of ${p.outIface} (give node facts)` };
    }
    const to: { addr: string; port?: number } = { addr };
    // The source port is kept when it is free; only a clash makes the kernel pick another.
    if (d.minPort !== undefined && p.sport !== undefined && (p.sport < d.minPort || p.sport > d.maxPort!)) to.port = d.minPort;
    fx.nat("snat", to, "MASQUERADE");
    return { verdict: "ACCEPT" };
  },
};
