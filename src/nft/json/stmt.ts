/**
 * libnftables' JSON statements (libnftables-json(5), "STATEMENTS"): a rule's `"expr"` list,
 * each a one-key object. Statements nft knows but netfate does not evaluate (dup, fwd, tproxy,
 * flow offload, meter...) are kept verbatim as `other`; a kind nft does not know is kept with
 * a warning. Checked against `nft -j list ruleset` of nft 1.0.6 (test/kernel/nft-json.test.ts).
 */
import type { JsonField, JsonNode } from "../../facts/located-json.js";
import type { NftExpr, NftLimit, NftLog, NftMangle, NftNat, NftObjectType, NftOp, NftQuota, NftReject, NftSetStmt, NftStmt } from "../../model/nft.js";
import { element, isVerdictName, mapOf, readExpr, type ExprScope, type Hint } from "./expr.js";
import { asNftLoadsIt, BYTE_UNITS } from "../datatypes.js";
import { inBytes } from "./object-props.js";
import { typesOf } from "./values.js";

/** Statements nft knows (src/parser_json.c) that netfate keeps as written. */
const KEPT_AS_WRITTEN = new Set(["last", "flow", "fwd", "dup", "meter", "ct count", "tproxy", "reset", "tunnel"]);

/** JSON's relational operators; `in` is nft's implicit operator (any of the bits, for a bitmask). */
const OPS: Readonly<Record<string, NftOp>> = { "==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">=", in: "implicit" };

/** What a statement reader needs: what expressions need, and the rule's table's family. */
export interface StmtScope extends ExprScope {
  /** The table's family: which address type a nat statement without `"family"` takes. */
  family: string;
}

export function readStmt(s: StmtScope, n: JsonNode): NftStmt | undefined {
  const { r } = s;
  const f = r.single(n, "statement", "the statement's kind");
  if (!f) return undefined;
  const v = f.value;
  const kind = f.key;
  if (isVerdictName(kind)) {
    const e = readExpr(s, n, undefined, 0, "verdict");
    return e?.kind === "verdict" ? e : undefined;
  }
  switch (kind) {
    case "match": return match(s, v);
    case "counter": return counter(s, v);
    case "mangle": return mangle(s, v);
    case "quota": return v.kind === "object" && !isMapObjRef(v) ? quota(s, v) : objRef(s, "quota", v);
    case "limit": return v.kind === "object" && !isMapObjRef(v) ? limit(s, v) : objRef(s, "limit", v);
    case "log": return log(s, v);
    case "snat":
    case "dnat":
    case "masquerade":
    case "redirect":
      return nat(s, kind, v);
    case "reject": return reject(s, v);
    case "notrack": return { kind: "notrack" };
    case "set":
    case "map":
      return setStmt(s, kind, v);
    case "vmap": {
      const o = r.fields(v, "vmap statement");
      const [k, d] = (o && r.need(v, o, ["key", "data"], "vmap statement")) ?? [];
      if (!k || !d) return undefined;
      const key = readExpr(s, k, undefined, 1, "vmap key");
      const map = key && mapOf(s, d, typesOf(key), ["verdict"], 1, "vmap data");
      return map && { kind: "vmap", key: key!, map };
    }
    case "queue": return queue(s, v);
    case "ct helper":
    case "ct timeout":
    case "ct expectation":
      return objRef(s, kind, v);
    case "secmark":
    case "synproxy":
      // A name refers to the table's object; settings given inline are a statement netfate keeps as written.
      return v.kind === "string" || isMapObjRef(v) ? objRef(s, kind, v) : { kind: "other", name: kind, text: r.source(n) };
    case "xt": {
      const o = r.fields(v, "xt statement");
      if (!o) return undefined;
      const type = r.oneOf(o, "type", "xt statement", ["match", "target", "watcher"] as const);
      const xname = r.needStr(v, o, "name", "xt statement");
      if (type === undefined) r.error(v, 'xt statement has no "type"', '"match", "target" or "watcher"');
      return type && xname !== undefined ? { kind: "xt", type, name: xname } : undefined;
    }
  }
  if (!KEPT_AS_WRITTEN.has(kind)) r.warning(n, `unknown statement ${JSON.stringify(kind)}, kept as written and evaluated as unknown`);
  return { kind: "other", name: kind, text: r.source(n) };
}

function match(s: StmtScope, v: JsonNode): NftStmt | undefined {
  const { r } = s;
  const o = r.fields(v, "match");
  if (!o) return undefined;
  const opText = r.needStr(v, o, "op", "match");
  const [l, rt] = r.need(v, o, ["left", "right"], "match") ?? [];
  if (!l || !rt || opText === undefined) return undefined;
  const op = OPS[opText];
  if (!op) return void r.error(o.get("op")!.value, `unknown match operator ${JSON.stringify(opText)}`, Object.keys(OPS).join(", "));
  const left = readExpr(s, l, undefined, 1, "match left side");
  if (!left) return undefined;
  const right = readExpr(s, rt, typesOf(left), 1, "match right side");
  return right && { kind: "match", left, ...asNftLoadsIt(op, right) };
}

/** `{"counter": null}` (stateless listing), `{"counter": {"packets", "bytes"}}`, or a named counter. */
function counter(s: StmtScope, v: JsonNode): NftStmt | undefined {
  const { r } = s;
  if (v.kind === "null") return { kind: "counter" };
  if (v.kind !== "object" || isMapObjRef(v)) return objRef(s, "counter", v);
  const o = r.fields(v, "counter")!;
  const packets = r.int(o, "packets", "counter");
  const bytes = r.int(o, "bytes", "counter");
  return { kind: "counter", ...(packets !== undefined && { packets }), ...(bytes !== undefined && { bytes }) };
}

/** An object reference's name is a string, or a map from a key to names (`counter name tcp dport map {...}`). */
function isMapObjRef(v: JsonNode): boolean {
  return v.kind === "object" && v.fields.size === 1 && v.fields.has("map");
}

function objRef(s: StmtScope, type: NftObjectType, v: JsonNode): NftStmt | undefined {
  const name = readExpr(s, v, ["string"], 1, `${type} name`);
  return name && { kind: "objref", type, name };
}

function mangle(s: StmtScope, v: JsonNode): NftMangle | undefined {
  const { r } = s;
  const o = r.fields(v, "mangle statement");
  if (!o) return undefined;
  const [k, val] = r.need(v, o, ["key", "value"], "mangle statement") ?? [];
  if (!k || !val) return undefined;
  const target = readExpr(s, k, undefined, 1, "mangle target");
  if (!target) return undefined;
  if (target.kind !== "meta" && target.kind !== "ct" && target.kind !== "payload" && target.kind !== "other") {
    return r.wrong(k, "mangle target", "a meta, ct, payload or header field expression");
  }
  const value = readExpr(s, val, typesOf(target), 1, "mangle value");
  return value && { kind: "mangle", target, value };
}

function quota(s: StmtScope, v: JsonNode): NftQuota | undefined {
  const { r } = s;
  const o = r.fields(v, "quota")!;
  // JSON gives the size in the unit nft prints it in; the AST holds bytes and the unit.
  const val = r.int(o, "val", "quota");
  if (val === undefined) return void r.error(v, 'a quota has no "val"', "its size");
  const unit = r.str(o, "val_unit", "quota");
  const bytes = inBytes(val, unit);
  if (bytes === undefined) return void r.error(o.get("val_unit")!.value, `quota unit ${JSON.stringify(unit)}`, Object.keys(BYTE_UNITS).join(", "));
  const q: NftQuota = { kind: "quota", bytes, over: r.bool(o, "inv", "quota") ?? false };
  if (unit !== undefined) q.unit = unit;
  const usedVal = r.int(o, "used", "quota");
  const usedUnit = r.str(o, "used_unit", "quota");
  if (usedVal !== undefined) {
    const used = inBytes(usedVal, usedUnit);
    if (used === undefined) return void r.error(o.get("used_unit")!.value, `quota unit ${JSON.stringify(usedUnit)}`, Object.keys(BYTE_UNITS).join(", "));
    q.used = used;
    if (usedUnit !== undefined) q.usedUnit = usedUnit;
  }
  return q;
}

const PER = new Set(["second", "minute", "hour", "day", "week"]);

/** The fields of a limit statement and a limit object alike. */
export function limitFields(s: ExprScope, v: JsonNode, o: Map<string, JsonField>, what: string): NftLimit | undefined {
  const { r } = s;
  const rate = r.int(o, "rate", what);
  if (rate === undefined) return void r.error(v, `a ${what} has no "rate"`, "its rate");
  const per = r.str(o, "per", what) ?? "second";
  if (!PER.has(per)) return void r.error(o.get("per")!.value, `${what} per ${JSON.stringify(per)}`, [...PER].join(", "));
  const l: NftLimit = { kind: "limit", rate, per: per as NftLimit["per"], over: r.bool(o, "inv", what) ?? false };
  const unit = r.str(o, "rate_unit", what);
  if (unit !== undefined && unit !== "packets") l.unit = unit;
  const burst = r.int(o, "burst", what);
  if (burst !== undefined) l.burst = burst;
  const burstUnit = r.str(o, "burst_unit", what);
  if (burstUnit !== undefined && burstUnit !== "packets") l.burstUnit = burstUnit;
  return l;
}

function limit(s: StmtScope, v: JsonNode): NftLimit | undefined {
  return limitFields(s, v, s.r.fields(v, "limit")!, "limit");
}

function log(s: StmtScope, v: JsonNode): NftLog | undefined {
  const { r } = s;
  if (v.kind === "null") return { kind: "log" };
  const o = r.fields(v, "log statement");
  if (!o) return undefined;
  const l: NftLog = { kind: "log" };
  const prefix = r.str(o, "prefix", "log statement");
  if (prefix !== undefined) l.prefix = prefix;
  const level = r.str(o, "level", "log statement");
  if (level !== undefined) l.level = level;
  const group = r.int(o, "group", "log statement", 0, 0xffff);
  if (group !== undefined) l.group = group;
  const snaplen = r.int(o, "snaplen", "log statement", 0, 0xffffffff);
  if (snaplen !== undefined) l.snaplen = snaplen;
  const qt = r.int(o, "queue-threshold", "log statement", 0, 0xffff);
  if (qt !== undefined) l.queueThreshold = qt;
  const flags = r.strings(o, "flags", "log statement");
  if (flags !== undefined) l.flags = flags;
  return l;
}

/**
 * snat/dnat/masquerade/redirect. `"addr"` is an address, range, prefix or a map lookup; when
 * the map's values are address and port together (`ipv4_addr . inet_service`) and no `"port"`
 * is given, the one expression yields both.
 */
function nat(s: StmtScope, type: NftNat["type"], v: JsonNode): NftNat | undefined {
  const { r } = s;
  const st: NftNat = { kind: "nat", type, flags: [] };
  if (v.kind === "null") return st;
  const o = r.fields(v, `${type} statement`);
  if (!o) return undefined;
  const family = r.oneOf(o, "family", `${type} statement`, ["ip", "ip6"] as const);
  if (family === null) return undefined;
  if (family) st.family = family;
  const fam = family ?? s.family;
  const addrType = fam === "ip" ? "ipv4_addr" : fam === "ip6" ? "ipv6_addr" : undefined;
  const a = o.get("addr");
  if (a) {
    const addr = natAddr(s, a.value, addrType);
    if (!addr) return undefined;
    st.addr = addr;
  }
  const p = o.get("port");
  if (p) {
    const port = readExpr(s, p.value, ["inet_service"], 1, `${type} port`);
    if (!port) return undefined;
    st.port = port;
  }
  if (st.addr && !st.port && yieldsAddrAndPort(s, st.addr)) st.addrPort = true;
  for (const key of ["flags", "type_flags"]) st.flags.push(...(r.strings(o, key, `${type} statement`) ?? []));
  return st;
}

function natAddr(s: StmtScope, n: JsonNode, addrType: string | undefined): NftExpr | undefined {
  // An address literal in an inet table without "family" (nft accepts none there, but a
  // hand-written command may): its shape says which family it is.
  const type = addrType ?? (n.kind === "string" ? (n.value.includes(":") ? "ipv6_addr" : "ipv4_addr") : undefined);
  // A map's values are an address, or an address and a port (`ip daddr . tcp dport map {...}`).
  const isMap = n.kind === "object" && n.fields.has("map");
  return readExpr(s, n, type === undefined ? undefined : isMap ? [type, "inet_service"] : [type], 1, "nat address");
}

function yieldsAddrAndPort(s: StmtScope, addr: NftExpr): boolean {
  if (addr.kind !== "map") return false;
  if (addr.map.kind === "setref") return (s.setTypes(addr.map.name)?.data?.length ?? 0) > 1;
  return addr.map.elements.some((e) => e.data?.kind === "concat");
}

function reject(s: StmtScope, v: JsonNode): NftReject | undefined {
  const { r } = s;
  if (v.kind === "null") return { kind: "reject" };
  const o = r.fields(v, "reject statement");
  if (!o) return undefined;
  const st: NftReject = { kind: "reject" };
  const type = r.oneOf(o, "type", "reject statement", ["icmp", "icmpv6", "icmpx", "tcp reset"] as const);
  if (type === null) return undefined;
  if (type) st.type = type;
  const code = r.str(o, "expr", "reject statement");
  if (code !== undefined) st.code = code;
  return st;
}

/** `{"set": {"op", "elem", "set": "@s", "stmt"?}}`, `{"map": {..., "data"}}`: a rule adding to, updating or deleting from a named set. */
function setStmt(s: StmtScope, kind: "set" | "map", v: JsonNode): NftSetStmt | undefined {
  const { r } = s;
  const what = `${kind} statement`;
  const o = r.fields(v, what);
  if (!o) return undefined;
  const op = r.oneOf(o, "op", what, ["add", "update", "delete"] as const);
  // The set statement names its set in "set", the map statement in "map".
  const setName = r.needStr(v, o, kind, what);
  const e = o.get("elem");
  if (op === undefined) r.error(v, `a ${what} has no "op"`, '"add", "update" or "delete"');
  if (!op || setName === undefined) return undefined;
  if (!e) return void r.error(v, `a ${what} has no "elem"`, "the element");
  const set = setName.replace(/^@/, "");
  const types = s.setTypes(set);
  if (!types && s.table !== undefined) r.error(o.get(kind)!.value, `no set or map ${JSON.stringify(set)} in table ${s.table}`, "a set or map declared before the rule");
  const el = element(s, e.value, types?.key, undefined, 1);
  if (!el) return undefined;
  const st: NftSetStmt = { kind: "setop", op, set, key: el.key };
  if (el.timeout !== undefined) st.timeout = el.timeout;
  const d = o.get("data");
  if (d) {
    const data = readExpr(s, d.value, types?.data as Hint, 1, `${what} value`);
    if (!data) return undefined;
    st.data = data;
  }
  const stmtList = o.get("stmt");
  if (stmtList) {
    const items = r.j.list(stmtList.value, `${what} "stmt"`, "a list of statements");
    const stmts: NftStmt[] = [];
    for (const item of items ?? []) {
      const x = readStmt(s, item);
      if (x) stmts.push(x);
    }
    st.stmts = stmts;
  }
  return st;
}

/** `{"queue": {"num": 3 | {"range": [1, 3]}, "flags": "bypass" | [...]}}` or `{"queue": null}`. */
function queue(s: StmtScope, v: JsonNode): NftStmt | undefined {
  const { r } = s;
  if (v.kind === "null") return { kind: "queue" };
  const o = r.fields(v, "queue statement");
  if (!o) return undefined;
  const st: NftStmt = { kind: "queue" };
  const num = o.get("num");
  if (num) {
    const e = readExpr(s, num.value, ["integer"], 1, "queue number");
    if (!e) return undefined;
    if (e.kind === "const") st.num = String(e.value);
    else if (e.kind === "range") st.num = `${String(e.lo.value)}-${String(e.hi.value)}`;
    // A computed queue number (`queue to jhash ...`): kept as its JSON text.
    else st.num = r.source(num.value);
  }
  const flags = r.strings(o, "flags", "queue statement");
  if (flags !== undefined) st.flags = flags;
  return st;
}
