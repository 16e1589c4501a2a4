/**
 * `-m recent`: a named list of addresses with the times they were seen. `--set` records the
 * packet's address and always matches; `--rcheck`/`--update`/`--remove` ask whether the
 * address is in the list (within `--seconds`, at least `--hitcount` times), which depends on
 * traffic netfate has not seen: it takes the lists to be empty, as a first packet on a quiet
 * node finds them, and says so.
 */
import type { MatchExtension, OptionSpec, StateChoice } from "../types.js";
import type { RawOption } from "../../model/ast.js";
import { collectOptions, underAssumption } from "../util.js";
import { optionHost, parseAddress, ruleText } from "../../model/address.js";
import { cNumber } from "../../model/c-number.js";

export type RecentOp = "set" | "rcheck" | "update" | "remove";

/**
 * What netfate assumes of recent lists: one shared text, so outcomes list it once. netfate
 * keeps no list between rules, so an address a `--set` earlier on the packet's own path added
 * is not seen by a later `--rcheck`/`--update`/`--remove` of that list; the text says so.
 */
export const LISTED = "the address is in every recent list, seen recently and often enough (--assume recent=listed)";
export const RECENT_STATE: StateChoice = { key: "recent", quiet: "empty", busy: "listed", what: "recent lists" };
export const QUIET_RECENT =
  "recent lists are empty, as on a quiet node (a first packet finds no address in any -m recent list; one a --set earlier on its own path added is not followed)";

export interface RecentData {
  /** `!` before the operation: the match result is inverted. */
  negated: boolean;
  op: RecentOp;
  /** 0 when not given. */
  seconds: number;
  reap: boolean;
  /** 0 when not given. */
  hitcount: number;
  rttl: boolean;
  name: string;
  side: "source" | "dest";
  /** The address mask, as iptables prints it. */
  mask: string;
}

const OPS: readonly RecentOp[] = ["set", "rcheck", "update", "remove"];
/** What `-L` calls each operation. */
const OP_WORD: Record<RecentOp, string> = { set: "SET", rcheck: "CHECK", update: "UPDATE", remove: "REMOVE" };
/** The longest list name the kernel takes (XT_RECENT_NAME_LEN less the NUL). */
const NAME_MAX = 199;
/** The kernel's default ip_pkt_list_tot: more hits than that cannot be counted. */
const PKT_LIST_TOT = 255;

const OPTIONS: readonly OptionSpec[] = [
  { flags: ["--set"], args: 0, negatable: true },
  { flags: ["--rcheck"], args: 0, negatable: true },
  { flags: ["--update"], args: 0, negatable: true },
  { flags: ["--remove"], args: 0, negatable: true },
  { flags: ["--seconds"], args: 1 },
  { flags: ["--reap"], args: 0 },
  { flags: ["--hitcount"], args: 1 },
  { flags: ["--rttl"], args: 0 },
  { flags: ["--name"], args: 1 },
  { flags: ["--rsource"], args: 0 },
  { flags: ["--rdest"], args: 0 },
  { flags: ["--mask"], args: 1 },
];

/** `--seconds`, `--hitcount`: base 0 (`060` is 48). */
function uint32(text: string): number | undefined {
  return cNumber(text, 0xffffffff);
}

export const recent: MatchExtension<RecentData> = {
  type: "match",
  name: "recent",
  reads: () => ["state"],
  state: RECENT_STATE,
  printPrefixes: ["recent:", "! recent:"],
  options: OPTIONS,
  parse(options, ctx, span) {
    const o = collectOptions(OPTIONS, options, ctx, "recent");
    const ops = OPS.map((op) => o.get(`--${op}`)).filter((x): x is RawOption => x !== undefined);
    if (ops.length === 0) return void ctx.error(span, "recent: you must specify one of --set, --rcheck, --update or --remove", "--set, --rcheck, --update or --remove");
    if (ops.length > 1) return void ctx.error(ops[1]!.span, `recent: ${ops[1]!.flag} cannot be used together with ${ops[0]!.flag}`);
    const opt = ops[0]!;
    const d: RecentData = {
      negated: opt.negated, op: opt.flag.slice(2) as RecentOp, seconds: 0, reap: o.has("--reap"), hitcount: 0, rttl: o.has("--rttl"),
      name: "DEFAULT", side: "source", mask: ctx.family === "ipv4" ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    };
    const seconds = o.get("--seconds");
    if (seconds) {
      const n = uint32(seconds.values[0] ?? "");
      if (!n) return void ctx.error(seconds.span, "recent: bad --seconds", "a number 1-4294967295", seconds.values[0]);
      d.seconds = n;
    }
    const hit = o.get("--hitcount");
    if (hit) {
      const n = uint32(hit.values[0] ?? "");
      if (n === undefined) return void ctx.error(hit.span, "recent: bad --hitcount", "a number 0-4294967295", hit.values[0]);
      if (n > PKT_LIST_TOT) ctx.warning(hit.span, `recent: the kernel refuses --hitcount ${n}: it remembers ${PKT_LIST_TOT} packets per address unless ip_pkt_list_tot says otherwise`);
      d.hitcount = n;
    }
    if (d.reap && !seconds) return void ctx.error(o.get("--reap")!.span, 'recent: option "--reap" also requires "--seconds"', "--seconds N");
    if (d.rttl && (d.op === "set" || d.op === "remove")) return void ctx.error(o.get("--rttl")!.span, `recent: --rttl cannot be used together with --${d.op}`);
    if ((d.op === "set" || d.op === "remove") && (seconds || hit || d.reap)) {
      const bad = seconds ?? hit ?? o.get("--reap")!;
      return void ctx.error(bad.span, `recent: the kernel refuses ${bad.flag} with --${d.op}`);
    }
    const name = o.get("--name");
    if (name) {
      const v = name.values[0] ?? "";
      if (v === "" || v.length > NAME_MAX) return void ctx.error(name.span, "recent: bad --name", `a name of 1-${NAME_MAX} characters`, v);
      d.name = v;
    }
    // --rsource and --rdest may both be given: the last one wins, as in iptables.
    for (const x of options) if (x.flag === "--rsource" || x.flag === "--rdest") d.side = x.flag === "--rsource" ? "source" : "dest";
    const mask = o.get("--mask");
    if (mask) {
      const v = mask.values[0] ?? "";
      // The option parser's host type: inet_aton for IPv4 (`0255.255.255.255` is 173.255.255.255).
      const a = optionHost(v, ctx.family);
      if (a === undefined) return void ctx.error(mask.span, "recent: bad --mask", ctx.family === "ipv4" ? "an IPv4 address" : "an IPv6 address", v);
      d.mask = ruleText(a);
    }
    return d;
  },
  save(d) {
    let s = `${d.negated ? " !" : ""} --${d.op}`;
    if (d.seconds) s += ` --seconds ${d.seconds}`;
    if (d.reap) s += " --reap";
    if (d.hitcount) s += ` --hitcount ${d.hitcount}`;
    if (d.rttl) s += " --rttl";
    return `${s} --name ${d.name} --mask ${d.mask} --${d.side === "source" ? "rsource" : "rdest"}`;
  },
  print(d) {
    let s = `${d.negated ? " !" : ""} recent: ${OP_WORD[d.op]}`;
    if (d.seconds) s += ` seconds: ${d.seconds}`;
    if (d.reap) s += " reap";
    if (d.hitcount) s += ` hit_count: ${d.hitcount}`;
    if (d.rttl) s += " TTL-Match";
    return `${s} name: ${d.name} side: ${d.side} mask: ${d.mask}`;
  },
  parsePrint(s, ctx) {
    const m = s.match(
      /(! )?recent: (SET|CHECK|UPDATE|REMOVE)(?: seconds: (\d+))?( reap)?(?: hit_count: (\d+))?( TTL-Match)? name: (\S+) side: (source|dest) mask: (\S+)(?=\s|$)/,
    );
    if (!m) return undefined;
    const a = parseAddress(m[9]!, ctx.family);
    if (!a.ok) return undefined;
    const op = OPS.find((x) => OP_WORD[x] === m[2])!;
    return {
      negated: m[1] !== undefined, op, seconds: Number(m[3] ?? 0), reap: m[4] !== undefined, hitcount: Number(m[5] ?? 0),
      rttl: m[6] !== undefined, name: m[7]!, side: m[8] as "source", mask: a.value.address,
    };
  },
  evaluate(d, env) {
    // net/netfilter/xt_recent.c: --set records the address and returns the (possibly
    // inverted) hit whatever the list held, without looking at times or counts. (It drops the
    // packet only if it cannot allocate the entry.)
    if (d.op === "set") return !d.negated;
    // An address not in the list answers the inversion flag alone: --rcheck, --update and
    // --remove do not match, `!` before them does. --seconds, --hitcount, --reap, --rttl and
    // the side only matter once an entry is found.
    return underAssumption(env, RECENT_STATE, { matched: d.negated, assuming: QUIET_RECENT }, { matched: !d.negated, assuming: LISTED });
  },
};
