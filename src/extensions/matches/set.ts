/** `-m set --match-set NAME src[,dst...]`: ipset membership of the packet's tuple. */
import type { MatchExtension } from "../types.js";
import type { KernelIpsetView, SetMatch, SetQuery } from "../../model/evaluation.js";

type Cmp = { op: "eq" | "lt" | "gt"; negated: boolean; value: number };

export interface SetMatchData {
  name: string;
  negated: boolean;
  flags: ("src" | "dst")[];
  returnNomatch: boolean;
  noUpdateCounters: boolean;
  noUpdateSubcounters: boolean;
  packets?: Cmp;
  bytes?: Cmp;
}

export const set: MatchExtension<SetMatchData> = {
  type: "match",
  name: "set",
  reads: (d) => (d.flags.includes("src") ? ["src", "sport", "dst", "dport"] : ["dst", "dport"]),
  witnesses: (d) => [{ kind: "set", name: d.name, flags: d.flags, negated: d.negated }],
  printPrefixes: ["match-set", "! match-set"],
  options: [
    { flags: ["--match-set", "--set"], args: 2, negatable: true },
    { flags: ["--return-nomatch"], args: 0 },
    { flags: ["--update-counters"], args: 0, negatable: true },
    { flags: ["--update-subcounters"], args: 0, negatable: true },
    ...(["packets", "bytes"] as const).flatMap((k) => (["eq", "lt", "gt"] as const).map((op) => ({ flags: [`--${k}-${op}`], args: 1, negatable: op === "eq" }))),
  ],
  parse(options, ctx, span) {
    const m = options.find((o) => o.flag === "--match-set");
    if (!m) return void ctx.error(span, "set: --match-set is required", "--match-set NAME src|dst[,...]");
    const flags = (m.values[1] ?? "").split(",");
    if (flags.length < 1 || flags.length > 6 || flags.some((f) => f !== "src" && f !== "dst")) {
      return void ctx.error(m.span, "set: bad direction flags", "src or dst, comma-separated (up to 6)", m.values[1]);
    }
    if ((m.values[0] ?? "").length > 31) return void ctx.error(m.span, "set: set names are at most 31 characters");
    const d: SetMatchData = {
      name: m.values[0]!, negated: m.negated, flags: flags as ("src" | "dst")[], returnNomatch: false, noUpdateCounters: false, noUpdateSubcounters: false,
    };
    for (const o of options) {
      if (o.flag === "--return-nomatch") d.returnNomatch = true;
      else if (o.flag === "--update-counters") d.noUpdateCounters = o.negated;
      else if (o.flag === "--update-subcounters") d.noUpdateSubcounters = o.negated;
      else {
        const c = /^--(packets|bytes)-(eq|lt|gt)$/.exec(o.flag);
        if (!c) continue;
        const v = Number(o.values[0]);
        if (!/^\d+$/.test(o.values[0] ?? "")) return void ctx.error(o.span, `set: bad ${o.flag}`, "a number", o.values[0]);
        d[c[1] as "packets" | "bytes"] = { op: c[2] as Cmp["op"], negated: o.negated, value: v };
      }
    }
    return d;
  },
  save(d) {
    let s = `${d.negated ? " !" : ""} --match-set ${d.name} ${d.flags.join(",")}`;
    if (d.returnNomatch) s += " --return-nomatch";
    if (d.noUpdateCounters) s += " ! --update-counters";
    if (d.noUpdateSubcounters) s += " ! --update-subcounters";
    for (const k of ["packets", "bytes"] as const) {
      const c = d[k];
      if (c) s += `${c.negated ? " !" : ""} --${k}-${c.op} ${c.value}`;
    }
    return s;
  },
  print(d) {
    let s = `${d.negated ? " !" : ""} match-set ${d.name} ${d.flags.join(",")}`;
    if (d.returnNomatch) s += " return-nomatch";
    if (d.noUpdateCounters) s += " ! update-counters";
    if (d.noUpdateSubcounters) s += " ! update-subcounters";
    for (const k of ["packets", "bytes"] as const) {
      const c = d[k];
      if (c) s += `${c.negated ? " !" : ""} ${k}-${c.op} ${c.value}`;
    }
    return s;
  },
  evaluate(d, env) {
    const p = env.packet;
    const q: SetQuery = {
      src: p.src, dst: p.dst, proto: p.proto, sport: p.sport, dport: p.dport, inIface: p.inIface, outIface: p.outIface, srcMac: p.srcMac,
      family: p.family, icmpType: p.icmpType, icmpCode: p.icmpCode, mark: p.mark, fragment: p.fragment,
    };
    const view = env.ipsets as Partial<KernelIpsetView>;
    let r: SetMatch;
    if (view.match) r = view.match(d.name, q, d.flags, { returnNomatch: d.returnNomatch });
    else {
      const t = env.ipsets.test(d.name, q, d.flags);
      r = typeof t === "object" ? t : t === true || (t === "nomatch" && d.returnNomatch);
    }
    if (typeof r === "object") return r;
    // Counters are compared only for an element that was found (ip_set_match_extensions).
    if (r && (d.packets || d.bytes)) return { indeterminate: "ipset counters are not modelled" };
    return r !== d.negated;
  },
  parsePrint(s) {
    const m = s.match(/(! )?match-set (\S+) ((?:src|dst)(?:,(?:src|dst))*)/);
    if (!m) return undefined;
    const d: SetMatchData = { name: m[2]!, negated: m[1] !== undefined, flags: m[3]!.split(",") as ("src" | "dst")[], returnNomatch: false, noUpdateCounters: false, noUpdateSubcounters: false };
    if (s.literal("return-nomatch")) d.returnNomatch = true;
    if (s.match(/! update-counters/)) d.noUpdateCounters = true;
    if (s.match(/! update-subcounters/)) d.noUpdateSubcounters = true;
    for (;;) {
      const c = s.match(/(! )?(packets|bytes)-(eq|lt|gt) (\d+)/);
      if (!c) break;
      d[c[2] as "packets"] = { op: c[3] as Cmp["op"], negated: c[1] !== undefined, value: Number(c[4]) };
    }
    return d;
  },
};
