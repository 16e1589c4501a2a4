/**
 * A chain's rules as the AST holds them: a count and a digest that answer without the rules,
 * and `load()`, which gives the rules — bound already, or bound now from where a reader
 * recorded them (the reader decides; see src/syntax/save-dump.ts and listing.ts).
 *
 * Binding on first use is what keeps a big dump cheap: the 10k-service kube-proxy dump (117k
 * rules) holds 47 MB of heap after parsing instead of 127 MB, and a packet's evaluation binds
 * only the chains it passes through. It is explicit on purpose: reading rules may bind them,
 * so whatever reads them says so by calling `load()`.
 */
import type { ChainDigest, ChainRules, Rule } from "./ast.js";

// Most lists stay empty; they share this one until something is added.
const NONE: readonly never[] = Object.freeze([]);

export function emptyDigest(): ChainDigest {
  return { count: 0, matchNames: NONE, targetNames: NONE, unknown: NONE, jumps: NONE };
}

/**
 * `list` with `s` added (the same list when it has `s`). Chains of a dump use the same few extensions in the same order, so
 * the lists are shared: each list remembers what it becomes with one more name.
 */
const GROWN = new WeakMap<readonly string[], Map<string, readonly string[]>>();

export function withOnce(list: readonly string[], s: string): readonly string[] {
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

/**
 * Where a reader recorded the rules of its chains: one per table (a token names the chain).
 * `digest`, when given, makes a chain's digest when first asked for (a reader that keeps what
 * the digests hold in arrays, not an object per chain: table-builder.ts).
 */
export interface RulesSource<T> {
  bind(token: T): Rule[];
  digest?(token: T): ChainDigest;
  /** The digest's `unknown`, without making the digest. */
  unknown?(token: T): readonly string[];
}

/** The digests of loaded rules, made once (Rules.digest). */
const LOADED_DIGESTS = new WeakMap<ChainRules, ChainDigest>();

/**
 * One class for bound and unbound rules, so that a chain whose rules were bound on first use
 * and one bound while parsing are the same data once loaded (deep equality, JSON).
 */
class Rules<T> implements ChainRules {
  constructor(
    readonly count: number,
    private rules: readonly Rule[] | undefined,
    /** Until loaded: what parsing recorded (undefined: the source makes it), and where the rules are. */
    private pendingDigest: ChainDigest | undefined,
    private source: RulesSource<T> | undefined,
    private token: T | undefined,
  ) {}

  digest(): ChainDigest {
    if (this.pendingDigest) return this.pendingDigest;
    if (!this.rules) return (this.pendingDigest = this.source!.digest!(this.token!));
    // Made once: the rules never change (a script's edits make new lists, syntax/chain-edits.ts),
    // and each compile of a long chain asks (KUBE-SERVICES: 10k rules, 9 ms each time). Kept
    // beside the object, not in it: loaded rules are the same data however they were bound.
    let d = LOADED_DIGESTS.get(this);
    if (!d) {
      d = emptyDigest();
      for (const r of this.rules) digestRule(d, r);
      LOADED_DIGESTS.set(this, d);
    }
    return d;
  }

  load(): readonly Rule[] {
    if (this.rules) return this.rules;
    const rules = this.source!.bind(this.token!);
    if (rules.length !== this.count) {
      throw new Error(`internal error: rules bound to ${rules.length}, not the ${this.count} parsed`);
    }
    this.rules = rules;
    // The digest parsing recorded, if made, still describes them.
    if (this.pendingDigest) LOADED_DIGESTS.set(this, this.pendingDigest);
    this.pendingDigest = this.source = this.token = undefined;
    return rules;
  }

  loaded(): boolean {
    return this.rules !== undefined;
  }

  /** The digest's `unknown`, made without the rest of the digest where it can be. */
  unknown(): readonly string[] {
    if (!this.pendingDigest && !this.rules && this.source!.unknown) return this.source!.unknown(this.token!);
    return this.digest().unknown;
  }

  toJSON(): readonly Rule[] {
    return this.load();
  }
}

/**
 * `-m NAME` / `-j NAME` of the extensions netfate does not know that `rules` use (its digest's
 * `unknown`): for a chain whose digest is made when asked for, without making it (a summary
 * of a 42k-chain dump asks this of every chain and nothing else).
 */
export function unknownExtensions(rules: ChainRules): readonly string[] {
  return rules instanceof Rules ? rules.unknown() : rules.digest().unknown;
}

/** Rules already bound. */
export function boundRules(rules: readonly Rule[]): ChainRules {
  return new Rules<never>(rules.length, rules, undefined, undefined, undefined);
}

/** Rules bound on first `load()` by `bind(token)`: the `digest.count` rules `digest` describes. */
export function deferredRules<T>(digest: ChainDigest, bind: (token: T) => Rule[], token: T): ChainRules {
  return new Rules<T>(digest.count, undefined, digest, { bind }, token);
}

/** The `count` rules `source` binds for `token`, its digest made by `source.digest` when first asked for. */
export function sourcedRules<T>(count: number, source: Required<RulesSource<T>>, token: T): ChainRules {
  return new Rules<T>(count, undefined, undefined, source, token);
}
