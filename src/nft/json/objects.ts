/**
 * The ruleset objects of libnftables' JSON (libnftables-json(5), "RULESET ELEMENTS"): table,
 * chain, set/map, stateful objects, flowtable, rule. Each reader takes the object's body (the
 * value under `"table"`, `"chain"`...) and gives the AST node, with the names that place it
 * (family, table, chain) for the caller to attach it by.
 */
import type { JsonField, JsonNode } from "../../facts/located-json.js";
import {
  NFT_FAMILIES,
  type NftBaseChain,
  type NftChain,
  type NftChainType,
  type NftElement,
  type NftFamily,
  type NftFlowtable,
  type NftHook,
  type NftObject,
  type NftObjectType,
  type NftRule,
  type NftSet,
  type NftStmt,
  type NftTable,
} from "../../model/nft.js";
import { element, readExpr, type ExprScope } from "./expr.js";
import { objectProps } from "./object-props.js";
import { printPriority, priorityNumber } from "../text/priority.js";
import type { NftJsonReader } from "./reader.js";
import { readStmt, type StmtScope } from "./stmt.js";
import { stmtsFromText } from "./text-stmt.js";
import { typesOf } from "./values.js";

export const OBJECT_TYPES: readonly NftObjectType[] = ["counter", "quota", "limit", "ct helper", "ct timeout", "ct expectation", "secmark", "synproxy"];

/** The table flags nft knows. */
const TABLE_FLAGS: readonly string[] = ["dormant", "owner", "persist"];

const HOOKS: readonly NftHook[] = ["prerouting", "input", "forward", "output", "postrouting", "ingress", "egress"];
const CHAIN_TYPES: readonly NftChainType[] = ["filter", "nat", "route"];

/** Where an object belongs: its table, by family and name. */
export interface Placed {
  family: NftFamily;
  table: string;
}

export function family(r: NftJsonReader, obj: JsonNode, f: Map<string, JsonField>, what: string): NftFamily | undefined {
  const fam = r.needStr(obj, f, "family", what);
  if (fam === undefined) return undefined;
  if (!(NFT_FAMILIES as readonly string[]).includes(fam)) return void r.error(f.get("family")!.value, `${what}: unknown family ${JSON.stringify(fam)}`, NFT_FAMILIES.join(", "));
  return fam as NftFamily;
}

/** The family and table every object but a table names. */
export function placed(r: NftJsonReader, obj: JsonNode, f: Map<string, JsonField>, what: string): Placed | undefined {
  const fam = family(r, obj, f, what);
  const table = r.needStr(obj, f, "table", what);
  return fam === undefined || table === undefined ? undefined : { family: fam, table };
}

function handle(r: NftJsonReader, f: Map<string, JsonField>, what: string): number | undefined {
  return r.int(f, "handle", what, 0, 0xffffffffffff);
}

export function readTable(r: NftJsonReader, obj: JsonNode): NftTable | undefined {
  const f = r.fields(obj, "table");
  if (!f) return undefined;
  const fam = family(r, obj, f, "table");
  const name = r.needStr(obj, f, "name", "table");
  if (fam === undefined || name === undefined) return undefined;
  const t: NftTable = { family: fam, name, flags: r.strings(f, "flags", "table") ?? [], chains: [], sets: [], objects: [], flowtables: [], span: r.span(obj.at) };
  for (const flag of t.flags) {
    // nft 1.0.6 writes a table's only flag from memory it has freed (fixed upstream in 2023:
    // "json: fix use after free in table_flags_json()"); a netns listing of a dormant table
    // gave "d". Whether the table is dormant cannot be told from such a word.
    if (!TABLE_FLAGS.includes(flag)) r.warning(f.get("flags")!.value, `table ${fam} ${name}: unknown flag ${JSON.stringify(flag)} (nft 1.0.6 writes a lone table flag garbled): whether the table is dormant is unknown`, TABLE_FLAGS.join(", "));
  }
  const h = handle(r, f, "table");
  if (h !== undefined) t.handle = h;
  const comment = r.str(f, "comment", "table");
  if (comment !== undefined) t.comment = comment;
  return t;
}

export function readChain(r: NftJsonReader, obj: JsonNode): (Placed & { chain: NftChain }) | undefined {
  const f = r.fields(obj, "chain");
  if (!f) return undefined;
  const where = placed(r, obj, f, "chain");
  const name = r.needStr(obj, f, "name", "chain");
  if (!where || name === undefined) return undefined;
  const chain: NftChain = { name, rules: [], span: r.span(obj.at) };
  const h = handle(r, f, "chain");
  if (h !== undefined) chain.handle = h;
  const comment = r.str(f, "comment", "chain");
  if (comment !== undefined) chain.comment = comment;
  if (f.has("type") || f.has("hook") || f.has("prio")) {
    const base = baseChain(r, obj, f, where.family);
    if (!base) return undefined;
    chain.base = base;
  }
  return { ...where, chain };
}

function baseChain(r: NftJsonReader, obj: JsonNode, f: Map<string, JsonField>, fam: NftFamily): NftBaseChain | undefined {
  const type = r.oneOf(f, "type", "base chain", CHAIN_TYPES);
  const hook = r.oneOf(f, "hook", "base chain", HOOKS);
  if (!r.need(obj, f, ["type", "hook"], "base chain") || !type || !hook) return undefined;
  const prio = priority(r, obj, f, fam, hook, "base chain");
  if (!prio) return undefined;
  const base: NftBaseChain = { type, hook, ...prio };
  const policy = r.oneOf(f, "policy", "base chain", ["accept", "drop"] as const);
  if (policy === null) return undefined;
  if (policy) base.policy = policy;
  const devices = r.strings(f, "dev", "base chain");
  if (devices !== undefined) base.devices = devices;
  else if (fam === "netdev") {
    // nft 1.0.6 leaves a netdev chain's device out of its JSON (checked in a netns); what it is cannot be told.
    r.info(obj, "the netdev chain's device is not given (nft 1.0.6 does not write it): which device the chain sees is unknown");
  }
  return base;
}

/**
 * `"prio"`: a number (what nft writes), or in a command a standard name with an optional
 * offset (`"dstnat - 10"`, as nft's JSON parser takes it).
 */
function priority(r: NftJsonReader, obj: JsonNode, f: Map<string, JsonField>, fam: NftFamily, hook: NftHook, what: string): { priority: number; priorityText: string } | undefined {
  const p = f.get("prio");
  if (!p) return void r.error(obj, `${what} has no "prio"`, "its priority");
  if (p.value.kind === "number") {
    const n = r.j.integer(p.value, `${what} "prio"`, -0x80000000, 0x7fffffff);
    return n === undefined ? undefined : { priority: n, priorityText: printPriority(n, fam, hook) };
  }
  if (p.value.kind !== "string") return r.wrong(p.value, `${what} "prio"`, "a number or a standard priority name");
  const m = /^\s*([a-z]+)\s*(?:([+-])\s*(\d+))?\s*$/.exec(p.value.value);
  const base = m ? priorityNumber(m[1]!, fam) : undefined;
  if (!m || base === undefined) {
    const n = /^-?\d+$/.test(p.value.value.trim()) ? Number(p.value.value) : undefined;
    if (n !== undefined) return { priority: n, priorityText: printPriority(n, fam, hook) };
    return r.wrong(p.value, `${what} "prio"`, "a number or a standard priority name with an optional + or - offset");
  }
  const offset = m[3] === undefined ? 0 : Number(m[3]) * (m[2] === "-" ? -1 : 1);
  return { priority: base + offset, priorityText: p.value.value.trim() };
}

/** A set's or map's datatypes: `"ipv4_addr"`, `["ipv4_addr", "inet_service"]`, `"ipv4_addr . inet_service"` (how 1.0.6 writes a map's value), or `{"typeof": EXPR}`. */
function declaredTypes(s: ExprScope, n: JsonNode, what: string): { types: string[]; typeofExprs?: ReturnType<typeof readExpr>[] } | undefined {
  const { r } = s;
  if (n.kind === "string") return { types: n.value.split(" . ").map((t) => t.trim()) };
  if (n.kind === "array") {
    const types: string[] = [];
    for (const item of n.items) {
      const t = r.j.string(item, `${what} part`, "a datatype name");
      if (t === undefined) return undefined;
      types.push(t);
    }
    return { types };
  }
  if (n.kind === "object" && n.fields.has("typeof")) {
    const e = readExpr(s, n.fields.get("typeof")!.value, undefined, 1, `${what} typeof`);
    if (!e) return undefined;
    const parts = e.kind === "concat" ? e.parts : [e];
    const types = typesOf(e);
    // Unknown types leave the elements typed only by how JSON writes them (a number, a word).
    if (!types) r.warning(n, `${what}: the datatype of this typeof expression is not known; its elements are read untyped`);
    return { types: types ?? [], typeofExprs: parts };
  }
  return r.wrong(n, what, "a datatype name, a list of them, or {\"typeof\": ...}");
}

export function readSet(s: ExprScope, kind: "set" | "map", obj: JsonNode): (Placed & { set: NftSet }) | undefined {
  const { r } = s;
  const f = r.fields(obj, kind);
  if (!f) return undefined;
  const where = placed(r, obj, f, kind);
  const name = r.needStr(obj, f, "name", kind);
  if (!where || name === undefined) return undefined;
  const typeField = f.get("type");
  if (!typeField) return void r.error(obj, `${kind} ${name} has no "type"`, "its key's datatype");
  const key = declaredTypes(s, typeField.value, `${kind} ${name} "type"`);
  if (!key) return undefined;
  const set: NftSet = { kind, name, keyType: key.types, flags: r.strings(f, "flags", kind) ?? [], elements: [], span: r.span(obj.at) };
  if (key.typeofExprs) set.keyTypeof = key.typeofExprs.filter((e) => e !== undefined);
  const mapField = f.get("map");
  if (kind === "map") {
    if (!mapField) return void r.error(obj, `map ${name} has no "map"`, "its value's datatype");
    const data = declaredTypes(s, mapField.value, `map ${name} "map"`);
    if (!data) return undefined;
    set.dataType = data.types;
    if (data.typeofExprs) set.dataTypeof = data.typeofExprs.filter((e) => e !== undefined);
  } else if (mapField) r.error(mapField.value, `set ${name} has a "map" type`, "a map object for a map");
  const h = handle(r, f, kind);
  if (h !== undefined) set.handle = h;
  // Times are in seconds in JSON, milliseconds in the AST.
  const timeout = r.int(f, "timeout", kind);
  if (timeout !== undefined) set.timeout = timeout * 1000;
  const gc = r.int(f, "gc-interval", kind);
  if (gc !== undefined) set.gcInterval = gc * 1000;
  const size = r.int(f, "size", kind);
  if (size !== undefined) set.size = size;
  const policy = r.oneOf(f, "policy", kind, ["performance", "memory"] as const);
  if (policy) set.policy = policy;
  if (r.bool(f, "auto-merge", kind)) set.autoMerge = true;
  const comment = r.str(f, "comment", kind);
  if (comment !== undefined) set.comment = comment;
  const stmt = f.get("stmt");
  if (stmt) {
    for (const item of r.j.list(stmt.value, `${kind} "stmt"`, "a list of statements") ?? []) {
      if (item.kind === "object" && item.fields.size === 1 && item.fields.has("counter")) set.counter = true;
      else r.warning(item, `${kind} ${name}: a statement on every element other than counter is not kept`, "counter");
    }
  }
  const elem = f.get("elem");
  if (elem) set.elements = readElements(s, elem.value, set, `${kind} ${name} "elem"`);
  return { ...where, set };
}

/** The elements of a set's `"elem"` list (or an `element` command's). */
export function readElements(s: ExprScope, n: JsonNode, set: Pick<NftSet, "keyType" | "dataType">, what: string): NftElement[] {
  const out: NftElement[] = [];
  for (const item of s.r.j.list(n, what, "a list of elements") ?? []) {
    const el = element(s, item, set.keyType, set.dataType, 1);
    if (el) out.push(el);
  }
  return out;
}

/** Keys every ruleset object has, not among a stateful object's properties. */
const PLACE_KEYS = new Set(["family", "name", "table", "handle", "comment"]);

export function readObject(r: NftJsonReader, type: NftObjectType, obj: JsonNode): (Placed & { object: NftObject }) | undefined {
  const f = r.fields(obj, type);
  if (!f) return undefined;
  const where = placed(r, obj, f, type);
  const name = r.needStr(obj, f, "name", type);
  if (!where || name === undefined) return undefined;
  const object: NftObject = { type, name, props: [], span: r.span(obj.at) };
  const h = handle(r, f, type);
  if (h !== undefined) object.handle = h;
  const comment = r.str(f, "comment", type);
  if (comment !== undefined) object.comment = comment;
  for (const [key, field] of f) {
    if (PLACE_KEYS.has(key)) continue;
    const v = field.value;
    const ok = key === "policy" ? v.kind === "object" : key === "flags" ? v.kind === "string" || v.kind === "array" : v.kind === "string" || v.kind === "number" || v.kind === "boolean";
    if (!ok) r.wrong(v, `${type} ${name} "${key}"`, key === "policy" ? "an object of states and timeouts" : key === "flags" ? "a flag or a list of flags" : "a number or a string");
  }
  object.props = objectProps(type, f);
  return { ...where, object };
}

export function readFlowtable(r: NftJsonReader, obj: JsonNode): (Placed & { flowtable: NftFlowtable }) | undefined {
  const f = r.fields(obj, "flowtable");
  if (!f) return undefined;
  const where = placed(r, obj, f, "flowtable");
  const name = r.needStr(obj, f, "name", "flowtable");
  const hook = r.oneOf(f, "hook", "flowtable", HOOKS);
  if (!r.need(obj, f, ["hook"], "flowtable") || !where || name === undefined || !hook) return undefined;
  // A flowtable's priority prints as a netdev chain's does (nft's flowtable_print_declaration).
  const prio = priority(r, obj, f, "netdev", hook, "flowtable");
  if (!prio) return undefined;
  const flowtable: NftFlowtable = { name, hook, ...prio, devices: r.strings(f, "dev", "flowtable") ?? [], flags: r.strings(f, "flags", "flowtable") ?? [], span: r.span(obj.at) };
  const h = handle(r, f, "flowtable");
  if (h !== undefined) flowtable.handle = h;
  return { ...where, flowtable };
}

export interface PlacedRule extends Placed {
  chain: string;
  rule: NftRule;
  /** A command's position: `"index"` (0-based position) or `"handle"` of the rule to insert beside. */
  index?: number;
}

/** A rule; its statements are read with `scope` (the table's sets give constants their types). */
export function readRule(r: NftJsonReader, obj: JsonNode, scopeFor: (where: Placed) => StmtScope): PlacedRule | undefined {
  const f = r.fields(obj, "rule");
  if (!f) return undefined;
  const where = placed(r, obj, f, "rule");
  const chain = r.needStr(obj, f, "chain", "rule");
  if (!where || chain === undefined) return undefined;
  const rule: NftRule = { stmts: [], span: r.span(obj.at) };
  const h = handle(r, f, "rule");
  if (h !== undefined) rule.handle = h;
  const comment = r.str(f, "comment", "rule");
  if (comment !== undefined) rule.comment = comment;
  const exprs = f.get("expr");
  if (exprs) {
    const scope = scopeFor(where);
    for (const item of r.j.list(exprs.value, 'rule "expr"', "a list of statements") ?? []) {
      if (item.kind === "string") {
        rule.stmts.push(...stmtsFromText(scope, item));
        continue;
      }
      // A statement that could not be read (reported) stays in the rule as written, so the
      // rule is evaluated as unknown rather than as if it lacked the statement.
      const st: NftStmt = readStmt(scope, item) ?? { kind: "other", name: stmtName(item), text: r.source(item) };
      rule.stmts.push(st);
    }
  }
  const out: PlacedRule = { ...where, chain, rule };
  const index = r.int(f, "index", "rule");
  if (index !== undefined) out.index = index;
  return out;
}

function stmtName(n: JsonNode): string {
  return n.kind === "object" && n.fields.size === 1 ? n.fields.keys().next().value! : "unreadable";
}
