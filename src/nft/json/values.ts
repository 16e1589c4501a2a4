/**
 * Constants of the JSON schema resolved against the datatype their context gives them: the
 * other side of a match (`"right": "established"` against `ct state`), a set's declared key
 * type, a nat statement's address family. JSON writes a value as nft prints it (a name, an
 * address, a number), so the word goes through the same datatype parser as the text reader's.
 *
 * This file is the one seam between the JSON reader and the shared datatypes.
 */
import type { NftConst, NftExpr } from "../../model/nft.js";
import type { JsonNode } from "../../facts/located-json.js";
import { expressionType, isBitmaskType, parseConst, printConst } from "../index.js";
import type { NftJsonReader } from "./reader.js";

/** The datatype(s) of an expression, one per part of a concatenation; undefined when not known. */
export function typesOf(expr: NftExpr): string[] | undefined {
  return expressionType(expr);
}

export function isBitmask(type: string): boolean {
  return isBitmaskType(type);
}

/**
 * A word of the given datatype as a constant, or an error saying what was expected. JSON
 * strings are never quoted the way nft text quotes them; a word in double quotes is taken as
 * written (the text reader's quote removal must not apply to it).
 */
function parseWord(type: string, word: string): NftConst | string {
  if (word.startsWith('"') && word.endsWith('"') && word.length >= 2) return { kind: "const", type, value: word };
  const c = parseConst(type, word);
  if (typeof c === "string" || word === printedWord(c)) return c;
  return { ...c, text: word };
}

/** How nft prints the constant, without the quotes it puts around names: what JSON writes for it. */
function printedWord(c: NftConst): string {
  return printConst(c).replace(/^"(.*)"$/, "$1");
}

/**
 * A JSON scalar (or, for a bitmask type, a list of bit names) as a constant of `type`. A
 * value the type does not take is reported and kept as written, typed, so the rule keeps it.
 */
export function constOf(r: NftJsonReader, n: JsonNode, type: string | undefined, what: string): NftConst | undefined {
  let word: string;
  let numeric = false;
  if (n.kind === "number") {
    if (type === undefined) return { kind: "const", type: "integer", value: n.value };
    word = String(n.value);
    numeric = true;
  } else if (n.kind === "string") {
    if (type === undefined) return { kind: "const", type: "string", value: n.value };
    word = n.value;
  } else if (n.kind === "boolean") {
    // `fib ... oif missing` / `exists`: nft writes the check as a boolean.
    return { kind: "const", type: "boolean", value: n.value ? 1 : 0, text: n.value ? "exists" : "missing" };
  } else return r.wrong(n, what, "a number or a string");
  const c = parseWord(type, word);
  if (typeof c !== "string") {
    // A number is how JSON writes any integer (a mark, a port), not a word chosen by the writer.
    if (numeric) delete c.text;
    return c;
  }
  r.error(n, `${what}: ${c}`, `a value of type ${type}`, word);
  return { kind: "const", type, value: word };
}

/** A bitmask's bit names as one constant holding them all (`["established", "related"]`). */
export function bitmaskConstOf(r: NftJsonReader, items: JsonNode[], type: string, at: JsonNode, what: string): NftConst | undefined {
  const words: string[] = [];
  for (const item of items) {
    if (item.kind === "string") words.push(item.value);
    else if (item.kind === "number") words.push(String(item.value));
    else return r.wrong(item, what, `a bit of ${type}`);
  }
  const c = parseWord(type, words.join(","));
  if (typeof c !== "string") return words.length > 1 ? { ...c, text: words.join(",") } : c;
  r.error(at, `${what}: ${c}`, `bits of type ${type}`, words.join(","));
  return { kind: "const", type, value: words.join(",") };
}
