/**
 * Every rule of a loaded node, each as the real tool prints it (`-A CHAIN ...` as
 * iptables-save, a rule as `nft list ruleset`), with where it is: what the page's rule search
 * looks through, what "mentions" answers with, and what a step of a trace opens (its whole
 * chain). The printing is the one the trace uses (print/save.ts, nft/print): a rule reads the
 * same in a step, a search hit and a chain.
 */
import type { Chain, Family, Rule, Ruleset, TableName } from "../model/ast.js";
import { isUnknown } from "../model/ast.js";
import type { NftChain, NftFamily, NftRule, NftRuleset, NftTable } from "../model/nft.js";
import { ruleSaveLine } from "../print/save.js";
import { nftRuleText } from "../netfilter/nft/rule-text.js";
import { chainPlaceText } from "../explain/describe.js";

/** Which chain, as a step names it: an iptables table's (legacy's apart), or an nft table's. */
export interface ChainRef {
  family: Family;
  table: string;
  chain: string;
  legacy?: true;
  nft?: { family: NftFamily; table: string };
}

/** One rule (or a built-in chain's policy) of the node. */
export interface RuleEntry {
  ref: ChainRef;
  /** 1-based as the chain lists it, or the chain's policy. */
  rule: number | "policy";
  /** As the real tool prints it. */
  text: string;
  /** Line of its dump (the file is one of the page's inputs). */
  line?: number;
}

/** An iptables rule or an nft rule, for the checks that read the parsed rule (mentions.ts). */
export type ParsedRule = { kind: "iptables"; rule: Rule; family: Family } | { kind: "nft"; rule: NftRule; table: NftTable };

export interface ChainView {
  ref: ChainRef;
  /** `filter INPUT`, `ip kube-proxy services`. */
  place: string;
  entries: RuleEntry[];
}

export function placeText(ref: ChainRef): string {
  return chainPlaceText(ref);
}

function iptablesRef(rs: Ruleset, table: TableName, chain: string, legacyApart: boolean): ChainRef {
  return { family: rs.family, table, chain, ...(legacyApart && rs.flavour === "legacy" ? { legacy: true as const } : {}) };
}

function policyEntry(ref: ChainRef, c: Chain): RuleEntry[] {
  if (!c.builtin || c.policy === null) return [];
  const policy = isUnknown(c.policy) ? "(not shown)" : c.policy;
  return [{ ref, rule: "policy", text: `:${c.name} ${policy}`, line: c.span.line }];
}

function iptablesChain(rs: Ruleset, table: TableName, c: Chain, legacyApart: boolean, visit: (e: RuleEntry, parsed?: ParsedRule) => void): void {
  const ref = iptablesRef(rs, table, c.name, legacyApart);
  for (const e of policyEntry(ref, c)) visit(e);
  c.rules.load().forEach((r, i) => visit({ ref, rule: i + 1, text: ruleSaveLine(c.name, r, rs.family, false), line: r.span.line }, { kind: "iptables", rule: r, family: rs.family }));
}

function nftPolicy(ch: NftChain): string | undefined {
  return ch.base ? `policy ${ch.base.policy ?? "accept"}` : undefined;
}

function nftRefOf(t: NftTable, ch: NftChain): ChainRef {
  // The packet family an nft table's steps are traced in is the evaluation's; the chain view only needs the table.
  return { family: t.family === "ip6" ? "ipv6" : "ipv4", table: "nft", chain: ch.name, nft: { family: t.family, table: t.name } };
}

function nftChain(t: NftTable, ch: NftChain, visit: (e: RuleEntry, parsed?: ParsedRule) => void): void {
  const ref = nftRefOf(t, ch);
  ch.rules.forEach((r, i) => visit({ ref, rule: i + 1, text: nftRuleText(r), line: r.span.line }, { kind: "nft", rule: r, table: t }));
  const policy = nftPolicy(ch);
  if (policy) visit({ ref, rule: "policy", text: policy, line: ch.span.line });
}

/** Whether iptables-legacy tables run beside iptables-nft ones (steps then say `legacy`). */
function legacyApart(rulesets: readonly Ruleset[]): boolean {
  return rulesets.some((r) => r.flavour === "legacy") && rulesets.some((r) => r.flavour !== "legacy");
}

type Visit = (e: RuleEntry, parsed?: ParsedRule) => void;

/** The node's chains in dump order, each as a walk over its rules: work that can stop between chains. */
function* chainWalks(rulesets: readonly Ruleset[], nft: readonly NftRuleset[]): Generator<(visit: Visit) => void> {
  const apart = legacyApart(rulesets);
  for (const rs of rulesets) for (const t of rs.tables) for (const c of t.chains) yield (visit) => iptablesChain(rs, t.name, c, apart, visit);
  for (const n of nft) for (const t of n.tables) for (const ch of t.chains) yield (visit) => nftChain(t, ch, visit);
}

/**
 * Calls `visit` for every rule and policy of the node, in dump order, with the parsed rule
 * (none for a policy).
 */
export function forEachRule(rulesets: readonly Ruleset[], nft: readonly NftRuleset[], visit: Visit): void {
  for (const walk of chainWalks(rulesets, nft)) walk(visit);
}

/** The whole chain a step is in, or undefined when the node has no such chain (an IPVS step). */
export function chainView(rulesets: readonly Ruleset[], nft: readonly NftRuleset[], ref: ChainRef): ChainView | undefined {
  const entries: RuleEntry[] = [];
  const add = (e: RuleEntry) => entries.push(e);
  if (ref.nft) {
    const t = nft.flatMap((n) => n.tables).find((x) => x.family === ref.nft!.family && x.name === ref.nft!.table);
    const ch = t?.chains.find((c) => c.name === ref.chain);
    if (!t || !ch) return undefined;
    nftChain(t, ch, add);
    return { ref: nftRefOf(t, ch), place: placeText(ref), entries };
  }
  const apart = legacyApart(rulesets);
  const candidates = rulesets.filter((r) => r.family === ref.family && (!apart || (r.flavour === "legacy") === (ref.legacy === true)));
  for (const rs of candidates) {
    const t = rs.tables.find((x) => x.name === ref.table);
    const c = t?.chains.find((x) => x.name === ref.chain);
    if (!t || !c) continue;
    iptablesChain(rs, t.name, c, apart, add);
    return { ref, place: placeText(ref), entries };
  }
  return undefined;
}

/** Rules whose text holds every word of the query (case-insensitive), at most `limit` of them. */
export interface SearchResult {
  entries: RuleEntry[];
  /** How many matched in all (more than `entries` when cut at the limit). */
  total: number;
}

/**
 * The rule texts of a node, printed once, searched many times. Printing 100,000 rules takes a
 * second or two: `build` does it a chain at a time while the page is idle, so that the first
 * search need not wait for all of it; a search finishes whatever is left.
 */
export class RuleIndex {
  private readonly entries: RuleEntry[] = [];
  private readonly lower: string[] = [];
  private readonly walks: Generator<(visit: Visit) => void>;
  private finished = false;

  constructor(rulesets: readonly Ruleset[], nft: readonly NftRuleset[]) {
    this.walks = chainWalks(rulesets, nft);
  }

  /**
   * Indexes chains until `stop()` says so (asked after each chain, so every call moves on by
   * one at least) or all are; true when all are.
   */
  build(stop: () => boolean = () => false): boolean {
    const add = (e: RuleEntry) => {
      this.entries.push(e);
      this.lower.push(`${placeText(e.ref)} ${e.text}`.toLowerCase());
    };
    while (!this.finished) {
      const next = this.walks.next();
      if (next.done) this.finished = true;
      else next.value(add);
      if (stop()) break;
    }
    return this.finished;
  }

  all(): readonly RuleEntry[] {
    this.build();
    return this.entries;
  }

  search(query: string, limit: number): SearchResult {
    const words = query.toLowerCase().split(/\s+/).filter((w) => w !== "");
    const all = this.all();
    const entries: RuleEntry[] = [];
    let total = 0;
    if (words.length === 0) return { entries, total };
    for (let i = 0; i < all.length; i++) {
      const t = this.lower[i]!;
      if (!words.every((w) => t.includes(w))) continue;
      total++;
      if (entries.length < limit) entries.push(all[i]!);
    }
    return { entries, total };
  }
}
