/**
 * `snat to ADDR[:PORT]`, `dnat ip to ADDR . PORT map {...}`, `masquerade`, `redirect to :PORT`:
 * one shape, an address and/or port (constants, ranges, prefixes or expressions) and flags.
 *
 * Evaluated as the iptables target of the same kind chooses (nft_nat and xt_nat share
 * nf_nat): the statement sets the connection's binding up and accepts (nft_nat_eval's
 * verdict); the translation is applied when the nat chains have run.
 */
import type { JsonNode } from "../../../model/json.js";
import type { NftExpr, NftNat } from "../../../model/nft.js";
import { pendingNatOf, type NatTo, type TargetEffects, type TargetResult } from "../../../model/evaluation.js";
import { bigIntToIp, numText } from "../../../model/address.js";
import { asAction, NEXT, valueOrStop, verdictResult, type NftStmtEnv, type NftStmtOps, type StmtBranch, type StmtResult } from "../../../model/nft-statement-evaluation.js";
import { constScalar, int, isInt, type Val } from "../../../model/nft-values.js";
import type { NatRange } from "../../nat-range.js";
import { DNAT, type DnatData } from "../../targets/DNAT.js";
import { SNAT, type SnatData } from "../../targets/SNAT.js";
import { MASQUERADE, type MasqueradeData } from "../../targets/MASQUERADE.js";
import { REDIRECT, type RedirectData } from "../../targets/REDIRECT.js";
import { iptablesEnv } from "./like-iptables.js";
import type { StmtJsonReader, StmtKind, StmtPrinter, StmtWordReader } from "./types.js";

const NAT_FLAGS = new Set(["random", "fully-random", "persistent", "netmap"]);

export const nat: StmtKind<NftNat> = {
  kind: "nat",
  words: ["snat", "dnat", "masquerade", "redirect"],
  read,
  jsonKeys: ["snat", "dnat", "masquerade", "redirect"],
  readJson,
  print,
  evaluate,
  prepare,
  completeWithSets,
  destinationsGiven,
  // nf_nat needs the connection: a nat statement turns conntrack on (nft_nat_init).
  needsConntrack: () => true,
  stepWord: (s) => s.type.toUpperCase(),
};

/**
 * `dnat to ip daddr map @m` where @m maps to `ipv4_addr . inet_service`: the map gives address
 * and port (nft lists it without `addr . port`), known once the table's maps are read.
 */
function completeWithSets(s: NftNat, setTypes: (name: string) => { dataType?: readonly string[] } | undefined): void {
  if (s.addr?.kind !== "map" || s.addr.map.kind !== "setref") return;
  if (setTypes(s.addr.map.name)?.dataType?.length === 2) s.addrPort = true;
}

/** A dnat to one constant address (and port): the packet after it goes there. */
function destinationsGiven(s: NftNat): Array<{ dst: string; dport?: number }> {
  if (s.type !== "dnat" || s.addr?.kind !== "const" || typeof s.addr.value !== "string") return [];
  return [{ dst: s.addr.value, ...(s.port?.kind === "const" && typeof s.port.value === "number" ? { dport: s.port.value } : {}) }];
}

function read(r: StmtWordReader): NftNat | undefined {
  const type = r.take() as NftNat["type"];
  const st: NftNat = { kind: "nat", type, flags: [] };
  if ((r.is("ip") || r.is("ip6")) && (r.is("to", 1) || r.is("addr", 1) || r.is("prefix", 1))) st.family = r.take() as "ip" | "ip6";
  // `dnat ip addr . port to EXPR`: the expression gives address and port.
  if (r.is("addr") && r.is(".", 1) && r.is("port", 2)) {
    r.take();
    r.take();
    r.take();
    st.addrPort = true;
  }
  if (r.accept("prefix")) st.flags.push("prefix");
  // `dnat tcp dport map { ... }`: the older syntax without `to`.
  if (r.accept("to") || ((type === "snat" || type === "dnat") && r.startsExpression())) {
    if (!readTarget(r, st)) return undefined;
  } else if (type === "snat" || type === "dnat") {
    return r.fail(`"to" and an address after ${type}`);
  }
  while (r.isWord() && NAT_FLAGS.has(r.peek()!)) {
    st.flags.push(r.take());
    if (!r.accept(",")) break;
  }
  return st;
}

/** What follows `to`: `:PORT`, `ADDR[:PORT]`, `[ADDR6]:PORT`, a range, or an expression with `map`. */
function readTarget(r: StmtWordReader, st: NftNat): boolean {
  const addrType = st.family === "ip6" || (st.family === undefined && r.family === "ip6") ? "ipv6_addr" : "ipv4_addr";
  const word = r.isWord() ? r.peek()! : undefined;
  if (word !== undefined && word.startsWith(":")) {
    r.take();
    const port = r.wordAs("inet_service", word.slice(1));
    if (port === undefined) return false;
    st.port = port;
    return true;
  }
  if (r.startsExpression()) {
    const addr = r.value(st.addrPort ? [addrType, "inet_service"] : [addrType]);
    if (addr === undefined) return false;
    st.addr = addr;
    if (addr.kind === "map" && (st.addrPort || (addr.map.kind === "set" && addr.map.elements[0]?.data?.kind === "concat"))) st.addrPort = true;
    return readPortAfterColon(r, st);
  }
  if (word === undefined) return r.fail("an address, :PORT or an expression after to") !== undefined;
  r.take();
  // Split the port off: `10.0.0.1:80`, `10.0.0.1-10.0.0.9:80-90`, `[2001:db8::1]:80`.
  let addrText = word;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.+))?$/.exec(addrText);
  const fam = bracket || addrText.split(":").length > 2 ? "ipv6_addr" : addrType;
  if (bracket) {
    addrText = bracket[1]!;
    portText = bracket[2];
  } else if (fam === "ipv4_addr") {
    const colon = addrText.indexOf(":");
    if (colon >= 0) {
      portText = addrText.slice(colon + 1);
      addrText = addrText.slice(0, colon);
    }
  }
  const addr = r.wordAs(fam, addrText);
  if (addr === undefined) return false;
  st.addr = addr;
  if (portText !== undefined) {
    const port = r.wordAs("inet_service", portText);
    if (port === undefined) return false;
    st.port = port;
    return true;
  }
  // `dnat to 192.168.1.100 : numgen inc mod 2 map { ... }`.
  return readPortAfterColon(r, st);
}

/** ` : PORT-EXPRESSION` after the address, if there. */
function readPortAfterColon(r: StmtWordReader, st: NftNat): boolean {
  if (!r.is(":") || r.atEnd(1)) return true;
  r.take();
  const port = r.value(["inet_service"]);
  if (port === undefined) return false;
  st.port = port;
  return true;
}

/**
 * `{"dnat": {"addr", "port", "family", "flags"}}` or `{"masquerade": null}`. `"addr"` is an
 * address, range, prefix or a map lookup; when the map's values are address and port together
 * (`ipv4_addr . inet_service`) and no `"port"` is given, the one expression yields both.
 */
function readJson(key: string, v: JsonNode, _n: JsonNode, j: StmtJsonReader): NftNat | undefined {
  const { r } = j;
  const type = key as NftNat["type"];
  const st: NftNat = { kind: "nat", type, flags: [] };
  if (v.kind === "null") return st;
  const o = r.fields(v, `${type} statement`);
  if (!o) return undefined;
  const family = r.oneOf(o, "family", `${type} statement`, ["ip", "ip6"] as const);
  if (family === null) return undefined;
  if (family) st.family = family;
  const fam = family ?? j.family;
  const addrType = fam === "ip" ? "ipv4_addr" : fam === "ip6" ? "ipv6_addr" : undefined;
  const a = o.get("addr");
  if (a) {
    const addr = jsonAddr(j, a.value, addrType);
    if (!addr) return undefined;
    st.addr = addr;
  }
  const p = o.get("port");
  if (p) {
    const port = j.expr(p.value, ["inet_service"], `${type} port`);
    if (!port) return undefined;
    st.port = port;
  }
  if (st.addr && !st.port && yieldsAddrAndPort(j, st.addr)) st.addrPort = true;
  for (const k of ["flags", "type_flags"]) st.flags.push(...(r.strings(o, k, `${type} statement`) ?? []));
  return st;
}

function jsonAddr(j: StmtJsonReader, n: JsonNode, addrType: string | undefined): NftExpr | undefined {
  // An address literal in an inet table without "family" (nft accepts none there, but a
  // hand-written command may): its shape says which family it is.
  const type = addrType ?? (n.kind === "string" ? (n.value.includes(":") ? "ipv6_addr" : "ipv4_addr") : undefined);
  // A map's values are an address, or an address and a port (`ip daddr . tcp dport map {...}`).
  const isMap = n.kind === "object" && n.fields.has("map");
  return j.expr(n, type === undefined ? undefined : isMap ? [type, "inet_service"] : [type], "nat address");
}

function yieldsAddrAndPort(j: StmtJsonReader, addr: NftExpr): boolean {
  if (addr.kind !== "map") return false;
  if (addr.map.kind === "setref") return (j.setTypes(addr.map.name)?.data?.length ?? 0) > 1;
  return addr.map.elements.some((e) => e.data?.kind === "concat");
}

function print(s: NftNat, p: StmtPrinter): string {
  let out = s.type;
  if (s.family) out += ` ${s.family}`;
  const flags = s.flags.filter((f) => f !== "prefix");
  if (s.flags.includes("prefix")) out += " prefix";
  if (s.addr !== undefined || s.port !== undefined) out += ` to ${targetText(s, p)}`;
  if (flags.length > 0) out += ` ${flags.join(",")}`;
  return out;
}

/** `ADDR:PORT`, `[ADDR6]:PORT`, `:PORT`. */
function targetText(s: NftNat, p: StmtPrinter): string {
  const addr = s.addr ? p.expr(s.addr) : "";
  if (s.port === undefined) return addr;
  const port = p.expr(s.port);
  const six = s.addr !== undefined && (p.type(s.addr)?.[0] === "ipv6_addr" || s.family === "ip6");
  return `${six && s.addr!.kind !== "map" ? `[${addr}]` : addr}:${port}`;
}

/** An address from a constant or a number (map values are numbers). */
function addressText(v: Val, family: "ipv4" | "ipv6"): string | undefined {
  if (typeof v === "string") return v;
  if (!isInt(v)) return undefined;
  const n = bigIntToIp(BigInt(v), family);
  return n === undefined ? undefined : numText(n);
}

function natRange(s: NftNat, env: NftStmtEnv, ops: NftStmtOps): NatRange | StmtResult {
  const fam = env.br.pkt.family;
  const r: NatRange = {};
  const setAddr = (lo: Val, hi: Val): StmtResult | undefined => {
    const a = addressText(lo, fam);
    const b = addressText(hi, fam);
    if (a === undefined || b === undefined) return { kind: "unknown-action", why: `${ops.text(s)}: the address is not a ${fam} address` };
    r.minAddr = a;
    r.maxAddr = b;
    return undefined;
  };
  const setPort = (lo: Val, hi: Val): StmtResult | undefined => {
    if (!isInt(lo) || !isInt(hi)) return { kind: "unknown-action", why: `${ops.text(s)}: the port is not a number` };
    r.minPort = Number(lo);
    r.maxPort = Number(hi);
    return undefined;
  };
  const span = (e: NftExpr): { lo: Val; hi: Val } | StmtResult => {
    if (e.kind === "range") return { lo: constScalar(e.lo), hi: constScalar(e.hi) };
    if (e.kind === "prefix") {
      const c = constScalar(e.base);
      if (!isInt(c)) return { kind: "unknown-action", why: `${ops.text(s)}: a prefix of a name` };
      const b = BigInt(c);
      const host = BigInt((fam === "ipv4" ? 32 : 128) - e.len);
      return { lo: int(b & ~((1n << host) - 1n)), hi: int(b | ((1n << host) - 1n)) };
    }
    const v = valueOrStop(env.eval(e), s, ops);
    if (!("val" in v)) return v;
    return { lo: v.val, hi: v.val };
  };
  if (s.addr) {
    const a = span(s.addr);
    if (!("lo" in a)) return a;
    if (s.addrPort) {
      // A map value `ADDR . PORT`.
      if (!Array.isArray(a.lo) || a.lo.length !== 2) return { kind: "unknown-action", why: `${ops.text(s)}: the map value is not an address and a port` };
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

/** The iptables target of the statement's kind and what it is called with. */
type TargetCall =
  | { type: "dnat"; data: DnatData }
  | { type: "snat"; data: SnatData }
  | { type: "masquerade"; data: MasqueradeData }
  | { type: "redirect"; data: RedirectData };

function targetCall(s: NftNat, range: NatRange): TargetCall {
  const random = s.flags.includes("random");
  const randomFully = s.flags.includes("fully-random");
  const persistent = s.flags.includes("persistent");
  const ports = range.minPort !== undefined ? { minPort: range.minPort, maxPort: range.maxPort ?? range.minPort } : {};
  switch (s.type) {
    case "dnat":
      return { type: "dnat", data: { range, random, persistent } };
    case "snat":
      return { type: "snat", data: { range, random, randomFully, persistent } };
    case "masquerade":
      return { type: "masquerade", data: { ...ports, random, randomFully } };
    case "redirect":
      return { type: "redirect", data: { ...ports, random } };
  }
}

/**
 * The target call of a nat statement whose address and port are written out (constants,
 * ranges, prefixes: every kube-proxy endpoint's `dnat to 10.244.1.2:8080`), per packet
 * family, worked out once: it does not depend on the packet.
 */
const LITERAL_CALLS = { ipv4: new WeakMap<NftNat, TargetCall | StmtResult>(), ipv6: new WeakMap<NftNat, TargetCall | StmtResult>() };

const isLiteral = (e: NftExpr | undefined): boolean => e === undefined || e.kind === "const" || e.kind === "range" || e.kind === "prefix";

function callFor(s: NftNat, env: NftStmtEnv, ops: NftStmtOps): TargetCall | StmtResult {
  if (!isLiteral(s.addr) || !isLiteral(s.port)) return callOf(s, env, ops);
  const cache = LITERAL_CALLS[env.br.pkt.family];
  let c = cache.get(s);
  if (c === undefined) cache.set(s, (c = callOf(s, env, ops)));
  return c;
}

function callOf(s: NftNat, env: NftStmtEnv, ops: NftStmtOps): TargetCall | StmtResult {
  const range = natRange(s, env, ops);
  return "kind" in range ? asAction(range) : targetCall(s, range);
}

/**
 * What the NAT targets tell a statement: the binding they ask for. One object for every
 * statement (its method on the prototype): a target runs no other target inside it, and each
 * call starts it empty.
 */
class NatAsked implements Pick<TargetEffects, "nat"> {
  kind: "dnat" | "snat" | undefined = undefined;
  to: NatTo | undefined = undefined;
  nat(kind: "dnat" | "snat", to: NatTo): void {
    this.kind = kind;
    this.to = to;
  }
}

const asked = new NatAsked();
const effects = asked as Pick<TargetEffects, "nat"> as TargetEffects;

function apply(call: TargetCall, env: NftStmtEnv): TargetResult {
  const ienv = iptablesEnv(env);
  switch (call.type) {
    case "dnat":
      return DNAT.apply!(call.data, ienv, effects);
    case "snat":
      return SNAT.apply!(call.data, ienv, effects);
    case "masquerade":
      return MASQUERADE.apply!(call.data, ienv, effects);
    case "redirect":
      return REDIRECT.apply!(call.data, ienv, effects);
  }
}

/** What a nat statement that set the binding up gives (nft_nat_eval's verdict). */
const NAT_ACCEPT = verdictResult("accept", undefined, undefined, undefined, undefined, true);

function evaluate(s: NftNat, env: NftStmtEnv, ops: NftStmtOps): StmtResult {
  const pf = env.br.pkt.family === "ipv4" ? "ip" : "ip6";
  // `dnat ip to` in an inet table leaves packets of the other family alone (nft_nat_inet_eval).
  if (s.family !== undefined && s.family !== pf) return NEXT;
  return called(s, env, callFor(s, env, ops));
}

/**
 * evaluate for one statement: a written-out address and port's target call kept in the
 * statement's own two slots (one per packet family) in place of LITERAL_CALLS' lookup for
 * every packet (every kube-proxy endpoint's DNAT and the masquerade of every history).
 */
function prepare(s: NftNat, ops: NftStmtOps): (env: NftStmtEnv) => StmtResult {
  if (!isLiteral(s.addr) || !isLiteral(s.port)) return (env) => evaluate(s, env, ops);
  let v4: TargetCall | StmtResult | undefined;
  let v6: TargetCall | StmtResult | undefined;
  return (env) => {
    const ipv4 = env.br.pkt.family === "ipv4";
    if (s.family !== undefined && s.family !== (ipv4 ? "ip" : "ip6")) return NEXT;
    const call = ipv4 ? (v4 ??= callOf(s, env, ops)) : (v6 ??= callOf(s, env, ops));
    return called(s, env, call);
  };
}

/** The statement's target called for the branch: the binding it asks for pending on the branch, or why it ends the packet. */
function called(s: NftNat, env: NftStmtEnv, call: TargetCall | StmtResult): StmtResult {
  if (!("data" in call)) return call;
  asked.kind = undefined;
  asked.to = undefined;
  const res = apply(call, env);
  const kind = asked.kind;
  const to = asked.to;
  asked.to = undefined;
  if ("indeterminate" in res) return { kind: "end", verdict: "INDETERMINATE", detail: res.indeterminate };
  if (res.verdict === "DROP") return { kind: "end", verdict: "DROP", detail: res.detail ?? `${s.type} dropped the packet` };
  if (kind !== undefined && to !== undefined) pend(env.br, kind, to, s.type);
  // The nat statement sets the connection's binding up and accepts (nft_nat_eval's verdict).
  return NAT_ACCEPT;
}

/** The binding the statement asked for, applied when the nat chains have run. */
function pend(br: StmtBranch, kind: "dnat" | "snat", to: NatTo, how: string): void {
  br.pendingNat = pendingNatOf(kind, to, how);
}
