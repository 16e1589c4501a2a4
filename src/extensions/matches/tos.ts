/**
 * `-m tos --tos VALUE[/MASK]` or `--tos NAME`: (TOS byte & mask) == value, on the IPv4 TOS
 * or the IPv6 traffic class. A number without mask takes mask 0xff; a symbolic name takes
 * 0x3f (the precedence bits are ignored). iptables-save always prints `0xVV/0xMM`; `-L`
 * prints the name back when the mask is 0x3f and the value has one.
 */
import type { MatchExtension } from "../types.js";
import { TOS_NAMES as SYMBOLS, parseSetTos as parseTos } from "../targets/TOS.js";

export interface TosData {
  negated: boolean;
  value: number;
  mask: number;
}

const hex2 = (n: number) => "0x" + n.toString(16).padStart(2, "0");

function symbolOf(d: TosData): string | undefined {
  return d.mask === 0x3f ? SYMBOLS.find(([, v]) => v === d.value)?.[0] : undefined;
}

export const tos: MatchExtension<TosData> = {
  type: "match",
  name: "tos",
  reads: () => [],
  printPrefixes: ["tos match"],
  options: [{ flags: ["--tos"], args: 1, negatable: true }],
  parse(options, ctx, span) {
    const o = options.find((x) => x.flag === "--tos");
    if (!o) return void ctx.error(span, "tos: --tos is required", "--tos VALUE[/MASK] or a symbolic name");
    const v = o.values[0] ?? "";
    const t = parseTos(v);
    if (!t) {
      const msg = /^[0-9]/.test(v) ? `tos: illegal value "${v}"` : `tos: symbolic name "${v}" is unknown`;
      return void ctx.error(o.span, msg, `VALUE[/MASK] within 0-255, or ${SYMBOLS.map(([n]) => n).join(", ")}`, v);
    }
    return { negated: o.negated, ...t };
  },
  save(d) {
    return `${d.negated ? " !" : ""} --tos ${hex2(d.value)}/${hex2(d.mask)}`;
  },
  print(d, ctx) {
    const name = ctx.numeric ? undefined : symbolOf(d);
    // iptables glues the value (not the name) to "match".
    return ` tos match${d.negated ? "!" : ""}${name ? " " + name : `${hex2(d.value)}/${hex2(d.mask)}`}`;
  },
  parsePrint(s) {
    const m = s.match(/tos match(!?)(?:(0x[0-9a-f]{2})\/(0x[0-9a-f]{2})| ([A-Za-z-]+))(?=\s|$)/);
    if (!m) return undefined;
    const t = parseTos(m[4] ?? `${m[2]}/${m[3]}`);
    return t ? { negated: m[1] === "!", ...t } : undefined;
  },
  evaluate(d, env) {
    const t = env.packet.tos;
    if (t === undefined) return { indeterminate: "the packet's TOS / traffic class is not given" };
    return ((t & d.mask) === d.value) !== d.negated;
  },
};
