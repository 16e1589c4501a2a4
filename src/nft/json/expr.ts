/**
 * libnftables' JSON expressions (libnftables-json(5), "EXPRESSIONS") as the nft AST. Typed
 * expressions are one-key objects (`{"payload": {...}}`, `{"ct": {...}}`); constants are bare
 * strings, numbers and booleans, resolved against the datatype `hint` the context gives them
 * (one entry per part of a concatenation). Typed expressions of a kind (payload, meta, ct...,
 * and those netfate keeps as written) read through the kind's file (src/extensions/nft/); a
 * kind nft itself does not know is kept verbatim with a warning.
 */
import type { JsonNode } from "../../facts/located-json.js";
import type { NftElement, NftExpr, NftMapLookup, NftSetLiteral, NftSetRef, NftVerdict, NftVerdictCode } from "../../model/nft.js";
import { expressionKindByJsonKey } from "../../extensions/nft/registry.js";
import { isReversedWrappingRange, rangeRefusal, REVERSED_RANGE } from "../datatypes.js";
import { RAW_TYPE } from "../text/values.js";
import { MAX_EXPR_DEPTH, type NftJsonReader } from "./reader.js";
import { bitmaskConstOf, constOf, isBitmask, typesOf } from "./values.js";

/** What expression reading needs besides the input: the declared types of the table's named sets and maps. */
export interface ExprScope {
  r: NftJsonReader;
  /** A named set or map of the rule's table: its key and value datatypes, when declared. */
  setTypes(name: string): { key: string[]; data?: string[] } | undefined;
  /** Where the table is known: says which table a missing set was looked for in. */
  table?: string;
}

/** Datatypes the context expects; one per concatenated part. */
export type Hint = readonly string[] | undefined;

/** Verdicts as JSON statements and map values (`queue` is a statement of its own there). */
const VERDICTS: readonly NftVerdictCode[] = ["accept", "drop", "continue", "return", "jump", "goto"];

const BINOPS = new Set(["&", "|", "^", "<<", ">>"]);

function single(hint: Hint): string | undefined {
  return hint?.length === 1 ? hint[0] : undefined;
}

/**
 * `hint` is what the expression's value is expected to be; for a map lookup it is what the
 * map's values are (`mangle meta mark set iifname map {...}`: marks).
 */
export function readExpr(s: ExprScope, n: JsonNode, hint: Hint, depth: number, what = "expression"): NftExpr | undefined {
  const { r } = s;
  if (depth > MAX_EXPR_DEPTH) {
    r.error(n, `${what}: expressions nested deeper than ${MAX_EXPR_DEPTH} levels`, `at most ${MAX_EXPR_DEPTH} levels`);
    return undefined;
  }
  switch (n.kind) {
    case "string":
      if (n.value.startsWith("@")) return setRef(s, n);
      return constOf(r, n, single(hint), what);
    case "number":
    case "boolean":
      return constOf(r, n, single(hint), what);
    case "array":
      return listExpr(s, n, n.items, hint, depth, what);
    case "null":
      return r.wrong(n, what, "an expression");
    case "object":
      break;
  }
  const f = r.single(n, what, "the expression's kind");
  if (!f) return undefined;
  const v = f.value;
  const kind = f.key;
  const typed = expressionKindByJsonKey(kind);
  if (typed) return typed.readJson(kind, v, n, { r, sub: (x, w) => readExpr(s, x, undefined, depth + 1, w) });
  switch (kind) {
    case "prefix": {
      const o = r.fields(v, "prefix");
      if (!o) return undefined;
      const [addr] = r.need(v, o, ["addr", "len"], "prefix") ?? [];
      const len = r.int(o, "len", "prefix", 0, 128);
      if (!addr || len === undefined) return undefined;
      const base = readExpr(s, addr, hint, depth + 1, "prefix address");
      if (!base || base.kind !== "const") return base && r.wrong(addr, "prefix address", "a constant");
      return { kind: "prefix", base, len };
    }
    case "range": {
      const items = r.j.list(v, "range", "a list of two values");
      if (!items) return undefined;
      if (items.length !== 2) return void r.error(v, `a range of ${items.length} values`, "two values, low and high");
      const lo = readExpr(s, items[0]!, hint, depth + 1, "range low end");
      const hi = readExpr(s, items[1]!, hint, depth + 1, "range high end");
      if (!lo || !hi) return undefined;
      if (lo.kind !== "const") return r.wrong(items[0]!, "range low end", "a constant");
      if (hi.kind !== "const") return r.wrong(items[1]!, "range high end", "a constant");
      const refused = rangeRefusal(lo, hi);
      if (refused !== undefined) return void r.error(v, refused, "a range nft takes");
      return { kind: "range", lo, hi };
    }
    case "concat": {
      const items = r.j.list(v, "concatenation", "a list of expressions");
      if (!items) return undefined;
      const parts: NftExpr[] = [];
      for (let k = 0; k < items.length; k++) {
        const part = readExpr(s, items[k]!, hint && hint.length === items.length ? [hint[k]!] : undefined, depth + 1, "concatenated part");
        if (!part) return undefined;
        parts.push(part);
      }
      return { kind: "concat", parts };
    }
    case "set": return v.kind === "string" ? setRef(s, v) : setLiteral(s, v, hint, undefined, depth + 1, "anonymous set");
    case "map": return mapLookup(s, v, hint, depth + 1);
    case "elem": {
      // An element with its attributes, standing alone: its value is what matters here.
      const el = element(s, n, hint, undefined, depth + 1);
      return el?.key;
    }
    case "accept":
    case "drop":
    case "continue":
    case "return":
    case "jump":
    case "goto":
      return verdict(s, kind, v);
  }
  if (BINOPS.has(kind)) return binop(s, kind as "&", v, hint, depth);
  r.warning(n, `${what}: unknown expression ${JSON.stringify(kind)}, kept as written and evaluated as unknown`);
  return { kind: "other", name: kind, text: r.source(n) };
}

function setRef(s: ExprScope, n: JsonNode & { kind: "string" }): NftSetRef | undefined {
  const name = n.value.replace(/^@/, "");
  if (!name) return void s.r.error(n, "a set reference without a name", '"@NAME"');
  // nft refuses a rule naming a set its table does not have (a listing never holds one).
  if (s.table !== undefined && !s.setTypes(name)) s.r.error(n, `no set or map ${JSON.stringify(name)} in table ${s.table}`, "a set or map declared before the rule");
  return { kind: "setref", name };
}

function verdict(s: ExprScope, code: NftVerdictCode, v: JsonNode): NftVerdict | undefined {
  const { r } = s;
  if (code !== "jump" && code !== "goto") {
    if (v.kind !== "null") r.warning(v, `the ${code} verdict takes no value; ignored`, "null");
    return { kind: "verdict", verdict: code };
  }
  const o = r.fields(v, `${code} verdict`);
  const target = o && r.needStr(v, o, "target", `${code} verdict`);
  return target === undefined ? undefined : { kind: "verdict", verdict: code, chain: target };
}

export function isVerdictName(name: string): name is NftVerdictCode {
  return (VERDICTS as readonly string[]).includes(name);
}

/**
 * `{"&": [a, b, c]}`: nft flattens a chain of one operator into one list; it stands for
 * `(a & b) & c`. The right-hand operands take the left's datatype (a mask of `tcp flags` is
 * a list of flag names).
 */
function binop(s: ExprScope, op: "&" | "|" | "^" | "<<" | ">>", v: JsonNode, hint: Hint, depth: number): NftExpr | undefined {
  const { r } = s;
  const items = r.j.list(v, `the ${op} operation`, "a list of operands");
  if (!items) return undefined;
  if (items.length < 2) return void r.error(v, `the ${op} operation has ${items.length} operand(s)`, "two or more operands");
  let left = readExpr(s, items[0]!, hint, depth + 1, `left operand of ${op}`);
  if (!left) return undefined;
  // A shift's amount is a plain number whatever is shifted.
  const operandHint = op === "<<" || op === ">>" ? undefined : typesOf(left) ?? hint;
  for (let k = 1; k < items.length; k++) {
    const right = readExpr(s, items[k]!, operandHint, depth + 1, `operand of ${op}`);
    if (!right) return undefined;
    left = { kind: "binop", op, left, right };
  }
  return left;
}

/**
 * A JSON list as an expression: nft's list expression. Against a bitmask type it is the bits
 * together (`["established", "related"]`); otherwise nft takes it as an anonymous set.
 */
function listExpr(s: ExprScope, n: JsonNode, items: JsonNode[], hint: Hint, depth: number, what: string): NftExpr | undefined {
  const type = single(hint);
  if (type !== undefined && isBitmask(type)) return bitmaskConstOf(s.r, items, type, n, what);
  return setLiteral(s, n, hint, undefined, depth + 1, what);
}

/**
 * An anonymous set or map: `{"set": [ITEM...]}`. A map's item is `[KEY, VALUE]`; an item with
 * attributes is `{"elem": {"val": KEY, "timeout": ...}}`.
 */
export function setLiteral(s: ExprScope, n: JsonNode, keyHint: Hint, dataHint: Hint, depth: number, what: string): NftSetLiteral | undefined {
  const items = s.r.j.list(n, what, "a list of elements");
  if (!items) return undefined;
  const elements: NftElement[] = [];
  for (const item of items) {
    const el = element(s, item, keyHint, dataHint, depth + 1);
    if (el) elements.push(el);
  }
  return { kind: "set", elements };
}

/** Element attributes nft writes beside `"val"`; any other key is a statement attached to the element. */
const ELEMENT_ATTRS = new Set(["val", "timeout", "expires", "comment"]);

/** One element of a set or map, literal or named. */
export function element(s: ExprScope, n: JsonNode, keyHint: Hint, dataHint: Hint, depth: number): NftElement | undefined {
  const { r } = s;
  if (depth > MAX_EXPR_DEPTH) return void r.error(n, `element nested deeper than ${MAX_EXPR_DEPTH} levels`, `at most ${MAX_EXPR_DEPTH} levels`);
  if (n.kind === "array") {
    // A map element: [KEY, VALUE].
    if (n.items.length !== 2) return void r.error(n, `a map element of ${n.items.length} values`, "[key, value]");
    const el = element(s, n.items[0]!, keyHint, undefined, depth + 1);
    // A value given alone where the map's values may be concatenations (a nat map's address
    // without a port) takes the first part's type.
    const alone = dataHint && dataHint.length > 1 && !isConcat(n.items[1]!) ? [dataHint[0]!] : dataHint;
    const data = readExpr(s, n.items[1]!, alone, depth + 1, "map element value");
    if (!el || !data) return undefined;
    return { ...el, data, span: r.span(n.at) };
  }
  if (n.kind === "object" && n.fields.size === 1 && n.fields.has("elem")) {
    const v = n.fields.get("elem")!.value;
    const o = r.fields(v, "element");
    if (!o) return undefined;
    const val = o.get("val");
    if (!val) return void r.error(v, 'an element has no "val"', "its value");
    // `"*"`: the catch-all element (what no other element matches), as the text reader keeps it.
    const key = isCatchAll(val.value) ? CATCH_ALL : readExpr(s, val.value, keyHint, depth + 1, "element");
    if (!key) return undefined;
    // A reversed hour or day range is taken as a relation's value, never as an element.
    if (isReversedWrappingRange(key)) return void r.error(val.value, REVERSED_RANGE, "a range nft takes");
    const el: NftElement = { key, span: r.span(n.at) };
    // JSON gives times in whole seconds (nft divides the kernel's milliseconds).
    const timeout = r.int(o, "timeout", "element", 0);
    if (timeout !== undefined) el.timeout = timeout * 1000;
    const expires = r.int(o, "expires", "element", 0);
    if (expires !== undefined) el.expires = expires * 1000;
    const comment = r.str(o, "comment", "element");
    if (comment !== undefined) el.comment = comment;
    for (const [k, f] of o) {
      if (ELEMENT_ATTRS.has(k)) continue;
      if (k === "counter") {
        // `nft -s -j` lists an element's counter as null: the AST has no counter without values
        // (NftElement.counter), and a counter does not change a packet's fate.
        if (f.value.kind === "null") continue;
        const c = r.fields(f.value, "element counter");
        const packets = c && r.int(c, "packets", "element counter");
        const bytes = c && r.int(c, "bytes", "element counter");
        if (packets !== undefined && bytes !== undefined) el.counter = { packets, bytes };
      } else r.warning(f.value, `the element's ${JSON.stringify(k)} is not kept`, "timeout, expires, comment or counter");
    }
    return el;
  }
  const key = isCatchAll(n) ? CATCH_ALL : readExpr(s, n, keyHint, depth + 1, "element");
  if (key && isReversedWrappingRange(key)) return void r.error(n, REVERSED_RANGE, "a range nft takes");
  return key && { key, span: r.span(n.at) };
}

const CATCH_ALL: NftExpr = { kind: "const", type: RAW_TYPE, value: "*" };

function isCatchAll(n: JsonNode): boolean {
  return n.kind === "string" && n.value === "*";
}

function isConcat(n: JsonNode): boolean {
  return n.kind === "object" && n.fields.has("concat");
}

/** `{"map": {"key": EXPR, "data": "@NAME" | {"set": [...]}}}`: the value a map holds for the key. */
export function mapLookup(s: ExprScope, v: JsonNode, dataHint: Hint, depth: number, what = "map expression"): NftMapLookup | undefined {
  const { r } = s;
  const o = r.fields(v, what);
  if (!o) return undefined;
  const [k, d] = r.need(v, o, ["key", "data"], what) ?? [];
  if (!k || !d) return undefined;
  const key = readExpr(s, k, undefined, depth + 1, `${what} key`);
  if (!key) return undefined;
  const map = mapOf(s, d, typesOf(key), dataHint, depth + 1, `${what} data`);
  return map && { kind: "map", key, map };
}

/** The map side of a lookup: a named map (`"@m"`, `{"set": "@m"}`) or a literal (`{"set": [...]}`, `[...]`). */
export function mapOf(s: ExprScope, n: JsonNode, keyHint: Hint, dataHint: Hint, depth: number, what: string): NftSetLiteral | NftSetRef | undefined {
  if (n.kind === "string") return n.value.startsWith("@") ? setRef(s, n) : s.r.wrong(n, what, 'a map name "@NAME" or a map literal');
  if (n.kind === "array") return setLiteral(s, n, keyHint, dataHint, depth, what);
  const f = s.r.single(n, what, '"set"');
  if (!f) return undefined;
  if (f.key !== "set") return s.r.wrong(n, what, 'a map name "@NAME" or {"set": [...]}');
  return f.value.kind === "string" ? mapOf(s, f.value, keyHint, dataHint, depth, what) : setLiteral(s, f.value, keyHint, dataHint, depth, what);
}
