/**
 * Expression kinds netfate reads but does not evaluate, kept as written (`NftOtherExpr`):
 * IPv6 extension headers, routing data, socket lookups, OS fingerprints, IPsec state, TCP and
 * IP options, and the kinds only JSON gives (SCTP chunks, DCCP options, tunnels). Each kind's
 * file gives its small text grammar (from nft's parser_bison.y), so that the words that follow
 * it are left for the rest of the rule, and the datatypes of the fields nft compares with
 * something other than a number; this file makes the rest of a kind from them.
 */
import type { Family } from "../../model/ast.js";
import type { JsonNode } from "../../model/json.js";
import type { NftOtherExpr } from "../../model/nft.js";
import { absent, unknown, type NftExprEnv } from "../../model/nft-evaluation.js";
import type { XVal } from "../../model/nft-values.js";
import { wordTable, type ExprKind, type JsonExprReader, type WordReader } from "./types.js";

/** A reader of one kind's words: returns how many words it spans, or undefined if it does not start here. */
export type Grammar = (r: WordReader) => number | undefined;

export const is = (w: string | undefined, s: ReadonlySet<string>): boolean => w !== undefined && s.has(w);
export const isNumber = (w: string | undefined): boolean => w !== undefined && /^[0-9]+$/.test(w);
export const addressOf = (words: readonly string[]): string => (words.includes("ip6") ? "ipv6_addr" : "ipv4_addr");

/** A field's datatype from the words of the expression (an address's family is one of them). */
export type FieldType = (words: readonly string[]) => string;

export interface KeptKind {
  /** The kind as nft names it (`exthdr`, `tcp option`): the AST's `name`, and its JSON key. */
  name: string;
  /** Its text grammar; absent: netfate reads no nft text of it (JSON only). */
  grammar?: Grammar;
  /** Datatypes by the expression's last word, where not a number (`rt nexthop`: an address). */
  fieldTypes?: Readonly<Record<string, FieldType>>;
  /** The datatype when the expression is this kind's keyword and one more word (`exthdr hbh`: present or not). */
  presenceType?: string;
  /**
   * The one family whose packets have it (IPv6 extension headers, IPv4 options): nft has the
   * rule test `meta nfproto` first in an inet table, so a packet of the other family stops it.
   * A function says it from the expression's words, for kinds where only some name a family
   * (`rt ip6 nexthop`, not `rt mtu`).
   */
  family?: Family | ((words: readonly string[]) => Family | undefined);
}

/** A kind kept as written: read by its grammar, printed as written, its value unknown. */
export function keptAsWritten(k: KeptKind): ExprKind<NftOtherExpr> {
  const fields = wordTable({ ...k.fieldTypes });
  const { grammar, name } = k;
  const given = k.family;
  const familyOf: ((e: NftOtherExpr) => Family | undefined) | undefined =
    typeof given === "function" ? (e) => given(e.text.split(" ")) : given && (() => given);
  return {
    kind: "other",
    name,
    // What follows these is too varied to call an unknown key an error: kept as written.
    keywords: [],
    ...(grammar && {
      starts: (r: WordReader) => grammar(r) !== undefined,
      read(r: WordReader): NftOtherExpr | undefined {
        const n = grammar(r);
        if (n === undefined) return r.fail("an expression");
        const words: string[] = [];
        for (let i = 0; i < n; i++) words.push(r.take());
        return { kind: "other", name, text: words.join(" ") };
      },
    }),
    jsonKeys: [name],
    readJson,
    type(e) {
      const words = e.text.split(" ");
      if (k.presenceType !== undefined && words[0] === name) return [k.presenceType];
      const typeOf = fields[words[words.length - 1]!];
      return [typeOf ? typeOf(words) : "integer"];
    },
    print,
    ...(familyOf && { family: familyOf }),
    evaluate: familyOf ? (e, env) => {
      const family = familyOf(e);
      return family === undefined || env.br.pkt.family === family ? evaluate(e, env) : absent(`the packet is not ${family === "ipv4" ? "IPv4" : "IPv6"}`);
    } : evaluate,
  };
}

/** What stands for an `other` expression of a kind no file describes (JSON kinds nft itself does not know). */
export const UNKNOWN_KIND: ExprKind<NftOtherExpr> = keptAsWritten({ name: "" });

/** `{"NAME": ...}`: the object's text, as written. */
function readJson(key: string, _v: JsonNode, n: JsonNode, { r }: JsonExprReader): NftOtherExpr {
  return { kind: "other", name: key, text: r.source(n) };
}

function print(e: NftOtherExpr): string {
  return e.text;
}

function evaluate(e: NftOtherExpr, _env: NftExprEnv): XVal {
  return unknown(`${e.name} (${e.text}): netfate does not evaluate this expression`);
}
