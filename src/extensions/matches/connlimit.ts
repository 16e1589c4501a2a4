/**
 * `-m connlimit --connlimit-above N | --connlimit-upto N [--connlimit-mask M] [--connlimit-saddr |
 * --connlimit-daddr]`: how many connections the packet's (masked) source or destination address
 * has open. Kept as iptables 1.8.9 keeps it (revision 1: a limit, an invert flag — `upto` is
 * `! above` — the mask as a prefix length, the address side) and printed back from that.
 *
 * The count is state netfate does not see. The kernel (net/netfilter/xt_connlimit.c,
 * nf_conncount.c) adds the packet's own connection to the rule's tree before it compares, so
 * the count is never below 1: a first packet on a quiet node counts exactly 1, and the rule
 * matches when `1 > N` (`--connlimit-above 0`), or for `--connlimit-upto N` when `1 <= N`.
 */
import type { MatchExtension, OptionSpec, StateChoice } from "../types.js";
import type { Family } from "../../model/ast.js";
import { collectOptions, parseUnsigned, underAssumption } from "../util.js";
import { parseAddress } from "../../model/address.js";

/** What netfate assumes of connection counts: one shared text, so outcomes list it once. */
export const MANY_CONNECTIONS = "more connections are open than any connlimit allows (--assume connlimit=over)";
export const CONNECTIONS_STATE: StateChoice = { key: "connlimit", quiet: "none", busy: "over", what: "connections counted by connlimit" };
export const QUIET_CONNECTIONS =
  "no other connections are open, as on a quiet node (connlimit counts only the packet's own connection: 1)";

export interface ConnlimitData {
  /** `--connlimit-above` (or `! --connlimit-upto`): matches when the count is over `limit`. */
  above: boolean;
  limit: number;
  /** The mask as the prefix length iptables prints. */
  prefix: number;
  side: "saddr" | "daddr";
}

const OPTIONS: readonly OptionSpec[] = [
  { flags: ["--connlimit-upto"], args: 1, negatable: true },
  { flags: ["--connlimit-above"], args: 1, negatable: true },
  { flags: ["--connlimit-mask"], args: 1 },
  { flags: ["--connlimit-saddr"], args: 0 },
  { flags: ["--connlimit-daddr"], args: 0 },
];

/** A number as C's strtoul reads one with base 0: `08` is a bad octal number, not 8. */
function strictUnsigned(text: string, max = 0xffffffff): number | undefined {
  return /^0[0-7]*[89]/.test(text) ? undefined : parseUnsigned(text, max);
}

/** A number as xtables reads one: strtoul base 0, an optional leading `+`. */
function unsigned(text: string, max = 0xffffffff): number | undefined {
  return strictUnsigned(text.startsWith("+") ? text.slice(1) : text, max);
}

/** The leading ones of a 32-bit mask, or undefined when it is not contiguous. */
function prefixOf32(mask: number): number | undefined {
  const host = ~mask >>> 0;
  // Contiguous from the top exactly when the bits it leaves out are 2^k - 1.
  if ((host & (host + 1)) !== 0) return undefined;
  return host === 0 ? 32 : Math.clz32(host);
}

/** C's inet_aton: 1 to 4 dot-separated numbers (base 0), the last filling the bytes left. */
function inetAton(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length > 4) return undefined;
  const nums = parts.map((p) => strictUnsigned(p));
  if (nums.some((n) => n === undefined)) return undefined;
  let value = 0;
  for (let i = 0; i < nums.length - 1; i++) {
    if (nums[i]! > 255) return undefined;
    value = value * 256 + nums[i]!;
  }
  const lastBytes = 4 - (nums.length - 1);
  const last = nums[nums.length - 1]!;
  if (last >= 2 ** (8 * lastBytes)) return undefined;
  return value * 2 ** (8 * lastBytes) + last;
}

/**
 * `--connlimit-mask` as iptables 1.8.9 reads it, measured in a namespace: IPv4 takes a prefix
 * length (base 0), any larger number or inet_aton text is a 32-bit mask, and a mask that is not
 * contiguous (or a length past 32) prints as 32; IPv6 takes a length up to 128 or an address
 * mask, a non-contiguous one printing as 128. Undefined for what iptables refuses.
 */
export function connlimitPrefix(text: string, family: Family): number | undefined {
  if (family === "ipv6") {
    const n = unsigned(text);
    if (n !== undefined) return n <= 128 ? n : undefined;
    const a = parseAddress(`::/${text}`, "ipv6");
    return a.ok && text !== "" ? (a.value.prefixLength ?? 128) : undefined;
  }
  const n = /^\+?[0-9a-fA-FxX]+$/.test(text) ? unsigned(text) : undefined;
  if (n !== undefined && n <= 32) return n;
  const mask = n ?? inetAton(text);
  if (mask === undefined) return undefined;
  return prefixOf32(mask) ?? 32;
}

export const connlimit: MatchExtension<ConnlimitData> = {
  type: "match",
  name: "connlimit",
  reads: () => ["state"],
  state: CONNECTIONS_STATE,
  needsConntrack: true,
  printPrefixes: ["#conn"],
  options: OPTIONS,
  parse(options, ctx, span) {
    const o = collectOptions(OPTIONS, options, ctx, "connlimit");
    const upto = o.get("--connlimit-upto");
    const above = o.get("--connlimit-above");
    if (!upto && !above) return void ctx.error(span, 'connlimit: you must specify "--connlimit-above" or "--connlimit-upto"', "--connlimit-above N or --connlimit-upto N");
    if (upto && above) {
      const later = options.indexOf(upto) > options.indexOf(above) ? upto : above;
      return void ctx.error(later.span, 'connlimit: option "--connlimit-upto" cannot be used together with "--connlimit-above"');
    }
    const given = (upto ?? above)!;
    const limit = unsigned(given.values[0] ?? "");
    if (limit === undefined) return void ctx.error(given.span, `connlimit: bad value for ${given.flag}`, "a number 0-4294967295", given.values[0]);
    const full = ctx.family === "ipv4" ? 32 : 128;
    const d: ConnlimitData = { above: (given === above) !== given.negated, limit, prefix: full, side: "saddr" };
    const mask = o.get("--connlimit-mask");
    if (mask) {
      const p = connlimitPrefix(mask.values[0] ?? "", ctx.family);
      if (p === undefined) return void ctx.error(mask.span, "connlimit: bad --connlimit-mask", `a prefix length 0-${full} or a network mask`, mask.values[0]);
      d.prefix = p;
    }
    const saddr = o.get("--connlimit-saddr");
    const daddr = o.get("--connlimit-daddr");
    if (saddr && daddr) {
      const later = options.indexOf(saddr) > options.indexOf(daddr) ? saddr : daddr;
      return void ctx.error(later.span, 'connlimit: option "--connlimit-saddr" cannot be used together with "--connlimit-daddr"');
    }
    if (daddr) d.side = "daddr";
    return d;
  },
  save(d) {
    return ` --connlimit-${d.above ? "above" : "upto"} ${d.limit} --connlimit-mask ${d.prefix} --connlimit-${d.side}`;
  },
  print(d) {
    return ` #conn ${d.side === "saddr" ? "src" : "dst"}/${d.prefix} ${d.above ? ">" : "<="} ${d.limit}`;
  },
  parsePrint(s, ctx) {
    const m = s.match(/#conn (src|dst)\/(\d+) (>|<=) (\d+)(?=\s|$)/);
    if (!m) return undefined;
    const prefix = Number(m[2]);
    const limit = Number(m[4]);
    if (prefix > (ctx.family === "ipv4" ? 32 : 128) || limit > 0xffffffff) return undefined;
    return { above: m[3] === ">", limit, prefix, side: m[1] === "src" ? "saddr" : "daddr" };
  },
  evaluate(d, env) {
    // The packet's own connection is counted before the comparison (nf_conncount_count adds
    // its tuple), so a quiet node's count is 1, whatever the mask and side.
    const count = 1;
    return underAssumption(env, CONNECTIONS_STATE, { matched: d.above ? count > d.limit : count <= d.limit, assuming: QUIET_CONNECTIONS }, { matched: d.above, assuming: MANY_CONNECTIONS });
  },
};
