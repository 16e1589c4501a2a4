/** `-j SNAT --to-source`: rewrites the source of a connection's first packet (nat POSTROUTING/INPUT). */
import type { TargetExtension } from "../types.js";
import { natPort, natPortsChecked, natRangeText, parseNatRange, randomPortNote, type NatRange } from "../nat-range.js";
import type { NatTo } from "../../model/evaluation.js";

export interface SnatData {
  range: NatRange;
  random: boolean;
  randomFully: boolean;
  persistent: boolean;
}

export const SNAT: TargetExtension<SnatData> = {
  type: "target",
  name: "SNAT",
  reads: (d) => (d.range.minPort !== undefined ? ["sport"] : []),
  needsConntrack: true,
  tables: ["nat"],
  options: [
    { flags: ["--to-source"], args: 1 },
    { flags: ["--random"], args: 0 },
    { flags: ["--random-fully"], args: 0 },
    { flags: ["--persistent"], args: 0 },
  ],
  parse(options, ctx, span) {
    const to = options.find((o) => o.flag === "--to-source");
    if (!to) {
      ctx.error(span, "SNAT: --to-source is required", "--to-source IP[:PORT]");
      return undefined;
    }
    const r = parseNatRange(to.values[0] ?? "", ctx.family);
    if ("error" in r) {
      ctx.error(to.span, "SNAT: bad --to-source", r.error, to.values[0]);
      return undefined;
    }
    if (r.minPort !== undefined && !natPortsChecked(ctx, to.span, "SNAT")) return undefined;
    const has = (f: string) => options.some((o) => o.flag === f);
    return { range: r, random: has("--random"), randomFully: has("--random-fully"), persistent: has("--persistent") };
  },
  save(d, ctx) {
    return ` --to-source ${natRangeText(d.range, ctx.family)}${d.random ? " --random" : ""}${d.randomFully ? " --random-fully" : ""}${d.persistent ? " --persistent" : ""}`;
  },
  print(d, ctx) {
    return ` to:${natRangeText(d.range, ctx.family)}${d.random ? " random" : ""}${d.randomFully ? " random-fully" : ""}${d.persistent ? " persistent" : ""}`;
  },
  parsePrint(s, ctx) {
    const m = s.match(/to:(\S+)/);
    if (!m) return undefined;
    const r = parseNatRange(m[1]!, ctx.family);
    if ("error" in r) return undefined;
    return { range: r, random: s.literal("random"), randomFully: s.literal("random-fully"), persistent: s.literal("persistent") };
  },
  apply(d, env, fx) {
    const r = d.range;
    const to: NatTo = {};
    if (r.minAddr !== undefined) to.addr = r.minAddr;
    const p = env.packet;
    // (a source port not given is left as it is)
    const port = p.sport === undefined ? undefined : natPort(p.sport, r);
    if (port !== undefined) to.port = port;
    const note = randomPortNote("source", p.sport, r, d.random || d.randomFully);
    if (note !== undefined) to.portNote = note;
    const ranged = r.minAddr !== r.maxAddr;
    fx.nat("snat", to, ranged ? `SNAT (first of range ${natRangeText(r, p.family)})` : "SNAT");
    return { verdict: "ACCEPT" };
  },
};
