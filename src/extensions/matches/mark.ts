/** `-m mark --mark VALUE[/MASK]`: matches when (skb mark & mask) == value. */
import type { MatchExtension } from "../types.js";
import { hex, parseValueMask } from "../util.js";

export interface MarkData {
  negated: boolean;
  value: number;
  mask: number;
}

export const mark: MatchExtension<MarkData> = {
  type: "match",
  name: "mark",
  reads: () => [],
  witnesses(d) {
    // The value, and one that differs from it in the lowest bit the mask looks at.
    const lowBit = d.mask === 0 ? 0 : (d.mask & -d.mask) >>> 0;
    const other = (d.value ^ lowBit) >>> 0;
    return [{ kind: "fields", want: { mark: d.negated ? other : d.value }, tries: [{ mark: d.value }, { mark: other }, { mark: 0 }] }];
  },
  printPrefixes: ["mark match"],
  options: [{ flags: ["--mark"], args: 1, negatable: true }],
  parse(options, ctx, span) {
    const o = options.find((x) => x.flag === "--mark");
    if (!o) {
      ctx.error(span, "mark: --mark is required", "--mark VALUE[/MASK]");
      return undefined;
    }
    const vm = parseValueMask(o.values[0] ?? "");
    if (!vm) {
      ctx.error(o.span, "mark: bad --mark value", "VALUE[/MASK]", o.values[0]);
      return undefined;
    }
    return { negated: o.negated, value: vm.value, mask: vm.mask };
  },
  save(d) {
    return `${d.negated ? " !" : ""} --mark ${hex(d.value)}${d.mask === 0xffffffff ? "" : "/" + hex(d.mask)}`;
  },
  print(d) {
    return ` mark match ${d.negated ? "! " : ""}${hex(d.value)}${d.mask === 0xffffffff ? "" : "/" + hex(d.mask)}`;
  },
  evaluate(d, env) {
    return (((env.packet.mark & d.mask) >>> 0) === (d.value >>> 0)) !== d.negated;
  },
  parsePrint(s) {
    const m = s.match(/mark match (! ?)?(0x[0-9a-fA-F]+)(?:\/(0x[0-9a-fA-F]+))?(?=\s|$)/);
    if (!m) return undefined;
    const vm = parseValueMask(m[2]! + (m[3] ? "/" + m[3] : ""));
    if (!vm) return undefined;
    return { negated: m[1] !== undefined, value: vm.value, mask: vm.mask };
  },
};
