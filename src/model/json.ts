/**
 * JSON as read with the offset of every value and key (src/facts/located-json.ts reads it), so
 * that whatever reads a value (node facts, nft -j, an nft expression kind) can say at which
 * line and column it is wrong.
 */

export type JsonNode =
  | { kind: "object"; at: number; fields: Map<string, JsonField>; duplicates: JsonField[] }
  | { kind: "array"; at: number; items: JsonNode[] }
  | { kind: "string"; at: number; value: string }
  | { kind: "number"; at: number; value: number }
  | { kind: "boolean"; at: number; value: boolean }
  | { kind: "null"; at: number };

export interface JsonField {
  key: string;
  keyAt: number;
  value: JsonNode;
}
