/** `-m connmark --mark VALUE[/MASK]`: the connection's mark, as `-m mark` tests the packet's. */
import type { MatchExtension } from "../types.js";
import { hex, parseValueMask } from "../util.js";

export interface ConnmarkMatchData {
  negated: boolean;
  value: number;
  mask: number;
}

export const connmark: MatchExtension<ConnmarkMatchData> = {
  type: "match",
  name: "connmark",
  reads: () => [],
  needsConntrack: true,
  printPrefixes: ["connmark match"],
  options: [{ flags: ["--mark"], args: 1, negatable: true }],
  parse(options, ctx, span) {
    const o = options.find((x) => x.flag === "--mark");
    if (!o) return void ctx.error(span, "connmark: --mark is required", "--mark VALUE[/MASK]");
    const vm = parseValueMask(o.values[0] ?? "");
    if (!vm) return void ctx.error(o.span, "connmark: bad --mark", "VALUE[/MASK]", o.values[0]);
    return { negated: o.negated, value: vm.value, mask: vm.mask };
  },
  save(d) {
    return `${d.negated ? " !" : ""} --mark ${hex(d.value)}${d.mask === 0xffffffff ? "" : "/" + hex(d.mask)}`;
  },
  print(d) {
    // iptables prints two spaces after "match" when not negated ("connmark match  0x10").
    return ` connmark match ${d.negated ? "!" : ""} ${hex(d.value)}${d.mask === 0xffffffff ? "" : "/" + hex(d.mask)}`;
  },
  parsePrint(s) {
    const m = s.match(/connmark match (!?) (0x[0-9a-fA-F]+)(?:\/(0x[0-9a-fA-F]+))?/);
    if (!m) return undefined;
    const vm = parseValueMask(m[2]! + (m[3] ? "/" + m[3] : ""));
    return vm ? { negated: m[1] === "!", value: vm.value, mask: vm.mask } : undefined;
  },
  evaluate(d, env) {
    const ct = env.packet.ct;
    if (ct.state === "UNTRACKED" || ct.state === "INVALID") return false;
    return (((ct.mark & d.mask) >>> 0) === (d.value >>> 0)) !== d.negated;
  },
};
