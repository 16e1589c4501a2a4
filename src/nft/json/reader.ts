/**
 * What every part of the nft JSON reader shares: the located JSON input (so any value can be
 * reported at its line and column), the diagnostics, and the small typed getters the schema
 * needs. Getters report a wrong value and return undefined; nothing here throws on input.
 */
import type { DiagnosticSink } from "../../model/diagnostics.js";
import type { Span } from "../../model/span.js";
import { JsonInput } from "../../facts/json-input.js";
import { jsonKindName, type JsonField, type JsonNode } from "../../facts/located-json.js";

/**
 * How deep expressions may nest inside one another. nft's own output stays within a handful
 * of levels (a concatenation inside a map inside a mangle); the bound keeps a hostile input's
 * recursion explicit rather than relying on the JSON reader's own limit alone.
 */
export const MAX_EXPR_DEPTH = 64;

export class NftJsonReader {
  readonly j: JsonInput;

  constructor(readonly text: string, readonly sink: DiagnosticSink) {
    this.j = new JsonInput(text, sink);
  }

  span(at: number): Span {
    const { line, col } = this.j.where(at);
    return { line, col, len: 0 };
  }

  error(n: { at: number }, message: string, expected?: string, found?: string): void {
    this.sink.error(this.span(n.at), message, expected, found);
  }

  warning(n: { at: number }, message: string, expected?: string, found?: string): void {
    this.sink.warning(this.span(n.at), message, expected, found);
  }

  info(n: { at: number }, message: string): void {
    this.sink.info(this.span(n.at), message);
  }

  /** Reports a value of the wrong kind and gives undefined. */
  wrong(n: JsonNode, what: string, expected: string): undefined {
    this.error(n, `${what}: found ${jsonKindName(n)}`, expected);
    return undefined;
  }

  /**
   * An object's fields. Keys nft does not know are ignored, as nft's own JSON parser ignores
   * them; a key given twice is an error (which of the two nft would take is not said).
   */
  fields(n: JsonNode, what: string): Map<string, JsonField> | undefined {
    return this.j.fields(n, what);
  }

  /**
   * The one key of a `{"KIND": VALUE}` object, as libnftables writes every command, ruleset
   * object, statement and typed expression.
   */
  single(n: JsonNode, what: string, expected: string): JsonField | undefined {
    if (n.kind !== "object") return this.wrong(n, what, expected);
    if (n.fields.size !== 1 || n.duplicates.length) {
      this.error(n, `${what}: found an object with ${n.fields.size + n.duplicates.length} keys`, `an object with one key, ${expected}`);
      return undefined;
    }
    return n.fields.values().next().value;
  }

  /** Fields an object must have, in order; their absence is reported at the object, naming them all. */
  need(obj: JsonNode, f: Map<string, JsonField>, keys: readonly string[], what: string): JsonNode[] | undefined {
    const missing = keys.filter((k) => !f.has(k));
    if (!missing.length) return keys.map((k) => f.get(k)!.value);
    this.error(obj, `${what} has no ${missing.map((k) => `"${k}"`).join(" and ")}`, keys.map((k) => `"${k}"`).join(", "));
    return undefined;
  }

  str(f: Map<string, JsonField>, key: string, what: string): string | undefined {
    const v = f.get(key);
    return v === undefined ? undefined : this.j.string(v.value, `${what} "${key}"`);
  }

  /** A required string field: its absence is reported at the object. */
  needStr(obj: JsonNode, f: Map<string, JsonField>, key: string, what: string): string | undefined {
    if (!f.has(key)) {
      this.error(obj, `${what} has no "${key}"`, `a "${key}" string`);
      return undefined;
    }
    return this.str(f, key, what);
  }

  /**
   * A string field that must be one of `allowed` (nft's keywords): the value, undefined when
   * the field is absent, null after reporting a value nft does not take.
   */
  oneOf<T extends string>(f: Map<string, JsonField>, key: string, what: string, allowed: readonly T[]): T | undefined | null {
    const v = this.str(f, key, what);
    if (v === undefined) return f.has(key) ? null : undefined;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.error(f.get(key)!.value, `${what} "${key}": unknown ${JSON.stringify(v)}`, allowed.map((a) => JSON.stringify(a)).join(", "));
    return null;
  }

  int(f: Map<string, JsonField>, key: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = f.get(key);
    return v === undefined ? undefined : this.j.integer(v.value, `${what} "${key}"`, min, max);
  }

  bool(f: Map<string, JsonField>, key: string, what: string): boolean | undefined {
    const v = f.get(key);
    if (v === undefined) return undefined;
    if (v.value.kind === "boolean") return v.value.value;
    return this.wrong(v.value, `${what} "${key}"`, "true or false");
  }

  /**
   * A field libnftables writes as a string when it holds one word and as a list otherwise
   * (`"flags": "fully-random"` / `["random", "persistent"]`, a chain's `"dev"`).
   */
  strings(f: Map<string, JsonField>, key: string, what: string): string[] | undefined {
    const v = f.get(key);
    if (v === undefined) return undefined;
    if (v.value.kind === "string") return [v.value.value];
    if (v.value.kind !== "array") return this.wrong(v.value, `${what} "${key}"`, "a string or a list of strings");
    const out: string[] = [];
    for (const item of v.value.items) {
      const s = this.j.string(item, `${what} "${key}" item`);
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /** The JSON text of a node, as given: what an expression or statement the reader does not know keeps. */
  source(n: JsonNode): string {
    return n.at >= 0 ? this.text.slice(n.at, endOf(this.text, n)) : "";
  }
}

/**
 * Where a node's text ends. Values are found by the reader with their start only; the end of
 * an object or list is its last child's end plus the closing bracket, found by scanning
 * whitespace (linear in the node's size, and only done for the few nodes kept verbatim).
 */
function endOf(text: string, n: JsonNode): number {
  switch (n.kind) {
    case "string": {
      let i = n.at + 1;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      return i + 1;
    }
    case "number": {
      let i = n.at;
      while (i < text.length && /[-+.eE0-9]/.test(text[i]!)) i++;
      return i;
    }
    case "boolean": return n.at + (n.value ? 4 : 5);
    case "null": return n.at + 4;
    case "array":
    case "object": {
      let last = -1;
      if (n.kind === "array") last = n.items.length ? endOf(text, n.items[n.items.length - 1]!) : n.at + 1;
      else {
        let lastAt = -1;
        for (const f of [...n.fields.values(), ...n.duplicates]) if (f.value.at > lastAt) (lastAt = f.value.at), (last = endOf(text, f.value));
        if (lastAt < 0) last = n.at + 1;
      }
      let i = last;
      while (i < text.length && text[i] !== "]" && text[i] !== "}") i++;
      return Math.min(text.length, i + 1);
    }
  }
}
