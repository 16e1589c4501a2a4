/**
 * Binding again, on a chain's first read, an `-A` line of one of the shapes the fast path knows
 * (fast-append.ts): the rule is built from where `scanAppend` found its words, without the
 * line's words being read into objects and matched to options one by one. It is the rule the
 * binder (rule-binder.ts) makes of the line, field for field and in the same order (what a
 * printed or JSON rule shows): the options each extension is given are those the binder would
 * give it, and the extension's own `parse` makes its data. Anything not exactly so is declined
 * and bound by the binder. Held to it by test/property/fast-append.test.ts.
 *
 * Only for binding again, where nothing is reported (the line was read and checked when parsed).
 */
import type { AddressMatch, MatchNode, ProtocolMatch, RawOption, Rule, TableName, TargetNode } from "../model/ast.js";
import { BUILTIN_CHAINS, isTableName } from "../model/ast.js";
import type { Span } from "../model/span.js";
import type { BindContext, MatchExtension, TargetExtension } from "../extensions/types.js";
import { findMatch, findTarget } from "../extensions/registry.js";
import { parseAddress } from "../model/address.js";
import { protocolName } from "../extensions/protocols.js";
import { sinkReporters, type BindEnv } from "./rule-binder.js";
import { DNAT, FAST_MATCH_NAMES, fastJumpable, JUMP, OPTION_FIELDS, scanAppend, VERDICT, type AppendWords } from "./fast-append.js";

/** The extensions of the fast path's matches, by code, and DNAT: looked up once. */
let extensions: { matches: MatchExtension<unknown>[]; dnat: TargetExtension<unknown> } | undefined;

function known(): NonNullable<typeof extensions> {
  return (extensions ??= {
    matches: FAST_MATCH_NAMES.map((n) => findMatch(n, "ipv4")!),
    dnat: findTarget("DNAT", "ipv4")!,
  });
}

/** Where the word at `at` of the line starting at `lineStart` is, as the binder says it (`len`: the word's length). */
function spanOf(line: number, lineStart: number, at: number, len: number): Span {
  return { line, col: at - lineStart + 1, len };
}

/** The value text[s, e) as the scanner reads it: a comment's quotes hold no escape (fast-append.ts), so they are only dropped. */
function valueOf(text: string, s: number, e: number): string {
  return text.charCodeAt(s) === 34 ? text.slice(s + 1, e - 1) : text.slice(s, e);
}

/** The flag at `at` (up to the next space) and its value text[s, e), as one option. */
function option(text: string, line: number, lineStart: number, at: number, s: number, e: number): RawOption {
  const flagEnd = text.indexOf(" ", at);
  return { flag: text.slice(at, flagEnd), negated: false, values: [valueOf(text, s, e)], span: spanOf(line, lineStart, at, flagEnd - at) };
}

function address(text: string, s: number, negated: boolean, e: number): AddressMatch | undefined {
  const p = parseAddress(text.slice(s, e), "ipv4");
  if (!p.ok) return undefined;
  return { negated, address: p.value.address, prefixLength: p.value.prefixLength, mask: p.value.mask };
}

function matchNodes(text: string, w: AppendWords, line: number, lineStart: number, ctx: BindContext): MatchNode[] | undefined {
  const { matches } = known();
  const nodes = new Array<MatchNode>(w.matchCount);
  for (let k = 0; k < w.matchCount; k++) {
    const o = k * OPTION_FIELDS;
    const f = w.options;
    const ext = matches[f[o]!]!;
    const span = spanOf(line, lineStart, f[o + 1]!, 2);
    const options: RawOption[] = [];
    for (let p = o + 2; p < o + 8 && f[p]! >= 0; p += 3) options.push(option(text, line, lineStart, f[p]!, f[p + 1]!, f[p + 2]!));
    const data = ext.parse(options, ctx, span);
    if (data === undefined) return undefined;
    nodes[k] = { kind: "match", name: ext.name, data, span };
  }
  return nodes;
}

function targetNode(text: string, w: AppendWords, line: number, lineStart: number, ctx: BindContext, table: TableName): TargetNode | null | undefined {
  const span = spanOf(line, lineStart, w.jumpAt, 2);
  const word = text.slice(w.targetStart, w.targetEnd);
  if (w.target === VERDICT) return { kind: "standard", verdict: word as "ACCEPT", span };
  if (w.target === JUMP) {
    if (BUILTIN_CHAINS[table].includes(word) || !fastJumpable(word, false)) return undefined;
    return { kind: "chain", chain: word, span };
  }
  if (w.target !== DNAT) return null;
  const { dnat } = known();
  const data = dnat.parse([option(text, line, lineStart, w.toAt, w.toStart, w.toEnd)], ctx, span);
  return data === undefined ? undefined : { kind: "target", name: dnat.name, data, span };
}

/**
 * The rule of the `-A` line text[start, end), numbered `line`, in `env`'s table, when the fast
 * path knows its shape; undefined when the binder must bind it. `start` is where the line starts.
 */
export function fastRule(text: string, start: number, end: number, line: number, env: BindEnv): Rule | undefined {
  const table = env.table;
  if (env.family !== "ipv4" || table === undefined || !isTableName(table)) return undefined;
  const w = scanAppend(text, start, end, table);
  if (!w) return undefined;
  // A jump to a chain not declared yet is the binder's to report.
  if (w.target === JUMP && env.jumpsMustExist && !env.isChain(text.slice(w.targetStart, w.targetEnd))) return undefined;
  const proto: ProtocolMatch | undefined = w.proto === 0 ? undefined : { negated: false, number: w.proto, name: protocolName(w.proto) };
  const reporters = sinkReporters(env.sink);
  const ctx: BindContext = { family: "ipv4", protocol: proto, table, error: reporters.error, warning: reporters.warning };
  const matches = matchNodes(text, w, line, start, ctx);
  if (!matches) return undefined;
  const target = targetNode(text, w, line, start, ctx, table);
  if (target === undefined) return undefined;
  const rule: Rule = { span: spanOf(line, start, start, 2), matches, target, goto: false };
  if (w.srcStart >= 0) {
    const s = address(text, w.srcStart, w.srcNegated, w.srcEnd);
    if (!s) return undefined;
    // iptables drops 0.0.0.0/0 unless negated.
    if (s.prefixLength !== 0 || s.negated) rule.source = s;
  }
  if (w.dstStart >= 0) {
    const d = address(text, w.dstStart, w.dstNegated, w.dstEnd);
    if (!d) return undefined;
    if (d.prefixLength !== 0 || d.negated) rule.destination = d;
  }
  if (proto) rule.protocol = proto;
  return rule;
}
