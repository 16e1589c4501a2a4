/**
 * Elements a rule added to or deleted from a named set while the packet went through
 * (`add @seen { ip saddr }`, `update`, `delete`): per history, so a later lookup in the same
 * traversal sees them, and two histories never see each other's. Kept on the branch as an
 * immutable map replaced on change, so forking copies a reference.
 */
import type { Branch } from "../branch.js";
import type { NftCompiledTable } from "./compile.js";
import type { ElementChange } from "../../model/nft-statement-evaluation.js";
import { valKey, type Val } from "../../model/nft-values.js";

/** An element's state after this traversal's changes: present with its data, or deleted. */
export type Changed = ElementChange;
type Stored = Changed & { digest: string };

function key(table: NftCompiledTable, set: string, v: Val): string {
  return `${table.family}\u0000${table.name}\u0000${set}\u0000${valKey(v)}`;
}

export function changedElement(br: Branch, table: NftCompiledTable, set: string, v: Val): Changed | undefined {
  return br.nftSets?.get(key(table, set, v)) as Stored | undefined;
}

export function changeElement(br: Branch, table: NftCompiledTable, set: string, v: Val, c: Changed): void {
  const next = new Map(br.nftSets ?? []);
  const stored: Stored = { ...c, digest: c.present ? `+${c.data !== undefined ? valKey(c.data) : ""}` : "-" };
  next.set(key(table, set, v), stored);
  br.nftSets = next;
}
