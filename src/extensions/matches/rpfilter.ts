/**
 * `-m rpfilter`: reverse path filtering in raw/mangle PREROUTING — would a packet to the
 * source go back out the interface this one came in on (strict), or anywhere (`--loose`)?
 */
import type { MatchExtension } from "../types.js";
import type { InputRouteQuery } from "../../model/evaluation.js";

export interface RpfilterData {
  loose: boolean;
  validmark: boolean;
  acceptLocal: boolean;
  invert: boolean;
}

const FLAGS = [["--loose", "loose"], ["--validmark", "validmark"], ["--accept-local", "acceptLocal"], ["--invert", "invert"]] as const;

export const rpfilter: MatchExtension<RpfilterData> = {
  type: "match",
  name: "rpfilter",
  reads: () => ["src", "dst"],
  printPrefixes: ["rpfilter"],
  options: FLAGS.map(([f]) => ({ flags: [f], args: 0 })),
  parse(options) {
    const d: RpfilterData = { loose: false, validmark: false, acceptLocal: false, invert: false };
    for (const o of options) for (const [f, k] of FLAGS) if (o.flag === f) d[k] = true;
    return d;
  },
  save(d) {
    return FLAGS.filter(([, k]) => d[k]).map(([f]) => ` ${f}`).join("");
  },
  print(d) {
    return " rpfilter" + FLAGS.filter(([, k]) => d[k]).map(([f]) => ` ${f.slice(2)}`).join("");
  },
  parsePrint(s) {
    if (!s.literal("rpfilter")) return undefined;
    const d: RpfilterData = { loose: false, validmark: false, acceptLocal: false, invert: false };
    for (const [f, k] of FLAGS) if (s.literal(f.slice(2))) d[k] = true;
    return d;
  },
  evaluate(d, env) {
    const p = env.packet;
    // The kernel lets loopback traffic through untouched (rpfilter_is_loopback).
    if (p.inIface === undefined || p.inIface === "lo") return !d.invert;
    const q: InputRouteQuery = { family: p.family, dst: p.dst, src: p.src, iif: p.inIface, mark: p.mark };
    if (p.tos !== undefined) q.tos = p.tos;
    const ok = env.node.reversePath(q, { loose: d.loose, acceptLocal: d.acceptLocal, validMark: d.validmark });
    return typeof ok === "object" ? ok : ok !== d.invert;
  },
};
