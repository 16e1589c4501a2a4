/** `-j DNAT`: rewrites the destination of a connection's first packet (nat PREROUTING/OUTPUT). */
import type { TargetExtension, WitnessFields } from "../types.js";
import { natPort, natPortsChecked, natRangeText, parseNatRange, randomPortNote, type NatRange } from "../nat-range.js";
import type { NatTo } from "../../model/evaluation.js";

export interface DnatData {
  range: NatRange;
  random: boolean;
  persistent: boolean;
}

export const DNAT: TargetExtension<DnatData> = {
  type: "target",
  name: "DNAT",
  reads: () => ["dport"],
  needsConntrack: true,
  tables: ["nat"],
  options: [
    { flags: ["--to-destination"], args: 1 },
    { flags: ["--random"], args: 0 },
    { flags: ["--persistent"], args: 0 },
  ],
  parse(options, ctx, span) {
    const to = options.find((o) => o.flag === "--to-destination");
    if (!to) {
      ctx.error(span, "DNAT: --to-destination is required", "--to-destination IP[:PORT]");
      return undefined;
    }
    const r = parseNatRange(to.values[0] ?? "", ctx.family);
    if ("error" in r) {
      ctx.error(to.span, "DNAT: bad --to-destination", r.error, to.values[0]);
      return undefined;
    }
    if (r.minPort !== undefined && !natPortsChecked(ctx, to.span, "DNAT")) return undefined;
    return {
      range: r,
      random: options.some((o) => o.flag === "--random"),
      persistent: options.some((o) => o.flag === "--persistent"),
    };
  },
  save(d, ctx) {
    return ` --to-destination ${natRangeText(d.range, ctx.family)}${d.random ? " --random" : ""}${d.persistent ? " --persistent" : ""}`;
  },
  print(d, ctx) {
    return ` to:${natRangeText(d.range, ctx.family)}${d.random ? " random" : ""}${d.persistent ? " persistent" : ""}`;
  },
  apply(d, env, fx) {
    // The first address of a range: which one the kernel picks depends on a hash, so an
    // address range is reported as such; so is a port range under --random.
    const r = d.range;
    const to: NatTo = {};
    if (r.minAddr !== undefined) to.addr = r.minAddr;
    const port = natPort(env.packet.dport, r);
    if (port !== undefined) to.port = port;
    const note = randomPortNote("destination", env.packet.dport, r, d.random);
    if (note !== undefined) to.portNote = note;
    const ranged = r.minAddr !== r.maxAddr || (d.random && r.minPort !== r.maxPort);
    fx.nat("dnat", to, ranged ? `DNAT (first of range ${natRangeText(r, env.packet.family)})` : "DNAT");
    return { verdict: "ACCEPT" };
  },
  witnesses(d) {
    // A client may also talk to the endpoint directly; an upgrade can change that path alone.
    const r = d.range;
    const direct: WitnessFields = {};
    if (r.minAddr) direct.dst = r.minAddr;
    if (r.minPort !== undefined) direct.dport = r.minPort;
    return [{ kind: "fields", tries: [direct] }];
  },
  parsePrint(s, ctx) {
    const m = s.match(/to:(\S+)/);
    if (!m) return undefined;
    const r = parseNatRange(m[1]!, ctx.family);
    if ("error" in r) return undefined;
    const random = s.literal("random");
    const persistent = s.literal("persistent");
    return { range: r, random, persistent };
  },
};
