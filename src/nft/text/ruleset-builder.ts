/**
 * The ruleset being built from a listing or a script, with every table's chains, sets,
 * objects and flowtables indexed by name so attaching a rule or an element is constant time
 * however large the ruleset (a kube-proxy listing has tens of thousands of chains).
 */
import type { NftChain, NftFamily, NftFlowtable, NftObject, NftRuleset, NftSet, NftTable } from "../../model/nft.js";
import type { Span } from "../../model/span.js";

export interface TableIndex {
  table: NftTable;
  chains: Map<string, NftChain>;
  sets: Map<string, NftSet>;
  objects: Map<string, NftObject>;
  flowtables: Map<string, NftFlowtable>;
}

export class RulesetBuilder {
  readonly ruleset: NftRuleset = { tables: [], source: "list" };
  private readonly index = new Map<string, TableIndex>();

  private static key(family: NftFamily, name: string): string {
    return `${family}\u0000${name}`;
  }

  find(family: NftFamily, name: string): TableIndex | undefined {
    return this.index.get(RulesetBuilder.key(family, name));
  }

  /** The table, created (at the end) if it does not exist yet. */
  table(family: NftFamily, name: string, span: Span): TableIndex {
    const k = RulesetBuilder.key(family, name);
    let ix = this.index.get(k);
    if (!ix) {
      const table: NftTable = { family, name, flags: [], chains: [], sets: [], objects: [], flowtables: [], span };
      ix = { table, chains: new Map(), sets: new Map(), objects: new Map(), flowtables: new Map() };
      this.index.set(k, ix);
      this.ruleset.tables.push(table);
    }
    return ix;
  }

  deleteTable(family: NftFamily, name: string): boolean {
    const ix = this.find(family, name);
    if (!ix) return false;
    this.index.delete(RulesetBuilder.key(family, name));
    this.ruleset.tables.splice(this.ruleset.tables.indexOf(ix.table), 1);
    return true;
  }

  /** `flush ruleset [FAMILY]`. */
  flush(family?: NftFamily): void {
    for (const t of [...this.ruleset.tables]) if (family === undefined || t.family === family) this.deleteTable(t.family, t.name);
  }

  all(): TableIndex[] {
    return [...this.index.values()];
  }
}

export function chainOf(ix: TableIndex, name: string, span: Span): NftChain {
  let ch = ix.chains.get(name);
  if (!ch) {
    ch = { name, rules: [], span };
    ix.chains.set(name, ch);
    ix.table.chains.push(ch);
  }
  return ch;
}

export function removeNamed<T extends { name: string }>(list: T[], map: Map<string, T>, name: string): boolean {
  const it = map.get(name);
  if (!it) return false;
  map.delete(name);
  list.splice(list.indexOf(it), 1);
  return true;
}
