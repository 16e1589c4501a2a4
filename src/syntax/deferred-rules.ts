/**
 * Rules of a big dump are bound when they are first read, not when the dump is parsed.
 *
 * Parsing still binds every line, so every diagnostic is reported at parse time; what it
 * keeps of a chain is where its lines are and a digest (how many rules, which extensions,
 * which jumps). `chain.rules` is an accessor that binds the lines again on first read and
 * keeps what it bound. The 10k-service kube-proxy dump (117k rules) then holds 47 MB of heap
 * after parsing instead of 127 MB, and a packet's evaluation binds only the chains it passes
 * through.
 *
 * Whatever reads the AST sees plain data: the accessor is an own enumerable property, so
 * JSON, spreads, structuredClone and deep equality read the rules like any other field, and
 * assigning `chain.rules` works as it does on any chain.
 */
import type { Chain, Rule } from "../model/ast.js";
import type { Span } from "../model/span.js";

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

// Most lists stay empty; they share this one until something is added.
const NONE: readonly never[] = Object.freeze([]);

export function emptyDigest(): ChainDigest {
  return { count: 0, matchNames: NONE, targetNames: NONE, unknown: NONE, jumps: NONE };
}

/**
 * `list` with `s` added. Chains of a dump use the same few extensions in the same order, so
 * the lists are shared: each list remembers what it becomes with one more name.
 */
const GROWN = new WeakMap<readonly string[], Map<string, readonly string[]>>();

function withOnce(list: readonly string[], s: string): readonly string[] {
  if (list.includes(s)) return list;
  let next = GROWN.get(list);
  if (!next) {
    next = new Map();
    GROWN.set(list, next);
  }
  let grown = next.get(s);
  if (!grown) {
    grown = Object.freeze(list.concat(s));
    next.set(s, grown);
  }
  return grown;
}

/** Jumps grow in place once there are a few; short lists are kept at their exact size. */
function withJump(list: readonly (number | string)[], rule: number, chain: string): (number | string)[] {
  if (list.length < 8) return list.concat(rule, chain);
  const l = list as (number | string)[];
  l.push(rule, chain);
  return l;
}

/** Adds one rule to a digest. */
export function digestRule(d: ChainDigest, r: Rule): void {
  for (const m of r.matches) {
    if (m.kind === "unparsed") continue;
    d.matchNames = withOnce(d.matchNames, m.name);
    if (m.kind === "generic-match") d.unknown = withOnce(d.unknown, `-m ${m.name}`);
  }
  const t = r.target;
  if (t?.kind === "chain") d.jumps = withJump(d.jumps, d.count, t.chain);
  else if (t?.kind === "target" || t?.kind === "generic-target") {
    d.targetNames = withOnce(d.targetNames, t.name);
    if (t.kind === "generic-target") d.unknown = withOnce(d.unknown, `-j ${t.name}`);
  }
  d.count++;
}

/** A deferrable chain's rules once bound, or how to bind them. */
class RuleSlot {
  constructor(
    /** The line that declared the chain (0: built in), kept apart from `span`, which may be moved. */
    readonly since: number,
  ) {}
  rules: Rule[] | undefined = [];
  digest: ChainDigest | undefined = undefined;
  bind: ((token: unknown) => Rule[]) | undefined = undefined;
  token: unknown = undefined;
}

/**
 * Where a deferrable chain keeps its slot: a property no enumeration sees (keys, JSON,
 * spreads, structuredClone, deep equality) rather than a WeakMap, whose 100k entries would be
 * work for every garbage collection. The slot is an object of its own, so a chain frozen
 * before its rules were read can still bind them.
 */
const SLOT = Symbol("netfate.rules");

type Slotted = Chain & { readonly [SLOT]: RuleSlot };

function slotOf(chain: Chain): RuleSlot | undefined {
  return (chain as Partial<Slotted>)[SLOT];
}

function readRules(this: Slotted): Rule[] {
  const s = this[SLOT];
  if (s.rules) return s.rules;
  const rules = s.bind!(s.token);
  if (rules.length !== s.digest!.count) {
    throw new Error(`internal error: chain ${this.name} bound to ${rules.length} rules, not the ${s.digest!.count} parsed`);
  }
  writeRules.call(this, rules);
  return rules;
}

function writeRules(this: Slotted, rules: Rule[]): void {
  const s = this[SLOT];
  s.rules = rules;
  s.digest = s.bind = s.token = undefined;
}

// One accessor pair shared by every such chain, so they all keep one fast hidden class.
const RULES_ACCESSOR: PropertyDescriptor = { get: readRules, set: writeRules, enumerable: true, configurable: true };

/**
 * A chain whose rules may later be deferred (`deferRules`). Until then its `rules` behave as a
 * plain array; its keys are in the order of any other chain's.
 */
export function deferrableChain(name: string, builtin: boolean, policy: Chain["policy"], declared: boolean, span: Span): Chain {
  const c = { name, builtin, policy, declared } as Chain;
  Object.defineProperty(c, SLOT, { value: new RuleSlot(builtin ? 0 : span.line), enumerable: false });
  Object.defineProperty(c, "rules", RULES_ACCESSOR);
  c.span = span;
  return c;
}

/**
 * From now on, `chain.rules` (made by `deferrableChain`) are what `bind(token)` gives when
 * first read: the `digest.count` rules the digest describes. Until then the digest answers.
 */
export function deferRules<T>(chain: Chain, digest: ChainDigest, bind: (token: T) => Rule[], token: T): void {
  const s = slotOf(chain);
  if (!s) throw new Error(`internal error: chain ${chain.name} was not made by deferrableChain`);
  s.rules = undefined;
  s.digest = digest;
  s.bind = bind as (token: unknown) => Rule[];
  s.token = token;
}

/**
 * Whether a chain made by `deferrableChain` existed when line `line` of its input was read.
 * Binding a rule again must see the chains its first binding saw, even after the AST's spans
 * were moved to where a dump sits in a larger text (extract.ts).
 */
export function declaredBefore(chain: Chain, line: number): boolean {
  const s = slotOf(chain);
  if (!s) throw new Error(`internal error: chain ${chain.name} was not made by deferrableChain`);
  return s.since < line;
}

/** Whether the chain's rules are still unbound. */
export function isDeferred(chain: Chain): boolean {
  const s = slotOf(chain);
  return s !== undefined && s.rules === undefined;
}

/** The chain's digest, from what parsing recorded when its rules are unbound, else from its rules. */
export function chainDigest(chain: Chain): ChainDigest {
  const s = slotOf(chain);
  if (s?.digest) return s.digest;
  const out = emptyDigest();
  for (const r of chain.rules) digestRule(out, r);
  return out;
}
