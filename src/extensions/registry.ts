/**
 * Every extension netfate knows, listed explicitly. Adding `-m foo` means one new file under
 * matches/ and one line here; anything not listed is parsed generically and evaluated as
 * indeterminate.
 */
import type { ExtensionMatch, ExtensionTarget, Family } from "../model/ast.js";
import type { Extension, MatchExtension, StateChoice, TargetExtension } from "./types.js";
import { addrtype } from "./matches/addrtype.js";
import { cgroup } from "./matches/cgroup.js";
import { comment } from "./matches/comment.js";
import { connbytes } from "./matches/connbytes.js";
import { connlabel } from "./matches/connlabel.js";
import { connlimit } from "./matches/connlimit.js";
import { connmark } from "./matches/connmark.js";
import { conntrack } from "./matches/conntrack.js";
import { devgroup } from "./matches/devgroup.js";
import { dscp } from "./matches/dscp.js";
import { hashlimit } from "./matches/hashlimit.js";
import { hl } from "./matches/hl.js";
import { icmp, icmp6 } from "./matches/icmp.js";
import { iprange } from "./matches/iprange.js";
import { ipv6header } from "./matches/ipv6header.js";
import { length } from "./matches/length.js";
import { limit } from "./matches/limit.js";
import { mac } from "./matches/mac.js";
import { mark } from "./matches/mark.js";
import { mh } from "./matches/mh.js";
import { multiport } from "./matches/multiport.js";
import { owner } from "./matches/owner.js";
import { physdev } from "./matches/physdev.js";
import { pkttype } from "./matches/pkttype.js";
import { policy } from "./matches/policy.js";
import { quota } from "./matches/quota.js";
import { recent } from "./matches/recent.js";
import { rpfilter } from "./matches/rpfilter.js";
import { sctp } from "./matches/sctp.js";
import { set } from "./matches/set.js";
import { socket } from "./matches/socket.js";
import { state } from "./matches/state.js";
import { statistic } from "./matches/statistic.js";
import { string } from "./matches/string.js";
import { tcp } from "./matches/tcp.js";
import { time } from "./matches/time.js";
import { tos } from "./matches/tos.js";
import { ttl } from "./matches/ttl.js";
import { u32 } from "./matches/u32.js";
import { udp } from "./matches/udp.js";
import { AUDIT } from "./targets/AUDIT.js";
import { CHECKSUM } from "./targets/CHECKSUM.js";
import { CLASSIFY } from "./targets/CLASSIFY.js";
import { CONNMARK } from "./targets/CONNMARK.js";
import { CONNSECMARK } from "./targets/CONNSECMARK.js";
import { CT } from "./targets/CT.js";
import { DNAT } from "./targets/DNAT.js";
import { DNPT } from "./targets/DNPT.js";
import { DSCP } from "./targets/DSCP.js";
import { ECN } from "./targets/ECN.js";
import { HL } from "./targets/HL.js";
import { HMARK } from "./targets/HMARK.js";
import { LOG } from "./targets/LOG.js";
import { MARK } from "./targets/MARK.js";
import { MASQUERADE } from "./targets/MASQUERADE.js";
import { NETMAP } from "./targets/NETMAP.js";
import { NFLOG } from "./targets/NFLOG.js";
import { NFQUEUE } from "./targets/NFQUEUE.js";
import { NOTRACK } from "./targets/NOTRACK.js";
import { REDIRECT } from "./targets/REDIRECT.js";
import { REJECT } from "./targets/REJECT.js";
import { SECMARK } from "./targets/SECMARK.js";
import { SET } from "./targets/SET.js";
import { SNAT } from "./targets/SNAT.js";
import { SNPT } from "./targets/SNPT.js";
import { TCPMSS } from "./targets/TCPMSS.js";
import { TCPOPTSTRIP } from "./targets/TCPOPTSTRIP.js";
import { TOS } from "./targets/TOS.js";
import { TPROXY } from "./targets/TPROXY.js";
import { TRACE } from "./targets/TRACE.js";
import { TTL } from "./targets/TTL.js";

export const MATCHES: readonly MatchExtension<any>[] = [
  addrtype,
  cgroup,
  comment,
  connbytes,
  connlabel,
  connlimit,
  connmark,
  conntrack,
  devgroup,
  dscp,
  hashlimit,
  hl,
  icmp,
  icmp6,
  iprange,
  ipv6header,
  length,
  limit,
  mac,
  mark,
  mh,
  multiport,
  owner,
  physdev,
  pkttype,
  policy,
  quota,
  recent,
  rpfilter,
  sctp,
  set,
  socket,
  state,
  statistic,
  string,
  tcp,
  time,
  tos,
  ttl,
  u32,
  udp,
];

export const TARGETS: readonly TargetExtension<any>[] = [
  AUDIT,
  CHECKSUM,
  CLASSIFY,
  CONNMARK,
  CONNSECMARK,
  CT,
  DNAT,
  DNPT,
  DSCP,
  ECN,
  HL,
  HMARK,
  LOG,
  MARK,
  MASQUERADE,
  NETMAP,
  NFLOG,
  NFQUEUE,
  NOTRACK,
  REDIRECT,
  REJECT,
  SECMARK,
  SET,
  SNAT,
  SNPT,
  TCPMSS,
  TCPOPTSTRIP,
  TOS,
  TPROXY,
  TRACE,
  TTL,
];

/**
 * Targets iptables ships, known or not to netfate: `-j NAME` with one of these names is a
 * target even without options (`-j NOTRACK`), never a jump to an undeclared chain.
 */
export const IPTABLES_TARGET_NAMES: ReadonlySet<string> = new Set([
  "AUDIT", "CHECKSUM", "CLASSIFY", "CLUSTERIP", "CONNMARK", "CONNSECMARK", "CT", "DNAT", "DNPT", "DSCP", "ECN",
  "HL", "HMARK", "IDLETIMER", "LED", "LOG", "MARK", "MASQUERADE", "NETMAP", "NFLOG", "NFQUEUE", "NOTRACK",
  "RATEEST", "REDIRECT", "REJECT", "SECMARK", "SET", "SNAT", "SNPT", "SYNPROXY", "TCPMSS", "TCPOPTSTRIP",
  "TEE", "TOS", "TPROXY", "TRACE", "TTL", "ULOG",
]);

function index<E extends Extension>(list: readonly E[]): Map<string, E[]> {
  const m = new Map<string, E[]>();
  for (const e of list) {
    for (const n of [e.name, ...(e.aliases ?? [])]) {
      const arr = m.get(n) ?? [];
      arr.push(e);
      m.set(n, arr);
    }
  }
  return m;
}

const MATCH_INDEX = index(MATCHES);
const TARGET_INDEX = index(TARGETS);
/** Targets by the word `-L` shows in the target column, where that differs from the name. */
const TARGET_LISTING_INDEX = new Map<string, TargetExtension<any>[]>();
for (const t of TARGETS) {
  if (!t.listingName) continue;
  TARGET_LISTING_INDEX.set(t.listingName, [...(TARGET_LISTING_INDEX.get(t.listingName) ?? []), t]);
}

function pick<E extends Extension>(idx: Map<string, E[]>, name: string, family: Family): E | undefined {
  const arr = idx.get(name);
  if (!arr) return undefined;
  // A loop, not find(): this runs for every -m and -j of a 100k-rule dump.
  for (const e of arr) if (!e.families || e.families.includes(family)) return e;
  return undefined;
}

export function findMatch(name: string, family: Family): MatchExtension<any> | undefined {
  return pick(MATCH_INDEX, name, family);
}

/** The kinds of state matches read that the input cannot show, one per `--assume` key. */
export function stateChoices(): StateChoice[] {
  const byKey = new Map<string, StateChoice>();
  for (const m of MATCHES) if (m.state && !byKey.has(m.state.key)) byKey.set(m.state.key, m.state);
  return [...byKey.values()];
}

/** The match `-p` loads for protocol `number` when that is not the match named like the protocol (ICMP, ICMPv6). */
export function implicitMatchOf(number: number, family: Family): MatchExtension<any> | undefined {
  return MATCHES.find((m) => m.implicitProtocol === number && (m.families?.includes(family) ?? true));
}

export function findTarget(name: string, family: Family): TargetExtension<any> | undefined {
  return pick(TARGET_INDEX, name, family);
}

/**
 * Every target a listing row with `word` in its target column may be, the one of that name
 * first: `CT` is CT, or NOTRACK (which the kernel loads as CT).
 */
export function targetsListedAs(word: string, family: Family): TargetExtension<any>[] {
  const named = findTarget(word, family);
  const aliased = (TARGET_LISTING_INDEX.get(word) ?? []).filter((e) => !e.families || e.families.includes(family));
  return named ? [named, ...aliased] : aliased;
}

/**
 * The extension a bound node was bound by: the node holds that extension's own name and data.
 * By name alone, whatever the family: the binder's implicit `-p` matches may bind one of
 * another family's (`-p icmpv6 --icmpv6-type` in an IPv4 dump).
 */
export function boundMatch(node: ExtensionMatch): MatchExtension<any> | undefined {
  return bound(MATCH_INDEX, node.name);
}

export function boundTarget(node: ExtensionTarget): TargetExtension<any> | undefined {
  return bound(TARGET_INDEX, node.name);
}

function bound<E extends Extension>(idx: Map<string, E[]>, name: string): E | undefined {
  for (const e of idx.get(name) ?? []) if (e.name === name) return e;
  return undefined;
}

/**
 * Names (known to netfate or not) whose use makes the kernel enable conntrack: the extensions
 * that say so (`needsConntrack`), and the iptables extensions netfate does not implement that
 * need it too (libxt_helper, libxt_cluster, libxt_ipvs, SYNPROXY). An extension whose options
 * decide it is in `depends`, with its test.
 */
function conntrackUsers<E extends Extension>(list: readonly E[], unimplemented: readonly string[]): { always: ReadonlySet<string>; depends: ReadonlyMap<string, (data: unknown) => boolean> } {
  const always = new Set(unimplemented);
  const depends = new Map<string, (data: unknown) => boolean>();
  for (const e of list) {
    const n = e.needsConntrack;
    if (n === undefined || n === false) continue;
    for (const name of [e.name, ...(e.aliases ?? [])]) {
      if (n === true) always.add(name);
      else depends.set(name, n as (data: unknown) => boolean);
    }
  }
  return { always, depends };
}

const CONNTRACK_MATCHES = conntrackUsers(MATCHES, ["helper", "cluster", "ipvs"]);
const CONNTRACK_TARGETS = conntrackUsers(TARGETS, ["SYNPROXY"]);

/** Whether `-m NAME` (known or not) makes the kernel enable conntrack: true, false, or "depends" on the rule's options. */
export function matchNeedsConntrack(name: string): boolean | "depends" {
  return CONNTRACK_MATCHES.always.has(name) || (CONNTRACK_MATCHES.depends.has(name) ? "depends" : false);
}

/** Whether `-j NAME` (known or not) makes the kernel enable conntrack: true, false, or "depends" on the rule's options. */
export function targetNeedsConntrack(name: string): boolean | "depends" {
  return CONNTRACK_TARGETS.always.has(name) || (CONNTRACK_TARGETS.depends.has(name) ? "depends" : false);
}

/** Whether this use of a match or target (its bound data) makes the kernel enable conntrack. */
export function useNeedsConntrack(kind: "match" | "target", name: string, data: unknown): boolean {
  const users = kind === "match" ? CONNTRACK_MATCHES : CONNTRACK_TARGETS;
  if (users.always.has(name)) return true;
  const test = users.depends.get(name);
  // Data a reader could not bind (a generic node) is taken as the kernel's usual case: it needs it.
  return test !== undefined && (data === undefined || data === null || test(data));
}

/** The tables target `name` (of either family) may be used in, when it is limited to some (its `tables`). */
export function tablesAllowing(name: string): readonly string[] | undefined {
  for (const t of TARGET_INDEX.get(name) ?? []) if (t.tables) return t.tables;
  return undefined;
}

let prefixesByFirstChar: ReadonlyArray<readonly [string, MatchExtension<any>]>[] | undefined;
const NO_PREFIXES: ReadonlyArray<readonly [string, MatchExtension<any>]> = Object.freeze([]);

/**
 * Matches whose `-L` text may start at a character `code`, with the prefix each starts with,
 * longest first so "match-set" wins over "match". Made once, and by first character: the
 * listing reader asks for every match of every row (10k services: 117k rows).
 */
export function matchesByPrintPrefixAt(code: number): ReadonlyArray<readonly [string, MatchExtension<any>]> {
  if (!prefixesByFirstChar) {
    const all: Array<readonly [string, MatchExtension<any>]> = [];
    for (const m of MATCHES) for (const p of m.printPrefixes ?? []) all.push([p, m]);
    all.sort((a, b) => b[0].length - a[0].length);
    const buckets: (readonly [string, MatchExtension<any>])[][] = [];
    for (const e of all) (buckets[e[0].charCodeAt(0)] ??= []).push(e);
    prefixesByFirstChar = buckets;
  }
  return prefixesByFirstChar[code] ?? NO_PREFIXES;
}
