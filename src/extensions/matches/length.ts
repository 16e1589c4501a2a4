/** `-m length --length MIN[:MAX]`: the IP packet's total length. */
import type { MatchExtension } from "../types.js";
import { parseUnsigned } from "../util.js";

export interface LengthData {
  negated: boolean;
  min: number;
  max: number;
}

export const length: MatchExtension<LengthData> = {
  type: "match",
  name: "length",
  reads: () => [],
  printPrefixes: ["length"],
  options: [{ flags: ["--length"], args: 1, negatable: true }],
  parse(options, ctx, span) {
    const o = options.find((x) => x.flag === "--length");
    if (!o) return void ctx.error(span, "length: --length is required", "--length MIN[:MAX]");
    // Each end base 0 (`0:064` is 0:52); an empty end is 0 or 65535.
    const m = /^([^:]*)(?::([^:]*))?$/.exec(o.values[0] ?? "");
    const min = m && m[1] !== "" ? parseUnsigned(m[1]!, 65535) : 0;
    const max = m ? (m[2] === undefined ? min : m[2] === "" ? 65535 : parseUnsigned(m[2], 65535)) : undefined;
    if (min === undefined || max === undefined || min > max) return void ctx.error(o.span, "length: bad --length", "MIN[:MAX] within 0-65535", o.values[0]);
    return { negated: o.negated, min, max };
  },
  save(d) {
    return `${d.negated ? " !" : ""} --length ${d.min === d.max ? d.min : `${d.min}:${d.max}`}`;
  },
  print(d) {
    return ` length ${d.negated ? "!" : ""}${d.min === d.max ? d.min : `${d.min}:${d.max}`}`;
  },
  parsePrint(s) {
    const m = s.match(/length (!?)(\d+)(?::(\d+))?(?=\s|$)/);
    if (!m) return undefined;
    return { negated: m[1] === "!", min: Number(m[2]), max: m[3] !== undefined ? Number(m[3]) : Number(m[2]) };
  },
  evaluate(d, env) {
    const l = env.packet.length;
    if (l === undefined) return { indeterminate: "the packet's length is not given" };
    return (l >= d.min && l <= d.max) !== d.negated;
  },
};
