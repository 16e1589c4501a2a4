/**
 * `define NAME = VALUE` and `$NAME` of nft scripts, and `include "FILE"`: a pass over the
 * tokens before parsing. A define's value is the tokens to the end of its line (braces may
 * span lines); each `$NAME` is replaced by them, located where the variable is used. Values
 * are substituted as they are defined, so nothing recurses; the total grows at most to
 * MAX_EXPANSION tokens (defines that double each other could otherwise grow without bound).
 */
import type { DiagnosticSink } from "../../model/diagnostics.js";
import type { Span } from "../../model/span.js";
import { joinTokens, spanOf, type Token } from "./tokens.js";

const MAX_EXPANSION = 2_000_000;

export interface DefinesResult {
  tokens: Token[];
  defines: { name: string; value: string; span: Span }[];
  includes: { file: string; span: Span }[];
}

function atStatementStart(out: readonly Token[]): boolean {
  const prev = out[out.length - 1];
  return prev === undefined || prev.type === "nl" || (prev.type === "punct" && (prev.text === ";" || prev.text === "{"));
}

export function substituteDefines(tokens: readonly Token[], sink: DiagnosticSink): DefinesResult {
  // Most inputs (every listing) have none of these: nothing to copy.
  if (!tokens.some((t) => t.type === "word" && (t.text.startsWith("$") || t.text === "define" || t.text === "redefine" || t.text === "undefine" || t.text === "include"))) {
    return { tokens: tokens as Token[], defines: [], includes: [] };
  }
  const out: Token[] = [];
  const values = new Map<string, Token[]>();
  const defines: DefinesResult["defines"] = [];
  const includes: DefinesResult["includes"] = [];
  let budget = Math.max(MAX_EXPANSION, tokens.length * 2);
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t.type === "word" && atStatementStart(out)) {
      if ((t.text === "define" || t.text === "redefine") && tokens[i + 1]?.type === "word") {
        const name = tokens[i + 1]!;
        if (tokens[i + 2]?.text !== "=") {
          sink.error(spanOf(tokens[i + 2] ?? name), `expected "=" after define ${name.text}`, '"="', tokens[i + 2]?.text ?? "end of line");
        }
        // The value: to the end of the line, braces spanning lines; variables in it substituted now.
        let j = i + 3;
        let depth = 0;
        const value: Token[] = [];
        while (j < tokens.length) {
          const v = tokens[j]!;
          if (v.type === "punct" && v.text === "{") depth++;
          if (v.type === "punct" && v.text === "}") depth--;
          if (depth <= 0 && (v.type === "nl" || (v.type === "punct" && v.text === ";") || v.type === "comment")) break;
          if (v.type === "word" && v.text.startsWith("$")) {
            const sub = values.get(v.text.slice(1));
            if (sub === undefined) sink.error(spanOf(v), `$${v.text.slice(1)} is not defined`, "a variable defined before its use", v.text);
            else if ((budget -= sub.length) < 0) sink.error(spanOf(v), `defines expand to more than ${MAX_EXPANSION} words; the rest is not substituted`);
            else for (const x of sub) value.push(x);
          } else if (v.type !== "nl") value.push(v);
          j++;
        }
        if (t.text === "define" && values.has(name.text)) sink.error(spanOf(name), `${name.text} is defined already (use redefine)`);
        values.set(name.text, value);
        defines.push({ name: name.text, value: joinTokens(value), span: spanOf(name) });
        i = j;
        continue;
      }
      if (t.text === "undefine" && tokens[i + 1]?.type === "word") {
        values.delete(tokens[i + 1]!.text);
        i += 2;
        continue;
      }
      if (t.text === "include" && tokens[i + 1]?.type === "string") {
        includes.push({ file: tokens[i + 1]!.value!, span: spanOf(t) });
        sink.warning(spanOf(t), `include "${tokens[i + 1]!.value}" is not followed: what it adds is missing from this ruleset`);
        i += 2;
        continue;
      }
    }
    if (t.type === "word" && t.text.startsWith("$") && t.text.length > 1) {
      const sub = values.get(t.text.slice(1));
      if (sub === undefined) {
        sink.error(spanOf(t), `$${t.text.slice(1)} is not defined`, "a variable defined before its use", t.text);
        out.push(t);
      } else if ((budget -= sub.length) < 0) {
        sink.error(spanOf(t), `defines expand to more than ${MAX_EXPANSION} words; the rest is not substituted`);
        out.push(t);
      } else {
        for (let k = 0; k < sub.length; k++) out.push({ ...sub[k]!, line: t.line, col: t.col, glued: k === 0 ? t.glued : sub[k]!.glued });
      }
      i++;
      continue;
    }
    out.push(t);
    i++;
  }
  return { tokens: out, defines, includes };
}
