/**
 * `-j TTL` (IPv4) and, through the same factory, `-j HL` (IPv6): set, increment or decrement
 * the hop count. mangle table only.
 */
import type { Family } from "../../model/ast.js";
import type { TargetExtension } from "../types.js";
import { parseUnsigned } from "../util.js";
import { listingPattern } from "../listing-scanner.js";

export interface HopLimitData {
  mode: "set" | "inc" | "dec";
  value: number;
}

const WORDS = { set: "set to", inc: "increment by", dec: "decrement by" } as const;

/** A TTL-like target: `NAME` with options `--PREFIX-set/-inc/-dec`. */
export function hopLimitTarget(name: "TTL" | "HL", prefix: "ttl" | "hl", family: Family): TargetExtension<HopLimitData> {
  const flag = (m: HopLimitData["mode"]) => `--${prefix}-${m}`;
  return {
    type: "target",
    name,
    reads: () => [],
    families: [family],
    tables: ["mangle"],
    options: (["set", "dec", "inc"] as const).map((m) => ({ flags: [flag(m)], args: 1 })),
    parse(options, ctx, span) {
      if (options.length === 0) return void ctx.error(span, `${name}: You must specify an action`, `${flag("set")}, ${flag("inc")} or ${flag("dec")}`);
      if (options.length > 1) return void ctx.error(options[1]!.span, `${name}: ${options[1]!.flag} cannot be combined with ${options[0]!.flag}`);
      const o = options[0]!;
      const mode = o.flag.slice(prefix.length + 3) as HopLimitData["mode"];
      const value = parseUnsigned(o.values[0] ?? "", 255);
      // Adding or taking 0 is refused: only set accepts 0.
      if (value === undefined || (mode !== "set" && value === 0)) {
        return void ctx.error(o.span, `${name}: bad value for ${o.flag}`, mode === "set" ? "0-255" : "1-255", o.values[0]);
      }
      return { mode, value };
    },
    save(d) {
      return ` ${flag(d.mode)} ${d.value}`;
    },
    print(d) {
      return ` ${name} ${WORDS[d.mode]} ${d.value}`;
    },
    parsePrint(s) {
      const m = s.match(listingPattern(`${name} (set to|increment by|decrement by) (\\d+)(?=\\s|$)`));
      if (!m) return undefined;
      const mode = (Object.keys(WORDS) as HopLimitData["mode"][]).find((k) => WORDS[k] === m[1])!;
      return { mode, value: Number(m[2]) };
    },
    apply(d, env, fx) {
      const cur = env.packet.ttl;
      if (cur === undefined) fx.rewrite("ttl", `${WORDS[d.mode]} ${d.value}`);
      else fx.rewrite("ttl", d.mode === "set" ? d.value : d.mode === "inc" ? Math.min(255, cur + d.value) : Math.max(0, cur - d.value));
      return { verdict: "CONTINUE" };
    },
  };
}

export const TTL = hopLimitTarget("TTL", "ttl", "ipv4");
