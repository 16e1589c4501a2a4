/**
 * Assembles the ruleset from JSON objects as they come: tables, then what belongs to them,
 * found by name through indexes (a 10k-rule ruleset attaches each rule in constant time). The
 * listing form only adds; the command form (`nft -j -f`) also inserts, replaces, deletes and
 * flushes, each applied in order as nft applies a batch.
 */
import type { JsonNode } from "../../facts/located-json.js";
import type { NftChain, NftElement, NftFlowtable, NftObject, NftRule, NftSet, NftTable, NftVerdict } from "../../model/nft.js";
import { RulesetIndex, type TableIndex } from "../ruleset-index.js";
import type { Span } from "../../model/span.js";
import type { Placed, PlacedRule } from "./objects.js";
import type { NftJsonReader } from "./reader.js";
import type { StmtScope } from "./stmt.js";
import { statementKind } from "../../extensions/nft/statements/registry.js";

export class RulesetBuilder {
  private readonly index = new RulesetIndex();
  /** Each table's rule reading scope (the set types its rules look up). */
  private readonly scopes = new WeakMap<TableIndex, StmtScope>();

  constructor(private readonly r: NftJsonReader) {}

  /** The rule reading scope of a table (undefined table: a scope that knows no sets). */
  scopeFor = (where: Placed): StmtScope => {
    const t = this.index.find(where.family, where.table);
    return (t && this.scopes.get(t)) ?? { r: this.r, family: where.family, setTypes: () => undefined };
  };

  addTable(t: NftTable, node: JsonNode, create: boolean): void {
    if (this.index.find(t.family, t.name)) {
      // `add table` of an existing table is a no-op in nft, `create table` fails ("File exists").
      if (create) this.r.error(node, `table ${t.family} ${t.name} exists already`, "a new table for create");
      return;
    }
    const entry = this.index.add(t);
    this.scopes.set(entry, {
      r: this.r,
      family: t.family,
      table: `${t.family} ${t.name}`,
      setTypes: (name) => {
        const s = entry.sets.get(name);
        return s && { key: s.keyType, ...(s.dataType && { data: s.dataType }) };
      },
    });
  }

  private table(where: Placed, node: JsonNode, what: string): TableIndex | undefined {
    const t = this.index.find(where.family, where.table);
    if (!t) this.r.error(node, `${what}: no table ${where.family} ${where.table} before it`, "its table first");
    return t;
  }

  addChain(where: Placed, chain: NftChain, node: JsonNode, create: boolean): void {
    const t = this.table(where, node, `chain ${chain.name}`);
    if (!t) return;
    const old = t.chains.get(chain.name);
    if (old) {
      if (create) this.r.error(node, `chain ${chain.name} exists already in table ${where.family} ${where.table}`, "a new chain for create");
      // `add chain` of an existing chain updates what it gives (a policy, say).
      else if (chain.base) old.base = chain.base;
      return;
    }
    t.addChain(chain);
  }

  addSet(where: Placed, set: NftSet, node: JsonNode, create: boolean): void {
    const t = this.table(where, node, `${set.kind} ${set.name}`);
    if (!t) return;
    const old = t.sets.get(set.name);
    if (old) {
      if (create) this.r.error(node, `${set.kind} ${set.name} exists already`, `a new ${set.kind} for create`);
      else old.elements.push(...set.elements);
      return;
    }
    t.addSet(set);
  }

  /** `{"element": {"family", "table", "name", "elem": [...]}}`: elements added to a named set. */
  setOf(where: Placed, name: string, node: JsonNode): NftSet | undefined {
    const t = this.table(where, node, `set ${name}`);
    const s = t?.sets.get(name);
    if (t && !s) this.r.error(node, `no set or map ${name} in table ${where.family} ${where.table}`, "a declared set");
    return s;
  }

  addElements(set: NftSet, elements: NftElement[]): void {
    for (const e of elements) set.elements.push(e);
  }

  addObject(where: Placed, object: NftObject, node: JsonNode): void {
    const t = this.table(where, node, `${object.type} ${object.name}`);
    if (!t) return;
    if (!t.object(object.type, object.name)) t.addObject(object);
  }

  addFlowtable(where: Placed, ft: NftFlowtable, node: JsonNode): void {
    const t = this.table(where, node, `flowtable ${ft.name}`);
    if (t && !t.flowtables.has(ft.name)) t.addFlowtable(ft);
  }

  /**
   * A rule into its chain: appended (`add`, a listing), or for `insert` put first; a command's
   * `"handle"` names the rule to add after (insert: before), `"index"` a position.
   */
  addRule(p: PlacedRule, node: JsonNode, mode: "add" | "insert" | "replace"): void {
    const t = this.table(p, node, `rule of chain ${p.chain}`);
    if (!t) return;
    const c = t.chains.get(p.chain);
    if (!c) return void this.r.error(node, `no chain ${p.chain} in table ${p.family} ${p.table}`, "the rule's chain first");
    const manager = p.rule.stmts.map((s) => statementKind(s)?.tableManager).find((m) => m !== undefined);
    if (manager) t.table.managedBy = manager;
    this.checkRuleJumps(t, p.rule);
    if (!this.commands) return void c.rules.push(p.rule);
    // A command's "handle" is the kernel's (checked in a netns with nft 1.0.6): an add's is
    // ignored; an insert's must name a rule the kernel had before the batch, which a document
    // alone cannot (nft refuses it); a replace's may name one the kernel numbers within the
    // batch, which the reader cannot follow. The kernel gives the new rule a handle of its own.
    const ref = p.rule.handle;
    const rule: NftRule = { ...p.rule };
    delete rule.handle;
    if (mode === "replace") return void this.byKernelHandle(node, mode, ref);
    if (mode === "insert" && ref !== undefined) {
      return void this.r.error(node, `insert rule by handle ${ref}: nft looks it up among the rules the kernel had before the batch, and a document gives it none`, 'a position by "index"');
    }
    if (p.index === undefined) {
      if (mode === "insert") t.rules(c).unshift(rule);
      else c.rules.push(rule);
      return;
    }
    // By "index": the position among the chain's rules so far, those of this batch included.
    const rules = t.rules(c);
    if (p.index >= rules.length) return void this.r.error(node, `no rule at index ${p.index} in chain ${p.chain} (it has ${rules.length})`, "the index of a rule before this one");
    rules.insertAt(mode === "add" ? p.index + 1 : p.index, rule);
  }

  /** A replace or delete of a rule by the handle the kernel gave it: not applied, and said. */
  byKernelHandle(node: JsonNode, what: string, handle: number | undefined): void {
    if (handle === undefined) return void this.r.error(node, `${what} rule without the rule's "handle"`, "the handle of the rule");
    this.r.warning(node, `${what} rule by handle ${handle} is not applied: which rule the kernel numbered ${handle} cannot be told from the document, so the chain may differ`);
  }

  /** Whether objects come as commands (`nft -j -f` input), where a rule's handle names where it goes. */
  commands = false;

  /** `flush ruleset`, `delete table`, `flush table`/`chain`/`set`, `delete chain`/`set`/objects. */
  flushRuleset(): void {
    this.index.flush();
  }

  deleteTable(where: Placed, node: JsonNode): void {
    if (!this.index.deleteTable(where.family, where.table)) this.r.error(node, `no table ${where.family} ${where.table} to delete`, "an existing table");
  }

  flushTable(where: Placed, node: JsonNode): void {
    const t = this.table(where, node, "flush table");
    if (t) for (const c of t.chains.values()) t.flushRules(c);
  }

  chainOf(where: Placed, name: string, node: JsonNode): { entry: TableIndex; chain: NftChain } | undefined {
    const t = this.table(where, node, `chain ${name}`);
    const c = t?.chains.get(name);
    if (t && !c) this.r.error(node, `no chain ${name} in table ${where.family} ${where.table}`, "an existing chain");
    return t && c && { entry: t, chain: c };
  }

  flushChain(where: Placed, name: string, node: JsonNode): void {
    const c = this.chainOf(where, name, node);
    if (c) c.entry.flushRules(c.chain);
  }

  deleteChain(where: Placed, name: string, node: JsonNode): void {
    const c = this.chainOf(where, name, node);
    if (c) c.entry.removeChain(name);
  }

  flushSet(where: Placed, name: string, node: JsonNode): void {
    const s = this.setOf(where, name, node);
    if (s) s.elements = [];
  }

  deleteSet(where: Placed, name: string, node: JsonNode): void {
    const t = this.table(where, node, `set ${name}`);
    if (t && !t.removeSet(name)) this.r.error(node, `no set or map ${name} to delete`, "an existing set");
  }

  deleteObject(where: Placed, type: string, name: string, node: JsonNode): void {
    const t = this.table(where, node, `${type} ${name}`);
    if (!t) return;
    const o = t.removeObject(type, name);
    const f = type === "flowtable" && t.removeFlowtable(name);
    if (!o && !f) this.r.error(node, `no ${type} ${name} to delete`, `an existing ${type}`);
  }

  finish(): NftTable[] {
    const all = this.index.all();
    for (const t of all) this.checkJumps(t);
    return this.index.finish();
  }

  /**
   * A jump or goto to a chain its table does not have is refused by nft (a listing never holds
   * one; commands may). A rule's must name a chain added before it (nft refuses one added later
   * in the same batch, checked in a netns); a named map's elements are checked once all is read,
   * as a listing gives maps before chains.
   */
  private checkVerdict(t: TableIndex, v: NftVerdict | undefined, span: Span): void {
    if (v?.chain !== undefined && !t.chains.has(v.chain)) this.r.sink.error(span, `${v.verdict} to chain ${JSON.stringify(v.chain)}, which table ${t.table.family} ${t.table.name} does not have`, "a chain of the table added before");
  }

  private checkElements(t: TableIndex, els: NftElement[], span: Span): void {
    for (const e of els) if (e.data?.kind === "verdict") this.checkVerdict(t, e.data, e.span ?? span);
  }

  private checkRuleJumps(t: TableIndex, rule: NftRule): void {
    for (const st of rule.stmts) {
      if (st.kind === "verdict") this.checkVerdict(t, st, rule.span);
      else if (st.kind === "vmap" && st.map.kind === "set") this.checkElements(t, st.map.elements, rule.span);
    }
  }

  private checkJumps(t: TableIndex): void {
    for (const s of t.sets.values()) this.checkElements(t, s.elements, s.span);
  }
}
