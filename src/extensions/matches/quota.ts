/**
 * `-m quota [!] --quota BYTES`: a byte budget shared by every packet the rule sees. The kernel
 * (net/netfilter/xt_quota.c) matches a packet while what is left covers its whole length,
 * taking the length off; the first packet that does not fit empties the quota, so no packet
 * matches after it. `!` inverts the answer, not the accounting.
 *
 * What is left is state a dump does not hold: iptables-save and -L print the quota as
 * configured, not what traffic has left of it (measured with iptables 1.8.9, nft and legacy,
 * after 300 bytes had used a 1000-byte quota: both still print 1000). `-L` does not show the
 * `!` either, so a rule read back from a listing does not know which way it answers.
 */
import type { MatchExtension, OptionSpec, StateChoice } from "../types.js";
import { isUnknown, unknown, type Unknown } from "../../model/ast.js";
import { collectOptions, underAssumption } from "../util.js";

/** What netfate assumes of quotas: one shared text, so outcomes list it once. */
export const SPENT = "every quota is spent (--assume quota=spent)";
export const QUOTA_STATE: StateChoice = { key: "quota", quiet: "left", busy: "spent", what: "quota counters" };
export const QUIET_QUOTA =
  "quotas have all their bytes left, as on a quiet node (a dump shows each quota as configured, not what traffic has left of it)";

export interface QuotaData {
  negated: boolean | Unknown;
  bytes: bigint;
}

const U64_MAX = (1n << 64n) - 1n;

const OPTIONS: readonly OptionSpec[] = [{ flags: ["--quota"], args: 1, negatable: true }];

/** A 64-bit count as xtables reads one: strtoull base 0 (decimal, 0x hex, 0 octal), a leading `+` allowed. */
export function parseUnsigned64(text: string): bigint | undefined {
  const m = /^\+?(?:0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))$/.exec(text);
  if (!m) return undefined;
  const n = m[1] !== undefined ? BigInt(`0x${m[1]}`) : m[2] !== undefined ? (m[2] === "" ? 0n : BigInt(`0o${m[2]}`)) : BigInt(m[3]!);
  return n <= U64_MAX ? n : undefined;
}

export const quota: MatchExtension<QuotaData> = {
  type: "match",
  name: "quota",
  reads: () => ["state"],
  state: QUOTA_STATE,
  printPrefixes: ["quota:"],
  options: OPTIONS,
  parse(options, ctx, span) {
    const o = collectOptions(OPTIONS, options, ctx, "quota");
    const q = o.get("--quota");
    if (!q) return void ctx.error(span, 'quota: option "--quota" must be specified', "--quota BYTES");
    const bytes = parseUnsigned64(q.values[0] ?? "");
    if (bytes === undefined) return void ctx.error(q.span, "quota: bad --quota", "a number of bytes 0-18446744073709551615", q.values[0]);
    return { negated: q.negated, bytes };
  },
  save(d) {
    // A rule read from a listing may be inverted or not; its save text cannot say which.
    return `${d.negated === true ? " !" : ""} --quota ${d.bytes}`;
  },
  print(d) {
    return ` quota: ${d.bytes} bytes`;
  },
  parsePrint(s) {
    const m = s.match(/quota: (\d+) bytes(?=\s|$)/);
    if (!m) return undefined;
    const bytes = BigInt(m[1]!);
    if (bytes > U64_MAX) return undefined;
    return { negated: unknown("the listing does not show whether --quota is inverted (! --quota)"), bytes };
  },
  evaluate(d, env) {
    if (isUnknown(d.negated)) return { indeterminate: `quota ${d.bytes} bytes: ${d.negated.reason}` };
    // An empty quota fits no packet (every packet has a header), whatever traffic came before.
    if (d.bytes === 0n) return d.negated;
    const length = env.packet.length;
    if (length === undefined) return { indeterminate: `quota ${d.bytes} bytes: the packet's length is not given` };
    return underAssumption(env, QUOTA_STATE, { matched: (d.bytes >= BigInt(length)) !== d.negated, assuming: QUIET_QUOTA }, { matched: d.negated, assuming: SPENT });
  },
};
