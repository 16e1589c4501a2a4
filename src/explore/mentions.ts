/**
 * "Which rules mention this address / port?", answered from the parsed rules rather than
 * their text (10.96.0.10 is in `-d 10.96.0.0/16` though no text holds it):
 *  - iptables: `-s`/`-d` networks; every match and target through the `witnesses` its
 *    extension declares (the same description `netfate diff` searches packets with): port
 *    ranges (tcp, udp, sctp, multiport), address ranges (iprange), the members of an ipset
 *    (set), the addresses and ports a rule names (DNAT's --to-destination);
 *  - nftables: every address, prefix, address range, port and port range constant in the
 *    rule and in the named sets and maps it uses.
 * Approximate, and said so in the page (APPROXIMATE): a mention is not a match. Negated
 * conditions count (the rule names the address to exclude it); which field the constant is
 * tested against (source or destination) is not checked; an ipset's members are read from
 * their text (`10.0.0.0/24,tcp:80`), list:set members are not followed; matches whose
 * extension declares no witnesses (conntrack --ctorigdst, u32, ...) are not searched.
 */
import type { AddressMatch, Family, Rule, Ruleset } from "../model/ast.js";
import { isUnknown } from "../model/ast.js";
import type { NftRuleset, NftSet, NftTable } from "../model/nft.js";
import type { IpSetCollection } from "../ipset/index.js";
import { addressFamily, addressText, applyMask, compareIp, familyBits, ipToNum, maskFromPrefix, parseCidr, type IpNum } from "../model/address.js";
import { boundMatch, boundTarget } from "../extensions/registry.js";
import type { Witness, WitnessFields } from "../extensions/types.js";
import { matchSaveText, targetSaveText } from "../print/save.js";
import { printNftStmt } from "../nft/print/index.js";
import { forEachRule, type ParsedRule, type RuleEntry } from "./rules.js";

export const APPROXIMATE =
  "A mention is not a match: negated conditions count, source and destination are not told apart for nftables constants, ipset members are read from their text (list:set not followed), and matches netfate has no address or port description for (conntrack --ctorigdst, u32, ...) are not searched.";

/** An address range, inclusive, of one family. */
interface AddrSpan {
  family: Family;
  lo: IpNum;
  hi: IpNum;
}

export interface MentionQuery {
  /** An address or network (`10.96.0.10`, `10.96.0.0/16`, `2001:db8::/64`). */
  address?: string;
  /** A port, 0-65535. */
  port?: number;
}

export interface Mention {
  entry: RuleEntry;
  /** What in the rule mentions it (`-d 10.96.0.0/16`, `-m tcp --dport 80`, `set KUBE-CLUSTER-IP: 10.96.0.10,tcp:80`). */
  why: string[];
}

function orMask(n: IpNum, mask: IpNum): IpNum {
  if (typeof n === "number") return (n | ~(mask as number)) >>> 0;
  const m = mask as readonly number[];
  return [(n[0] | ~m[0]!) >>> 0, (n[1] | ~m[1]!) >>> 0, (n[2] | ~m[2]!) >>> 0, (n[3] | ~m[3]!) >>> 0];
}

/** The addresses of `address/prefix`. */
function netSpan(address: string, prefix: number, family: Family): AddrSpan | undefined {
  const n = ipToNum(address, family);
  if (n === undefined) return undefined;
  const mask = maskFromPrefix(prefix, family);
  return { family, lo: applyMask(n, mask), hi: orMask(n, mask) };
}

function rangeSpan(from: string, to: string): AddrSpan | undefined {
  const family = addressFamily(from);
  if (!family || addressFamily(to) !== family) return undefined;
  const lo = ipToNum(from, family)!;
  const hi = ipToNum(to, family)!;
  return { family, lo, hi };
}

/** `10.0.0.0/8`, `10.0.0.1-10.0.0.9` or one address, as ipset and nft write them. */
function spanOfText(text: string): AddrSpan | undefined {
  const dash = text.indexOf("-");
  if (dash > 0 && !text.includes("/")) return rangeSpan(text.slice(0, dash), text.slice(dash + 1));
  const c = parseCidr(text);
  return typeof c === "string" ? undefined : netSpan(c.address, c.prefixLength, c.family);
}

function overlaps(a: AddrSpan, b: AddrSpan): boolean {
  return a.family === b.family && compareIp(a.lo, b.hi) <= 0 && compareIp(b.lo, a.hi) <= 0;
}

/** A parsed question: what it asks, and how to test what a rule names against it. */
class Question {
  readonly addr?: AddrSpan;
  readonly port?: number;

  constructor(q: MentionQuery) {
    if (q.address !== undefined) {
      const s = spanOfText(q.address.trim());
      if (!s) throw new MentionError(`${JSON.stringify(q.address)} is not an address or network (expected 10.96.0.10, 10.96.0.0/16 or an IPv6 one)`);
      this.addr = s;
    }
    if (q.port !== undefined) {
      if (!Number.isInteger(q.port) || q.port < 0 || q.port > 65535) throw new MentionError(`port ${q.port} is not 0-65535`);
      this.port = q.port;
    }
    if (!this.addr && this.port === undefined) throw new MentionError("give an address, a port, or both");
  }

  address(s: AddrSpan | undefined): boolean {
    return this.addr !== undefined && s !== undefined && overlaps(this.addr, s);
  }

  addressText(text: string | undefined): boolean {
    return text !== undefined && this.address(spanOfText(text));
  }

  ports(lo: number, hi: number): boolean {
    return this.port !== undefined && lo <= this.port && this.port <= hi;
  }
}

export class MentionError extends Error {}

/** What the parsed question found in one rule, by kind. */
interface Found {
  addr: string[];
  port: string[];
}

function addressMatchSpan(m: AddressMatch, family: Family): AddrSpan | undefined {
  if (m.prefixLength !== null) return netSpan(m.address, m.prefixLength, family);
  // A mask with holes: the addresses it can take lie between the network and the network with every free bit set.
  const n = ipToNum(m.address, family);
  const mask = m.mask ? ipToNum(m.mask, family) : undefined;
  return n === undefined || mask === undefined ? undefined : { family, lo: n, hi: orMask(n, mask) };
}

/** The members of an ipset that hold the address or the port, read from their text (`10.0.0.0/24,tcp:80`). */
function setMembers(set: { name: string; entries: { text: string }[] } | undefined, q: Question, which: "addr" | "port"): string | undefined {
  if (!set) return undefined;
  for (const e of set.entries) {
    for (const part of e.text.split(",")) {
      if (which === "addr" ? q.addressText(part) : portPart(part, q)) return `set ${set.name} has ${e.text}`;
    }
  }
  return undefined;
}

/** `tcp:80`, `80`, `udp:1000-2000`: whether it holds the port asked about. */
function portPart(part: string, q: Question): boolean {
  const m = /^(?:[a-z0-9-]+:)?(\d{1,5})(?:-(\d{1,5}))?$/i.exec(part);
  if (!m || addressFamily(part) !== undefined) return false;
  const lo = Number(m[1]);
  return q.ports(lo, m[2] !== undefined ? Number(m[2]) : lo);
}

function fieldsFound(f: WitnessFields, q: Question, what: string, out: Found): void {
  for (const a of [f.src, f.dst]) if (q.addressText(a)) out.addr.push(what);
  for (const p of [f.sport, f.dport]) if (p !== undefined && q.ports(p, p)) out.port.push(what);
}

function witnessFound(w: Witness, q: Question, what: string, sets: ReadonlyMap<string, IpSetCollection["sets"][number]>, out: Found): void {
  switch (w.kind) {
    case "ports":
      if (w.ranges.some((r) => q.ports(r.lo, r.hi))) out.port.push(what);
      return;
    case "addresses":
      if (q.address(rangeSpan(w.from, w.to))) out.addr.push(what);
      return;
    case "set": {
      const a = q.addr ? setMembers(sets.get(w.name), q, "addr") : undefined;
      const p = q.port !== undefined ? setMembers(sets.get(w.name), q, "port") : undefined;
      if (a) out.addr.push(`${what}: ${a}`);
      if (p) out.port.push(`${what}: ${p}`);
      return;
    }
    case "fields":
      for (const f of [...(w.want ? [w.want] : []), ...(w.tries ?? [])]) fieldsFound(f, q, what, out);
      return;
  }
}

function iptablesFound(r: Rule, family: Family, q: Question, sets: ReadonlyMap<string, IpSetCollection["sets"][number]>): Found {
  const out: Found = { addr: [], port: [] };
  for (const [flag, m] of [["-s", r.source], ["-d", r.destination]] as const) {
    if (!m || isUnknown(m) || !("address" in m)) continue;
    if (q.address(addressMatchSpan(m, family))) out.addr.push(`${m.negated ? "! " : ""}${flag} ${addressText(m)}`);
  }
  const ctx = { family, protocol: r.protocol, numeric: true };
  for (const m of r.matches) {
    if (m.kind !== "match") continue;
    for (const w of boundMatch(m)?.witnesses?.(m.data) ?? []) witnessFound(w, q, matchSaveText(m, ctx).trim(), sets, out);
  }
  const t = r.target;
  if (t?.kind === "target") for (const w of boundTarget(t)?.witnesses?.(t.data) ?? []) witnessFound(w, q, targetSaveText(t, r.goto, ctx).trim(), sets, out);
  return out;
}

/** Whether an nft value (a constant, prefix, range, or a concatenation or set of them) holds the address or port. */
function nftValueFound(v: unknown, q: Question, table: NftTable, seenSets: Set<string>): { addr: boolean; port: boolean } {
  const found = { addr: false, port: false };
  const visit = (x: unknown, depth: number): void => {
    if (depth > 64 || typeof x !== "object" || x === null) return;
    if (Array.isArray(x)) {
      for (const y of x) visit(y, depth + 1);
      return;
    }
    const o = x as { kind?: string; type?: string; value?: unknown; base?: { value?: unknown }; len?: number; lo?: { type?: string; value?: unknown }; hi?: { value?: unknown }; name?: string };
    if (o.kind === "const") {
      if (typeof o.value === "string" && q.addressText(o.value)) found.addr = true;
      if (o.type === "inet_service" && typeof o.value === "number" && q.ports(o.value, o.value)) found.port = true;
      return;
    }
    if (o.kind === "prefix" && typeof o.base?.value === "string" && typeof o.len === "number") {
      const fam = addressFamily(o.base.value);
      if (fam && o.len <= familyBits(fam) && q.address(netSpan(o.base.value, o.len, fam))) found.addr = true;
      return;
    }
    if (o.kind === "range" && o.lo && o.hi) {
      if (typeof o.lo.value === "string" && typeof o.hi.value === "string" && q.address(rangeSpan(o.lo.value, o.hi.value))) found.addr = true;
      if (o.lo.type === "inet_service" && typeof o.lo.value === "number" && typeof o.hi.value === "number" && q.ports(o.lo.value, o.hi.value)) found.port = true;
      return;
    }
    if (o.kind === "setref" && typeof o.name === "string") {
      // Each named set once per rule: a map used twice is not read twice.
      if (seenSets.has(o.name)) return;
      seenSets.add(o.name);
      const s: NftSet | undefined = table.sets.find((x) => x.name === o.name);
      if (s) visit(s.elements, depth + 1);
      return;
    }
    for (const k of Object.keys(o)) if (k !== "span") visit((o as Record<string, unknown>)[k], depth + 1);
  };
  visit(v, 0);
  return found;
}

function nftFound(p: Extract<ParsedRule, { kind: "nft" }>, q: Question): Found {
  const out: Found = { addr: [], port: [] };
  const seen = new Set<string>();
  for (const s of p.rule.stmts) {
    const f = nftValueFound(s, q, p.table, seen);
    if (!f.addr && !f.port) continue;
    const text = printNftStmt(s, { stateless: true });
    if (f.addr) out.addr.push(text);
    if (f.port) out.port.push(text);
  }
  return out;
}

/**
 * The rules that mention the address and/or the port (both, when both are given), in dump
 * order, at most `limit` (with how many in all).
 */
export function mentions(rulesets: readonly Ruleset[], nft: readonly NftRuleset[], sets: IpSetCollection["sets"], query: MentionQuery, limit: number): { mentions: Mention[]; total: number } {
  const q = new Question(query);
  const byName = new Map(sets.map((s) => [s.name, s] as const));
  const out: Mention[] = [];
  let total = 0;
  forEachRule(rulesets, nft, (entry, parsed) => {
    if (!parsed) return;
    const f = parsed.kind === "iptables" ? iptablesFound(parsed.rule, parsed.family, q, byName) : nftFound(parsed, q);
    if ((q.addr && f.addr.length === 0) || (q.port !== undefined && f.port.length === 0)) return;
    total++;
    if (out.length < limit) out.push({ entry, why: [...new Set([...f.addr, ...f.port])] });
  });
  return { mentions: out, total };
}
