/** `-m iprange --src-range A-B --dst-range C-D`: address ranges, each negatable. */
import type { MatchExtension, Witness } from "../types.js";
import { compareIp, ipToNum, ruleText, xtablesHost } from "../../model/address.js";
import type { Family } from "../../model/ast.js";

export interface IpRange {
  negated: boolean;
  from: string;
  to: string;
}

export interface IprangeData {
  src?: IpRange;
  dst?: IpRange;
}

function cmp(a: string, b: string, family: Family): number | undefined {
  const x = ipToNum(a, family);
  const y = ipToNum(b, family);
  return x === undefined || y === undefined ? undefined : compareIp(x, y);
}

export const iprange: MatchExtension<IprangeData> = {
  type: "match",
  name: "iprange",
  reads: (d) => (d.src ? ["src", "dst"] : ["dst"]),
  witnesses(d) {
    const out: Witness[] = [];
    if (d.src) out.push({ kind: "addresses", field: "src", from: d.src.from, to: d.src.to, negated: d.src.negated });
    if (d.dst) out.push({ kind: "addresses", field: "dst", from: d.dst.from, to: d.dst.to, negated: d.dst.negated });
    return out;
  },
  printPrefixes: ["source IP range", "destination IP range"],
  options: [
    { flags: ["--src-range"], args: 1, negatable: true },
    { flags: ["--dst-range"], args: 1, negatable: true },
  ],
  parse(options, ctx) {
    const d: IprangeData = {};
    for (const o of options) {
      // Each end numeric as libxtables reads -s (xtablesHost: `010.0.0.1` is 8.0.0.1), kept as iptables prints it.
      const m = /^([^-]+)-([^-]+)$/.exec(o.values[0] ?? "");
      const from = m ? xtablesHost(m[1]!, ctx.family) : undefined;
      const to = m ? xtablesHost(m[2]!, ctx.family) : undefined;
      if (from === undefined || to === undefined) return void ctx.error(o.span, `iprange: bad ${o.flag}`, "FROM-TO addresses", o.values[0]);
      d[o.flag === "--src-range" ? "src" : "dst"] = { negated: o.negated, from: ruleText(from), to: ruleText(to) };
    }
    return d;
  },
  save(d) {
    let s = "";
    if (d.src) s += `${d.src.negated ? " !" : ""} --src-range ${d.src.from}-${d.src.to}`;
    if (d.dst) s += `${d.dst.negated ? " !" : ""} --dst-range ${d.dst.from}-${d.dst.to}`;
    return s;
  },
  print(d) {
    let s = "";
    if (d.src) s += ` source IP range ${d.src.negated ? "! " : ""}${d.src.from}-${d.src.to}`;
    if (d.dst) s += ` destination IP range ${d.dst.negated ? "! " : ""}${d.dst.from}-${d.dst.to}`;
    return s;
  },
  parsePrint(s) {
    const d: IprangeData = {};
    const a = s.match(/source IP range (! )?([^\s-]+)-([^\s-]+)/);
    if (a) d.src = { negated: a[1] !== undefined, from: a[2]!, to: a[3]! };
    const b = s.match(/destination IP range (! )?([^\s-]+)-([^\s-]+)/);
    if (b) d.dst = { negated: b[1] !== undefined, from: b[2]!, to: b[3]! };
    return a || b ? d : undefined;
  },
  evaluate(d, env) {
    const p = env.packet;
    for (const [r, ip] of [[d.src, p.src], [d.dst, p.dst]] as const) {
      if (!r) continue;
      const lo = cmp(ip, r.from, p.family);
      const hi = cmp(ip, r.to, p.family);
      if (lo === undefined || hi === undefined) return false;
      if ((lo >= 0 && hi <= 0) === r.negated) return false;
    }
    return true;
  },
};
