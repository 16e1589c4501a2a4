/**
 * `iptables -L` / `-nL` / `-nvL` / `-L -n -v -x --line-numbers` output (one table or several
 * concatenated) → the same AST as iptables-save. The fixed columns are whitespace-separated
 * words; the last column is each match's printed text followed by the target's, read back by
 * the extensions' own `parsePrint`. What a listing does not show (interfaces without -v,
 * rounded counters, names instead of addresses) is recorded as unknown, never as "any".
 */
import {
  BUILTIN_CHAINS, unknown, type AddressMatch, type Chain, type Counters, type Family, type HostnameMatch,
  type InterfaceMatch, type MatchNode, type Policy, type Rule, type Ruleset, type Table, type TableName, type TargetNode, type Unknown,
} from "../model/ast.js";
import { DiagnosticSink } from "../model/diagnostics.js";
import type { Span } from "../model/span.js";
import { findTarget, matchesByPrintPrefixAt, IPTABLES_TARGET_NAMES, targetsListedAs } from "../extensions/registry.js";
import { ListingScanner } from "../extensions/listing-scanner.js";
import type { PrintContext } from "../extensions/types.js";
import { protocolName, protocolNumber } from "../extensions/protocols.js";
import { networkAddress } from "../extensions/services.js";
import { parseAddress } from "../model/address.js";
import { cannotTellMessage, TableEvidence } from "./infer-table.js";
import { withoutBom } from "./bom.js";
import { isToolWarning, toolWarningMessage } from "./tool-warnings.js";
import { boundRules, deferredRules, digestRule, emptyDigest } from "../model/chain-rules.js";
import type { ChainRules } from "../model/ast.js";
import type { SpanMover } from "./extract.js";

export interface ListingOptions {
  family?: Family;
  table?: TableName;
  /** False binds every row while reading instead of when its chain's rules are first read (model/chain-rules.ts). */
  deferRules?: boolean;
  /** For a listing inside a larger text: moves the AST's spans to where the listing is (extract.ts). */
  spans?: SpanMover;
}

interface Columns {
  num: boolean;
  counters: boolean;
  ifaces: boolean;
  /** Where the header's `opt` starts: older ip6tables leave that column blank. */
  optAt?: number;
}

interface RawRow {
  line: number;
  text: string;
}

interface RawChain {
  name: string;
  line: number;
  policy?: Policy;
  policyCounters?: Counters;
  references?: number;
  columns: Columns;
  rows: RawRow[];
}

const STANDARD = new Set(["ACCEPT", "DROP", "RETURN", "QUEUE"]);
const SUFFIX: Record<string, bigint> = { K: 1000n, M: 1000_000n, G: 1000_000_000n, T: 1000_000_000_000n };

/** `123`, `100K`, `12M`: K/M/G/T counters lose digits, so they are not exact. */
export function parseCount(t: string): { value: bigint; exact: boolean } | undefined {
  const m = /^(\d+)([KMGT]?)$/.exec(t);
  if (!m) return undefined;
  return m[2] ? { value: BigInt(m[1]!) * SUFFIX[m[2]]!, exact: false } : { value: BigInt(m[1]!), exact: true };
}

const CHAIN_HEADER = /^\s*\\?Chain (\S+) \((?:policy (ACCEPT|DROP)(?: (\S+) packets, (\S+) bytes)?|(\d+) references)\)\s*$/;
const COLUMN_HEADER = /^\s*(num\s+)?(pkts\s+bytes\s+)?target\s+prot\s+opt\s+(in\s+out\s+)?source\s+destination\s*$/;

/** Whether the character `c` is one JavaScript's `\s` matches (the words of a row are `\S+`). */
function isSpace(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return /\s/.test(String.fromCharCode(c));
}

/** The row's words, as `text.matchAll(/\S+/g)` finds them, without a match object per word. */
export function rowWords(text: string): Array<{ w: string; start: number; end: number }> {
  const out: Array<{ w: string; start: number; end: number }> = [];
  for (let i = 0; i < text.length; ) {
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (i >= text.length) break;
    const start = i;
    while (i < text.length && !isSpace(text.charCodeAt(i))) i++;
    out.push({ w: text.slice(start, i), start, end: i });
  }
  return out;
}

/** Whether a line whose first non-space character is `c` may be a chain or column header. */
function mayBeginHeader(c: number): boolean {
  return c === 67 /* C */ || c === 92 /* \ */ || c === 110 /* n */ || c === 112 /* p */ || c === 116 /* t */;
}

export function parseListing(input: string, sink: DiagnosticSink, opts: ListingOptions = {}): Ruleset {
  const text = withoutBom(input);
  const family = opts.family ?? "ipv4";
  const groups: RawChain[][] = [[]];
  // The chain names of the last group: a search of the group per header was quadratic in chains.
  let groupNames = new Set<string>();
  let current: RawChain | undefined;
  // Line by line from the text, not from an array of its lines: a listing padded with
  // millions of blank lines keeps nothing per blank line.
  let lineNo = 0;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;
    lineNo++;
    let first = 0;
    while (first < raw.length && isSpace(raw.charCodeAt(first))) first++;
    if (first === raw.length) continue;
    if (isToolWarning(raw)) {
      const m = toolWarningMessage(raw);
      if (m) sink.warning({ line: lineNo, col: first + 1, len: raw.length - first }, m);
      continue;
    }
    // Headers begin with `Chain` (`\Chain` when markdown escaped it), `num`, `pkts` or `target`;
    // most lines are rows, and go past the three expressions below without trying them.
    if (mayBeginHeader(raw.charCodeAt(first))) {
      const h = CHAIN_HEADER.exec(raw);
      if (h) {
        const name = h[1]!;
        // A table lists each chain once: a name seen again means the next table's listing has begun.
        if (groupNames.has(name)) {
          groups.push([]);
          groupNames = new Set();
        }
        groupNames.add(name);
        current = { name, line: lineNo, columns: { num: false, counters: false, ifaces: false }, rows: [] };
        if (raw.trimStart().startsWith("\\")) sink.warning({ line: lineNo, col: 1, len: 1 }, "stray backslash before `Chain` (markdown escape) ignored");
        if (h[2]) {
          current.policy = h[2] as Policy;
          if (h[3] !== undefined) {
            const p = parseCount(h[3]);
            const b = parseCount(h[4]!);
            if (p && b) current.policyCounters = { packets: p.value, bytes: b.value, exact: p.exact && b.exact };
          }
        } else current.references = Number(h[5]);
        groups[groups.length - 1]!.push(current);
        continue;
      }
      if (/^\s*Chain \S+/.test(raw)) {
        sink.error({ line: lineNo, col: raw.indexOf("Chain") + 1, len: 5 }, "chain header not understood", "Chain NAME (policy P [N packets, M bytes]) or Chain NAME (N references)", raw.trim());
        current = undefined;
        continue;
      }
      const ch = COLUMN_HEADER.exec(raw);
      if (ch) {
        if (!current) {
          sink.error({ line: lineNo, col: 1, len: 0 }, "column header without a chain header before it", "Chain NAME (...)");
          continue;
        }
        current.columns = { num: !!ch[1], counters: !!ch[2], ifaces: !!ch[3], optAt: raw.indexOf(" opt ") + 1 };
        continue;
      }
    }
    if (current) current.rows.push({ line: lineNo, text: raw });
    else sink.error({ line: lineNo, col: first + 1, len: 0 }, "rule line outside any chain", "Chain NAME (...) header first", raw.trim().slice(0, 40));
  }

  const rs: Ruleset = { family, format: "list", flavour: "unknown", preamble: [], tables: [] };
  for (const group of groups) {
    if (group.length === 0) continue;
    const chainNames = new Set(group.map((c) => c.name));
    let name = opts.table;
    let nameSource: Table["nameSource"] = "option";
    if (!name) {
      const guess = listingEvidence(group).guess();
      const at = { line: group[0]!.line, col: 1, len: 0 };
      if (!guess.table) {
        sink.warning(at, cannotTellMessage(guess));
        continue;
      }
      name = guess.table;
      nameSource = "inferred";
      sink.info(at, `table inferred as ${name} (${guess.reason}); give --table to say which`);
    }
    const builtins = BUILTIN_CHAINS[name];
    const span0: Span = { line: group[0]!.line, col: 1, len: 0 };
    const chains: Chain[] = [];
    const read: RowReader = { family, chainNames, sink, quiet: new DiagnosticSink(sink.file, false), defer: opts.deferRules ?? true, spans: opts.spans };
    for (const b of builtins) {
      const rc = group.find((c) => c.name === b);
      chains.push(buildChain(rc, b, true, read, span0));
    }
    for (const rc of group) {
      if (builtins.includes(rc.name)) continue;
      if (rc.policy) sink.warning({ line: rc.line, col: 1, len: 0 }, `chain ${rc.name} has a policy but is not a built-in chain of table ${name}`);
      chains.push(buildChain(rc, rc.name, false, read, span0));
    }
    rs.tables.push({ name, chains, nameSource, committed: true, span: span0 });
  }
  // Everything that could report a table or a chain has: their spans can move now, with the
  // rules read whole (deferred ones move when they are read again).
  opts.spans?.move(rs.tables.map((t) => [t.span, t.chains.map((c) => (c.rules.loaded() ? [c.span, c.rules.load()] : c.span))]));
  return rs;
}

/** What a table's listing says about which table it is: its chain headers and targets. */
function listingEvidence(group: RawChain[]): TableEvidence {
  const e = new TableEvidence();
  for (const c of group) {
    if (c.policy) e.policy(c.name, c.policy);
    else e.userChain(c.name);
    // The target column comes after the rule number (--line-numbers) and the counters (-v).
    const at = (c.columns.num ? 1 : 0) + (c.columns.counters ? 2 : 0);
    for (const r of c.rows) {
      const t = rowWords(r.text)[at]?.w;
      if (t) e.target(t);
    }
  }
  return e;
}

/** What reading a table's rows needs. */
interface RowReader {
  family: Family;
  /** The chains of the table's listing: a target column naming one is a jump. */
  chainNames: Set<string>;
  sink: DiagnosticSink;
  /** For reading rows again: everything they could report was reported the first time. */
  quiet: DiagnosticSink;
  /** Whether rows are read again when the chain's rules are first read, rather than kept. */
  defer: boolean;
  /** Moves the spans of rules read again to where the listing is in a larger text. */
  spans: SpanMover | undefined;
}

/**
 * A listed chain. Its rows are read now, so that everything they report is reported; with
 * deferral, what is kept is the rows' text and a digest, and the rules are read again from the
 * rows on first use, as a dump's are (a 10k-service -nvL listing: 272 MB kept whole).
 */
function buildChain(rc: RawChain | undefined, name: string, builtin: boolean, read: RowReader, span0: Span): Chain {
  if (!rc) return { name, builtin, policy: builtin ? "ACCEPT" : null, declared: false, rules: boundRules([]), span: span0 };
  const policy = builtin ? (rc.policy ?? unknown("the listing does not show the policy")) : null;
  const span = { line: rc.line, col: 1, len: 0 };
  const c: Chain = { name, builtin, policy, declared: true, rules: NOT_YET, span };
  if (rc.policyCounters) c.counters = rc.policyCounters;
  if (rc.references !== undefined) c.references = rc.references;
  if (!read.defer) {
    c.rules = boundRules(readRows(rc, read, read.sink));
    return c;
  }
  const digest = emptyDigest();
  // Each rule digested and dropped as it is read: a chain of 10k rules kept whole until its
  // digest is done costs 14 MB of peak memory on a 10k-service listing.
  forEachRowRule(rc, read, read.sink, (r) => digestRule(digest, r));
  c.rules = deferredRules(digest, readDeferred, { rc, read });
  return c;
}

/** Reads a chain's rows in order, giving `f` each rule; rows that cannot be read are reported and left out. */
function forEachRowRule(rc: RawChain, read: RowReader, sink: DiagnosticSink, f: (r: Rule) => void): void {
  for (const row of rc.rows) {
    const r = parseRow(row, rc.columns, read.family, read.chainNames, sink);
    if (r) f(r);
  }
}

function readRows(rc: RawChain, read: RowReader, sink: DiagnosticSink): Rule[] {
  const rules: Rule[] = [];
  forEachRowRule(rc, read, sink, (r) => rules.push(r));
  return rules;
}

/** A deferred chain's rules, read again on first use: moved to where the listing is, too. */
function readDeferred(t: { rc: RawChain; read: RowReader }): Rule[] {
  const rules = readRows(t.rc, t.read, t.read.quiet);
  t.read.spans?.move(rules);
  return rules;
}

// What a chain holds until its rows are read: every chain gets its rules then.
const NOT_YET: ChainRules = boundRules(Object.freeze([]));

function addr(t: string, family: Family): AddressMatch | HostnameMatch | undefined | "any" {
  let negated = false;
  let s = t;
  if (s.startsWith("!")) {
    negated = true;
    s = s.slice(1);
  }
  if (s === "anywhere" || s === "0.0.0.0/0" || s === "::/0") return negated ? { negated, address: family === "ipv4" ? "0.0.0.0" : "::", prefixLength: 0, mask: null } : "any";
  // `-L` prints some networks by name (`loopback/8`): read them back to the address.
  const named = /^([a-z-]+)(\/\d+)$/.exec(s);
  const net = named ? networkAddress(named[1]!) : undefined;
  const p = parseAddress(net ? net + named![2] : s, family);
  if (p.ok) return { negated, ...p.value };
  const m = /^([A-Za-z0-9.-]+)(?:\/(\d+))?$/.exec(s);
  if (m && /[A-Za-z]/.test(m[1]!)) return { negated, hostname: m[1]!, prefixLength: m[2] !== undefined ? Number(m[2]) : null };
  return undefined;
}

/** An in/out column: `*` (with -n) or `any` (without) is no interface. */
function iface(t: string, numeric: boolean): InterfaceMatch | undefined {
  if (t === "*" || (!numeric && t === "any")) return undefined;
  return t.startsWith("!") ? { negated: true, name: t.slice(1) } : { negated: false, name: t };
}

function parseRow(row: RawRow, cols: Columns, family: Family, chainNames: Set<string>, sink: DiagnosticSink): Rule | undefined {
  const ws = rowWords(row.text);
  const at = (k: number): Span => ({ line: row.line, col: (ws[k]?.start ?? row.text.length) + 1, len: ws[k]?.w.length ?? 0 });
  let k = 0;
  const rule: Rule = { span: { line: row.line, col: (ws[0]?.start ?? 0) + 1, len: row.text.trim().length }, matches: [], target: null, goto: false };
  if (cols.num) {
    if (!/^\d+$/.test(ws[k]?.w ?? "")) return void sink.error(at(k), "expected the rule number", "a number", ws[k]?.w);
    rule.lineNumber = Number(ws[k]!.w);
    k++;
  }
  if (cols.counters) {
    const p = parseCount(ws[k]?.w ?? "");
    const b = parseCount(ws[k + 1]?.w ?? "");
    if (!p || !b) return void sink.error(at(p ? k + 1 : k), "expected packet and byte counters", "numbers, possibly with K, M, G or T", ws[p ? k + 1 : k]?.w);
    rule.counters = { packets: p.value, bytes: b.value, exact: p.exact && b.exact };
    k += 2;
  }
  // The target column may be empty; the opt column (--, -f, !f) tells where we are.
  const isOpt = (w: string | undefined) => w === "--" || w === "-f" || w === "!f";
  let targetWord: string | undefined;
  let opt: string;
  let prot: string;
  // ip6tables before 1.8 printed the opt column blank (IPv6 has no fragment flag to show).
  const blankOpt = family === "ipv6" && !!cols.optAt && row.text.length > cols.optAt + 3 && row.text.slice(cols.optAt, cols.optAt + 3).trim() === "";
  const beforeOpt = blankOpt ? ws.slice(k).filter((w) => w.start < cols.optAt!).length : 0;
  if (blankOpt && (beforeOpt === 1 || beforeOpt === 2)) {
    if (beforeOpt === 2) targetWord = ws[k++]!.w;
    prot = ws[k++]!.w;
    opt = "--";
  } else {
    if (isOpt(ws[k + 2]?.w)) targetWord = ws[k++]!.w;
    else if (!isOpt(ws[k + 1]?.w)) return void sink.error(at(k), "cannot find the prot and opt columns", "TARGET PROT OPT (opt is --, -f or !f)", row.text.trim().slice(0, 60));
    prot = ws[k++]!.w;
    opt = ws[k++]!.w;
  }
  const pneg = prot.startsWith("!");
  const pname = pneg ? prot.slice(1) : prot;
  const pnum = protocolNumber(pname);
  if (pnum === undefined) return void sink.error(at(k - 2), "unknown protocol", "a protocol name or number", prot);
  if (pnum !== 0 || pneg) rule.protocol = { negated: pneg, number: pnum, name: family === "ipv6" && pnum === 58 ? "ipv6-icmp" : protocolName(pnum) };
  if (opt !== "--") rule.fragment = { negated: opt === "!f" };
  // -n prints the prot column as a number (`0`, `6`); without it, as a name (`all`, `tcp`).
  const numeric = /^!?\d+$/.test(prot);
  if (cols.ifaces) {
    const i = iface(ws[k]?.w ?? "*", numeric);
    const o = iface(ws[k + 1]?.w ?? "*", numeric);
    if (i) rule.inInterface = i;
    if (o) rule.outInterface = o;
    k += 2;
  } else {
    const u: Unknown = unknown("the listing has no in/out columns (no -v)");
    rule.inInterface = u;
    rule.outInterface = { ...u };
  }
  for (const which of ["source", "destination"] as const) {
    const w = ws[k]?.w;
    const a = w === undefined ? undefined : addr(w, family);
    if (a === undefined) return void sink.error(at(k), `bad ${which} address`, "an address, ADDR/MASK, anywhere, or a host name", w);
    if (a !== "any") rule[which] = a;
    k++;
  }
  let extras = ws[k] ? row.text.slice(ws[k]!.start).replace(/\s+$/, "") : "";
  // iptables 1.8.9 prints "[goto]" last; older releases printed it before the matches.
  if (/(^|\s)\[goto\]$/.test(extras)) {
    rule.goto = true;
    extras = extras.replace(/\s*\[goto\]$/, "");
  } else if (/^\[goto\](\s|$)/.test(extras)) {
    rule.goto = true;
    extras = extras.replace(/^\[goto\]\s*/, "");
  }
  // `-L` without `-n` prints protocol names, and then ports and log levels by name too.
  const ctx: PrintContext = { family, protocol: rule.protocol, numeric };
  const extrasCol = ws[k] ? ws[k]!.start + 1 : row.text.length + 1;
  const s = new ListingScanner(extras);
  const matches: MatchNode[] = [];
  for (;;) {
    s.skipSpaces();
    if (s.done) break;
    let hit = false;
    for (const [prefix, ext] of matchesByPrintPrefixAt(s.text.charCodeAt(s.pos))) {
      if (!s.startsWith(prefix)) continue;
      const start = s.pos;
      const data = ext.parsePrint ? s.attempt(() => ext.parsePrint!(s, ctx)) : undefined;
      if (data !== undefined && s.pos > start) {
        matches.push({ kind: "match", name: ext.name, data, span: { line: row.line, col: extrasCol + start, len: s.pos - start } });
        hit = true;
        break;
      }
    }
    if (!hit) break;
  }
  rule.matches = matches;
  const rest = s.rest();
  const restCol = extrasCol + (extras.length - rest.length);
  const tspan: Span = { line: row.line, col: extrasCol, len: 0 };
  rule.target = readTarget(targetWord, rest, chainNames, ctx, tspan, rule, sink, { line: row.line, col: restCol, len: rest.length });
  return rule;
}

function readTarget(
  word: string | undefined, rest: string, chainNames: Set<string>, ctx: PrintContext, span: Span, rule: Rule, sink: DiagnosticSink, restSpan: Span,
): TargetNode | null {
  const unparsed = (text: string) => {
    if (!text) return;
    sink.warning(restSpan, `listing text not understood: ${JSON.stringify(text)}; kept as unparsed and evaluated as indeterminate`);
    rule.matches.push({ kind: "unparsed", text, span: restSpan });
  };
  if (word === undefined) {
    unparsed(rest);
    return null;
  }
  if (STANDARD.has(word) && !chainNames.has(word)) {
    unparsed(rest);
    return { kind: "standard", verdict: word as "ACCEPT", span };
  }
  if (chainNames.has(word) || (!findTarget(word, ctx.family) && !IPTABLES_TARGET_NAMES.has(word))) {
    unparsed(rest);
    return { kind: "chain", chain: word, span };
  }
  for (const ext of targetsListedAs(word, ctx.family)) {
    if (!ext.parsePrint) continue;
    const s = new ListingScanner(rest);
    const data = s.attempt(() => ext.parsePrint!(s, ctx));
    if (data !== undefined && s.done) return { kind: "target", name: ext.name, data, span };
  }
  // A target netfate does not read back: keep its text, evaluate as indeterminate.
  if (rest) sink.warning(restSpan, `-j ${word}: its listing text ${JSON.stringify(rest)} is not read back; evaluated as indeterminate`);
  return { kind: "generic-target", name: word, options: rest ? [{ flag: "(listing)", negated: false, values: [rest], span: restSpan }] : [], span };
}
