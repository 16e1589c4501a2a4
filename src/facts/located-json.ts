/**
 * JSON read with the offset of every value and key, so that a reader of node.json, `ip -j`
 * output or a JSON packet can say at which line and column a value is wrong (JSON.parse
 * forgets where things were). Linear in the text; nesting is bounded so a hostile input
 * cannot overflow the stack.
 */

import type { JsonField, JsonNode } from "../model/json.js";

export type { JsonField, JsonNode } from "../model/json.js";

export type JsonParse = { ok: true; value: JsonNode } | { ok: false; at: number; message: string };

/** Deeper than any node facts or packet; far below what would exhaust the stack. */
const MAX_DEPTH = 256;

class JsonSyntaxError extends Error {
  constructor(readonly at: number, message: string) {
    super(message);
  }
}

/** What a string cannot hold as is: a backslash starts an escape, control characters must be escaped. */
const SPECIAL = /[\\\u0000-\u001f]/;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** Shared by the objects without a repeated key (nearly all): never pushed to. */
const NO_FIELDS: JsonField[] = [];

export function parseLocatedJson(text: string): JsonParse {
  let i = 0;
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else return;
    }
  };
  const fail = (what: string, where = i): never => {
    i = where;
    const found = i >= text.length ? "the end of the text" : JSON.stringify(text[i]);
    throw new JsonSyntaxError(i, `not valid JSON: expected ${what}, found ${found}`);
  };
  /** A string from its opening quote; escapes are checked here and decoded by JSON.parse. */
  const str = (): string => {
    const start = i++;
    // The common case, no escapes or control characters before the closing quote: native scans only.
    const close = text.indexOf('"', i);
    if (close >= 0 && !SPECIAL.test(text.slice(i, close))) {
      i = close + 1;
      return text.slice(start + 1, close);
    }
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 34) break;
      if (Number.isNaN(c) || c < 0x20) fail('the closing "');
      if (c === 92) {
        const e = text[i + 1];
        if (e === "u" ? !/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6)) : !'"\\/bfnrt'.includes(e ?? "x")) {
          i++;
          fail("a valid escape");
        }
        i += e === "u" ? 6 : 2;
      } else i++;
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (depth: number): JsonNode => {
    ws();
    const at = i;
    const c = text.charCodeAt(i);
    if (c === 123 || c === 91) {
      if (depth >= MAX_DEPTH) throw new JsonSyntaxError(i, `not valid: JSON nested deeper than ${MAX_DEPTH} levels`);
      i++;
      ws();
      if (c === 91) {
        const items: JsonNode[] = [];
        if (text.charCodeAt(i) === 93) {
          i++;
          return { kind: "array", at, items };
        }
        for (;;) {
          items.push(value(depth + 1));
          ws();
          const d = text.charCodeAt(i++);
          if (d === 93) return { kind: "array", at, items };
          if (d !== 44) fail('"," or "]"', i - 1);
        }
      }
      const fields = new Map<string, JsonField>();
      let duplicates = NO_FIELDS;
      if (text.charCodeAt(i) === 125) {
        i++;
        return { kind: "object", at, fields, duplicates };
      }
      for (;;) {
        ws();
        if (text.charCodeAt(i) !== 34) fail("a key in double quotes");
        const keyAt = i;
        const key = str();
        ws();
        if (text.charCodeAt(i) !== 58) fail('":"');
        i++;
        const f: JsonField = { key, keyAt, value: value(depth + 1) };
        if (!fields.has(key)) fields.set(key, f);
        else if (duplicates === NO_FIELDS) duplicates = [f];
        else duplicates.push(f);
        ws();
        const d = text.charCodeAt(i++);
        if (d === 125) return { kind: "object", at, fields, duplicates };
        if (d !== 44) fail('"," or "}"', i - 1);
      }
    }
    if (c === 34) return { kind: "string", at, value: str() };
    if (c === 116 && text.startsWith("true", i)) return (i += 4), { kind: "boolean", at, value: true };
    if (c === 102 && text.startsWith("false", i)) return (i += 5), { kind: "boolean", at, value: false };
    if (c === 110 && text.startsWith("null", i)) return (i += 4), { kind: "null", at };
    // A number: the run of characters one can hold, checked whole.
    let end = i;
    for (let d = text.charCodeAt(end); (d >= 48 && d <= 57) || d === 45 || d === 43 || d === 46 || d === 101 || d === 69; d = text.charCodeAt(++end));
    const n = text.slice(i, end);
    if (!NUMBER.test(n)) return fail("a JSON value");
    i = end;
    return { kind: "number", at, value: Number(n) };
  };
  try {
    const v = value(0);
    ws();
    if (i < text.length) fail("the end of the JSON value");
    return { ok: true, value: v };
  } catch (e) {
    if (e instanceof JsonSyntaxError) return { ok: false, at: e.at, message: e.message };
    throw e;
  }
}

/** A value already parsed (a library caller's object) as a node without positions (at -1). */
export function jsonNodeOf(v: unknown): JsonNode {
  if (v === null || v === undefined) return { kind: "null", at: -1 };
  if (typeof v === "string") return { kind: "string", at: -1, value: v };
  if (typeof v === "number") return { kind: "number", at: -1, value: v };
  if (typeof v === "boolean") return { kind: "boolean", at: -1, value: v };
  if (Array.isArray(v)) return { kind: "array", at: -1, items: v.map(jsonNodeOf) };
  const fields = new Map<string, JsonField>();
  for (const [key, x] of Object.entries(v as object)) fields.set(key, { key, keyAt: -1, value: jsonNodeOf(x) });
  return { kind: "object", at: -1, fields, duplicates: [] };
}

/** What a node is, in words, for "expected X, found Y" messages. */
export function jsonKindName(n: JsonNode): string {
  switch (n.kind) {
    case "object": return "an object";
    case "array": return "a list";
    case "string": return `the string ${JSON.stringify(n.value.length > 40 ? n.value.slice(0, 40) + "…" : n.value)}`;
    case "number": return `the number ${n.value}`;
    case "boolean": return String(n.value);
    case "null": return "null";
  }
}

/** Offset → 1-based line and column; the line starts are found once, each lookup is a binary search. */
export function offsetLocator(text: string): (at: number) => { line: number; col: number } {
  const starts = [0];
  for (let k = text.indexOf("\n"); k >= 0; k = text.indexOf("\n", k + 1)) starts.push(k + 1);
  return (at) => {
    if (at < 0) return { line: 1, col: 1 };
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: at - starts[lo]! + 1 };
  };
}
