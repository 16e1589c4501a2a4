/**
 * The ruleset a reader is building (from a listing, a script or JSON), every table's chains,
 * sets, objects and flowtables indexed by name, so that attaching a rule or running a command
 * costs the same however large the ruleset (a kube-proxy listing has tens of thousands of
 * chains). What delete commands remove is left out of the tables' lists once, at the end, so
 * that many deletes stay linear too. Both readers build through it; what each refuses stays
 * theirs.
 */
import type { NftChain, NftFamily, NftFlowtable, NftObject, NftObjectType, NftSet, NftTable } from "../model/nft.js";
import type { Span } from "../model/span.js";
import { RuleSequence } from "./rule-sequence.js";

export class TableIndex {
  readonly chains = new Map<string, NftChain>();
  readonly sets = new Map<string, NftSet>();
  private readonly objects = new Map<string, NftObject>();
  readonly flowtables = new Map<string, NftFlowtable>();
  private readonly sequences = new Map<NftChain, RuleSequence>();

  constructor(
    readonly table: NftTable,
    private readonly removed: Set<object>,
  ) {}

  /** The chain, added last if the table has none of that name. */
  chain(name: string, span: Span): NftChain {
    return this.chains.get(name) ?? this.addChain({ name, rules: [], span });
  }

  /** A chain the table does not have yet (the caller has checked). */
  addChain(chain: NftChain): NftChain {
    this.chains.set(chain.name, chain);
    this.table.chains.push(chain);
    return chain;
  }

  removeChain(name: string): boolean {
    const ch = this.chains.get(name);
    if (!ch) return false;
    this.chains.delete(name);
    this.removed.add(ch);
    return true;
  }

  renameChain(ch: NftChain, to: string): void {
    this.chains.delete(ch.name);
    ch.name = to;
    this.chains.set(to, ch);
  }

  /** The chain's rules for commands that insert, replace or delete (appending is `chain.rules.push`). */
  rules(ch: NftChain): RuleSequence {
    let seq = this.sequences.get(ch);
    if (!seq) this.sequences.set(ch, (seq = new RuleSequence(ch)));
    return seq;
  }

  /** `flush chain` / `flush table`: the chain keeps no rules. */
  flushRules(ch: NftChain): void {
    const seq = this.sequences.get(ch);
    if (seq) seq.clear();
    else ch.rules = [];
  }

  /** The set or map, added last if the table has none of that name. */
  set(kind: "set" | "map", name: string, span: Span): NftSet {
    return this.sets.get(name) ?? this.addSet({ kind, name, keyType: [], flags: [], elements: [], span });
  }

  addSet(set: NftSet): NftSet {
    this.sets.set(set.name, set);
    this.table.sets.push(set);
    return set;
  }

  removeSet(name: string): boolean {
    const s = this.sets.get(name);
    if (!s) return false;
    this.sets.delete(name);
    this.removed.add(s);
    return true;
  }

  /** A stateful object by type and name (`counter c1`, `ct helper h`). */
  object(type: NftObjectType | string, name: string): NftObject | undefined {
    return this.objects.get(objectKey(type, name));
  }

  addObject(o: NftObject): NftObject {
    this.objects.set(objectKey(o.type, o.name), o);
    this.table.objects.push(o);
    return o;
  }

  removeObject(type: NftObjectType | string, name: string): boolean {
    const k = objectKey(type, name);
    const o = this.objects.get(k);
    if (!o) return false;
    this.objects.delete(k);
    this.removed.add(o);
    return true;
  }

  addFlowtable(ft: NftFlowtable): NftFlowtable {
    this.flowtables.set(ft.name, ft);
    this.table.flowtables.push(ft);
    return ft;
  }

  removeFlowtable(name: string): boolean {
    const ft = this.flowtables.get(name);
    if (!ft) return false;
    this.flowtables.delete(name);
    this.removed.add(ft);
    return true;
  }

  /** The table as read: removed parts left out, every chain's rules in order. */
  finish(): NftTable {
    const t = this.table;
    if (this.removed.size) {
      const kept = <T extends object>(xs: T[]) => xs.filter((x) => !this.removed.has(x));
      t.chains = kept(t.chains);
      t.sets = kept(t.sets);
      t.objects = kept(t.objects);
      t.flowtables = kept(t.flowtables);
    }
    for (const seq of this.sequences.values()) seq.settle();
    this.sequences.clear();
    return t;
  }
}

function objectKey(type: string, name: string): string {
  return `${type}\u0000${name}`;
}

export class RulesetIndex {
  private readonly tables = new Map<string, TableIndex>();
  /** Parts deleted by commands, shared by the tables (a set, so each delete is constant time). */
  private readonly removed = new Set<object>();

  find(family: NftFamily, name: string): TableIndex | undefined {
    return this.tables.get(tableKey(family, name));
  }

  /** The table, added last if there is none of that family and name. */
  table(family: NftFamily, name: string, span: Span): TableIndex {
    return this.find(family, name) ?? this.add({ family, name, flags: [], chains: [], sets: [], objects: [], flowtables: [], span });
  }

  /** A table there is none of yet (the caller has checked). */
  add(table: NftTable): TableIndex {
    const ix = new TableIndex(table, this.removed);
    this.tables.set(tableKey(table.family, table.name), ix);
    return ix;
  }

  deleteTable(family: NftFamily, name: string): boolean {
    return this.tables.delete(tableKey(family, name));
  }

  /** `flush ruleset [FAMILY]`: the tables (of that family) are gone. */
  flush(family?: NftFamily): void {
    for (const ix of [...this.tables.values()]) if (family === undefined || ix.table.family === family) this.deleteTable(ix.table.family, ix.table.name);
  }

  /** The tables there are now, in the order they were added. */
  all(): TableIndex[] {
    return [...this.tables.values()];
  }

  finish(): NftTable[] {
    return this.all().map((ix) => ix.finish());
  }
}

function tableKey(family: NftFamily, name: string): string {
  return `${family}\u0000${name}`;
}
