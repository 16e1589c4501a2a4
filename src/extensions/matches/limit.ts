/**
 * `-m limit --limit RATE[/UNIT] --limit-burst N`: a token bucket shared by every packet the
 * rule sees. The rate is kept as the kernel keeps it — the interval between tokens in
 * 1/10000 s — and printed back from that integer, so `--limit 60/min` saves as `1/sec`.
 * Whether a token is left depends on the traffic so far, which netfate does not see.
 */
import type { MatchExtension, OptionSpec, StateChoice } from "../types.js";
import { collectOptions, parseUnsigned, underAssumption } from "../util.js";

/**
 * What netfate assumes of every rate-limit bucket (limit, hashlimit): the state a first packet
 * finds on a node that has not seen such traffic lately. One text, so outcomes list it once.
 */
export const QUIET_NODE = "rate limits have tokens left, as on a quiet node (a first packet finds every limit and hashlimit bucket full)";
/** `--assume limit=exhausted`: the opposite of a quiet node. */
export const EXHAUSTED = "rate limits have no tokens left (--assume limit=exhausted)";
export const RATE_STATE: StateChoice = { key: "limit", quiet: "full", busy: "exhausted", what: "limit and hashlimit token buckets" };

export interface LimitData {
  /** Interval between tokens, in 1/10000 s (the kernel's `avg`). */
  avg: number;
  burst: number;
}

/** One second in the kernel's rate unit (XT_LIMIT_SCALE). */
const LIMIT_SCALE = 10000;
const DEFAULT_BURST = 5;
const MAX_BURST = 10000;

/** Seconds per unit word iptables accepts: any prefix of second, minute, hour, day. */
const UNITS: ReadonlyArray<readonly [string, number]> = [["second", 1], ["minute", 60], ["hour", 3600], ["day", 86400]];

/**
 * Reads `N[/UNIT]` as iptables does (a leading number, then an optional unit word that may be
 * abbreviated, case-insensitive): the unit's length in seconds and the count, or undefined.
 */
export function parseRateText(text: string): { count: number; seconds: number } | undefined {
  const slash = text.indexOf("/");
  let seconds = 1;
  if (slash >= 0) {
    const unit = text.slice(slash + 1).toLowerCase();
    if (unit === "") return undefined;
    const u = UNITS.find(([name]) => name.startsWith(unit));
    if (!u) return undefined;
    seconds = u[1];
  }
  const m = /^\s*\+?(\d+)/.exec(text);
  const count = m ? Number(m[1]) : 0;
  return count > 0 && Number.isSafeInteger(count) ? { count, seconds } : undefined;
}

/**
 * The rate iptables prints for a token interval: the largest unit (day, hour, min, sec) in
 * which the count is not rounded down by more than its remainder, scanning from days; the
 * same walk for limit (scale 10^4) and hashlimit (scale 10^6). Returns the text and the
 * unit's length in seconds.
 */
export function rateText(period: number, scale: number): { text: string; unitSeconds: number } {
  if (period === 0) return { text: "inf", unitSeconds: 0 };
  const rates: ReadonlyArray<readonly [string, number]> = [["day", 86400], ["hour", 3600], ["min", 60], ["sec", 1]];
  let i = 1;
  for (; i < rates.length; i++) {
    const mult = rates[i]![1] * scale;
    if (period > mult || Math.floor(mult / period) < mult % period) break;
  }
  const [name, secs] = rates[i - 1]!;
  return { text: `${Math.floor((secs * scale) / period)}/${name}`, unitSeconds: secs };
}

const OPTIONS: readonly OptionSpec[] = [
  { flags: ["--limit"], args: 1 },
  { flags: ["--limit-burst"], args: 1 },
];

export const limit: MatchExtension<LimitData> = {
  type: "match",
  name: "limit",
  reads: () => ["state"],
  state: RATE_STATE,
  printPrefixes: ["limit: avg"],
  options: OPTIONS,
  parse(options, ctx) {
    const o = collectOptions(OPTIONS, options, ctx, "limit");
    // iptables' default: 3/hour, burst 5.
    const d: LimitData = { avg: Math.floor((LIMIT_SCALE * 3600) / 3), burst: DEFAULT_BURST };
    const rate = o.get("--limit");
    if (rate) {
      const v = rate.values[0] ?? "";
      const r = parseRateText(v);
      if (!r) return void ctx.error(rate.span, `limit: bad rate "${v}"`, "N[/second|/minute|/hour|/day]", v);
      d.avg = Math.floor((LIMIT_SCALE * r.seconds) / r.count);
      if (d.avg === 0) return void ctx.error(rate.span, `limit: rate too fast "${v}"`, "at most 10000/second", v);
    }
    const burst = o.get("--limit-burst");
    if (burst) {
      const v = burst.values[0] ?? "";
      // Base 0 (`020` is 16); the rate above is decimal (`010/s` is 10/sec).
      const n = parseUnsigned(v, MAX_BURST);
      if (n === undefined) return void ctx.error(burst.span, "limit: bad --limit-burst", `a number 0-${MAX_BURST}`, v);
      d.burst = n;
    }
    return d;
  },
  save(d) {
    return ` --limit ${rateText(d.avg, LIMIT_SCALE).text}${d.burst !== DEFAULT_BURST ? ` --limit-burst ${d.burst}` : ""}`;
  },
  print(d) {
    return ` limit: avg ${rateText(d.avg, LIMIT_SCALE).text} burst ${d.burst}`;
  },
  parsePrint(s) {
    const m = s.match(/limit: avg (\d+)\/(day|hour|min|sec) burst (\d+)(?=\s|$)/);
    if (!m) return undefined;
    const r = parseRateText(`${m[1]}/${m[2]}`)!;
    return { avg: Math.floor((LIMIT_SCALE * r.seconds) / r.count), burst: Number(m[3]) };
  },
  evaluate(_d, env) {
    // The bucket starts full (burst tokens) and refills at the rate: on a node that has not
    // seen such traffic lately, a packet finds a token. Said, not silently assumed.
    return underAssumption(env, RATE_STATE, { matched: true, assuming: QUIET_NODE }, { matched: false, assuming: EXHAUSTED });
  },
};
