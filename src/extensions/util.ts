/** Helpers shared by extensions: number and port syntax as iptables accepts it, save quoting. */
import type { RawOption } from "../model/ast.js";
import type { BindContext, OptionSpec, StateChoice } from "./types.js";
import type { EvalEnv, MatchResult } from "../model/evaluation.js";
import { servicePort, serviceName } from "./services.js";
import { cNumber, decimalNumber } from "../model/c-number.js";

/**
 * iptables-save's quoting of free text (comments, log prefixes): bare when the text is only
 * letters, digits, `_` and `-`; otherwise double-quoted with `\ " '` escaped.
 */
export function quote(s: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(s)) return s;
  return '"' + s.replace(/[\\"']/g, (c) => "\\" + c) + '"';
}

/** Numbers as iptables reads most options: C's strtoul with base 0 (src/model/c-number.ts). */
export { cNumber as parseUnsigned } from "../model/c-number.js";

export function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16);
}

export interface ValueMask {
  value: number;
  mask: number;
}

/** `VALUE[/MASK]` as mark, connmark and friends take it. */
export function parseValueMask(text: string, defaultMask = 0xffffffff): ValueMask | undefined {
  const slash = text.indexOf("/");
  const value = cNumber(slash < 0 ? text : text.slice(0, slash));
  if (value === undefined) return undefined;
  if (slash < 0) return { value, mask: defaultMask };
  const mask = cNumber(text.slice(slash + 1));
  return mask === undefined ? undefined : { value, mask };
}

export interface PortRange {
  lo: number;
  hi: number;
}

/**
 * How an extension reads a port number, which differs between extensions of one iptables
 * (1.8.9, asked in a network namespace: test/kernel/number-spellings.test.ts): libxtables'
 * `xtables_parse_port` is base 0 (tcp, sctp, multiport, NAT ranges: `010` is 8, `0x50` is 80);
 * the option parser's port type asks getaddrinfo, which reads decimal (udp, dccp, TPROXY
 * `--on-port`: `010` is 10, `0x50` is no port).
 */
export type PortDigits = "base0" | "decimal";

/** A port, a number (read as `digits` says) or a service name. */
export function parsePort(text: string, digits: PortDigits = "base0"): number | undefined {
  return (digits === "base0" ? cNumber(text, 65535) : decimalNumber(text, 65535)) ?? servicePort(text);
}

/** `PORT`, `LO:HI`, `:HI`, `LO:` with numbers or service names. */
export function parsePortRange(text: string, digits: PortDigits = "base0"): PortRange | undefined {
  const colon = text.indexOf(":");
  if (colon < 0) {
    const p = parsePort(text, digits);
    return p === undefined ? undefined : { lo: p, hi: p };
  }
  const a = text.slice(0, colon);
  const b = text.slice(colon + 1);
  const lo = a === "" ? 0 : parsePort(a, digits);
  const hi = b === "" ? 65535 : parsePort(b, digits);
  if (lo === undefined || hi === undefined) return undefined;
  return { lo, hi };
}

export function savePortRange(r: PortRange): string {
  return r.lo === r.hi ? String(r.lo) : `${r.lo}:${r.hi}`;
}

export function printPort(p: number, numeric: boolean, proto = "tcp"): string {
  if (numeric) return String(p);
  return serviceName(p, proto) ?? String(p);
}

/** Finds the spec an option flag belongs to. */
export function specFor(specs: readonly OptionSpec[], flag: string): OptionSpec | undefined {
  return specs.find((s) => s.flags.includes(flag));
}

/** The canonical (first) flag of the spec an option was written with. */
export function canonicalFlag(specs: readonly OptionSpec[], flag: string): string {
  return specFor(specs, flag)?.flags[0] ?? flag;
}

/**
 * Options keyed by canonical flag; a repeated option is an error as in iptables
 * ("multiple --dport flags not allowed"), reported once.
 */
export function collectOptions(
  specs: readonly OptionSpec[],
  options: RawOption[],
  ctx: BindContext,
  extension: string,
): Map<string, RawOption> {
  const out = new Map<string, RawOption>();
  for (const o of options) {
    const key = canonicalFlag(specs, o.flag);
    if (out.has(key)) {
      ctx.error(o.span, `${extension}: ${key} given more than once`);
      continue;
    }
    out.set(key, o);
  }
  return out;
}

/** `!` printed before an option in iptables-save. */
export function neg(o: { negated: boolean }): string {
  return o.negated ? " !" : "";
}

/**
 * A stateful match's answer under what was assumed of its state: `quiet` (the default, as on a
 * node that has seen no such traffic), `busy` (`--assume limit=exhausted`), or `either`: both
 * alternatives are traced, each saying which side it took.
 */
export function underAssumption(env: EvalEnv, choice: StateChoice, quiet: MatchResult, busy: MatchResult | undefined): MatchResult {
  const a = env.assumed[choice.key] ?? "quiet";
  if (a === "busy" && busy !== undefined) return busy;
  if (a === "either") return { indeterminate: `${choice.what}: ${choice.quiet}${choice.busy ? ` or ${choice.busy}` : " or not"} (--assume ${choice.key}=either)` };
  return quiet;
}
