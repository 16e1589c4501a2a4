/**
 * `-m connbytes [!] --connbytes FROM[:TO] --connbytes-dir original|reply|both
 * --connbytes-mode packets|bytes|avgpkt`: the connection's counters. The kernel stores a
 * from/to pair, swapped for `!`; iptables prints `!` whenever from > to, and leaves the upper
 * bound out when it is the maximum (`10000:` saves as `10000`, `:5` as `0:5`). Checked with
 * iptables 1.8.9. Counters are not in the inputs: evaluation is indeterminate.
 */
import type { MatchExtension, OptionSpec } from "../types.js";
import { collectOptions } from "../util.js";

export interface ConnbytesData {
  /** The kernel's pair, decimal (64-bit): from > to means the range is negated. */
  from: string;
  to: string;
  dir: "original" | "reply" | "both";
  mode: "packets" | "bytes" | "avgpkt";
}

const U64_MAX = (1n << 64n) - 1n;
const DIRS = ["original", "reply", "both"] as const;
const MODES = ["packets", "bytes", "avgpkt"] as const;

const OPTIONS: readonly OptionSpec[] = [
  { flags: ["--connbytes"], args: 1, negatable: true },
  { flags: ["--connbytes-dir"], args: 1 },
  { flags: ["--connbytes-mode"], args: 1 },
];

/** A 64-bit count, base 0 as libxtables reads it (`010000` is 4096; `08` is refused). */
function u64(text: string): bigint | undefined {
  if (!/^(?:0[xX][0-9a-fA-F]+|[1-9][0-9]*)$/.test(text) && !/^0[0-7]*$/.test(text)) return undefined;
  const n = /^0[0-7]+$/.test(text) ? BigInt("0o" + text.slice(1)) : BigInt(text);
  return n <= U64_MAX ? n : undefined;
}

/** The range as iptables prints it: `!` when stored swapped, no upper bound at the maximum (or 0). */
function rangeText(d: ConnbytesData, prefix: string): string {
  let from = BigInt(d.from);
  let to = BigInt(d.to);
  const negated = from > to;
  if (negated) [from, to] = [to, from];
  return `${negated ? " !" : ""} ${prefix}connbytes ${from}${to !== 0n && to < U64_MAX ? `:${to}` : ""}`;
}

export const connbytes: MatchExtension<ConnbytesData> = {
  type: "match",
  name: "connbytes",
  reads: () => ["state"],
  needsConntrack: true,
  printPrefixes: ["connbytes", "! connbytes"],
  options: OPTIONS,
  parse(options, ctx, span) {
    const o = collectOptions(OPTIONS, options, ctx, "connbytes");
    const range = o.get("--connbytes");
    const dir = o.get("--connbytes-dir");
    const mode = o.get("--connbytes-mode");
    const missing = [range ? "" : "--connbytes", dir ? "" : "--connbytes-dir", mode ? "" : "--connbytes-mode"].filter(Boolean);
    if (missing.length > 0) return void ctx.error(span, `connbytes: ${missing.join(", ")} required`, "--connbytes FROM[:TO] --connbytes-dir DIR --connbytes-mode MODE");
    const v = range!.values[0] ?? "";
    const colon = v.indexOf(":");
    const from = colon === 0 ? 0n : u64(colon < 0 ? v : v.slice(0, colon));
    const to = colon < 0 || colon === v.length - 1 ? U64_MAX : u64(v.slice(colon + 1));
    if (from === undefined || to === undefined) return void ctx.error(range!.span, "connbytes: bad --connbytes", "FROM[:TO], numbers up to 2^64-1", v);
    const d = dir!.values[0] ?? "";
    if (!(DIRS as readonly string[]).includes(d)) return void ctx.error(dir!.span, `Unknown --connbytes-dir \`${d}'`, DIRS.join(", "), d);
    const m = mode!.values[0] ?? "";
    if (!(MODES as readonly string[]).includes(m)) return void ctx.error(mode!.span, `Unknown --connbytes-mode \`${m}'`, MODES.join(", "), m);
    const [kf, kt] = range!.negated ? [to, from] : [from, to];
    return { from: String(kf), to: String(kt), dir: d as ConnbytesData["dir"], mode: m as ConnbytesData["mode"] };
  },
  save(d) {
    return `${rangeText(d, "--")} --connbytes-mode ${d.mode} --connbytes-dir ${d.dir}`;
  },
  print(d) {
    return `${rangeText(d, "")} connbytes mode ${d.mode} connbytes direction ${d.dir}`;
  },
  parsePrint(s) {
    const m = s.match(/(! )?connbytes (\d+)(?::(\d+))? connbytes mode (packets|bytes|avgpkt) connbytes direction (original|reply|both)(?= |$)/);
    if (!m) return undefined;
    const from = BigInt(m[2]!);
    const to = m[3] === undefined ? U64_MAX : BigInt(m[3]);
    const [kf, kt] = m[1] ? [to, from] : [from, to];
    return { from: String(kf), to: String(kt), dir: m[5] as ConnbytesData["dir"], mode: m[4] as ConnbytesData["mode"] };
  },
  evaluate(d) {
    return { indeterminate: `connbytes: the connection's ${d.mode} counters (${d.dir}) are not known` };
  },
};
