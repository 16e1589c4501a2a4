/**
 * How a statement names one of the table's stateful objects (`counter name "c"`,
 * `quota name "q"`, `ct helper set "ftp"`): read into an object reference, which objref.ts
 * prints and evaluates. Shared by the kinds whose words may start one.
 */
import type { JsonNode } from "../../../model/json.js";
import type { NftObjRef, NftObjectType } from "../../../model/nft.js";
import type { StmtJsonReader, StmtWordReader } from "./types.js";

/** The object's name after `name` (or `set`): `"c1"`, or an expression mapping to one. */
export function objRef(r: StmtWordReader, type: NftObjectType): NftObjRef | undefined {
  const name = r.startsExpression() ? r.value([type]) : r.atom(type);
  return name === undefined ? undefined : { kind: "objref", type, name };
}

/** An object reference's JSON name is a string, or a map from a key to names (`{"map": ...}`). */
export function isMapObjRef(v: JsonNode): boolean {
  return v.kind === "object" && v.fields.size === 1 && v.fields.has("map");
}

export function objRefJson(j: StmtJsonReader, type: NftObjectType, v: JsonNode): NftObjRef | undefined {
  const name = j.expr(v, ["string"], `${type} name`);
  return name && { kind: "objref", type, name };
}
