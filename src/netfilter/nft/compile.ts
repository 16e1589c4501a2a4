/**
 * nftables rulesets prepared for one packet family: the base chains of each hook in priority
 * order, each table's chains by name, and its named sets and maps compiled into lookup
 * structures (sets.ts). Built once per node and family; anonymous sets are compiled on first
 * use and kept (`literalSet`).
 */
import type { Family } from "../../model/ast.js";
import type { Hook, Step } from "../../model/evaluation.js";
import type { NftChain, NftChainType, NftExpr, NftFamily, NftRule, NftRuleset, NftSetLiteral, NftStmt, NftTable } from "../../model/nft.js";
import { nftFamilySees } from "../../model/nft.js";
import type { Span } from "../../model/span.js";
import { compileSet, type CompiledSet } from "./sets.js";
import { chainPositions, jumpFacts, type JumpNode } from "../jump-graph.js";
import { emptyDigest } from "../../model/chain-rules.js";
import { nftRuleText } from "./rule-text.js";
import { ruleFamily, type RuleFamily } from "./rule-family.js";
import { statementKind } from "../../extensions/nft/statements/registry.js";
import type { StmtKind } from "../../extensions/nft/statements/types.js";

/** A load-time finding about an nft ruleset, located. */
export interface NftProblem {
  family: NftFamily;
  table: string;
  chain?: string;
  /** 1-based position in the chain. */
  rule?: number;
  message: string;
  span?: Span;
}

export interface NftCompiledRule {
  index: number;
  rule: NftRule;
  /** The rule as `nft list` prints it, for its steps. */
  readonly text: string;
  /** Some statement of the rule may change the packet or its conntrack entry (its step then lists the change). */
  readonly mutates: boolean;
  /** The one packet family the rule can match, when its expressions allow only one (rule-family.ts); undefined: either. */
  readonly requires: RuleFamily | undefined;
  /**
   * The rule's statements prepared to run (statements.ts), by the first packet that reaches it:
   * kept on the rule, as a packet meets some forty rules and a side table's lookup cost as much
   * as a test. (statements.ts's PreparedStmt[], which this module cannot name: statements.ts
   * reads compiled sets from here.)
   */
  prepared: unknown;
  /** The place its steps name (with each map element it chose), for the base chain last walked to it (run.ts; most rules are reached from one). */
  place: { base: NftBase; nft: NonNullable<Step["nft"]>; byElement: Map<string, NonNullable<Step["nft"]>> | undefined } | undefined;
  /** Its nat statement's step word (DNAT, MASQUERADE...), found the first time it sets NAT up (run.ts). */
  natWord: string | undefined;
  /**
   * Per statement, where the verdict it gave last leads (run.ts), made with `prepared`: a
   * statement gives the same verdict object packet after packet (a jump, a map element), so
   * its target, step word and place are at hand without a hash lookup each.
   */
  verdictWays: VerdictWay[] | undefined;
  /** The call frame a jump from this rule pushes (back to the next rule), made by its first jump: frames are never changed. */
  returnFrame: { readonly chain: NftCompiledChain; readonly resume: number } | undefined;
}

/**
 * Where a verdict leads, for the base chain it was last met under: its target chain (a jump or
 * goto; undefined when the table lacks it or it is no jump), its step's word and place.
 * Rewritten in place on a change (run.ts), so a map whose elements alternate allocates nothing.
 */
export interface VerdictWay {
  /** The verdict result this was found for (statements.ts's StmtResult), by identity; undefined until the first. */
  result: object | undefined;
  base: NftBase | undefined;
  target: NftCompiledChain | undefined;
  word: string;
  nft: NonNullable<Step["nft"]> | undefined;
}

/**
 * Statements that only test, count, log or end the packet: a rule made of these leaves the
 * packet and its conntrack entry as they were, so the walk need not keep their before-state.
 */
const PURE_STMTS: ReadonlySet<NftStmt["kind"]> = new Set<NftStmt["kind"]>(["match", "verdict", "vmap", "counter", "log", "limit", "quota", "reject", "queue"]);

/**
 * A rule ready for the walk. Its text is printed the first time a step shows it: printing every
 * rule of a 10k-service ruleset when the first packet compiles it cost more than the rest of the
 * compilation, for the few dozen rules a packet meets.
 */
class CompiledRule implements NftCompiledRule {
  private printed: string | undefined;
  private family: RuleFamily | undefined | null = null;
  readonly mutates: boolean;
  prepared: unknown = undefined;
  place: NftCompiledRule["place"] = undefined;
  natWord: string | undefined = undefined;
  verdictWays: VerdictWay[] | undefined = undefined;
  returnFrame: NftCompiledRule["returnFrame"] = undefined;
  constructor(readonly index: number, readonly rule: NftRule) {
    this.mutates = rule.stmts.some((st) => !PURE_STMTS.has(st.kind));
  }
  get text(): string {
    return (this.printed ??= nftRuleText(this.rule));
  }
  /** Found the first time a step shows the rule, as its text is. */
  get requires(): RuleFamily | undefined {
    if (this.family === null) this.family = ruleFamily(this.rule.stmts);
    return this.family;
  }
}

export interface NftCompiledChain {
  name: string;
  rules: NftCompiledRule[];
  chain: NftChain;
}

export interface NftCompiledTable {
  family: NftFamily;
  name: string;
  chains: Map<string, NftCompiledChain>;
  sets: Map<string, CompiledSet>;
  /**
   * Per jump or goto (its verdict statement, or the map element holding it): the chain it goes to
   * (undefined: the table lacks it) and its step's word, found the first time a packet takes it.
   */
  jumps: WeakMap<object, { target: NftCompiledChain | undefined; word: string }>;
  /** Chains on a loop of jumps and gotos (a script can say one; nft refuses it where a base chain reaches it): entering one is an error, not a walk without end. */
  loops: ReadonlySet<string>;
}

/** A base chain where the IP path meets it. */
export interface NftBase {
  table: NftCompiledTable;
  chain: NftCompiledChain;
  hook: Hook;
  type: NftChainType;
  priority: number;
  policy: "accept" | "drop";
  /** The place its policy's steps name, made by the first packet that meets the policy (run.ts). */
  policyPlace: NonNullable<Step["nft"]> | undefined;
}

export interface NftCompiled {
  /** Per hook, in the order the kernel calls them (priority, then the one listed last first). */
  hooks: Map<Hook, NftBase[]>;
  /** `hooks` split by type, in the same order: nat chains run from the NAT core, the others at their own priority (path.ts). */
  natHooks: Map<Hook, NftBase[]>;
  otherHooks: Map<Hook, NftBase[]>;
  problems: NftProblem[];
  /** Some rule makes the kernel enable conntrack (a ct expression, a nat statement): without it nat chains never run. */
  conntrack: boolean;
  /** Number of tables that see the family. */
  tables: number;
}

/** NF_IP_PRI_CONNTRACK: nat chains must have a priority above it (nft_chain_nat refuses the rest). */
const NAT_PRIORITY_FLOOR = -200;

const HOOKS: Readonly<Partial<Record<string, Hook>>> = {
  prerouting: "PREROUTING", input: "INPUT", forward: "FORWARD", output: "OUTPUT", postrouting: "POSTROUTING",
};

/** Whether a table holds iptables-nft's own rules that the iptables evaluator runs instead (see NodeInputs.rulesets). */
export type IptablesCovers = (table: NftTable) => boolean;

export function compileNft(rulesets: readonly NftRuleset[], family: Family, iptablesCovers: IptablesCovers): NftCompiled {
  const out: NftCompiled = { hooks: new Map(), natHooks: new Map(), otherHooks: new Map(), problems: [], conntrack: false, tables: 0 };
  const pkt = family === "ipv4" ? "ipv4" : "ipv6";
  let order = 0;
  const bases: Array<NftBase & { order: number }> = [];
  for (const rs of rulesets) {
    for (const t of rs.tables) {
      if (t.family === "arp" || t.family === "bridge" || t.family === "netdev") {
        out.problems.push({ family: t.family, table: t.name, message: `table ${t.family} ${t.name} is not on the IP path netfate evaluates (${t.family} hooks see frames, not routed packets): not evaluated`, span: t.span });
        continue;
      }
      if (!nftFamilySees(t.family, pkt)) continue;
      if (iptablesCovers(t)) {
        // Said, so a reader of the trace knows which input each chain of the table came from.
        out.problems.push({ family: t.family, table: t.name, message: `iptables-nft's own table${t.managedBy ? "" : " (named as a table of the iptables dump given)"}: its chains are run from the iptables dump, not a second time from the nft ruleset`, span: t.span });
        continue;
      }
      if (t.flags.includes("dormant")) {
        out.problems.push({ family: t.family, table: t.name, message: `table ${t.family} ${t.name} is dormant: its chains are not registered`, span: t.span });
        continue;
      }
      out.tables++;
      const ct = compileTable(t, out.problems);
      if (usesConntrack(t)) out.conntrack = true;
      for (const c of t.chains) {
        if (!c.base) continue;
        const hook = HOOKS[c.base.hook];
        if (!hook) {
          out.problems.push({ family: t.family, table: t.name, chain: c.name, message: `chain ${c.name} hooks ${c.base.hook}, which is not on the IP path netfate evaluates: not evaluated`, span: c.span });
          continue;
        }
        if (c.base.type === "nat" && c.base.priority <= NAT_PRIORITY_FLOOR) {
          // The kernel refuses it (EOPNOTSUPP): a nat chain must run after conntrack. Checked in a netns.
          out.problems.push({ family: t.family, table: t.name, chain: c.name, message: `nat chain ${c.name} at priority ${c.base.priority}: the kernel refuses nat chains at priority ${NAT_PRIORITY_FLOOR} or below (they must run after conntrack); not evaluated`, span: c.span });
          continue;
        }
        bases.push({
          table: ct, chain: ct.chains.get(c.name)!, hook, type: c.base.type, priority: c.base.priority,
          policy: c.base.policy ?? "accept", policyPlace: undefined, order: order++,
        });
      }
    }
  }
  // Equal priorities: the kernel calls the chain registered last first (nf_hook_entries_grow
  // puts a new hook before those of its priority), across tables and families; a listing shows
  // chains in the order they were made (pinned in test/kernel/nft-harness.test.ts).
  bases.sort((a, b) => a.priority - b.priority || b.order - a.order);
  for (const b of bases) {
    const { order: _, ...base } = b;
    for (const hooks of [out.hooks, base.type === "nat" ? out.natHooks : out.otherHooks]) {
      const list = hooks.get(b.hook);
      if (list) list.push(base);
      else hooks.set(b.hook, [base]);
    }
  }
  return out;
}

function compileTable(t: NftTable, problems: NftProblem[]): NftCompiledTable {
  const chains = new Map<string, NftCompiledChain>();
  for (const c of t.chains) {
    chains.set(c.name, { name: c.name, chain: c, rules: c.rules.map((rule, index) => new CompiledRule(index, rule)) });
  }
  const sets = new Map<string, CompiledSet>();
  for (const s of t.sets) {
    const cs = compileSet(s.name, s.elements);
    for (const m of cs.problems) problems.push({ family: t.family, table: t.name, message: `${s.kind} ${s.name}: ${m}: the element is never matched`, span: s.span });
    sets.set(s.name, cs);
  }
  // Jumps, gotos and verdict maps to chains the table does not have, and sets it does not declare.
  for (const c of t.chains) {
    c.rules.forEach((r, i) => {
      for (const name of chainRefs(r.stmts)) {
        if (!chains.has(name)) problems.push({ family: t.family, table: t.name, chain: c.name, rule: i + 1, message: `rule ${i + 1} of chain ${c.name} jumps to chain ${name}, which table ${t.family} ${t.name} does not have: reaching it is indeterminate`, span: r.span });
      }
      for (const name of setRefs(r.stmts)) {
        if (!sets.has(name)) problems.push({ family: t.family, table: t.name, chain: c.name, rule: i + 1, message: `rule ${i + 1} of chain ${c.name} uses @${name}, which table ${t.family} ${t.name} does not declare: the lookup is indeterminate`, span: r.span });
      }
    });
  }
  return { family: t.family, name: t.name, chains, sets, jumps: new WeakMap(), loops: chainLoops(t, problems) };
}

/**
 * The chains on a loop of jumps and gotos, through verdict maps too (named or written out): the
 * kernel refuses a loop a base chain reaches ("Too many links": it validates chains 16 jumps or
 * gotos deep), so none comes from a listing, but a hand-written script can say one, and a walk
 * through it would not end. Found by the
 * iptables tables' jump check (jump-graph.ts), each nft chain standing as a node whose jumps are
 * its rules' jumps, gotos and the verdicts of the maps they look up.
 */
function chainLoops(t: NftTable, problems: NftProblem[]): ReadonlySet<string> {
  const mapChains = new Map<string, string[]>();
  for (const m of t.sets) {
    const names: string[] = [];
    for (const el of m.elements) if (el.data?.kind === "verdict" && (el.data.verdict === "jump" || el.data.verdict === "goto") && el.data.chain !== undefined) names.push(el.data.chain);
    if (names.length) mapChains.set(m.name, names);
  }
  const nodes: JumpNode[] = t.chains.map((c) => {
    const jumps: (number | string)[] = [];
    c.rules.forEach((r, i) => {
      for (const name of chainRefs(r.stmts)) jumps.push(i, name);
      for (const set of setRefs(r.stmts)) for (const name of mapChains.get(set) ?? []) jumps.push(i, name);
    });
    const digest = { ...emptyDigest(), count: c.rules.length, jumps };
    return { name: c.name, builtin: c.base !== undefined, rules: { digest: () => digest } };
  });
  const found = jumpFacts("filter", nodes, chainPositions(nodes), false);
  for (const p of found.problems) {
    if (!p.message.startsWith("jump loop")) continue;
    problems.push({ family: t.family, table: t.name, chain: p.chain, message: `${p.message.replace("jump loop", "a loop of jumps and gotos")}: nft refuses to load it where a base chain reaches it ("Too many links"); a packet that enters it is an error`, span: t.chains.find((c) => c.name === p.chain)?.span ?? t.span });
  }
  return new Set(found.loops);
}

/** What a statement exprsOf gives says of itself through its kind (nothing, for an expression). */
function statementSays<T>(x: NftExpr | NftStmt, ask: (k: StmtKind, s: NftStmt) => T | undefined): T | undefined {
  const k = statementKind(x as NftStmt);
  return k ? ask(k, x as NftStmt) : undefined;
}

/** Every expression and element under a rule's statements (an explicit work list). */
export function* exprsOf(stmts: readonly NftStmt[]): Generator<NftExpr | NftStmt> {
  const work: Array<NftExpr | NftStmt> = [...stmts];
  while (work.length) {
    const x = work.pop()!;
    yield x;
    for (const v of Object.values(x)) {
      if (v && typeof v === "object") {
        if (Array.isArray(v)) {
          for (const y of v) if (y && typeof y === "object" && "kind" in y) work.push(y as NftExpr);
          else if (y && typeof y === "object" && "key" in y) work.push(...elementExprs(y as { key: NftExpr; data?: NftExpr }));
        } else if ("kind" in v) work.push(v as NftExpr);
      }
    }
  }
}

function elementExprs(e: { key: NftExpr; data?: NftExpr }): NftExpr[] {
  return e.data ? [e.key, e.data] : [e.key];
}

function chainRefs(stmts: readonly NftStmt[]): string[] {
  const out: string[] = [];
  for (const x of exprsOf(stmts)) if (x.kind === "verdict" && (x.verdict === "jump" || x.verdict === "goto") && x.chain !== undefined) out.push(x.chain);
  return out;
}

function setRefs(stmts: readonly NftStmt[]): string[] {
  const out: string[] = [];
  for (const x of exprsOf(stmts)) {
    if (x.kind === "setref") out.push(x.name);
    else out.push(...(statementSays(x, (k, st) => k.setsChanged?.(st)) ?? []));
  }
  return out;
}

/**
 * Whether the table makes the kernel enable conntrack in its namespace: ct expressions and
 * statements, nat statements and ct objects take a reference on it (nf_ct_netns_get). Checked:
 * nat chains holding only counters and mark tests never ran (test/kernel/nft-semantics.test.ts).
 */
function usesConntrack(t: NftTable): boolean {
  if (t.objects.some((o) => o.type.startsWith("ct "))) return true;
  for (const c of t.chains) {
    for (const r of c.rules) {
      for (const x of exprsOf(r.stmts)) {
        if (x.kind === "ct" || statementSays(x, (k, st) => k.needsConntrack?.(st))) return true;
      }
    }
  }
  return false;
}

const literalCache = new WeakMap<NftSetLiteral, CompiledSet>();

/** An anonymous set or map, compiled on first use and kept with its literal. */
export function literalSet(lit: NftSetLiteral): CompiledSet {
  let c = literalCache.get(lit);
  if (!c) {
    c = compileSet("anonymous set", lit.elements);
    literalCache.set(lit, c);
  }
  return c;
}
