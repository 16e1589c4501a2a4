/**
 * The stored form of one parsed rules dump (cli/cache.ts keeps them): what the lazy parser
 * keeps of an iptables-save or -S dump after reading it — tables, chains with their digests,
 * where each chain's `-A` lines are, the diagnostics and the format note — and not the rules,
 * which are bound from the text on first read exactly as after parsing (syntax/table-builder.ts).
 *
 * With each table, what compiling it finds (netfilter/compile-facts.ts: its jump check and
 * whether it turns conntrack on) and each long chain's index (cli/cache-long-chains.ts), so that
 * a further run compiles only what its packet walks. Read back, a table's chains are made when
 * first read: a packet passes a few of a dump's 40k.
 *
 * Layout: a JSON part (everything but the line records) and a binary part (each table's line
 * records, then its chains' first records, as little-endian 32-bit integers). Only a result
 * whose every table came whole from the lazy parser is stored: one with bound rules (after -I,
 * -D, -F, -X or -Z), a listing, ipsets or a dump found inside a larger text are parsed each time.
 */
import os from "node:os";
import type { Chain, ChainDigest, ChainRules, Counters, Ruleset, Table } from "../model/ast.js";
import { DiagnosticSink } from "../model/diagnostics.js";
import type { InputResult } from "../inputs.js";
import { DeferredLines, deferredChainRules, tableSource, ZERO_COUNTERS, type DumpText } from "../syntax/table-builder.js";
import { rememberChainFacts, rememberTableFacts, type ChainFacts, type TableFacts } from "../netfilter/compile-facts.js";
import { lazyList } from "../netfilter/lazy-list.js";
import { tableFacts } from "../netfilter/compile.js";
import { readLongChain, encodeLongChain, LONG_CHAIN, type StoredLongChain } from "./cache-long-chains.js";
import { BadEntry } from "./cache-errors.js";
import { ChainNames, encodeNames } from "./cache-names.js";

/** Counters as JSON holds them (bigints as decimal strings). */
interface StoredCounters {
  packets: string;
  bytes: string;
  exact: boolean;
}

/** What a chain has beyond the columns: a policy, counters other than [0:0], a listing's references. */
interface ChainExtras {
  policy?: Chain["policy"];
  counters?: StoredCounters;
  references?: number;
}

/** A table as stored: its own fields, its chains' names and extras; the rest is in the binary part. */
type StoredTable = Omit<Table, "chains"> & {
  chains: null;
  /** The chains' names, each ended by a newline (cli/cache-names.ts); their starts and hash slots are in the binary part. */
  $names: string;
  $chains: number;
  $slots: number;
  /** By chain position, for the chains that have any. */
  $extras: Record<string, ChainExtras>;
  /** Jump targets that are no chain of the table (a jump to them is an error found later). */
  $missing: string[];
  /** Line records (three numbers each) and jumps (two numbers each) in the binary part. */
  $records: number;
  $jumps: number;
  /** Lines that declared a chain some rule named before it (syntax/table-builder.ts). */
  $late: [string, number][];
  /** What compiling the table finds (netfilter/compile-facts.ts), and each long chain's index by chain position. */
  $facts: TableFacts;
  $long: Record<string, StoredLongChain>;
};

interface StoredResult {
  formatNote: string;
  diagnostics: InputResult["diagnostics"];
  format: "save" | "S";
  /** Characters before the dump's own text (byte order marks the reader skipped). */
  skipped: number;
  ruleset: Omit<Ruleset, "tables"> & { tables: StoredTable[] };
  /** The digests' name lists, each once (a dump's chains share a few). */
  lists: string[][];
}

/**
 * The numbers kept per chain in the binary part, in this order: its first line record (-1:
 * none), span line, column and length, flags, rule count, its digest's three list indexes,
 * and how many jumps it has.
 */
const CHAIN_FIELDS = 10;
const BUILTIN = 1, DECLARED = 2, ZERO = 4, HAS_POLICY = 8;


/** The stored form of `r`, read from `text`; undefined when it is not one the cache keeps. */
export function encodeResult(text: string, r: InputResult): { body: Buffer; json: number } | undefined {
  if (os.endianness() !== "LE") return undefined;
  const input = r.input;
  if (input.kind !== "rules" || (input.format !== "save" && input.format !== "S")) return undefined;
  const rs = input.ruleset;
  const sources = rs.tables.map(tableSource);
  let dump: DumpText | undefined;
  for (const s of sources) {
    if (!s) return undefined;
    if (dump && s.lines.text !== dump) return undefined;
    dump = s.lines.text;
  }
  const skipped = dump ? text.length - dump.text.length : 0;
  if (skipped < 0 || (dump && !text.endsWith(dump.text))) return undefined;
  const lists: string[][] = [];
  const listIndex = new Map<readonly string[], number>();
  const listOf = (l: readonly string[]): number => {
    let k = listIndex.get(l);
    if (k === undefined) {
      k = lists.length;
      lists.push([...l]);
      listIndex.set(l, k);
    }
    return k;
  };
  const binary: Int32Array[] = [];
  const tables = rs.tables.map((t, ti): StoredTable => {
    const src = sources[ti]!;
    // Found once here, and used by this run too (the chains are these objects).
    const facts = tableFacts(t, rs.flavour === "nft");
    rememberTableFacts(t, { facts });
    const long: Record<string, StoredLongChain> = {};
    const position = new Map<string, number>();
    t.chains.forEach((c, k) => position.set(c.name, k));
    const columns = new Int32Array(t.chains.length * CHAIN_FIELDS);
    const jumps: number[] = [];
    const missing: string[] = [];
    const extras: Record<string, ChainExtras> = {};
    t.chains.forEach((c, k) => {
      const { name: _n, builtin: _b, policy, declared: _d, rules: _r, span: _s, counters, ...rest } = c;
      if (Object.keys(rest).some((f) => f !== "references")) throw new Error(`chain ${c.name} has fields the cache does not know`);
      const d: ChainDigest = c.rules.digest();
      if (src.firsts[k]! < 0 && d.count > 0) throw new Error(`internal error: chain ${c.name} has rules but no lines`);
      const x: ChainExtras = {};
      if (policy !== null) x.policy = policy;
      if (counters && counters !== ZERO_COUNTERS) x.counters = { packets: String(counters.packets), bytes: String(counters.bytes), exact: counters.exact };
      if (c.references !== undefined) x.references = c.references;
      if (Object.keys(x).length) extras[k] = x;
      const o = k * CHAIN_FIELDS;
      columns[o] = src.firsts[k]!;
      columns[o + 1] = c.span.line;
      columns[o + 2] = c.span.col;
      columns[o + 3] = c.span.len;
      columns[o + 4] = (c.builtin ? BUILTIN : 0) | (c.declared ? DECLARED : 0) | (counters === ZERO_COUNTERS ? ZERO : 0) | (policy !== null ? HAS_POLICY : 0);
      columns[o + 5] = d.count;
      columns[o + 6] = listOf(d.matchNames);
      columns[o + 7] = listOf(d.targetNames);
      columns[o + 8] = listOf(d.unknown);
      columns[o + 9] = d.jumps.length / 2;
      if (d.count >= LONG_CHAIN) {
        const stored = encodeLongChain(c, src.lines, src.firsts[k]!, rs.family);
        if (stored) long[k] = stored;
      }
      for (let j = 0; j < d.jumps.length; j += 2) {
        const target = d.jumps[j + 1] as string;
        let at = position.get(target);
        if (at === undefined) {
          at = -1 - missing.length;
          missing.push(target);
        }
        jumps.push(d.jumps[j] as number, at);
      }
    });
    const records = src.lines.records();
    const names = encodeNames(t.chains.map((c) => c.name));
    if (!names) throw new Error("a chain name the cache cannot keep");
    binary.push(records, columns, Int32Array.from(jumps), names.starts, names.slots);
    // `chains` keeps its place among the table's fields (filled again when read).
    return { ...t, chains: null, $names: names.joined, $chains: t.chains.length, $slots: names.slots.length, $extras: extras, $missing: missing, $records: records.length / 3, $jumps: jumps.length / 2, $late: [...src.lines.declaredLate], $facts: facts, $long: long };
  });
  const stored: StoredResult = { formatNote: r.formatNote, diagnostics: r.diagnostics, format: input.format, skipped, ruleset: { ...rs, tables }, lists };
  const json = Buffer.from(JSON.stringify(stored));
  // The binary part starts at a multiple of 4, so that it can be read in place.
  const pad = (4 - (json.length % 4)) % 4;
  const ints = binary.reduce((n, a) => n + a.length, 0);
  const out = Buffer.alloc(json.length + pad + ints * 4);
  json.copy(out, 0);
  let at = json.length + pad;
  for (const a of binary) {
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, at);
    at += a.byteLength;
  }
  return { body: out, json: json.length };
}

const isProblems = (l: unknown): boolean => Array.isArray(l) && l.every((p) => p && typeof p === "object" && typeof p.table === "string" && typeof p.chain === "string" && typeof p.message === "string");

function isTableFacts(f: unknown): f is TableFacts {
  const t = f as TableFacts | undefined;
  const j = t?.jumps;
  return typeof t?.conntrack === "boolean" && !!j && isProblems(j.problems) && Array.isArray(j.loops) && j.loops.every((l) => typeof l === "string") && (j.depth === undefined || isProblems(j.depth));
}

function countersOf(s: StoredCounters): Counters {
  if (!/^[0-9]+$/.test(s.packets) || !/^[0-9]+$/.test(s.bytes)) throw new BadEntry("bad counters");
  return { packets: BigInt(s.packets), bytes: BigInt(s.bytes), exact: s.exact === true };
}

/**
 * The result `encodeResult` stored, for the input `text` (the same text: the cache's key says
 * so) of file `file`. Throws BadEntry when the stored form does not fit the text.
 */
export function decodeResult(data: Buffer, jsonBytes: number, text: string, file: string): InputResult {
  if (os.endianness() !== "LE") throw new BadEntry("written on a machine of the other byte order");
  const s = JSON.parse(data.toString("utf8", 0, jsonBytes)) as StoredResult;
  if (!s || typeof s !== "object" || !Array.isArray(s.ruleset?.tables) || !Array.isArray(s.lists)) throw new BadEntry("not a stored result");
  if (!Number.isInteger(s.skipped) || s.skipped < 0 || s.skipped > text.length || !/^\ufeff*$/.test(text.slice(0, s.skipped))) throw new BadEntry("the text does not fit");
  const dump: DumpText = { text: text.slice(s.skipped), family: s.ruleset.family, quietSink: new DiagnosticSink(file, false), spans: undefined };
  const list = (k: number): readonly string[] => {
    const l = s.lists[k];
    if (!Array.isArray(l)) throw new BadEntry("bad digest");
    return l;
  };
  // The binary part, as 32-bit integers where it lies (copied once when the buffer is not aligned).
  const start = jsonBytes + ((4 - (jsonBytes % 4)) % 4);
  if ((data.length - start) % 4 !== 0 || start > data.length) throw new BadEntry("truncated");
  const all = (data.byteOffset + start) % 4 === 0
    ? new Int32Array(data.buffer, data.byteOffset + start, (data.length - start) / 4)
    : new Int32Array(Uint8Array.prototype.slice.call(data, start).buffer);
  let at = 0;
  const take = (n: number): Int32Array => {
    if (!Number.isInteger(n) || n < 0 || at + n > all.length) throw new BadEntry("truncated");
    const a = all.subarray(at, at + n);
    at += n;
    return a;
  };
  const tables = s.ruleset.tables.map((st): Table => {
    const { $names: joined, $chains: n, $slots, $extras: extras, $missing: missing, $records, $jumps, $late, $facts: facts, $long: long, ...own } = st;
    if (typeof joined !== "string" || !Number.isInteger(n) || n < 0 || !Array.isArray(missing) || typeof extras !== "object" || !Array.isArray($late) || !isTableFacts(facts) || !long || typeof long !== "object") throw new BadEntry("bad table");
    // Copied: the records are bound from for as long as the ruleset lives.
    const records = take($records * 3).slice();
    const count = $records;
    const columns = take(n * CHAIN_FIELDS);
    const jumps = take($jumps * 2);
    // Each chain's name by position and position by name: the table's chains (DeferredLines asks
    // whether one exists), and how a compiled table finds a chain without making the others
    // (netfilter/compile.ts).
    const names = new ChainNames({ joined, starts: take(n + 1), slots: take($slots) }).check();
    const late = new Map($late);
    const lines = new DeferredLines(dump, st.name, names, late, records);
    // Everything is checked here, so that a bad entry is found while it can still be parsed
    // again; each chain is made when first read (a packet reads a few of 40k). Each check is one
    // pass over numbers: a 10k-service dump has 42k chains and 118k lines.
    if (!recordsFit(records, dump.text)) throw new BadEntry("bad line records");
    const firstJump = new Int32Array(n);
    let j = 0;
    let ruleCount = 0;
    // Marks, by list, the unknown-extension lists the chains name (a Set here cost 10 ms in a 42k-chain loop).
    const unknownLists = new Uint8Array(s.lists.length);
    for (let k = 0; k < n; k++) {
      const o = k * CHAIN_FIELDS;
      const first = columns[o]!, flags = columns[o + 4]!, rules = columns[o + 5]!, nj = columns[o + 9]!;
      ruleCount += rules;
      if (first < 0 ? first !== -1 || rules !== 0 : first >= count) throw new BadEntry("bad line records");
      if (nj < 0 || j + nj * 2 > jumps.length) throw new BadEntry("bad jumps");
      firstJump[k] = j;
      j += nj * 2;
      if (!(columns[o + 6]! >>> 0 < s.lists.length && columns[o + 7]! >>> 0 < s.lists.length && columns[o + 8]! >>> 0 < s.lists.length)) throw new BadEntry("bad digest");
      unknownLists[columns[o + 8]!] = 1;
      if (flags & HAS_POLICY && extras[k]?.policy === undefined) throw new BadEntry("bad chain");
    }
    if (j !== jumps.length) throw new BadEntry("bad jumps");
    for (let q = 1; q < jumps.length; q += 2) {
      const target = jumps[q]!;
      if (target >= n || -1 - target >= missing.length) throw new BadEntry("bad jumps");
    }
    s.lists.forEach((_, k) => list(k));
    // The few chains with more (a built-in chain's policy, counters) and the long ones, by position.
    for (const [at, x] of Object.entries(extras)) {
      const k = Number(at);
      if (!(k >= 0 && k < n) || !x || typeof x !== "object") throw new BadEntry("bad chain");
      if (x.counters && !(columns[k * CHAIN_FIELDS + 4]! & ZERO)) countersOf(x.counters);
    }
    const longFacts = new Map<number, (rules: ChainRules) => ChainFacts>();
    for (const [at, stored] of Object.entries(long)) {
      const k = Number(at);
      if (!(k >= 0 && k < n)) throw new BadEntry("bad chain index");
      const o = k * CHAIN_FIELDS;
      longFacts.set(k, readLongChain(stored, columns[o + 5]!, names.name(k), columns[o]!, records, (own) => new DeferredLines(dump, st.name, names, late, own)));
    }
    const chainAt = (k: number): Chain => {
      const o = k * CHAIN_FIELDS;
      const first = columns[o]!, flags = columns[o + 4]!, count = columns[o + 5]!, nj = columns[o + 9]!;
      const jl: (number | string)[] = new Array(nj * 2);
      for (let q = 0, at = firstJump[k]!; q < nj; q++, at += 2) {
        const target = jumps[at + 1]!;
        jl[2 * q] = jumps[at]!;
        jl[2 * q + 1] = target >= 0 ? names.name(target) : missing[-1 - target]!;
      }
      const digest: ChainDigest = { count, matchNames: list(columns[o + 6]!), targetNames: list(columns[o + 7]!), unknown: list(columns[o + 8]!), jumps: nj ? jl : NO_JUMPS };
      const x = extras[k];
      const policy = flags & HAS_POLICY ? x!.policy! : null;
      // The fields in the order the parser makes them (syntax/table-builder.ts newChain).
      const c: Chain = { name: names.name(k), builtin: (flags & BUILTIN) !== 0, policy, declared: (flags & DECLARED) !== 0, rules: deferredChainRules(lines, first, digest), span: { line: columns[o + 1]!, col: columns[o + 2]!, len: columns[o + 3]! } };
      if (flags & ZERO) c.counters = ZERO_COUNTERS;
      else if (x?.counters) c.counters = countersOf(x.counters);
      if (x?.references !== undefined) c.references = x.references;
      const long = longFacts.get(k);
      if (long) rememberChainFacts(c.rules, long(c.rules));
      return c;
    };
    const t = own as unknown as Table;
    t.chains = lazyList(n, chainAt);
    rememberTableFacts(t, { facts, positions: names });
    COUNTS.set(t, { chains: n, rules: ruleCount, unknown: [...new Set(s.lists.filter((_, k) => unknownLists[k]).flat())] });
    return t;
  });
  if (at !== all.length) throw new BadEntry("trailing data");
  const ruleset: Ruleset = { ...s.ruleset, tables };
  return { input: { kind: "rules", format: s.format, ruleset }, diagnostics: s.diagnostics, formatNote: s.formatNote };
}

const NO_JUMPS: readonly never[] = Object.freeze([]);

/** What a table read from the cache holds, counted from its stored form. */
export interface TableCounts {
  chains: number;
  /** Rules, as the chains' digests count them. */
  rules: number;
  /** Every extension name the chains' digests call unknown. */
  unknown: readonly string[];
}

const COUNTS = new WeakMap<Table, TableCounts>();

/**
 * The counts of a table read from the cache, the same as its chains' digests add up to, without
 * making its chains (`parse --summary` of a 10k-service dump would make 42k of them); undefined
 * for a table that was parsed.
 */
export function storedTableCounts(t: Table): TableCounts | undefined {
  return COUNTS.get(t);
}

/**
 * Whether every line record (start, line, next: syntax/table-builder.ts DeferredLines) starts a
 * line of `text`, and each next record comes after it: then every chain's records, from its
 * first, end, and each is a line (what DeferredLines.holds says of one chain, for all at once).
 */
function recordsFit(records: Int32Array, text: string): boolean {
  const count = records.length / 3;
  for (let at = 0; at < count; at++) {
    const start = records[at * 3]!, next = records[at * 3 + 2]!;
    if (start < 0 || start >= text.length || (start > 0 && text.charCodeAt(start - 1) !== 10)) return false;
    if (next !== -1 && (next <= at || next >= count)) return false;
  }
  return true;
}
