/**
 * What each nft statement does to a branch: tests that stop the rule, verdicts, and effects
 * (marks, NAT, log lines, set updates). Where iptables has the same effect, its extension does
 * the work (LOG's line, DNAT/SNAT/MASQUERADE/REDIRECT's choice of address, limit and quota's
 * stated assumptions), so the two never disagree.
 */
import type { EvalEnv, MatchResult } from "../../model/evaluation.js";
import type { IpsetView } from "../../model/evaluation.js";
import type { NftElement, NftExpr, NftLimit, NftMatch, NftNat, NftQuota, NftSetLiteral, NftStmt, NftVerdictCode } from "../../model/nft.js";
import { bigIntToIp, numText } from "../../model/address.js";
import { kernelLogLine, natChoice, quotaHasBytes, rateLimitHasTokens } from "../../extensions/nft/statements/nat.js";
import { natBinding } from "../nat.js";
import type { NatRange } from "../../extensions/nat-range.js";
import type { NftEnv } from "./expr/env.js";
import { partialTest, planOf, relational, type Plan } from "./relational.js";
import { readerOf } from "./expr/index.js";
import { findElement } from "./expr/lookup.js";
import { literalSet } from "./compile.js";
import { lookup, type CompiledSet } from "./sets.js";
import { changeElement, changedElement } from "./set-state.js";
import { constScalar, int, isInt, type Choice, type Scalar, type Val, type XVal } from "../../model/nft-values.js";
import { elementText, exprText, stmtText } from "./rule-text.js";

export type StmtResult =
  | { kind: "next" }
  /** The rule stops here without a verdict: the next rule is tried. */
  /** `failed` words the condition that failed; only a trace that shows it asks (printing costs more than the test). */
  | { kind: "break"; failed: () => string }
  | { kind: "verdict"; verdict: NftVerdictCode | "reject"; chain?: string; detail?: string; element?: string; nat?: boolean; /** The statement or map element data a jump or goto came from (what its target is cached by). */ from?: object }
  | { kind: "choose"; choices: readonly Choice[]; expr: object }
  /** A test the input does not decide: both sides are followed as alternatives. */
  | { kind: "unknown-test"; why: string }
  /** An effect netfate does not model, which may decide the packet's fate. */
  | { kind: "unknown-action"; why: string }
  /** Decided by a stated assumption about state the input cannot show. */
  | { kind: "assumed"; passes: boolean; assuming: string }
  | { kind: "end"; verdict: "DROP" | "INDETERMINATE"; detail: string };

export interface StmtEnv extends NftEnv {
  ipsets: IpsetView;
  /** The chain's type: nat statements are only loaded in nat chains. */
  chainType: "filter" | "nat" | "route";
}

/** A statement that let the rule go on: one object, which the walk tells apart by identity. */
export const NEXT: StmtResult = { kind: "next" };

/**
 * The result of a statement whose test failed: one per statement, made once (most rules a
 * packet meets fail a test, and a trace words the failure only when it shows the rule).
 */
const FAILED = new WeakMap<NftStmt, StmtResult>();
function failedAt(s: NftStmt): StmtResult {
  let r = FAILED.get(s);
  if (!r) {
    r = { kind: "break", failed: s.kind === "vmap" ? () => `${exprText(s.key)} vmap: no element for the key` : () => stmtText(s) };
    FAILED.set(s, r);
  }
  return r;
}

/** What a value does in a stopping test: no value, the rule stops. */
function valueOf(e: NftExpr, env: StmtEnv, s: NftStmt): { val: Val } | StmtResult {
  return fromX(env.eval(e), s);
}

function fromX(v: XVal, s: NftStmt): { val: Val } | StmtResult {
  if ("val" in v) return v;
  if ("absent" in v) return { kind: "break", failed: () => `${stmtText(s)} (${v.absent})` };
  if ("choose" in v) return { kind: "choose", choices: v.choose, expr: v.expr };
  return { kind: "unknown-test", why: v.indeterminate };
}

/**
 * A verdict map written out in the rule (`numgen random mod 3 vmap { 0 : goto ..., ... }`,
 * met by every history of a fork): its compiled set and each element's verdict at hand in
 * the statement, in place of a side table's lookup for each. An anonymous map has no state a
 * rule can change (only named sets have), so the lookup is vmapOf's without it.
 */
function prepareLiteralVmap(s: Extract<NftStmt, { kind: "vmap" }>, lit: NftSetLiteral): PreparedStmt {
  let cs: CompiledSet | undefined;
  const verdicts: Array<StmtResult | undefined> = [];
  return (env) => {
    const k = valueOf(s.key, env, s);
    if (!("val" in k)) return asAction(k);
    const i = lookup((cs ??= literalSet(lit)), k.val);
    if (i === undefined) return failedAt(s);
    return (verdicts[i] ??= elementVerdict(cs.elements[i]!));
  };
}

/** What a verdict map's element gives. */
function elementVerdict(el: NftElement): StmtResult {
  const d = el.data;
  if (!d || d.kind !== "verdict") return { kind: "unknown-action", why: `the element ${elementText(el)} holds no verdict` };
  return verdictOf(d, el);
}

/** A verdict map's verdict for the key's value. */
function vmapOf(s: Extract<NftStmt, { kind: "vmap" }>, key: Val, env: StmtEnv): StmtResult {
  const f = findElement(s.map, key, env);
  if ("indeterminate" in f) return { kind: "unknown-action", why: f.indeterminate };
  // No element: the rule stops, its later statements unrun (checked in a netns).
  if (!f.found || !f.element) return failedAt(s);
  return elementVerdict(f.element);
}

/** An undecided value in a statement that acts (a verdict map's key, a NAT address): the action may decide the fate. */
function asAction(r: StmtResult): StmtResult {
  return r.kind === "unknown-test" ? { kind: "unknown-action", why: r.why } : r;
}

/**
 * The result of a verdict statement, or of a verdict map's element (which its step names,
 * printed once: a 10k-service map's elements are met again and again), made once each.
 */
const VERDICTS = new WeakMap<NftStmt | NftElement, StmtResult>();

function verdictOf(d: Extract<NftExpr, { kind: "verdict" }> | Extract<NftStmt, { kind: "verdict" }>, from: NftStmt | NftElement): StmtResult {
  let r = VERDICTS.get(from);
  if (!r) {
    const element = "key" in from ? elementText(from) : undefined;
    r = verdictResult(d.verdict, d.chain, undefined, element, d.chain !== undefined ? d : undefined);
    VERDICTS.set(from, r);
  }
  return r;
}

/**
 * A verdict result, every field present (undefined when it does not apply): the walk reads the
 * results of every verdict statement at one place, where objects of one shape are read at
 * a fraction of the cost of objects of many.
 */
function verdictResult(verdict: NftVerdictCode | "reject", chain: string | undefined, detail: string | undefined, element?: string, from?: object, nat?: boolean): StmtResult {
  return { kind: "verdict", verdict, chain, detail, element, nat, from };
}

/** What a nat statement that set the binding up gives (nft_nat_eval's verdict). */
const NAT_ACCEPT = verdictResult("accept", undefined, undefined, undefined, undefined, true);

/** A relational statement's result, its left side's value given. */
function matchResult(s: NftMatch, lv: XVal, env: StmtEnv, plan: Plan): StmtResult {
  if ("indeterminate" in lv && lv.partial) {
    const t = partialTest(s, lv.partial);
    if (t !== undefined) return t ? NEXT : failedAt(s);
  }
  const l = fromX(lv, s);
  if (!("val" in l)) return l;
  const t = relational(s, plan, l.val, env);
  if (t === true) return NEXT;
  if (t === false) return failedAt(s);
  if ("choose" in t) return { kind: "choose", choices: t.choose, expr: t.expr };
  return { kind: "unknown-test", why: t.indeterminate };
}

/** A statement ready to run: runStmt with what does not depend on the packet worked out once. */
export type PreparedStmt = (env: StmtEnv) => StmtResult;

/**
 * Prepares a rule's statement, once per rule: a test reads its left side without going through
 * the expression registry (a header field, a meta or ct key) and has its right side's kind and
 * its failure at hand; a verdict is its result. Every other statement is runStmt itself.
 */
export function prepareStmt(s: NftStmt): PreparedStmt {
  switch (s.kind) {
    case "match": {
      const read = readerOf(s.left);
      const plan = planOf(s);
      const failed = failedAt(s);
      return (env) => {
        const lv = read(env);
        if (!("val" in lv)) return matchResult(s, lv, env, plan);
        const t = relational(s, plan, lv.val, env);
        return t === true ? NEXT : t === false ? failed : matchResult(s, lv, env, plan);
      };
    }
    case "verdict": {
      const r = verdictOf(s, s);
      return () => r;
    }
    case "counter":
      return () => NEXT;
    case "vmap":
      return prepareVmap(s);
    default:
      return (env) => runStmt(s, env);
  }
}

/** Expressions that read one field and nest nothing: their value is never a list. */
const isLeaf = (e: NftExpr): boolean => e.kind === "payload" || e.kind === "meta" || e.kind === "ct";

/**
 * A verdict map keyed by a concatenation of header fields (kube-proxy's `ip daddr . meta
 * l4proto . th dport vmap @service-ips`): the parts read into one list the statement keeps, in
 * place of a new list and its value per packet. The lookup keeps nothing of the key (the set
 * state words it as a string), and a walk never runs a statement inside another, so the list
 * is free again when the statement returns.
 */
function prepareVmap(s: Extract<NftStmt, { kind: "vmap" }>): PreparedStmt {
  const key = s.key;
  if (s.map.kind === "set") return prepareLiteralVmap(s, s.map);
  if (key.kind !== "concat" || !key.parts.every(isLeaf)) return (env) => runStmt(s, env);
  const readers = key.parts.map(readerOf);
  const parts: Scalar[] = readers.map(() => 0);
  return (env) => {
    for (let i = 0; i < readers.length; i++) {
      const v = readers[i]!(env);
      // As the concatenation's own evaluation: the first part without a value decides.
      if (!("val" in v)) return asAction(fromX(v, s) as StmtResult);
      parts[i] = v.val as Scalar;
    }
    return vmapOf(s, parts, env);
  };
}

export function runStmt(s: NftStmt, env: StmtEnv): StmtResult {
  switch (s.kind) {
    case "match":
      return matchResult(s, env.eval(s.left), env, planOf(s));
    case "verdict":
      return verdictOf(s, s);
    case "vmap": {
      const k = valueOf(s.key, env, s);
      if (!("val" in k)) return asAction(k);
      return vmapOf(s, k.val, env);
    }
    case "counter":
      return NEXT;
    case "log":
      return log(s.prefix, s.level, s.group, env);
    case "limit":
      return limit(s, env);
    case "quota":
      return quota(s, env);
    case "nat":
      return nat(s, env);
    case "reject": {
      const fam = env.table.family;
      const type = s.type ?? (fam === "ip" ? "icmp" : fam === "ip6" ? "icmpv6" : "icmpx");
      return verdictResult("reject", undefined, type === "tcp reset" ? "tcp reset" : `${type} ${s.code ?? "port-unreachable"}`);
    }
    case "mangle":
      return mangle(s, env);
    case "notrack":
      // nft_notrack: a packet conntrack has already seen keeps its entry.
      if (env.beforeConntrack) env.br.pkt.ct.state = "UNTRACKED";
      else env.br.notes.push({ kind: "rewrite", field: "notrack", value: "no effect: conntrack has already seen the packet" });
      return NEXT;
    case "setop":
      return setop(s, env);
    case "queue":
      return verdictResult("queue", undefined, s.num !== undefined ? `num ${s.num}` : undefined);
    case "objref":
      return objref(s, env);
    case "xt":
      return s.type === "match"
        ? { kind: "unknown-test", why: `xt match ${s.name}: an iptables match nft could not translate (give the iptables-save dump)` }
        : { kind: "unknown-action", why: `xt ${s.type} ${s.name}: an iptables ${s.type} nft could not translate (give the iptables-save dump)` };
    case "other":
      if (NO_VERDICT.test(s.name)) {
        env.br.notes.push({ kind: "rewrite", field: s.name, value: `${s.text} (not modelled; it gives no verdict)` });
        return NEXT;
      }
      return { kind: "unknown-action", why: `${s.name}: netfate does not evaluate this statement (${s.text})` };
  }
}

/**
 * Statements netfate does not model that never give a verdict, so the rule goes on: flow
 * offload (later packets of the connection may skip the hooks; the first one is not affected),
 * dup (a copy is sent elsewhere, the packet itself goes on), secmark.
 */
const NO_VERDICT = /^(flow|dup|secmark)\b/;

/** The evaluation environment the shared extension effects read (extensions/nft-effects.ts). */
function evalEnv(env: StmtEnv): EvalEnv {
  return { packet: env.br.pkt, hook: env.hook, table: env.chainType === "nat" ? "nat" : "filter", node: env.node, ipsets: env.ipsets, assumed: env.assumed };
}

function fromMatch(r: MatchResult, over: boolean, s: NftStmt): StmtResult {
  if (typeof r === "boolean") return r !== over ? NEXT : failedAt(s);
  if ("indeterminate" in r) return { kind: "unknown-test", why: r.indeterminate };
  if ("matched" in r) return { kind: "assumed", passes: r.matched !== over, assuming: r.assuming };
  return { kind: "unknown-test", why: "random" };
}

function limit(s: NftLimit, env: StmtEnv): StmtResult {
  // The same buckets and the same stated assumption as `-m limit`: a quiet node's bucket has tokens.
  return fromMatch(rateLimitHasTokens(evalEnv(env)), s.over, s);
}

function quota(s: NftQuota, env: StmtEnv): StmtResult {
  if (s.used !== undefined && s.used >= s.bytes) {
    return { kind: "assumed", passes: s.over, assuming: `${stmtText(s)} was spent when the ruleset was listed (used ${s.used})` };
  }
  return fromMatch(quotaHasBytes(evalEnv(env)), s.over, s);
}

const LEVELS: Readonly<Record<string, number>> = { emerg: 0, alert: 1, crit: 2, err: 3, warn: 4, notice: 5, info: 6, debug: 7, audit: 4 };

function log(prefix: string | undefined, level: string | undefined, group: number | undefined, env: StmtEnv): StmtResult {
  if (group !== undefined) {
    env.br.notes.push({ kind: "rewrite", field: "nflog", value: `group ${group}` });
    return NEXT;
  }
  // The kernel's log line is the one iptables' LOG writes (nf_log_syslog for both).
  const line = kernelLogLine(evalEnv(env), prefix, LEVELS[level ?? "warn"] ?? 4);
  if (line !== undefined) env.br.logLine = line;
  return NEXT;
}

/** An address from a constant or a number (map values are numbers). */
function addressText(v: Val, family: "ipv4" | "ipv6"): string | undefined {
  if (typeof v === "string") return v;
  if (!isInt(v)) return undefined;
  const n = bigIntToIp(BigInt(v), family);
  return n === undefined ? undefined : numText(n);
}

function natRange(s: NftNat, env: StmtEnv): NatRange | StmtResult {
  const fam = env.br.pkt.family;
  const r: NatRange = {};
  const setAddr = (lo: Val, hi: Val): StmtResult | undefined => {
    const a = addressText(lo, fam);
    const b = addressText(hi, fam);
    if (a === undefined || b === undefined) return { kind: "unknown-action", why: `${stmtText(s)}: the address is not a ${fam} address` };
    r.minAddr = a;
    r.maxAddr = b;
    return undefined;
  };
  const setPort = (lo: Val, hi: Val): StmtResult | undefined => {
    if (!isInt(lo) || !isInt(hi)) return { kind: "unknown-action", why: `${stmtText(s)}: the port is not a number` };
    r.minPort = Number(lo);
    r.maxPort = Number(hi);
    return undefined;
  };
  const span = (e: NftExpr): { lo: Val; hi: Val } | StmtResult => {
    if (e.kind === "range") return { lo: constScalar(e.lo), hi: constScalar(e.hi) };
    if (e.kind === "prefix") {
      const c = constScalar(e.base);
      if (!isInt(c)) return { kind: "unknown-action", why: `${stmtText(s)}: a prefix of a name` };
      const b = BigInt(c);
      const host = BigInt((fam === "ipv4" ? 32 : 128) - e.len);
      return { lo: int(b & ~((1n << host) - 1n)), hi: int(b | ((1n << host) - 1n)) };
    }
    const v = valueOf(e, env, s);
    if (!("val" in v)) return v;
    return { lo: v.val, hi: v.val };
  };
  if (s.addr) {
    const a = span(s.addr);
    if (!("lo" in a)) return a;
    if (s.addrPort) {
      // A map value `ADDR . PORT`.
      if (!Array.isArray(a.lo) || a.lo.length !== 2) return { kind: "unknown-action", why: `${stmtText(s)}: the map value is not an address and a port` };
      const e1 = setAddr(a.lo[0]!, a.lo[0]!) ?? setPort(a.lo[1]!, a.lo[1]!);
      if (e1) return e1;
    } else {
      const e1 = setAddr(a.lo, a.hi);
      if (e1) return e1;
    }
  }
  if (s.port) {
    const p = span(s.port);
    if (!("lo" in p)) return p;
    const e2 = setPort(p.lo, p.hi);
    if (e2) return e2;
  }
  return r;
}

/**
 * The range of a nat statement whose address and port are written out (constants, ranges,
 * prefixes: every kube-proxy endpoint's `dnat to 10.244.1.2:8080`), per packet family, worked
 * out once: it does not depend on the packet.
 */
const LITERAL_RANGES = { ipv4: new WeakMap<NftNat, NatRange | StmtResult>(), ipv6: new WeakMap<NftNat, NatRange | StmtResult>() };

const isLiteral = (e: NftExpr | undefined): boolean => e === undefined || e.kind === "const" || e.kind === "range" || e.kind === "prefix";

function natRangeOf(s: NftNat, env: StmtEnv): NatRange | StmtResult {
  if (!isLiteral(s.addr) || !isLiteral(s.port)) return natRange(s, env);
  const cache = LITERAL_RANGES[env.br.pkt.family];
  let r = cache.get(s);
  if (r === undefined) cache.set(s, (r = natRange(s, env)));
  return r;
}

function nat(s: NftNat, env: StmtEnv): StmtResult {
  const pf = env.br.pkt.family === "ipv4" ? "ip" : "ip6";
  // `dnat ip to` in an inet table leaves packets of the other family alone (nft_nat_inet_eval).
  if (s.family !== undefined && s.family !== pf) return NEXT;
  const range = natRangeOf(s, env);
  if ("kind" in range) return asAction(range);
  const { result: res, binding } = natChoice(s.type, range, s.flags, evalEnv(env));
  if ("indeterminate" in res) return { kind: "end", verdict: "INDETERMINATE", detail: res.indeterminate };
  if (res.verdict === "DROP") return { kind: "end", verdict: "DROP", detail: res.detail ?? `${s.type} dropped the packet` };
  if (binding) env.br.pendingNat = natBinding(binding.kind, binding.to, s.type);
  // The nat statement sets the connection's binding up and accepts (nft_nat_eval's verdict).
  return NAT_ACCEPT;
}

function mangle(s: Extract<NftStmt, { kind: "mangle" }>, env: StmtEnv): StmtResult {
  const v = valueOf(s.value, env, s);
  if (!("val" in v)) return asAction(v);
  const t = s.target;
  const pkt = env.br.pkt;
  const n = isInt(v.val) ? u32(v.val) : undefined;
  if (t.kind === "meta" && t.key === "mark" && n !== undefined) {
    pkt.mark = n >>> 0;
    return NEXT;
  }
  if (t.kind === "ct" && t.key === "mark" && n !== undefined) {
    // nft_ct_set_eval: no entry, nothing to set.
    if (!env.beforeConntrack && pkt.ct.state !== "UNTRACKED" && pkt.ct.state !== "INVALID") pkt.ct.mark = n >>> 0;
    return NEXT;
  }
  if (t.kind === "ct" && t.key === "zone" && n !== undefined) {
    pkt.ct.zone = n;
    return NEXT;
  }
  if (t.kind === "ct" && t.key === "helper" && typeof v.val === "string") {
    pkt.ct.helper = v.val;
    return NEXT;
  }
  // Header fields (dscp, ttl, priority...) netfate does not follow further: listed on the step.
  env.br.notes.push({ kind: "rewrite", field: exprText(t), value: isInt(v.val) ? Number(v.val) : String(v.val) });
  return NEXT;
}

/** The low 32 bits of an integer (a mark register's width). */
function u32(v: number | bigint): number {
  return typeof v === "number" && v >= 0 && v <= 0xffffffff ? v : Number(BigInt(v) & 0xffffffffn);
}

function setop(s: Extract<NftStmt, { kind: "setop" }>, env: StmtEnv): StmtResult {
  const k = valueOf(s.key, env, s);
  if (!("val" in k)) return k;
  let data: Val | undefined;
  if (s.data) {
    const d = valueOf(s.data, env, s);
    if (!("val" in d)) return d;
    data = d.val;
  }
  if (s.op === "delete") changeElement(env.br, env.table, s.set, k.val, { present: false });
  else {
    const had = changedElement(env.br, env.table, s.set, k.val);
    const exists = had ? had.present : (() => {
      const f = findElement({ kind: "setref", name: s.set }, k.val, env);
      return "found" in f && f.found;
    })();
    // `add` of an element already there changes nothing; `update` refreshes it.
    if (!exists || s.op === "update") changeElement(env.br, env.table, s.set, k.val, { present: true, ...(data !== undefined ? { data } : {}) });
  }
  env.br.notes.push({ kind: "set", name: s.set, del: s.op === "delete" });
  // Statements carried by the element (the meter idiom: `add @m { ip saddr limit rate over 10/second }`).
  for (const st of s.stmts ?? []) {
    if (st.kind === "limit" || st.kind === "quota") {
      const r = runStmt(st, env);
      if (r.kind !== "next") return r;
    }
  }
  return NEXT;
}

function objref(s: Extract<NftStmt, { kind: "objref" }>, env: StmtEnv): StmtResult {
  switch (s.type) {
    case "counter":
      return NEXT;
    case "quota":
      return fromMatch(quotaHasBytes(evalEnv(env)), false, s);
    case "limit":
      return fromMatch(rateLimitHasTokens(evalEnv(env)), false, s);
    case "ct helper": {
      if (s.name.kind === "const" && typeof s.name.value === "string") env.br.pkt.ct.helper = s.name.value;
      else return { kind: "unknown-action", why: `${stmtText(s)}: the helper's name is chosen per packet` };
      return NEXT;
    }
    case "ct timeout":
    case "ct expectation":
    case "secmark":
      // Attached to the connection or packet; no verdict.
      env.br.notes.push({ kind: "rewrite", field: s.type, value: `${exprText(s.name)} (not modelled; it gives no verdict)` });
      return NEXT;
    default:
      return { kind: "unknown-action", why: `${stmtText(s)}: netfate does not evaluate ${s.type} objects` };
  }
}
