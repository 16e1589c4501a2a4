/** `-m multiport`: up to 15 ports or ranges, source, destination, or either. */
import type { MatchExtension } from "../types.js";
import { parsePortRange, printPort, type PortRange } from "../util.js";

export interface MultiportData {
  which: "sports" | "dports" | "ports";
  negated: boolean;
  ports: PortRange[];
}

function listText(ports: PortRange[], numeric: boolean, proto = "tcp"): string {
  return ports.map((r) => (r.lo === r.hi ? printPort(r.lo, numeric, proto) : `${printPort(r.lo, numeric, proto)}:${printPort(r.hi, numeric, proto)}`)).join(",");
}

export const multiport: MatchExtension<MultiportData> = {
  type: "match",
  name: "multiport",
  reads: (d) => (d.which === "dports" ? ["dport"] : ["sport", "dport"]),
  witnesses: (d) => [{ kind: "ports", field: d.which === "sports" ? "sport" : "dport", ranges: d.ports, negated: d.negated }],
  printPrefixes: ["multiport"],
  options: [
    { flags: ["--sports", "--source-ports"], args: 1, negatable: true },
    { flags: ["--dports", "--destination-ports"], args: 1, negatable: true },
    { flags: ["--ports"], args: 1, negatable: true },
  ],
  parse(options, ctx, span) {
    if (options.length !== 1) {
      ctx.error(options[1]?.span ?? span, "multiport: exactly one of --sports, --dports, --ports", "one option");
      return undefined;
    }
    const o = options[0]!;
    const p = ctx.protocol;
    if (!p || p.negated || ![6, 17, 33, 132, 136].includes(p.number)) {
      ctx.error(o.span, "multiport needs `-p tcp`, `-p udp`, `-p udplite`, `-p sctp` or `-p dccp`");
      return undefined;
    }
    const ports: PortRange[] = [];
    for (const part of (o.values[0] ?? "").split(",")) {
      const r = parsePortRange(part);
      if (!r) {
        ctx.error(o.span, "multiport: bad port", "PORT or LO:HI, comma-separated", part);
        return undefined;
      }
      if (r.lo > r.hi) {
        // "invalid portrange specified" from both backends (1.8.9), whatever the protocol.
        ctx.error(o.span, "multiport: invalid portrange (min > max)", "LO:HI with LO <= HI", part);
        return undefined;
      }
      ports.push(r);
    }
    // Each range takes two of the kernel's 15 slots.
    const slots = ports.reduce((n, r) => n + (r.lo === r.hi ? 1 : 2), 0);
    if (slots > 15) {
      ctx.error(o.span, "multiport: too many ports (15 at most, a range counts twice)");
      return undefined;
    }
    const which = o.flag === "--sports" ? "sports" : o.flag === "--dports" ? "dports" : "ports";
    return { which, negated: o.negated, ports };
  },
  save(d) {
    return `${d.negated ? " !" : ""} --${d.which} ${listText(d.ports, true)}`;
  },
  print(d, ctx) {
    // iptables prints the `!` with a space of its own before it: "dports  !22,80".
    return ` multiport ${d.which} ${d.negated ? " !" : ""}${listText(d.ports, ctx.numeric, ctx.protocol?.name ?? "tcp")}`;
  },
  evaluate(d, env) {
    const p = env.packet;
    if (p.fragment) return false;
    if (![6, 17, 33, 132, 136].includes(p.proto)) return false;
    const hit = (port: number | undefined) => port !== undefined && d.ports.some((r) => port >= r.lo && port <= r.hi);
    if ((d.which !== "dports" && p.sport === undefined) || (d.which !== "sports" && p.dport === undefined)) return { indeterminate: "the packet's ports are not given" };
    const m = d.which === "sports" ? hit(p.sport) : d.which === "dports" ? hit(p.dport) : hit(p.sport) || hit(p.dport);
    return m !== d.negated;
  },
  parsePrint(s) {
    const m = s.match(/multiport (sports|dports|ports) +(!?)(\S+)/);
    if (!m) return undefined;
    const ports: PortRange[] = [];
    for (const part of m[3]!.split(",")) {
      const r = parsePortRange(part);
      if (!r) return undefined;
      ports.push(r);
    }
    return { which: m[1] as MultiportData["which"], negated: m[2] === "!", ports };
  },
};
