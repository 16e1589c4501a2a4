/** `-m udp` (also loaded by `-p udp`): source and destination ports. */
import type { MatchExtension } from "../types.js";
import { collectOptions, neg, savePortRange } from "../util.js";
import { bindPorts, exactDport, parsePortField, portIn, portWitnesses, printPortField, type NegPortRange } from "./tcp.js";

export interface UdpData {
  sport?: NegPortRange;
  dport?: NegPortRange;
}

export const udp: MatchExtension<UdpData> = {
  type: "match",
  name: "udp",
  reads: (d) => (d.sport ? ["sport", "dport"] : ["dport"]),
  implicitForProtocol: true,
  indexDport: exactDport,
  witnesses: portWitnesses,
  printPrefixes: ["udp"],
  options: [
    { flags: ["--sport", "--source-port"], args: 1, negatable: true },
    { flags: ["--dport", "--destination-port"], args: 1, negatable: true },
  ],
  parse(options, ctx) {
    const o = collectOptions(this.options, options, ctx, "udp");
    const d: UdpData = {};
    return bindPorts(o, ctx, "udp", d, "keep", "decimal") ? d : undefined;
  },
  save(d) {
    let s = "";
    if (d.sport) s += `${neg(d.sport)} --sport ${savePortRange(d.sport)}`;
    if (d.dport) s += `${neg(d.dport)} --dport ${savePortRange(d.dport)}`;
    return s;
  },
  print(d, ctx) {
    let s = " udp";
    if (d.sport) s += printPortField("spt", d.sport, ctx.numeric, "udp");
    if (d.dport) s += printPortField("dpt", d.dport, ctx.numeric, "udp");
    return s;
  },
  evaluate(d, env) {
    const p = env.packet;
    if (p.proto !== 17 || p.fragment) return false;
    if ((d.sport && p.sport === undefined) || (d.dport && p.dport === undefined)) return { indeterminate: "the packet's UDP ports are not given" };
    if (d.sport && !portIn(d.sport, p.sport)) return false;
    if (d.dport && !portIn(d.dport, p.dport)) return false;
    return true;
  },
  parsePrint(s) {
    if (!s.literal("udp")) return undefined;
    const d: UdpData = {};
    const sp = parsePortField(s, "spt");
    if (sp) d.sport = sp;
    const dp = parsePortField(s, "dpt");
    if (dp) d.dport = dp;
    return d;
  },
};
