/** The front door of the parser layer: text in any supported dump format → AST + diagnostics. */
import type { Family, Ruleset, TableName } from "./model/ast.js";
import { DiagnosticSink, type Diagnostic } from "./model/diagnostics.js";
import { parseSaveDump } from "./syntax/save-dump.js";

export interface ParseRulesOptions {
  file?: string;
  family?: Family;
  table?: TableName;
  format?: "save" | "S";
  /** False binds every rule while parsing instead of when first read (the AST is the same). */
  deferRules?: boolean;
}

export interface ParseResult<T> {
  value: T;
  diagnostics: Diagnostic[];
}

export function parseRules(text: string, opts: ParseRulesOptions = {}): ParseResult<Ruleset> {
  const sink = new DiagnosticSink(opts.file ?? "<input>");
  const value = parseSaveDump(text, sink, opts);
  return { value, diagnostics: sink.items };
}
