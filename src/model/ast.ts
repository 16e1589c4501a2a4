/**
 * The typed AST every input format is read into. One vocabulary for iptables-save,
 * `iptables -S` and the `-L` listings: what a format cannot tell is recorded as `Unknown`
 * rather than guessed, so the evaluator can treat it as indeterminate.
 */
import type { Span } from "./span.js";

export type Family = "ipv4" | "ipv6";

export const TABLE_NAMES = ["raw", "mangle", "nat", "filter", "security"] as const;
export type TableName = (typeof TABLE_NAMES)[number];

/** Built-in chains of each table, in the order iptables-save prints them. */
export const BUILTIN_CHAINS: Record<TableName, readonly string[]> = {
  raw: ["PREROUTING", "OUTPUT"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  security: ["INPUT", "FORWARD", "OUTPUT"],
};

export function isTableName(s: string): s is TableName {
  return (TABLE_NAMES as readonly string[]).includes(s);
}

/** A value the input did not tell: a listing without `-v`, a truncated column, a K/M counter. */
export interface Unknown {
  unknown: true;
  reason: string;
}

export function unknown(reason: string): Unknown {
  return { unknown: true, reason };
}

export function isUnknown(v: unknown): v is Unknown {
  return typeof v === "object" && v !== null && (v as { unknown?: unknown }).unknown === true;
}

/** Packet and byte counters; `exact` is false when a listing rounded them (`123K`). */
export interface Counters {
  packets: bigint;
  bytes: bigint;
  exact: boolean;
}

/** `-s`/`-d`: a network with its mask, host bits already cleared as iptables does. */
export interface AddressMatch {
  negated: boolean;
  /** Network address, canonical text (`10.1.0.0`, `2001:db8::`). */
  address: string;
  /** Prefix length when the mask is contiguous, else null and `mask` holds it. */
  prefixLength: number | null;
  /** Dotted mask for non-contiguous IPv4 masks (`255.0.255.0`), else null. */
  mask: string | null;
}

/** `-L` without `-n` prints names it resolved (`anywhere` aside); we keep them unresolved. */
export interface HostnameMatch {
  negated: boolean;
  hostname: string;
  prefixLength: number | null;
}

export interface InterfaceMatch {
  negated: boolean;
  /** As written; a trailing `+` is a prefix wildcard. */
  name: string;
}

export interface ProtocolMatch {
  negated: boolean;
  /** IP protocol number; `-p all` / `-p 0` is recorded as no protocol match at all. */
  number: number;
  /** The name iptables-save prints (`tcp`, `gre`, `ipencap`), or the number as text. */
  name: string;
}

/** An option as written, before (or instead of) an extension binds it. */
export interface RawOption {
  /** With its dashes, as written: `--dport`, `-j`. */
  flag: string;
  negated: boolean;
  values: string[];
  span: Span;
}

/** A match of an extension netfate knows; `data` is typed by the extension (see registry). */
export interface ExtensionMatch<D = unknown> {
  kind: "match";
  name: string;
  data: D;
  span: Span;
}

/** A match netfate does not know: every option kept, evaluated as indeterminate. */
export interface GenericMatch {
  kind: "generic-match";
  name: string;
  options: RawOption[];
  span: Span;
}

/** Text of a listing that could not be mapped back to any match or target. */
export interface UnparsedListingText {
  kind: "unparsed";
  text: string;
  span: Span;
}

export type MatchNode = ExtensionMatch | GenericMatch | UnparsedListingText;

export type StandardVerdict = "ACCEPT" | "DROP" | "RETURN" | "QUEUE";

export interface StandardTarget {
  kind: "standard";
  verdict: StandardVerdict;
  span: Span;
}

/** `-j CHAIN` or `-g CHAIN` to a user-defined chain. */
export interface ChainTarget {
  kind: "chain";
  chain: string;
  span: Span;
}

export interface ExtensionTarget<D = unknown> {
  kind: "target";
  name: string;
  data: D;
  span: Span;
}

export interface GenericTarget {
  kind: "generic-target";
  name: string;
  options: RawOption[];
  span: Span;
}

export type TargetNode = StandardTarget | ChainTarget | ExtensionTarget | GenericTarget;

export interface Rule {
  span: Span;
  counters?: Counters;
  source?: AddressMatch | HostnameMatch | Unknown;
  destination?: AddressMatch | HostnameMatch | Unknown;
  inInterface?: InterfaceMatch | Unknown;
  outInterface?: InterfaceMatch | Unknown;
  protocol?: ProtocolMatch;
  fragment?: { negated: boolean };
  matches: MatchNode[];
  /** null: a rule without target, which only counts. */
  target: TargetNode | null;
  /** `-g`: the chain is entered without pushing a return point. */
  goto: boolean;
  /** `--line-numbers` column, when the listing had one. */
  lineNumber?: number;
}

export type Policy = "ACCEPT" | "DROP";

export interface Chain {
  name: string;
  builtin: boolean;
  /** Built-in chains only; null for user chains. Unknown when a listing truncated it. */
  policy: Policy | Unknown | null;
  counters?: Counters;
  /** `(N references)` from a listing. */
  references?: number;
  /** False when the chain was not in the input (iptables-nft: it does not exist in the kernel). */
  declared: boolean;
  /** Bound when read (`load()`), not necessarily when parsed: see chain-rules.ts. */
  rules: ChainRules;
  span: Span;
}

export interface Table {
  name: TableName;
  /** Built-in chains in hook order first, then user chains in input order. */
  chains: Chain[];
  /** How the table name was known: written in the input, given by the user, or inferred. */
  nameSource: "input" | "option" | "inferred";
  /** `# Generated by ...` line before the table, verbatim. */
  generated?: string;
  /** `# Completed on ...` line after COMMIT, verbatim. */
  completed?: string;
  committed: boolean;
  span: Span;
  /**
   * The kind of dump the table was read from, when it may differ from its ruleset's (a merge
   * of a save and a listing; src/syntax/merge.ts). It says what a built-in chain missing from
   * the table means: "save" shows a whole table, so the chain is not in the kernel
   * (iptables-nft); "S" and "list" may show some chains only, so it is not shown. Absent: the
   * ruleset's `format`.
   */
  format?: DumpFormat;
}

export type DumpFormat = "save" | "S" | "list";

/** One iptables/ip6tables dump, whatever its format. */
export interface Ruleset {
  family: Family;
  /**
   * The dump's format. A ruleset merged from several dumps (src/syntax/merge.ts) has the one
   * they share, else the one that claims least ("list", then "S"); each of its tables then
   * says its own in `Table.format`.
   */
  format: DumpFormat;
  /** iptables-nft vs iptables-legacy, from the header when the dump has one. */
  flavour: "nft" | "legacy" | "unknown";
  /** `# Warning: ...` lines that precede the tables, verbatim. */
  preamble: string[];
  tables: Table[];
}

export function findTable(rs: Ruleset, name: TableName): Table | undefined {
  return rs.tables.find((t) => t.name === name);
}

export function findChain(t: Table, name: string): Chain | undefined {
  return t.chains.find((c) => c.name === name);
}

/** What the rest of netfate needs to know of a chain without binding its rules. */
export interface ChainDigest {
  /** Number of rules. */
  count: number;
  /** Names of every match used (`-m NAME`, known or not), each once. */
  matchNames: readonly string[];
  /** Names of every extension target used (`-j DNAT`, known or not), each once. */
  targetNames: readonly string[];
  /** `-m NAME` / `-j NAME` of extensions netfate does not know, each once. */
  unknown: readonly string[];
  /**
   * Jumps and gotos to chains, in rule order, flat: 0-based rule index, chain name, rule
   * index, chain name... (a digest is kept per chain of a 100k-chain dump: no object per jump).
   */
  jumps: readonly (number | string)[];
}

export interface ChainRules {
  /** How many rules the chain has. */
  readonly count: number;
  /** What the rules use and where they jump, without binding them. */
  digest(): ChainDigest;
  /** The rules, in order; bound now when they were not yet (once: later calls give the same array). */
  load(): readonly Rule[];
  /** Whether the rules are bound already (`load()` costs nothing then). */
  loaded(): boolean;
  /** JSON shows the rules themselves. */
  toJSON(): readonly Rule[];
}
