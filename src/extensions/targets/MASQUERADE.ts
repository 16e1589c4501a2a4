/**
 * `-j MASQUERADE`: SNAT to the address the output interface would use towards the next hop,
 * chosen when the connection's first packet leaves (nat POSTROUTING).
 */
import type { TargetExtension } from "../types.js";
import { collectOptions } from "../util.js";
import { parseToPorts, portsText, readPorts } from "./REDIRECT.js";
import { natPort, randomPortNote } from "../nat-range.js";
import type { NatTo } from "../../model/evaluation.js";

export interface MasqueradeData {
  minPort?: number;
  maxPort?: number;
  random: boolean;
  randomFully: boolean;
}

export const MASQUERADE: TargetExtension<MasqueradeData> = {
  type: "target",
  name: "MASQUERADE",
  reads: (d) => (d.minPort !== undefined ? ["sport"] : []),
  needsConntrack: true,
  tables: ["nat"],
  options: [
    { flags: ["--to-ports"], args: 1 },
    { flags: ["--random"], args: 0 },
    { flags: ["--random-fully"], args: 0 },
  ],
  parse(options, ctx) {
    const o = collectOptions(MASQUERADE.options, options, ctx, "MASQUERADE");
    const d: MasqueradeData = { random: o.has("--random"), randomFully: o.has("--random-fully") };
    const to = o.get("--to-ports");
    if (to) {
      // iptables refuses ports without a port protocol (reference UNSUPPORTED.md).
      const r = parseToPorts(to, ctx, "MASQUERADE");
      if (!r) return undefined;
      Object.assign(d, r);
    }
    return d;
  },
  save(d) {
    return `${d.minPort !== undefined ? ` --to-ports ${portsText(d)}` : ""}${d.random ? " --random" : ""}${d.randomFully ? " --random-fully" : ""}`;
  },
  print(d) {
    return `${d.minPort !== undefined ? ` masq ports: ${portsText(d)}` : ""}${d.random ? " random" : ""}${d.randomFully ? " random-fully" : ""}`;
  },
  parsePrint(s) {
    const d: MasqueradeData = { random: false, randomFully: false };
    const m = s.match(/masq ports: (\d+(?:-\d+)?)(?=\s|$)/);
    if (m) Object.assign(d, readPorts(m[1]!));
    if (s.literal("random")) d.random = true;
    if (s.literal("random-fully")) d.randomFully = true;
    return d;
  },
  apply(d, env, fx) {
    const p = env.packet;
    if (!p.outIface) return { indeterminate: "MASQUERADE without an output interface" };
    const addr = env.node.masqueradeAddress(p.outIface, p.family, p.nexthop);
    if (!addr) {
      // The kernel drops the packet when no address can be selected (masquerade_tg: NF_DROP).
      if (env.node.known) return { verdict: "DROP", detail: `MASQUERADE: no global address on ${p.outIface} or any other interface` };
      return { indeterminate: `MASQUERADE needs the address of ${p.outIface} (give node facts)` };
    }
    const to: NatTo = { addr };
    // The source port is kept when it is free; only a clash makes the kernel pick another.
    const port = p.sport === undefined ? undefined : natPort(p.sport, d);
    if (port !== undefined) to.port = port;
    const note = randomPortNote("source", p.sport, d, d.random || d.randomFully);
    if (note !== undefined) to.portNote = note;
    fx.nat("snat", to, "MASQUERADE");
    return { verdict: "ACCEPT" };
  },
};
