/** `-m addrtype`: the routing type of the source/destination address (LOCAL, UNICAST, ...). */
import type { MatchExtension } from "../types.js";
import type { AddrType } from "../../model/evaluation.js";

const TYPES: readonly AddrType[] = ["UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"];

export interface AddrtypeData {
  src?: { negated: boolean; types: AddrType[] };
  dst?: { negated: boolean; types: AddrType[] };
  limitIfaceIn: boolean;
  limitIfaceOut: boolean;
}

function sorted(types: AddrType[]): AddrType[] {
  return [...types].sort((a, b) => TYPES.indexOf(a) - TYPES.indexOf(b));
}

export const addrtype: MatchExtension<AddrtypeData> = {
  type: "match",
  name: "addrtype",
  reads: (d) => (d.src ? ["src", "dst"] : ["dst"]),
  witnesses: (d) => (d.dst && d.dst.types.includes("LOCAL") && !d.dst.negated ? [{ kind: "fields", want: { dstLocal: true } }] : []),
  printPrefixes: ["ADDRTYPE match"],
  options: [
    { flags: ["--src-type"], args: 1, negatable: true },
    { flags: ["--dst-type"], args: 1, negatable: true },
    { flags: ["--limit-iface-in"], args: 0 },
    { flags: ["--limit-iface-out"], args: 0 },
  ],
  parse(options, ctx) {
    const d: AddrtypeData = { limitIfaceIn: false, limitIfaceOut: false };
    for (const o of options) {
      if (o.flag === "--limit-iface-in") d.limitIfaceIn = true;
      else if (o.flag === "--limit-iface-out") d.limitIfaceOut = true;
      else {
        const types: AddrType[] = [];
        for (const t of (o.values[0] ?? "").split(",")) {
          const u = t.toUpperCase() as AddrType;
          if (!TYPES.includes(u)) {
            ctx.error(o.span, "addrtype: unknown address type", TYPES.join(", "), t);
            return undefined;
          }
          types.push(u);
        }
        d[o.flag === "--src-type" ? "src" : "dst"] = { negated: o.negated, types: sorted(types) };
      }
    }
    if (d.limitIfaceIn && d.limitIfaceOut) {
      ctx.error(options[0]!.span, "addrtype: --limit-iface-in and --limit-iface-out cannot both be given");
      return undefined;
    }
    return d;
  },
  save(d) {
    let s = "";
    if (d.src) s += `${d.src.negated ? " !" : ""} --src-type ${d.src.types.join(",")}`;
    if (d.dst) s += `${d.dst.negated ? " !" : ""} --dst-type ${d.dst.types.join(",")}`;
    if (d.limitIfaceIn) s += " --limit-iface-in";
    if (d.limitIfaceOut) s += " --limit-iface-out";
    return s;
  },
  print(d) {
    let s = " ADDRTYPE match";
    if (d.src) s += ` src-type ${d.src.negated ? "!" : ""}${d.src.types.join(",")}`;
    if (d.dst) s += ` dst-type ${d.dst.negated ? "!" : ""}${d.dst.types.join(",")}`;
    if (d.limitIfaceIn) s += " limit-in";
    if (d.limitIfaceOut) s += " limit-out";
    return s;
  },
  evaluate(d, env) {
    const p = env.packet;
    for (const [which, spec] of [["src", d.src], ["dst", d.dst]] as const) {
      if (!spec) continue;
      const dev = d.limitIfaceIn ? p.inIface : d.limitIfaceOut ? p.outIface : undefined;
      const t = env.node.addressType(which === "src" ? p.src : p.dst, p.family, dev);
      if (typeof t === "object") return t;
      if (spec.types.includes(t) === spec.negated) return false;
    }
    return true;
  },
  parsePrint(s) {
    if (!s.literal("ADDRTYPE match")) return undefined;
    const d: AddrtypeData = { limitIfaceIn: false, limitIfaceOut: false };
    for (;;) {
      const m = s.match(/(src|dst)-type (!?)([A-Z,]+)/);
      if (!m) break;
      d[m[1] as "src" | "dst"] = { negated: m[2] === "!", types: m[3]!.split(",") as AddrType[] };
    }
    if (s.literal("limit-in")) d.limitIfaceIn = true;
    if (s.literal("limit-out")) d.limitIfaceOut = true;
    return d;
  },
};
