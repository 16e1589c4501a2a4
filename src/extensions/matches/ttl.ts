/**
 * `-m ttl --ttl-eq|--ttl-lt|--ttl-gt N` (IPv4): compares the packet's time to live. Only
 * `--ttl-eq` may be negated (it becomes "!="); `--ttl` is an old spelling of `--ttl-eq`.
 * The hop-limit match of IPv6 (`hl.ts`) is the same match under other names.
 */
import type { Family } from "../../model/ast.js";
import type { MatchExtension } from "../types.js";
import { parseUnsigned } from "../util.js";
import { listingPattern } from "../listing-scanner.js";

export type HopMode = "eq" | "ne" | "lt" | "gt";

export interface HopData {
  mode: HopMode;
  value: number;
}

const OPS: Record<HopMode, string> = { eq: "==", ne: "!=", lt: "<", gt: ">" };

/** Builds the ttl match (`ttl`, "TTL") or the hop-limit match (`hl`, "HL"). */
export function hopLimitMatch(name: string, word: string, family: Family, what: string): MatchExtension<HopData> {
  const [eq, lt, gt, bare] = ["eq", "lt", "gt", ""].map((s) => `--${name}${s ? "-" + s : ""}`) as [string, string, string, string];
  return {
    type: "match",
    name,
    reads: () => [],
    families: [family],
    printPrefixes: [`${word} match`],
    options: [
      { flags: [eq], args: 1, negatable: true },
      { flags: [lt], args: 1 },
      { flags: [gt], args: 1 },
      { flags: [bare], args: 1 },
    ],
    parse(options, ctx, span) {
      if (options.length === 0) return void ctx.error(span, `${word} match: you must specify one of \`${eq}', \`${lt}', \`${gt}'`, `${eq}, ${lt} or ${gt}`);
      if (options.length > 1) return void ctx.error(options[1]!.span, `${name}: ${options[1]!.flag} cannot be combined with ${options[0]!.flag}`);
      const o = options[0]!;
      const value = parseUnsigned(o.values[0] ?? "", 255);
      if (value === undefined) return void ctx.error(o.span, `${name}: bad value for option "${o.flag}", or out of range (0-255)`, "0-255", o.values[0]);
      const mode: HopMode = o.flag === lt ? "lt" : o.flag === gt ? "gt" : o.negated ? "ne" : "eq";
      return { mode, value };
    },
    save(d) {
      const flag = d.mode === "lt" ? lt : d.mode === "gt" ? gt : eq;
      return `${d.mode === "ne" ? " !" : ""} ${flag} ${d.value}`;
    },
    print(d) {
      return ` ${word} match ${word} ${OPS[d.mode]} ${d.value}`;
    },
    parsePrint(s) {
      const m = s.match(listingPattern(`${word} match ${word} (==|!=|<|>) (\\d+)(?=\\s|$)`));
      if (!m) return undefined;
      const mode = (Object.keys(OPS) as HopMode[]).find((k) => OPS[k] === m[1])!;
      const value = Number(m[2]);
      return value <= 255 ? { mode, value } : undefined;
    },
    evaluate(d, env) {
      const t = env.packet.ttl;
      if (t === undefined) return { indeterminate: `the packet's ${what} is not given` };
      switch (d.mode) {
        case "eq": return t === d.value;
        case "ne": return t !== d.value;
        case "lt": return t < d.value;
        case "gt": return t > d.value;
      }
    },
  };
}

export const ttl = hopLimitMatch("ttl", "TTL", "ipv4", "TTL");
