/**
 * Rulesets prepared for evaluation: addresses as numbers, jump targets resolved, extensions
 * looked up once, and large chains indexed by destination address and port so a packet only
 * visits the rules that can match it — the kernel walks every rule, but which rules can match
 * is decided by the same tests, so no verdict changes (test/property/evaluator-laws.test.ts).
 */
import {
  isUnknown, type Chain, type ExtensionMatch, type Family, type Rule, type Ruleset, type Table, type TableName, type Policy,
} from "../model/ast.js";
import type { ChainDigest } from "../model/ast.js";
import { findMatch, findTarget, matchNeedsConntrack, targetNeedsConntrack, useNeedsConntrack } from "../extensions/registry.js";
import type { MatchExtension, TargetExtension } from "../extensions/types.js";
import { ipKey, ipToNum, maskFromPrefix, type NetTest } from "../model/address.js";
import { knownChainFacts, knownTable, type ChainIndex, type CompileProblem, type JumpFacts, type TableFacts } from "./compile-facts.js";

// Defined beside what a cache keeps of them (compile-facts.ts), which must not import this module.
export type { ChainIndex, CompileProblem };
import { LazyMap, lazyList } from "./lazy-list.js";
import { chainPositions, jumpFacts } from "./jump-graph.js";
import { tableJumps } from "../model/table-jumps.js";
import { chainLines, type ChainLines } from "./chain-lines.js";

export type AddrCheck = NetTest | { indeterminate: string };
export type IfaceCheck = { name: string; prefix: boolean; negated: boolean } | { indeterminate: string };

export type CompiledTarget =
  | { kind: "none" }
  | { kind: "standard"; verdict: "ACCEPT" | "DROP" | "RETURN" | "QUEUE" }
  | ChainTarget
  | { kind: "extension"; ext: TargetExtension<any>; data: unknown; name: string }
  | { kind: "unknown"; name: string };

/**
 * A jump or goto. `resolved` is the target chain once the walker has looked it up in its table
 * (null: the table lacks it), and `loop` whether it is part of a jump loop: kept on the rule so
 * a packet's jump costs no lookup in a table of tens of thousands of chains.
 */
export interface ChainTarget {
  kind: "chain";
  chain: string;
  goto: boolean;
  resolved?: CompiledChain | null;
  loop?: boolean;
  /** `JUMP CHAIN` / `GOTO CHAIN`, as its steps say it (made once). */
  verdictText?: string;
}

/** A rule's match; `position`: its place among the rule's matches (what a trace's words and an undecided condition's key name). */
export type CompiledMatch =
  | {
    kind: "extension"; ext: MatchExtension<any>; node: ExtensionMatch; position: number;
    /** `node.data`, kept here: a rule test reads it without going through the node. */
    data: unknown;
  }
  | { kind: "unknown"; reason: string; /** The condition as the rule writes it. */ text: string; position: number };

export interface CompiledRule {
  /** 0-based position in the chain; the trace prints index + 1. */
  index: number;
  rule: Rule;
  src?: AddrCheck;
  dst?: AddrCheck;
  inIface?: IfaceCheck;
  outIface?: IfaceCheck;
  proto?: { number: number; negated: boolean };
  fragment?: { negated: boolean };
  matches: CompiledMatch[];
  /** The matches a walk tests, in order: `matches` less those every packet matches (`-m comment`). */
  checks: CompiledMatch[];
  target: CompiledTarget;
}

export interface CompiledChain {
  name: string;
  table: TableName;
  builtin: boolean;
  policy: Policy | null;
  /** Why the policy is not known (a listing that cut it, `:INPUT -` in a restore file): reaching it is indeterminate. */
  policyUnknown?: string;
  /** False when the dump did not have it (iptables-nft: no such chain, no policy line). */
  declared: boolean;
  /** Rule count, extensions and jumps, known without binding or compiling a rule. */
  readonly digest: ChainDigest;
  rules: CompiledRule[];
  index?: ChainIndex;
  /**
   * How many rules from its top a walk that goes by the index tries one by one before reading
   * it (absent or 0: none): one still to be read from 10k lines' text costs more than trying
   * the first rules, where a packet for the first services leaves the chain.
   */
  readonly tryFirst?: number;
}

export interface CompiledTable {
  name: TableName;
  chains: Map<string, CompiledChain>;
  /**
   * The whole table as the kernel has it (an iptables-save dump that reached COMMIT): a chain it
   * lacks does not exist. Otherwise (-S or -L output, a cut paste) a chain it lacks is not shown.
   */
  complete: boolean;
}

export interface CompiledRuleset {
  family: Family;
  tables: Map<TableName, CompiledTable>;
  problems: CompileProblem[];
  /** Chains that are part of a jump loop: entering them is an error, never a hang. */
  loops: Set<string>;
  /**
   * Whether conntrack runs at all. The kernel enables it in a network namespace only when a
   * rule needs it (an extension whose `needsConntrack` says so); without it the nat
   * chains are never consulted (pinned in test/kernel/pinned.test.ts).
   */
  conntrackActive: boolean;
  /** Every table came from a whole dump: a table the inputs lack is one the kernel does not have. */
  complete: boolean;
  /**
   * The iptables-legacy tables of a node whose iptables-nft tables are these: the kernel runs
   * both backends, each table at its priority (given as an iptables-legacy-save and an
   * iptables-nft-save dump, each header saying which).
   */
  legacy?: CompiledRuleset;
}

/**
 * What a digest's list of extension names says of conntrack: true (one of them turns it on),
 * "depends" (one decides by its options) or false. Digests share their lists (model/chain-rules.ts):
 * a dump's 40k chains use a few dozen, each looked at once.
 */
const MATCH_LISTS = new WeakMap<readonly string[], boolean | "depends">();
const TARGET_LISTS = new WeakMap<readonly string[], boolean | "depends">();

function listNeedsConntrack(names: readonly string[], kind: "match" | "target"): boolean | "depends" {
  const seen = kind === "match" ? MATCH_LISTS : TARGET_LISTS;
  let v = seen.get(names);
  if (v === undefined) {
    const each = names.map(kind === "match" ? matchNeedsConntrack : targetNeedsConntrack);
    v = each.includes(true) ? true : each.includes("depends") ? "depends" : false;
    seen.set(names, v);
  }
  return v;
}

/** Whether a chain's rules make the kernel enable conntrack; only a chain using an extension whose options decide it is read rule by rule. */
function needsConntrack(chain: Chain): boolean {
  const d = chain.rules.digest();
  const m = listNeedsConntrack(d.matchNames, "match");
  const t = listNeedsConntrack(d.targetNames, "target");
  if (m === true || t === true) return true;
  if (m !== "depends" && t !== "depends") return false;
  return chain.rules.load().some((r) => {
    for (const x of r.matches) {
      if (x.kind === "match" && useNeedsConntrack("match", x.name, x.data)) return true;
      if (x.kind === "generic-match" && useNeedsConntrack("match", x.name, undefined)) return true;
    }
    const tg = r.target;
    if (tg?.kind === "target") return useNeedsConntrack("target", tg.name, tg.data);
    return tg?.kind === "generic-target" && useNeedsConntrack("target", tg.name, undefined);
  });
}

/** Chains at least this long get an index; shorter ones are walked rule by rule. */
const INDEX_THRESHOLD = 16;

function compileAddr(a: Rule["source"], family: Family): AddrCheck | undefined {
  if (!a) return undefined;
  if (isUnknown(a)) return { indeterminate: `the dump does not show the address (${a.reason})` };
  if ("hostname" in a) return { indeterminate: `address given as the name ${a.hostname}, which netfate does not resolve` };
  const net = ipToNum(a.address, family);
  let mask = a.prefixLength !== null ? maskFromPrefix(a.prefixLength, family) : a.mask ? ipToNum(a.mask, family) : undefined;
  if (net === undefined || mask === undefined) return { indeterminate: `unreadable address ${a.address}` };
  return { net, mask, negated: a.negated };
}

function compileIface(i: Rule["inInterface"]): IfaceCheck | undefined {
  if (!i) return undefined;
  if (isUnknown(i)) return { indeterminate: `the listing does not show interfaces (${i.reason})` };
  const prefix = i.name.endsWith("+");
  return { name: prefix ? i.name.slice(0, -1) : i.name, prefix, negated: i.negated };
}

/**
 * What many rules share, made once: the `-p` tests (one per protocol and negation), the
 * standard verdicts, the empty list of checks (a rule whose matches are all `-m comment`).
 * Frozen: a walk that changed one would change every rule's.
 */
const PROTO_TESTS: { number: number; negated: boolean }[] = [];
const NO_CHECKS: CompiledMatch[] = Object.freeze([]) as unknown as CompiledMatch[];
const VERDICTS = new Map<string, CompiledTarget>(
  (["ACCEPT", "DROP", "RETURN", "QUEUE"] as const).map((verdict) => [verdict, Object.freeze({ kind: "standard", verdict }) as CompiledTarget]),
);
const NO_TARGET: CompiledTarget = Object.freeze({ kind: "none" });

function protoTest(p: Rule["protocol"]): CompiledRule["proto"] {
  if (!p) return undefined;
  const k = p.number * 2 + (p.negated ? 1 : 0);
  return (PROTO_TESTS[k] ??= Object.freeze({ number: p.number, negated: p.negated }));
}

/**
 * A compiled rule keeps the matches a walk tests; the whole list, which only a trace's words
 * read (a check's place in it), is made when first read: kube-proxy's rules each carry a
 * `-m comment` no walk looks at, and a list and a match object more per rule for it was a
 * fifth of what a compiled rule kept. Every field is assigned in the constructor, absent ones
 * as undefined: all compiled rules share one shape, so the walk's reads stay monomorphic.
 */
class CompiledIptablesRule implements CompiledRule {
  src: AddrCheck | undefined;
  dst: AddrCheck | undefined;
  inIface: IfaceCheck | undefined;
  outIface: IfaceCheck | undefined;
  proto: CompiledRule["proto"];
  fragment: { negated: boolean } | undefined;
  checks: CompiledMatch[];
  target: CompiledTarget;
  /** The whole list of matches once read, when it is not `checks`. */
  private all: CompiledMatch[] | undefined = undefined;

  constructor(
    readonly index: number,
    readonly rule: Rule,
    private readonly family: Family,
  ) {
    this.src = compileAddr(rule.source, family);
    this.dst = compileAddr(rule.destination, family);
    this.inIface = compileIface(rule.inInterface);
    this.outIface = compileIface(rule.outInterface);
    this.proto = protoTest(rule.protocol);
    this.fragment = rule.fragment ? rule.fragment : undefined;
    this.checks = compileChecks(rule, family);
    this.target = compileTarget(rule, family);
  }

  get matches(): CompiledMatch[] {
    const { checks, rule } = this;
    if (checks.length === rule.matches.length) return checks;
    if (this.all) return this.all;
    // The checks keep their place; the matches left out are compiled as they would have been.
    const all = new Array<CompiledMatch>(rule.matches.length);
    for (const c of checks) all[c.position] = c;
    for (let k = 0; k < all.length; k++) all[k] ??= compileMatch(rule.matches[k]!, k, this.family);
    return (this.all = all);
  }
}

/** The compiled matches of `r` a walk tests, in order: those every packet matches are not made at all. */
function compileChecks(r: Rule, family: Family): CompiledMatch[] {
  const n = r.matches.length;
  let checks: CompiledMatch[] | undefined;
  for (let k = 0; k < n; k++) {
    const node = r.matches[k]!;
    const ext = node.kind === "match" ? findMatch(node.name, family) : undefined;
    if (ext?.alwaysMatches) continue;
    (checks ??= []).push(ext ? extensionMatch(ext, node as ExtensionMatch, k) : compileMatch(node, k, family));
  }
  // (an array of exactly its size: one is kept per rule)
  return checks === undefined ? NO_CHECKS : checks.length < 4 ? checks.slice() : checks;
}

function compileRule(r: Rule, index: number, family: Family): CompiledRule {
  return new CompiledIptablesRule(index, r, family);
}

function compileMatch(m: Rule["matches"][number], position: number, family: Family): CompiledMatch {
  if (m.kind === "match") {
    const ext = findMatch(m.name, family);
    return ext ? extensionMatch(ext, m, position) : { kind: "unknown", reason: `-m ${m.name} is not known to netfate`, text: `-m ${m.name}`, position };
  }
  if (m.kind === "generic-match") {
    const text = [`-m ${m.name}`, ...m.options.map((o) => [o.negated ? "!" : "", o.flag, ...o.values].filter(Boolean).join(" "))].join(" ");
    return { kind: "unknown", reason: `-m ${m.name} is not known to netfate`, text, position };
  }
  return { kind: "unknown", reason: `listing text "${m.text}" could not be read`, text: `"${m.text}"`, position };
}

function extensionMatch(ext: MatchExtension<any>, node: ExtensionMatch, position: number): CompiledMatch {
  return { kind: "extension", ext, node, position, data: node.data };
}

function compileTarget(r: Rule, family: Family): CompiledTarget {
  const t = r.target;
  if (!t) return NO_TARGET;
  if (t.kind === "standard") return VERDICTS.get(t.verdict) ?? { kind: "standard", verdict: t.verdict };
  // (what the walker learns of the target later has its place from the start: one shape)
  if (t.kind === "chain") return { kind: "chain", chain: t.chain, goto: r.goto, resolved: undefined, loop: undefined, verdictText: undefined };
  if (t.kind === "target") {
    const ext = findTarget(t.name, family);
    return ext ? { kind: "extension", ext, data: t.data, name: t.name } : { kind: "unknown", name: t.name };
  }
  return { kind: "unknown", name: t.name };
}

/** The single destination address a rule requires, when it requires one. */
function exactDst(cr: CompiledRule, family: Family): string | number | undefined {
  const d = cr.dst;
  if (!d || "indeterminate" in d || d.negated) return undefined;
  const full = family === "ipv4" ? d.mask === 0xffffffff : (d.mask as readonly number[]).every((w) => w === 0xffffffff);
  return full ? ipKey(d.net) : undefined;
}

/** The single destination port a rule requires, when one of its matches requires one (`indexDport`). */
function exactDport(cr: CompiledRule): number | undefined {
  if (!cr.proto || cr.proto.negated) return undefined;
  // (a match that says a port is tested: the checks hold it)
  for (const m of cr.checks) {
    if (m.kind !== "extension" || !m.ext.indexDport) continue;
    const port = m.ext.indexDport(m.data);
    if (port !== undefined) return port;
  }
  return undefined;
}

/** The index of a chain whose rules are `rules` (undefined: too short to need one), as a packet entering it would make it. */
export function chainIndex(rules: readonly Rule[], family: Family): ChainIndex | undefined {
  return rules.length >= INDEX_THRESHOLD ? buildIndex(rules.map((r, i) => compileRule(r, i, family)), family) : undefined;
}

/** What an index files rule `r` under: the one destination it requires, and the one destination port (undefined: none). */
export function indexKeys(r: Rule, family: Family): { dst: string | number | undefined; dport: number | undefined } {
  const cr = compileRule(r, 0, family);
  return { dst: exactDst(cr, family), dport: exactDport(cr) };
}

function buildIndex(rules: CompiledRule[], family: Family): ChainIndex {
  const idx: ChainIndex = { always: [], byDst: new Map(), byDport: new Map() };
  for (const cr of rules) fileRule(idx, cr.index, exactDst(cr, family), exactDport(cr));
  return idx;
}

/** Files rule `i` under the destination it requires, else the port it requires, else with those always tried. */
function fileRule(idx: ChainIndex, i: number, dst: string | number | undefined, port: number | undefined): void {
  if (dst !== undefined) {
    const l = idx.byDst.get(dst);
    if (l) l.push(i);
    else idx.byDst.set(dst, [i]);
  } else if (port !== undefined) {
    const l = idx.byDport.get(port);
    if (l) l.push(i);
    else idx.byDport.set(port, [i]);
  } else idx.always.push(i);
}

/**
 * The index of a chain from what the reader noted of its lines (chain-lines.ts), each line it cannot
 * say bound and compiled as buildIndex would; undefined when the lines cannot say.
 */
export function linesIndex(lines: ChainLines, family: Family): ChainIndex | undefined {
  const keys = lines.keys();
  if (!keys) return undefined;
  const { first, read, dst, dport } = keys;
  const idx: ChainIndex = { always: [], byDst: new Map(), byDport: new Map() };
  for (let l = 0; l < keys.lines; l++) {
    if (read[l]) {
      fileRule(idx, first[l]!, dst[l]! < 0 ? undefined : dst[l], dport[l]! < 0 ? undefined : dport[l]);
      continue;
    }
    for (let i = first[l]!; i < first[l + 1]!; i++) {
      const cr = compileRule(lines.rule(i), i, family);
      fileRule(idx, i, exactDst(cr, family), exactDport(cr));
    }
  }
  return idx;
}

/**
 * An index made when one of its fields is first read: a walk that tries every rule and says so
 * (why-dropped, --verbose) asks the chain for its index and reads none of it.
 */
function deferredIndex(build: () => ChainIndex): ChainIndex {
  let made: ChainIndex | undefined;
  const index = (): ChainIndex => (made ??= build());
  // Fields of its own, so that it reads as the index it stands for (deep equality, JSON).
  return Object.defineProperties({} as ChainIndex, {
    always: { get: () => index().always, enumerable: true },
    byDst: { get: () => index().byDst, enumerable: true },
    byDport: { get: () => index().byDport, enumerable: true },
  });
}

/** Whether a walk that goes by the chains' indexes may skip rules of this chain: only a chain this long has an index. */
export function mayHaveIndex(chain: CompiledChain): boolean {
  return chain.digest.count >= INDEX_THRESHOLD;
}

/** A walk that has read this many rules of a long chain, each bound alone, goes on with the whole chain bound at once. */
const READ_IN_ORDER = 64;

/** CompiledChain.tryFirst while the index is to be read from the text: well under READ_IN_ORDER, so trying them binds no more than they are. */
const TRY_FIRST = 32;

/**
 * A chain compiled when a packet first enters it: a dump of 100k rules is mostly chains no
 * given packet visits, and their rules are not even bound until loaded (model/chain-rules.ts).
 * A long chain's rules are compiled as they are read, each bound alone from its line
 * (chain-lines.ts) until a walk has read many: KUBE-SERVICES of a 10k-service dump has 10k
 * rules, a walk that tries every rule stops at its service's, and one that goes by the index
 * reads the few it names. Its index is made when read, from the lines' text where it can be.
 */
class LazyCompiledChain implements CompiledChain {
  private list: CompiledRule[] | undefined;
  /** null: none (a short chain); a deferred index until it is made. */
  private idx: ChainIndex | null | undefined;
  /** The chain's own lines (null: it has none to read, see chain-lines.ts), once asked for. */
  private ownLines: ChainLines | null | undefined;
  /** Whether the index is made (or known): from then on a walk goes by it from the top. */
  private indexMade = false;
  policyUnknown?: string;
  constructor(
    readonly name: string,
    readonly table: TableName,
    readonly builtin: boolean,
    readonly policy: Policy | null,
    readonly declared: boolean,
    readonly digest: ChainDigest,
    private readonly source: Chain,
    private readonly family: Family,
    /** The chain's rules read from its lines, when its table can (chain-lines.ts). */
    private readonly readLines: (() => ChainLines | undefined) | undefined,
  ) {}

  get rules(): CompiledRule[] {
    return (this.list ??= this.compileRules());
  }

  get index(): ChainIndex | undefined {
    if (this.idx === undefined) this.idx = this.makeIndex() ?? null;
    return this.idx ?? undefined;
  }

  get tryFirst(): number {
    if (this.indexMade || this.source.rules.count < INDEX_THRESHOLD || knownChainFacts(this.source.rules)) return 0;
    return this.lines() ? TRY_FIRST : 0;
  }

  private lines(): ChainLines | undefined {
    if (this.ownLines === undefined) this.ownLines = (!this.source.rules.loaded() && this.readLines?.()) || null;
    return this.ownLines ?? undefined;
  }

  private compileRules(): CompiledRule[] {
    const { family, source } = this;
    const n = source.rules.count;
    if (n < INDEX_THRESHOLD) return source.rules.load().map((r, i) => compileRule(r, i, family));
    // Its index is known (a cache kept it, cli/cache-format.ts): each rule is bound and compiled
    // when the walk reads it, and a packet reads the few the index names.
    const known = knownChainFacts(source.rules);
    if (known) return lazyList(n, (i) => compileRule(known.rule(i), i, family));
    const lines = this.lines();
    let alone = 0;
    const rule = (i: number): Rule => {
      if (lines && alone < READ_IN_ORDER && !source.rules.loaded()) {
        alone++;
        return lines.rule(i);
      }
      return source.rules.load()[i]!;
    };
    return lazyList(n, (i) => compileRule(rule(i), i, family));
  }

  private makeIndex(): ChainIndex | undefined {
    const { source, family } = this;
    if (source.rules.count < INDEX_THRESHOLD) return undefined;
    const known = knownChainFacts(source.rules);
    if (known) return known.index;
    return deferredIndex(() => {
      this.indexMade = true;
      const lines = this.lines();
      const read = lines && !source.rules.loaded() ? linesIndex(lines, family) : undefined;
      if (read) return (this.idx = read);
      // Every rule is read: bound at once, and kept as a plain list from now on.
      source.rules.load();
      const rules = [...this.rules];
      this.list = rules;
      const index = buildIndex(rules, family);
      this.idx = index;
      return index;
    });
  }
}

export function compileRulesets(rulesets: readonly Ruleset[], family: Family): CompiledRuleset {
  const mine = rulesets.filter((r) => r.family === family);
  if (!mine.some((r) => r.flavour === "legacy") || !mine.some((r) => r.flavour === "nft")) return compileBackend(mine, family);
  const main = compileBackend(mine.filter((r) => r.flavour !== "legacy"), family);
  main.legacy = compileBackend(mine.filter((r) => r.flavour === "legacy"), family);
  // Conntrack is one per namespace: a rule of either backend turns it on for both.
  main.conntrackActive ||= main.legacy.conntrackActive;
  main.legacy.conntrackActive = main.conntrackActive;
  main.problems.push(...main.legacy.problems.map((p) => ({ ...p, message: `(iptables-legacy) ${p.message}` })));
  return main;
}

/** One backend's tables of `family`, compiled. */
function compileBackend(rulesets: readonly Ruleset[], family: Family): CompiledRuleset {
  const out: CompiledRuleset = { family, tables: new Map(), problems: [], loops: new Set(), conntrackActive: false, complete: true };
  const nftTables = new Set<CompiledTable>();
  /** The tables each compiled table is made of (more than one when dumps are merged), in order. */
  const sources = new Map<TableName, Table[]>();
  for (const rs of rulesets) {
    if (rs.family !== family) continue;
    for (const t of rs.tables) {
      // (merged inputs record each table's own format; a single dump has the ruleset's)
      const whole = (t.format ?? rs.format) === "save" && t.committed;
      if (!whole) out.complete = false;
      const ct: CompiledTable = out.tables.get(t.name) ?? { name: t.name, chains: new Map(), complete: whole };
      ct.complete &&= whole;
      if (rs.flavour === "nft") nftTables.add(ct);
      out.tables.set(t.name, ct);
      const from = sources.get(t.name);
      if (from) from.push(t);
      else sources.set(t.name, [t]);
    }
  }
  const compiledChain = (c: Chain, table: TableName, readLines?: () => ChainLines | undefined): CompiledChain => {
    const policy = c.policy === null || isUnknown(c.policy) ? null : c.policy;
    const cc = new LazyCompiledChain(c.name, table, c.builtin, policy, c.declared, c.rules.digest(), c, family, readLines);
    if (c.builtin && c.policy !== null && isUnknown(c.policy)) cc.policyUnknown = c.policy.reason;
    return cc;
  };
  for (const ct of out.tables.values()) {
    const from = sources.get(ct.name)!;
    // A table given alone, as a cache kept it (cli/cache-format.ts): what compiling finds is
    // known. Every table's chains are compiled when a packet enters them.
    const alone = from.length === 1 ? knownTable(from[0]!) : undefined;
    // The table's chains in order (several dumps' when merged), and each name's position among them.
    const all = from.length === 1 ? from[0]!.chains : from.flatMap((t) => t.chains);
    const dump = from.length === 1 ? from[0]! : undefined;
    const read = dump && tableJumps(dump);
    const positions = alone?.positions ?? read?.positions ?? chainPositions(all);
    ct.chains = new LazyMap(positions, (k) => compiledChain(all[k]!, ct.name, dump && (() => chainLines(dump, k, positions))));
    for (const t of from) {
      const known = knownTable(t)?.facts;
      if (known ? known.conntrack : !out.conntrackActive && t.chains.some(needsConntrack)) out.conntrackActive = true;
    }
    const nft = nftTables.has(ct);
    const known = alone?.facts.jumps;
    const depthWanted = nft && out.loops.size === 0;
    const jumps = known && (!depthWanted || known.loops.length > 0 || known.depth) ? known : jumpFacts(ct.name, all, positions, depthWanted, read);
    out.problems.push(...jumps.problems);
    for (const l of jumps.loops) out.loops.add(`${ct.name}/${l}`);
    if (nft && out.loops.size === 0) out.problems.push(...jumps.depth!);
  }
  return out;
}

/**
 * What compiling table `t` given alone finds from its chains' digests, without a rule bound:
 * whether it turns conntrack on, and its jump check (with the nf_tables nesting check when
 * `nft`). A cache keeps it with the parsed dump (cli/cache-format.ts), so that a further run
 * does not walk 40k chains' jumps again; compileBackend uses it for that table alone.
 */
export function tableFacts(t: Table, nft: boolean): TableFacts {
  return { conntrack: t.chains.some(needsConntrack), jumps: jumpFacts(t.name, t.chains, chainPositions(t.chains), nft, tableJumps(t)) };
}
