/**
 * iptables-save / restore input and `iptables -S` output → Ruleset. Reads the line structure
 * from grammar/save.ts chunk by chunk, keeps the dump's own comments, and binds each command.
 */
import type { SaveLine } from "../../grammar/save.js";
import { chunkParser } from "../../grammar/chunk-parser.js";
import { scanSaveLine } from "../../grammar/save-fast.js";
import {
  BUILTIN_CHAINS, isTableName, unknown, type Chain, type Counters, type Family, type Rule, type Ruleset, type Table, type TableName,
} from "../model/ast.js";
import { DiagnosticSink } from "../model/diagnostics.js";
import type { Span } from "../model/span.js";
import { bindCommand, type BindEnv } from "./rule-binder.js";
import { cannotTellMessage, TableEvidence } from "./infer-table.js";
import { isToolWarning, toolWarningMessage } from "./tool-warnings.js";
import { ruleSpecText } from "../print/save.js";
import { declaredBefore, deferrableChain, deferRules, digestRule, emptyDigest, type ChainDigest } from "./deferred-rules.js";
import { appendAll } from "../append-all.js";
import { withoutBom } from "./bom.js";

export interface SaveParseOptions {
  family?: Family;
  /** Table for commands outside any `*table` section (`iptables -t nat -S`). */
  table?: TableName;
  format?: "save" | "S";
  /**
   * Bind each chain's rules when they are first read (the default; see deferred-rules.ts).
   * False binds them all during parsing; the AST is the same either way.
   */
  deferRules?: boolean;
}

const CHUNK = 1 << 20;

/** Splits text into chunks that end at line boundaries, with the line number each starts at. */
export function* lineChunks(text: string, size = CHUNK): Generator<{ text: string; firstLine: number }> {
  let start = 0;
  let line = 1;
  while (start < text.length) {
    let end = Math.min(text.length, start + size);
    if (end < text.length) {
      const nl = text.indexOf("\n", end);
      end = nl < 0 ? text.length : nl + 1;
    }
    const chunk = text.slice(start, end);
    yield { text: chunk, firstLine: line };
    for (let i = chunk.indexOf("\n"); i >= 0; i = chunk.indexOf("\n", i + 1)) line++;
    start = end;
  }
}

/** Where one `-A` line of a deferred chain is: start offset, line, column, next record (-1: none). */
const REF_FIELDS = 4;

interface DeferredLines {
  first: number;
  last: number;
  digest: ChainDigest;
}

class TableBuilder {
  readonly chains = new Map<string, Chain>();
  readonly table: Table;
  /**
   * Whether `-A` lines are recorded for binding on first read (deferred-rules.ts) rather than
   * kept bound. Turned off for good, after binding what was deferred, by the first command
   * that reads or changes a chain's rules (-I, -D, -F, -X, -Z): those see bound rules.
   */
  deferring: boolean;
  private refs = new Int32Array(0);
  private refCount = 0;
  readonly deferred = new Map<Chain, DeferredLines>();
  private lastChain: Chain | undefined;
  private lastLines: DeferredLines | undefined;

  /**
   * `policy`: a built-in chain's policy until a line states it. iptables-restore gives a table
   * section's built-in chains ACCEPT; `-S` output states every policy with `-P`, so lines
   * without one are a fragment and the policy is not known.
   */
  constructor(name: TableName, nameSource: Table["nameSource"], span: Span, deferring: boolean, policy: Chain["policy"] = "ACCEPT") {
    this.table = { name, chains: [], nameSource, committed: false, span };
    this.deferring = deferring;
    for (const c of BUILTIN_CHAINS[name]) this.chains.set(c, this.newChain(c, true, policy, false, span));
  }

  /** A chain for this table: one whose rules can be deferred while the table defers them. */
  newChain(name: string, builtin: boolean, policy: Chain["policy"], declared: boolean, span: Span): Chain {
    if (this.deferring) return deferrableChain(name, builtin, policy, declared, span);
    return { name, builtin, policy, declared, rules: [], span };
  }

  /** Records that the `-A` line at `start` (line, col) added `rules` to chain `c`. */
  defer(c: Chain, start: number, line: number, col: number, rules: Rule[]): void {
    if (this.refCount * REF_FIELDS === this.refs.length) {
      const grown = new Int32Array(Math.max(64, this.refs.length * 2));
      grown.set(this.refs);
      this.refs = grown;
    }
    const at = this.refCount++;
    const o = at * REF_FIELDS;
    this.refs[o] = start;
    this.refs[o + 1] = line;
    this.refs[o + 2] = col;
    this.refs[o + 3] = -1;
    // A dump lists a chain's rules together: most lines add to the chain of the line before.
    let d = c === this.lastChain ? this.lastLines : this.deferred.get(c);
    if (!d) {
      d = { first: at, last: at, digest: emptyDigest() };
      this.deferred.set(c, d);
    } else {
      this.refs[d.last * REF_FIELDS + 3] = at;
      d.last = at;
    }
    this.lastChain = c;
    this.lastLines = d;
    for (const r of rules) digestRule(d.digest, r);
  }

  /** Calls `f` with each recorded line of a deferred chain, in order. */
  forEachLine(d: DeferredLines, f: (start: number, line: number, col: number) => void): void {
    for (let at = d.first; at >= 0; at = this.refs[at * REF_FIELDS + 3]!) {
      const o = at * REF_FIELDS;
      f(this.refs[o]!, this.refs[o + 1]!, this.refs[o + 2]!);
    }
  }

  /** Whether chain `name` existed when line `line` was read (for binding it again later). */
  existedAt(name: string, line: number): boolean {
    const c = this.chains.get(name);
    return c !== undefined && declaredBefore(c, line);
  }

  finish(): Table {
    const builtin = BUILTIN_CHAINS[this.table.name];
    const user = [...this.chains.values()].filter((c) => !builtin.includes(c.name));
    this.table.chains = [...builtin.map((n) => this.chains.get(n)!), ...user];
    return this.table;
  }
}

const KEPT_POLICY = "`-` keeps the policy the chain had before the restore; the dump does not say it";

function flavourOf(comment: string): Ruleset["flavour"] | undefined {
  if (!/^#\s*Generated by/.test(comment)) return undefined;
  if (/nf_tables|iptables-nft|xtables-save/.test(comment)) return "nft";
  // Every other header is legacy: before 1.8 there was no other backend, and 1.8's legacy
  // iptables-save names none ("# Generated by iptables-save v1.8.9 on ...", asked of 1.8.9).
  return "legacy";
}

// Most chains of a big dump say [0:0]; counters are never changed in place, so they share one.
const ZERO_COUNTERS: Counters = Object.freeze({ packets: 0n, bytes: 0n, exact: true });

function counters(text: string | undefined): Counters | undefined {
  if (!text) return undefined;
  if (text === "[0:0]") return ZERO_COUNTERS;
  const m = /^\[([0-9]+):([0-9]+)\]$/.exec(text);
  return m ? { packets: BigInt(m[1]!), bytes: BigInt(m[2]!), exact: true } : undefined;
}

export function parseSaveDump(input: string, sink: DiagnosticSink, opts: SaveParseOptions = {}): Ruleset {
  const text = withoutBom(input);
  const family: Family = opts.family ?? "ipv4";
  const rs: Ruleset = { family, format: opts.format ?? "save", flavour: "unknown", preamble: [], tables: [] };
  let current: TableBuilder | undefined;
  // Lines outside any *table (`-S` output, hand-written fragments) are bound once the input is
  // read, when their table is known: it decides which chains are built in. Until then only
  // where each is (start, line, column) and what the table guess needs are kept.
  let looseSpan: Span | undefined;
  const looseAt: number[] = [];
  const evidence = new TableEvidence();
  const holdLoose = (l: SaveLine, span: Span) => {
    looseSpan ??= span;
    looseAt.push(lineStart, l.line, l.col);
    if (!opts.table) evidence.add(l);
  };
  let pendingGenerated: string | undefined;
  let lastClosed: Table | undefined;
  const done: TableBuilder[] = [];
  const deferring = opts.deferRules ?? true;
  const binders = new WeakMap<TableBuilder, (d: DeferredLines) => Rule[]>();
  const quietSink = new DiagnosticSink(sink.file, false);
  // Where the line being read starts in `text`: a deferred rule is found again by it.
  let lineStart = 0;

  const close = (b: TableBuilder) => {
    for (const [c, d] of b.deferred) deferRules(c, d.digest, bindDeferredOf(b), d);
    b.deferred.clear();
    const t = b.finish();
    const dup = done.findIndex((d) => d.table.name === t.name);
    if (dup >= 0) {
      sink.warning(t.span, `table ${t.name} appears again (first on line ${done[dup]!.table.span.line}); the later one replaces the earlier, as iptables-restore does (checked: both backends)`);
      done.splice(dup, 1);
    }
    done.push(b);
    lastClosed = t;
  };

  // One binding environment per table, reused for every line: a 100k-rule dump is a hot loop.
  const envs = new WeakMap<TableBuilder, BindEnv>();
  const envFor = (b: TableBuilder) => {
    let e = envs.get(b);
    if (!e) {
      const chains = b.chains;
      e = { family, table: b.table.name, sink, line: 0, isChain: (n: string) => chains.has(n), jumpsMustExist: b.table.nameSource === "input" };
      envs.set(b, e);
    }
    return e;
  };
  let lastChain: Chain | undefined;
  let lastBuilder: TableBuilder | undefined;
  const applyCommand = (b: TableBuilder, l: Extract<SaveLine, { kind: "command" }>) => {
    const env = envFor(b);
    env.line = l.line;
    const cmd = bindCommand(l.args, env, l.counters ? counters(l.counters.value) : undefined);
    if (!cmd) return;
    const span = cmd.span;
    const chainFor = (name: string, create: boolean): Chain | undefined => {
      // Dumps list a chain's rules together: the chain of the line before is the likely one,
      // and comparing two short strings is cheaper than a lookup in a map of 100k chains.
      let c = lastChain !== undefined && lastBuilder === b && lastChain.name === name ? lastChain : b.chains.get(name);
      if (!c && create) {
        sink.warning(span, `chain ${name} was not declared in table ${b.table.name}; declared implicitly`);
        c = b.newChain(name, false, null, true, span);
        b.chains.set(name, c);
      }
      if (c) {
        c.declared = true;
        lastChain = c;
        lastBuilder = b;
      }
      return c;
    };
    if (b.deferring && cmd.kind !== "append" && cmd.kind !== "new-chain" && cmd.kind !== "policy") {
      for (const [c, d] of b.deferred) appendAll(c.rules, bindDeferred(b, d));
      b.deferred.clear();
      b.deferring = false;
    }
    switch (cmd.kind) {
      case "append": {
        const c = chainFor(cmd.chain, true)!;
        if (b.deferring) b.defer(c, lineStart, l.line, l.col, cmd.rules);
        else appendAll(c.rules, cmd.rules);
        break;
      }
      case "insert": {
        const c = chainFor(cmd.chain, true)!;
        if (cmd.position > c.rules.length + 1) sink.error(span, `-I ${cmd.chain} ${cmd.position}: the chain has only ${c.rules.length} rules`);
        else c.rules = [...c.rules.slice(0, cmd.position - 1), ...cmd.rules, ...c.rules.slice(cmd.position - 1)];
        break;
      }
      case "delete": {
        const c = chainFor(cmd.chain, false);
        if (!c) {
          sink.error(span, `-D: no chain ${cmd.chain}`);
          break;
        }
        if (cmd.position !== undefined) {
          if (cmd.position < 1 || cmd.position > c.rules.length) sink.error(span, `-D ${cmd.chain} ${cmd.position}: no such rule`);
          else c.rules.splice(cmd.position - 1, 1);
          break;
        }
        for (const r of cmd.rules) {
          const want = ruleSpecText(r, family);
          const at = c.rules.findIndex((x) => ruleSpecText(x, family) === want);
          if (at < 0) sink.error(span, `-D ${cmd.chain}: no rule${want} in the chain`);
          else c.rules.splice(at, 1);
        }
        break;
      }
      case "new-chain":
        if (b.chains.has(cmd.chain)) sink.warning(span, `chain ${cmd.chain} already exists`);
        else b.chains.set(cmd.chain, b.newChain(cmd.chain, false, null, true, span));
        break;
      case "policy": {
        const c = b.chains.get(cmd.chain);
        if (!c || !c.builtin) sink.error(span, `-P: ${cmd.chain} is not a built-in chain of table ${b.table.name}`, BUILTIN_CHAINS[b.table.name].join(", "), cmd.chain);
        else if (cmd.policy !== "ACCEPT" && cmd.policy !== "DROP") sink.error(span, "bad policy", "ACCEPT or DROP", cmd.policy);
        // Refused by both restore tools (1.8.9) in a *nat section, though `:PREROUTING DROP` is
        // not: a kernel can have it, and `iptables -S` then prints `-P PREROUTING DROP`.
        else if (cmd.policy === "DROP" && b.table.name === "nat" && b.table.nameSource === "input") sink.error(span, `-P ${cmd.chain} DROP is refused in the nat table (it is not intended for filtering)`, "ACCEPT", cmd.policy);
        else {
          c.policy = cmd.policy;
          c.declared = true;
          if (cmd.counters) c.counters = cmd.counters;
        }
        break;
      }
      case "flush":
        for (const c of b.chains.values()) if (!cmd.chain || c.name === cmd.chain) c.rules = [];
        break;
      case "delete-chain":
        lastChain = undefined;
        for (const [n, c] of [...b.chains]) if (!c.builtin && (!cmd.chain || n === cmd.chain)) b.chains.delete(n);
        break;
      case "zero":
        for (const c of b.chains.values()) {
          if (cmd.chain && c.name !== cmd.chain) continue;
          delete c.counters;
          for (const r of c.rules) delete r.counters;
        }
        break;
    }
  };

  const handleLine = (l: SaveLine) => {
    switch (l.kind) {
      case "comment": {
        const f = flavourOf(l.text);
        if (f) {
          if (rs.flavour === "unknown") rs.flavour = f;
          pendingGenerated = l.text;
        } else if (/^#\s*Completed/.test(l.text) && lastClosed && !lastClosed.completed) {
          lastClosed.completed = l.text;
        } else if (isToolWarning(l.text)) {
          if (rs.tables.length === 0 && !current && done.length === 0) rs.preamble.push(l.text);
          const m = toolWarningMessage(l.text);
          if (m) sink.warning({ line: l.line, col: l.col, len: l.text.length }, m);
        }
        return;
      }
      case "table": {
        const span = { line: l.line, col: l.col, len: l.name.length + 1 };
        if (l.extra.length) sink.error({ line: l.line, col: l.extra[0]!.col, len: 0 }, "unexpected text after the table name", "end of line", l.extra[0]!.value);
        if (current) {
          sink.error(span, `table ${current.table.name} was not closed with COMMIT before *${l.name}`, "COMMIT");
          close(current);
        }
        if (!isTableName(l.name)) {
          sink.error(span, `unknown table ${l.name}`, "raw, mangle, nat, filter or security", l.name);
          current = undefined;
          return;
        }
        current = new TableBuilder(l.name, "input", span, deferring);
        if (pendingGenerated) current.table.generated = pendingGenerated;
        pendingGenerated = undefined;
        return;
      }
      case "chain": {
        const span = { line: l.line, col: l.col, len: l.name.length + 1 };
        if (!current) {
          holdLoose(l, span);
          return;
        }
        const b = current;
        if (l.name.length > 28) sink.error(span, `chain name ${l.name} is longer than 28 characters`);
        const [pol, cnt, ...extra] = l.args;
        if (!pol) {
          sink.error({ line: l.line, col: l.col + l.name.length + 1, len: 0 }, "chain declaration needs a policy", "ACCEPT, DROP or -");
          return;
        }
        if (extra.length) sink.error({ line: l.line, col: extra[0]!.col, len: 0 }, "unexpected text after the chain counters", "end of line", extra[0]!.value);
        let cn: Counters | undefined;
        if (cnt) {
          cn = counters(cnt.value);
          if (!cn) sink.error({ line: l.line, col: cnt.col, len: cnt.raw.length }, "bad chain counters", "[packets:bytes]", cnt.value);
        }
        const builtin = BUILTIN_CHAINS[b.table.name].includes(l.name);
        if (builtin) {
          if (pol.value !== "ACCEPT" && pol.value !== "DROP" && pol.value !== "-") {
            sink.error({ line: l.line, col: pol.col, len: pol.raw.length }, `bad policy for built-in chain ${l.name}`, "ACCEPT, DROP or -", pol.value);
            return;
          }
          const c = b.chains.get(l.name)!;
          // `-` is accepted by both restore tools (1.8.9, checked in a netns): legacy keeps the
          // policy the kernel had, nft keeps it with --noflush and resets it to ACCEPT without.
          c.policy = pol.value === "-" ? unknown(KEPT_POLICY) : pol.value;
          c.declared = true;
          c.span = span;
          if (cn) c.counters = cn;
        } else {
          if (pol.value !== "-") sink.error({ line: l.line, col: pol.col, len: pol.raw.length }, `user chain ${l.name} cannot have a policy`, "-", pol.value);
          if (b.chains.has(l.name)) {
            sink.warning(span, `chain ${l.name} declared twice`);
            return;
          }
          const c = b.newChain(l.name, false, null, true, span);
          if (cn) c.counters = cn;
          b.chains.set(l.name, c);
        }
        return;
      }
      case "commit":
        if (l.extra.length) sink.error({ line: l.line, col: l.extra[0]!.col, len: 0 }, "unexpected text after COMMIT", "end of line", l.extra[0]!.value);
        if (!current) {
          sink.error({ line: l.line, col: l.col, len: 6 }, "COMMIT outside a table", "*TABLE before");
          return;
        }
        current.table.committed = true;
        close(current);
        current = undefined;
        return;
      case "command": {
        if (current) applyCommand(current, l);
        else holdLoose(l, { line: l.line, col: l.col, len: 0 });
        return;
      }
    }
  };

  let lineNo = 1;
  for (let start = 0; start < text.length; lineNo++) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    lineStart = start;
    readLine(start, end, lineNo, sink, handleLine);
    start = end + 1;
  }
  if (current) {
    sink.error(current.table.span, `table ${current.table.name} has no COMMIT`, "COMMIT");
    close(current);
  }
  let name = opts.table;
  if (looseSpan && !name) {
    const inferred = evidence.guess();
    if (inferred.table) sink.info(looseSpan, `table inferred as ${inferred.table} (${inferred.reason}); give --table to say which`);
    else sink.warning(looseSpan, cannotTellMessage(inferred));
    name = inferred.table;
  }
  if (looseSpan && name) {
    const b = new TableBuilder(name, opts.table ? "option" : "inferred", looseSpan, deferring, unknown("the input has no -P line for it (`iptables -S` prints one for every built-in chain)"));
    for (let k = 0; k < looseAt.length; k += 3) {
      lineStart = looseAt[k]!;
      readAgain(lineStart, looseAt[k + 1]!, looseAt[k + 2]!, (l) => {
        if (l.kind === "command") applyCommand(b, l);
        else handleLooseChain(b, l);
      });
    }
    close(b);
  }
  rs.tables = done.map((d) => d.table);
  return rs;

  /** The lines of text[start, end): the fast scanner's reading, or the grammar's where it declines. */
  function readLine(start: number, end: number, line: number, to: DiagnosticSink, f: (l: SaveLine) => void): void {
    const fast = scanSaveLine(text, start, end, line);
    if (fast) f(fast);
    else if (fast === undefined) {
      const { lines, errors } = chunkParser()(text.slice(start, end), line);
      for (const e of errors) to.error({ line: e.line, col: e.col, len: 1 }, e.message);
      for (const l of lines) f(l);
    }
  }

  /** Binds the recorded `-A` lines of a deferred chain again, as they were bound when read. */
  /**
   * The line read before at `start` (numbered `line`), read again: `f` gets what starts at
   * column `col`. Everything reading it could report was reported the first time.
   */
  function readAgain(start: number, line: number, col: number, f: (l: SaveLine) => void): void {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    readLine(start, end, line, quietSink, (l) => {
      if (l.col === col) f(l);
    });
  }

  function bindDeferred(b: TableBuilder, d: DeferredLines): Rule[] {
    // Binding reports nothing new either. One sink for all chains: a new one per chain cost a
    // set of reporters each (rule-binder.ts).
    const env = { family, table: b.table.name, sink: quietSink, line: 0, isChain: (n: string) => b.existedAt(n, env.line) };
    const rules: Rule[] = [];
    b.forEachLine(d, (start, line, col) => {
      readAgain(start, line, col, (l) => {
        if (l.kind !== "command") return;
        env.line = line;
        const cmd = bindCommand(l.args, env, l.counters ? counters(l.counters.value) : undefined);
        if (cmd?.kind === "append") for (const r of cmd.rules) rules.push(r);
      });
    });
    // Most chains are short: an array of exactly their size, not one with room to grow.
    return rules.length < 16 ? rules.slice() : rules;
  }

  /** One binding function per table for all its deferred chains. */
  function bindDeferredOf(b: TableBuilder): (d: DeferredLines) => Rule[] {
    let f = binders.get(b);
    if (!f) {
      f = (d) => bindDeferred(b, d);
      binders.set(b, f);
    }
    return f;
  }

  function handleLooseChain(b: TableBuilder, l: SaveLine): void {
    const saved = current;
    current = b;
    handleLine(l);
    current = saved;
  }
}

export type { Rule };
