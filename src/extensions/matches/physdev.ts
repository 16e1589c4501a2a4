/**
 * `-m physdev`: the bridge ports a packet came in by or goes out by, as br_netfilter records
 * them when a bridge hands the packet to iptables (net.bridge.bridge-nf-call-iptables=1).
 *
 * Without that record (a locally generated packet, or br_netfilter not calling iptables) the
 * kernel's answer is definite: the match holds only when every option given is inverted. With
 * it, the answer depends on which bridge port the packet crossed, which node facts do not say.
 */
import type { Family } from "../../model/ast.js";
import type { MatchExtension } from "../types.js";
import type { ListingScanner } from "../listing-scanner.js";
import { collectOptions } from "../util.js";

interface Flag {
  negated: boolean;
}

interface PortName extends Flag {
  /** As given; a trailing `+` matches every name starting with the rest. */
  name: string;
}

export interface PhysdevData {
  isIn?: Flag;
  in?: PortName;
  isOut?: Flag;
  out?: PortName;
  isBridged?: Flag;
}

/** The options in the order iptables prints them, each with how its value is written. */
const ORDER: ReadonlyArray<readonly [keyof PhysdevData, string]> = [
  ["isIn", "--physdev-is-in"], ["in", "--physdev-in"], ["isOut", "--physdev-is-out"], ["out", "--physdev-out"], ["isBridged", "--physdev-is-bridged"],
];

function text(d: PhysdevData): string {
  let s = "";
  for (const [k, flag] of ORDER) {
    const o = d[k];
    if (!o) continue;
    s += `${o.negated ? " !" : ""} ${flag}${"name" in o ? " " + o.name : ""}`;
  }
  return s;
}

/** The sysctl that makes bridges hand packets of a family to ip(6)tables. */
function callSysctl(family: Family): string {
  return family === "ipv4" ? "net.bridge.bridge-nf-call-iptables" : "net.bridge.bridge-nf-call-ip6tables";
}

export const physdev: MatchExtension<PhysdevData> = {
  type: "match",
  name: "physdev",
  reads: () => [],
  printPrefixes: ["PHYSDEV match"],
  options: [
    { flags: ["--physdev-in"], args: 1, negatable: true },
    { flags: ["--physdev-out"], args: 1, negatable: true },
    { flags: ["--physdev-is-in"], args: 0, negatable: true },
    { flags: ["--physdev-is-out"], args: 0, negatable: true },
    { flags: ["--physdev-is-bridged"], args: 0, negatable: true },
  ],
  parse(options, ctx, span) {
    const o = collectOptions(this.options, options, ctx, "physdev");
    if (o.size === 0) {
      ctx.error(span, "PHYSDEV: no physdev option specified", "--physdev-in, --physdev-out, --physdev-is-in, --physdev-is-out or --physdev-is-bridged");
      return undefined;
    }
    const d: PhysdevData = {};
    for (const [k, flag] of ORDER) {
      const opt = o.get(flag);
      if (!opt) continue;
      if (k === "in" || k === "out") {
        const name = opt.values[0] ?? "";
        if (name.length >= 16) {
          ctx.error(opt.span, `interface name \`${name}' must be shorter than IFNAMSIZ (15)`, "a bridge port name of at most 15 characters", name);
          return undefined;
        }
        d[k] = { negated: opt.negated, name };
      } else d[k] = { negated: opt.negated };
    }
    return d;
  },
  save(d) {
    return text(d);
  },
  print(d) {
    return " PHYSDEV match" + text(d);
  },
  evaluate(d, env) {
    const p = env.packet;
    // With no bridge record, each option given fails unless it is inverted.
    const unbridged = ORDER.every(([k]) => !d[k] || d[k].negated);
    // br_netfilter records ports only for packets a bridge received: never a locally generated one.
    if (p.inIface === undefined) return unbridged;
    const key = callSysctl(p.family);
    if (env.node.sysctl(key)?.trim() === "0") return unbridged;
    return {
      indeterminate: `physdev: whether ${p.inIface} is a bridge whose ports br_netfilter records (${key}), and which port the packet crossed, are not in the node facts`,
    };
  },
  parsePrint(s: ListingScanner) {
    if (!s.literal("PHYSDEV match")) return undefined;
    const d: PhysdevData = {};
    for (;;) {
      const m = s.attempt(() => s.match(/(!\s+)?(--physdev-(?:is-in|is-out|is-bridged|in|out))(?=\s|$)/));
      if (!m) break;
      const entry = ORDER.find(([, f]) => f === m[2]);
      if (!entry) break;
      const negated = m[1] !== undefined;
      const k = entry[0];
      if (k === "in" || k === "out") {
        const name = s.word();
        if (name === undefined) break;
        d[k] = { negated, name };
      } else d[k] = { negated };
    }
    return d;
  },
};
