/**
 * What compiling a table finds that a cache can keep with the parsed dump (cli/cache-format.ts),
 * so that a further run on the same dump does not find it again: the jump check of each table
 * (missing targets, loops, nf_tables nesting: a walk over every chain's jumps) and the index of
 * each long chain (which needs every rule of the chain bound and compiled).
 *
 * Facts are attached to the very objects they describe (a Table, a chain's ChainRules) and are
 * used only while those are as they were: a table whose chains were changed or merged with
 * another dump's is checked again (compile.ts). What is attached must be what compiling finds
 * (test/property/compile-facts.test.ts compares them).
 */
import type { Chain, ChainRules, Rule, Table, TableName } from "../model/ast.js";
import { isLazyList } from "./lazy-list.js";

/** A chain's index (netfilter/compile.ts): the rules a packet can match, by its destination. */
export interface ChainIndex {
  /** Rules that must always be tried, in order. */
  always: number[];
  byDst: Map<string | number, number[]>;
  byDport: Map<number, number[]>;
}

/** What compiling finds wrong at load time: a missing jump target, a jump loop, chains nested too deep. */
export interface CompileProblem {
  table: TableName;
  chain: string;
  rule?: number;
  message: string;
}

/** A table's jump check, as compile.ts's jumpFacts makes it. */
export interface JumpFacts {
  problems: CompileProblem[];
  /** Names of the chains on a jump loop (each at least once). */
  loops: string[];
  /** The nf_tables nesting problems, when they were looked for (a table without loops). */
  depth?: CompileProblem[];
}

export interface TableFacts {
  /** Whether a rule of the table makes the kernel turn conntrack on. */
  conntrack: boolean;
  jumps: JumpFacts;
}

/** What is attached to a table: its facts, and (a table whose chains are made when read) each chain's position by name. */
export interface KnownTable {
  facts: TableFacts;
  positions?: ReadonlyMap<string, number>;
}

/** A long chain's index, and its rules one by one (rule `i` bound alone, as binding the chain binds it). */
export interface ChainFacts {
  index: ChainIndex;
  rule(i: number): Rule;
}

const TABLES = new WeakMap<Table, { known: KnownTable; list: readonly Chain[]; copy?: readonly Chain[] }>();
const CHAINS = new WeakMap<ChainRules, ChainFacts>();

/**
 * Attaches `facts` to `t` as it is now: its list of chains, and, unless that list cannot be
 * changed (one made when read, lazy-list.ts), a copy of it to compare with.
 */
export function rememberTableFacts(t: Table, known: KnownTable): void {
  TABLES.set(t, { known, list: t.chains, ...(isLazyList(t.chains) ? {} : { copy: t.chains.slice() }) });
}

/** What is attached to `t`, if its chains are still the ones it was found for. */
export function knownTable(t: Table): KnownTable | undefined {
  const k = TABLES.get(t);
  if (!k || k.list !== t.chains) return undefined;
  if (k.copy) {
    if (k.copy.length !== t.chains.length) return undefined;
    for (let i = 0; i < k.copy.length; i++) if (k.copy[i] !== t.chains[i]) return undefined;
  }
  return k.known;
}

/** Attaches `facts` to a chain's rules (whose rules they describe, for as long as the object lives). */
export function rememberChainFacts(rules: ChainRules, facts: ChainFacts): void {
  CHAINS.set(rules, facts);
}

export function knownChainFacts(rules: ChainRules): ChainFacts | undefined {
  return CHAINS.get(rules);
}
