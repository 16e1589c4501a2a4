/** `-j TCPOPTSTRIP --strip-options LIST`: removes TCP options (mangle, tcp only). */
import type { TargetExtension } from "../types.js";
import { parseUnsigned } from "../util.js";

export interface TcpoptstripData {
  /** Option kinds, ascending (the kernel keeps a 256-bit map). */
  options: number[];
}

export const TCP_OPTION_NAMES: ReadonlyArray<readonly [string, number]> = [
  ["wscale", 3], ["mss", 2], ["sack-permitted", 4], ["sack", 5], ["timestamp", 8], ["md5", 19],
];

function listText(d: TcpoptstripData, numeric: boolean): string {
  return d.options.map((n) => (numeric ? undefined : TCP_OPTION_NAMES.find(([, v]) => v === n)?.[0]) ?? String(n)).join(",");
}

export const TCPOPTSTRIP: TargetExtension<TcpoptstripData> = {
  type: "target",
  name: "TCPOPTSTRIP",
  reads: () => [],
  tables: ["mangle"],
  options: [{ flags: ["--strip-options"], args: 1 }],
  parse(options, ctx, span) {
    if (options.length > 1) return void ctx.error(options[1]!.span, "TCPOPTSTRIP: --strip-options given more than once");
    const p = ctx.protocol;
    if (!p || p.negated || p.number !== 6) return void ctx.error(span, "TCPOPTSTRIP: only valid with -p tcp (the kernel refuses it otherwise)");
    const o = options[0];
    if (!o) return { options: [] };
    const set = new Set<number>();
    for (const item of (o.values[0] ?? "").split(",")) {
      const n = TCP_OPTION_NAMES.find(([name]) => name === item)?.[1] ?? parseUnsigned(item, 255);
      if (n === undefined) return void ctx.error(o.span, `TCPOPTSTRIP: bad TCP option "${item}"`, `a number 2-255 or ${TCP_OPTION_NAMES.map(([x]) => x).join(", ")}`, item);
      if (n < 2) return void ctx.error(o.span, "TCPOPTSTRIP: option value may not be 0 or 1 (end of list, no-op)", "2-255", item);
      if (set.has(n)) return void ctx.error(o.span, `TCPOPTSTRIP: option "${item}" already specified`);
      set.add(n);
    }
    return { options: [...set].sort((a, b) => a - b) };
  },
  save(d) {
    return d.options.length ? ` --strip-options ${listText(d, true)}` : "";
  },
  print(d, ctx) {
    return d.options.length ? ` TCPOPTSTRIP options ${listText(d, ctx.numeric)}` : "";
  },
  parsePrint(s) {
    if (s.done) return { options: [] };
    const m = s.match(/TCPOPTSTRIP options (\S+)/);
    if (!m) return undefined;
    const out: number[] = [];
    for (const item of m[1]!.split(",")) {
      const n = TCP_OPTION_NAMES.find(([name]) => name === item)?.[1] ?? parseUnsigned(item, 255);
      if (n === undefined) return undefined;
      out.push(n);
    }
    return { options: out.sort((a, b) => a - b) };
  },
  apply(d, _env, fx) {
    fx.rewrite("tcpoptions", `stripped ${listText(d, false)}`);
    return { verdict: "CONTINUE" };
  },
};
