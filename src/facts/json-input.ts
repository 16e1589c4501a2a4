/**
 * Reading a JSON input (node.json, `ip -j addr`, `ip -j route`) with every problem reported
 * where it is: the value's line and column, what was expected, what was found.
 */
import type { DiagnosticSink } from "../model/diagnostics.js";
import { jsonKindName, offsetLocator, parseLocatedJson, type JsonField, type JsonNode } from "./located-json.js";

export class JsonInput {
  private readonly locate: (at: number) => { line: number; col: number };

  constructor(readonly text: string, private readonly sink: DiagnosticSink) {
    this.locate = offsetLocator(text);
  }

  /** The whole text as JSON, or undefined after reporting where it stops being JSON. */
  parse(): JsonNode | undefined {
    const r = parseLocatedJson(this.text);
    if (r.ok) return r.value;
    this.error(r.at, r.message);
    return undefined;
  }

  /** Line and column of an offset in the text. */
  where(at: number): { line: number; col: number } {
    return this.locate(at);
  }

  error(at: number, message: string, expected?: string): void {
    const { line, col } = this.locate(at);
    this.sink.error({ line, col, len: 0 }, message, expected);
  }

  /** Reports a value of the wrong kind: `what: found X (expected Y)`. */
  wrong(n: JsonNode, what: string, expected: string): undefined {
    this.error(n.at, `${what}: found ${jsonKindName(n)}`, expected);
    return undefined;
  }

  /** An object's fields; a key given twice and (with `known`) an unknown key are errors. */
  fields(n: JsonNode, what: string, known?: readonly string[]): Map<string, JsonField> | undefined {
    if (n.kind !== "object") return this.wrong(n, what, "an object");
    for (const d of n.duplicates) this.error(d.keyAt, `${JSON.stringify(d.key)} given twice in ${what}`, "each key once");
    if (known) {
      for (const [k, f] of n.fields) if (!known.includes(k)) this.error(f.keyAt, `unknown key ${JSON.stringify(k)} in ${what}`, known.join(", "));
    }
    return n.fields;
  }

  list(n: JsonNode, what: string, expected: string): JsonNode[] | undefined {
    return n.kind === "array" ? n.items : this.wrong(n, what, expected);
  }

  string(n: JsonNode, what: string, expected = "a string"): string | undefined {
    return n.kind === "string" ? n.value : this.wrong(n, what, expected);
  }

  integer(n: JsonNode, what: string, min: number, max: number): number | undefined {
    if (n.kind === "number" && Number.isInteger(n.value) && n.value >= min && n.value <= max) return n.value;
    return this.wrong(n, what, `an integer ${min}-${max}`);
  }
}
