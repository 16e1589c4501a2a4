/**
 * Expressions and values of nft text. The left side of a relation is read through the
 * expression kinds (registry); the right side is read against the left side's datatypes, so
 * `22` after `tcp dport` is an inet_service, `established,related` after `ct state` one
 * ct_state bitmask, and `10.96.0.10 . tcp . 53` after `ip daddr . meta l4proto . th dport` a
 * three-part concatenation.
 */
import type { NftConst, NftElement, NftExpr, NftSetLiteral, NftVerdict } from "../../model/nft.js";
import { datatype, isBitmaskType, isReversedWrappingRange, parseConst, parseDuration, rangeRefusal, REVERSED_RANGE } from "../datatypes.js";
import { expressionType } from "../print/expr.js";
import { expressionKindAt } from "../../extensions/nft/registry.js";
import { wordTable } from "../../extensions/nft/types.js";
import { Cursor } from "./cursor.js";
import type { Token } from "./tokens.js";
import { cNumber } from "../../model/c-number.js";

/** Binary operators as nft writes them, symbol or word. */
const BINOPS: Readonly<Record<string, "&" | "|" | "^" | "<<" | ">>">> = wordTable({
  "&": "&", and: "&", "|": "|", or: "|", "^": "^", xor: "^", "<<": "<<", lshift: "<<", ">>": ">>", rshift: ">>",
});

/** The type a constant of no known datatype gets: kept as written, printed back as written. */
export const RAW_TYPE = "raw";

export const VERDICT_WORDS = new Set(["accept", "drop", "continue", "return", "jump", "goto"]);

/** Named sets and maps of the table being read: `@name` types its elements. */
export interface SetTypes {
  get(name: string): { keyType: string[]; dataType?: string[] } | undefined;
}

export class ValueReader {
  /**
   * The last bitmask value was written with a spaced `|` (`ct state established | related`):
   * nft lists an exact comparison (`==`) that way, and "any of these bits" with commas (and
   * reads `syn|ack` without spaces as "any of" too, checked with nft 1.0.6).
   */
  orJoined = false;

  constructor(readonly c: Cursor, readonly sets: SetTypes) {
    c.readConcat = () => this.readConcat();
  }

  /** An expression kind or a parenthesized concatenation, if one starts here. */
  startsExpression(): boolean {
    if (this.c.is("(")) return true;
    return expressionKindAt(this.c.words) !== undefined;
  }

  readPrimary(): NftExpr | undefined {
    const c = this.c;
    if (c.is("(")) {
      if (!c.enter()) return undefined;
      c.next();
      const e = this.readLhs();
      c.leave();
      if (e === undefined) return undefined;
      if (!c.expect(")", '")"')) return undefined;
      return e;
    }
    if (!c.enter()) return undefined;
    const r = c.words;
    const kind = expressionKindAt(r);
    const e = kind ? kind.read(r) : c.fail("an expression (ip saddr, tcp dport, meta mark, ct state...)");
    c.leave();
    return e;
  }

  /** `ip daddr . meta l4proto . th dport`. */
  readConcat(): NftExpr | undefined {
    const first = this.readPrimary();
    if (first === undefined) return undefined;
    if (!this.c.is(".")) return first;
    const parts = [first];
    while (this.c.accept(".")) {
      const p = this.readPrimary();
      if (p === undefined) return undefined;
      parts.push(p);
    }
    return { kind: "concat", parts };
  }

  /** A left side: a concatenation, then binary operators with constants (`meta mark & 0xff`). */
  readLhs(): NftExpr | undefined {
    let e = this.readConcat();
    while (e !== undefined && !this.c.atStmtEnd() && BINOPS[this.c.cur().text] !== undefined && this.c.cur().type !== "string") {
      const op = BINOPS[this.c.next().text]!;
      const shift = op === "<<" || op === ">>";
      const right = this.readOperand(shift ? ["integer"] : expressionType(e));
      if (right === undefined) return undefined;
      e = { kind: "binop", op, left: e, right };
    }
    return e;
  }

  /** A binop's right side: a constant of the left side's type, or an expression (`meta mark | ct mark`). */
  private readOperand(types: string[] | undefined): NftExpr | undefined {
    if (this.c.is("(") && !this.startsExpressionAfterParen()) {
      if (!this.c.enter()) return undefined;
      this.c.next();
      const v = this.readBitList(types?.[0], true);
      this.c.leave();
      if (v === undefined || !this.c.expect(")", '")"')) return undefined;
      return v;
    }
    if (this.startsExpression()) return this.readConcat();
    return this.readBitList(types?.[0], false);
  }

  private startsExpressionAfterParen(): boolean {
    this.c.pos++;
    const yes = this.startsExpression();
    this.c.pos--;
    return yes;
  }

  /**
   * A value where an expression may stand (a statement's value: `meta mark set ct mark`, `dnat
   * to ip daddr map @m`): an expression with binops and an optional `map`, or constants.
   */
  readValueExpr(types: string[] | undefined): NftExpr | undefined {
    if (this.startsExpression()) {
      const e = this.readLhs();
      if (e === undefined) return undefined;
      if (this.c.accept("map")) {
        const keyTypes = expressionType(e);
        const map = this.readSetOrRef(keyTypes, types ?? [RAW_TYPE]);
        if (map === undefined) return undefined;
        return { kind: "map", key: e, map };
      }
      return e;
    }
    return this.readValue(types, true);
  }

  /** `@name` or `{ ... }`, the map of a lookup or vmap. */
  readSetOrRef(keyTypes: string[] | undefined, dataTypes: string[] | undefined): NftSetLiteral | { kind: "setref"; name: string } | undefined {
    const t = this.c.cur();
    if (t.type === "word" && t.text.startsWith("@") && t.text.length > 1) {
      this.c.next();
      return { kind: "setref", name: t.text.slice(1) };
    }
    if (this.c.is("{")) return this.readSetLiteral(keyTypes, dataTypes);
    return this.c.fail("@SET or { elements }");
  }

  /**
   * A relation's right side of the given datatypes: `@set`, `{ ... }`, or a (concatenated)
   * constant; for a bitmask type, bits joined by `,` or `|` (`established,related`).
   */
  readValue(types: string[] | undefined, list: boolean): NftExpr | undefined {
    const t = this.c.cur();
    if (t.type === "word" && t.text.startsWith("@") && t.text.length > 1 && !/^@[a-z]+,/.test(t.text)) {
      this.c.next();
      return { kind: "setref", name: t.text.slice(1) };
    }
    if (this.c.is("{")) return this.readSetLiteral(types, undefined);
    return this.readKey(types, list);
  }

  /** A set element's key or a relation's constant: parts of a concatenation joined by `.`. */
  readKey(types: string[] | undefined, list: boolean): NftExpr | undefined {
    const n = types?.length ?? 1;
    const parts: NftExpr[] = [];
    for (let i = 0; ; i++) {
      const type = types?.[i] ?? (types === undefined ? undefined : RAW_TYPE);
      const p = this.readBitList(type, list);
      if (p === undefined) return undefined;
      parts.push(p);
      if (!this.c.is(".")) break;
      this.c.next();
    }
    if (types !== undefined && parts.length !== n && n > 1) {
      this.c.fail(`${n} values joined by " . " (${types.join(" . ")})`, `expected ${n} values joined by " . ", found ${parts.length}`);
      return undefined;
    }
    return parts.length === 1 ? parts[0] : { kind: "concat", parts };
  }

  /** One constant, prefix or range; for a bitmask type, several bits joined by `,`/`|`. */
  readBitList(type: string | undefined, list: boolean): NftExpr | undefined {
    const first = this.readAtom(type);
    if (first === undefined || type === undefined || !isBitmaskType(type) || first.kind !== "const") return first;
    let acc = Number(first.value);
    let joined = false;
    this.orJoined = false;
    while (this.c.is("|") || (list && this.c.is(",") && this.c.peekTok(1)?.type === "word" && datatype(type)!.parse(this.c.peekTok(1)!.text) !== undefined && typeof datatype(type)!.parse(this.c.peekTok(1)!.text) !== "object")) {
      // nft lists an exact comparison as `a | b`, spaced; `a|b` as written in a script is "any of".
      const sep = this.c.next();
      if (sep.text === "|" && !sep.glued) this.orJoined = true;
      const more = this.readAtom(type);
      if (more === undefined || more.kind !== "const") return this.c.fail(`a ${type} value`);
      acc |= Number(more.value);
      joined = true;
    }
    return joined ? { kind: "const", type, value: acc >>> 0 } : first;
  }

  /** One word or string as a constant of `type`, with `/LEN` prefixes and `LO-HI` ranges. */
  readAtom(type: string | undefined): NftExpr | undefined {
    const c = this.c;
    const t = c.cur();
    if (t.type === "punct" && t.text === "(") {
      if (!c.enter()) return undefined;
      c.next();
      const v = this.readBitList(type, true);
      c.leave();
      if (v === undefined || !c.expect(")", '")"')) return undefined;
      return v;
    }
    if (t.type !== "word" && t.type !== "string") return c.fail(type ? `a value of type ${type}` : "a value");
    c.next();
    if (t.type === "string") {
      const lo = this.constOf(type, t);
      if (lo === undefined) return undefined;
      // `"10:00"-"11:00"`: a range of strings, written glued.
      if (c.is("-") && c.cur().glued && c.peekTok(1)?.type === "string" && c.peekTok(1)?.glued) {
        c.next();
        const at = c.next();
        const hi = this.constOf(type, at);
        return hi === undefined ? undefined : this.range(lo, hi, t.line, t.col, at.line === t.line ? at.col + at.text.length - t.col : t.text.length);
      }
      return lo;
    }
    return this.wordValue(type, t);
  }

  /** A word as a constant, prefix or range of the type; the error names the type. */
  protected wordValue(type: string | undefined, t: Token): NftExpr | undefined {
    const w = t.text;
    if (type === undefined || type === RAW_TYPE) return { kind: "const", type: RAW_TYPE, value: w };
    // `exists` / `missing` test for presence whatever the expression's type.
    if (w === "exists" || w === "missing") return { kind: "const", type: "boolean", value: w === "exists" ? 1 : 0 };
    const whole = parseConst(type, w);
    if (typeof whole !== "string") return whole;
    const slash = w.lastIndexOf("/");
    // A prefix length is base 0 to nft: `/010` is /8, `/0x8` is /8, `/08` is refused.
    const len = slash > 0 ? cNumber(w.slice(slash + 1), datatype(type)?.bits ?? 0) : undefined;
    if (len !== undefined) {
      const base = parseConst(type, w.slice(0, slash));
      if (typeof base !== "string") return { kind: "prefix", base, len };
    }
    for (let i = w.indexOf("-"); i > 0; i = w.indexOf("-", i + 1)) {
      const lo = parseConst(type, w.slice(0, i));
      const hi = parseConst(type, w.slice(i + 1));
      if (typeof lo !== "string" && typeof hi !== "string") return this.range(lo, hi, t.line, t.col, w.length);
    }
    this.c.sink.error({ line: t.line, col: t.col, len: w.length }, `${w} is not a value of type ${type}`, whole.replace(/, found .*$/, ""), w);
    return undefined;
  }

  /** `lo-hi`, refused where nft refuses it. */
  private range(lo: NftConst, hi: NftConst, line: number, col: number, len: number): NftExpr | undefined {
    const refused = rangeRefusal(lo, hi);
    if (refused === undefined) return { kind: "range", lo, hi };
    this.c.sink.error({ line, col, len }, refused, "a range nft takes");
    return undefined;
  }

  private constOf(type: string | undefined, t: Token): NftConst | undefined {
    if (type === undefined || type === RAW_TYPE) return { kind: "const", type: RAW_TYPE, value: t.text };
    const v = parseConst(type, t.text);
    if (typeof v !== "string") return v;
    this.c.sink.error({ line: t.line, col: t.col, len: t.text.length }, `${t.text} is not a value of type ${type}`, v.replace(/, found .*$/, ""), t.text);
    return undefined;
  }

  /**
   * `{ elements }` of keys of `keyTypes` and, for a map, values of `dataTypes`. Newlines
   * inside are blank (nft wraps long element lists); a nested `{ ... }` (a substituted
   * define) is flattened, as nft does.
   */
  readSetLiteral(keyTypes: string[] | undefined, dataTypes: string[] | undefined): NftSetLiteral | undefined {
    const out: NftSetLiteral = { kind: "set", elements: [] };
    return this.readElementsInto(out.elements, keyTypes, dataTypes) ? out : undefined;
  }

  readElementsInto(into: NftElement[], keyTypes: string[] | undefined, dataTypes: string[] | undefined): boolean {
    const c = this.c;
    if (!c.enter()) return false;
    try {
      if (!c.expect("{")) return false;
      for (;;) {
        c.skipBlank();
        if (c.accept("}")) return true;
        if (c.is("{")) {
          if (!this.readElementsInto(into, keyTypes, dataTypes)) return false;
        } else {
          const el = this.readElement(keyTypes, dataTypes);
          if (el === undefined) return false;
          into.push(el);
        }
        c.skipBlank();
        if (c.accept(",")) continue;
        if (c.accept("}")) return true;
        c.fail('"," or "}"');
        return false;
      }
    } finally {
      c.leave();
    }
  }

  /** `KEY [timeout T] [expires T] [counter ...] [comment "C"] [: DATA]`. */
  readElement(keyTypes: string[] | undefined, dataTypes: string[] | undefined): NftElement | undefined {
    const c = this.c;
    const start = c.cur();
    // `*`: the catch-all element, matching what no other element matches.
    const key: NftExpr | undefined = c.is("*") ? (c.next(), { kind: "const", type: RAW_TYPE, value: "*" }) : this.readKey(keyTypes, false);
    if (key === undefined) return undefined;
    // A reversed hour or day range is taken as a relation's value, never as an element.
    if (isReversedWrappingRange(key)) {
      c.sink.error(c.span(start), REVERSED_RANGE, "a range nft takes");
      return undefined;
    }
    const el: NftElement = { key, span: c.span(start) };
    for (;;) {
      if (c.is("timeout") || c.is("expires")) {
        const which = c.next().text;
        const d = parseDuration(c.cur().text);
        if (d === undefined) return c.fail("a time such as 10s or 1h30m");
        c.next();
        if (which === "timeout") el.timeout = d;
        else el.expires = d;
        continue;
      }
      if (c.is("counter")) {
        c.next();
        if (c.is("packets")) {
          c.next();
          const p = Number(c.cur().text);
          if (!/^[0-9]+$/.test(c.cur().text)) return c.fail("a packet count");
          c.next();
          if (!c.expect("bytes")) return undefined;
          if (!/^[0-9]+$/.test(c.cur().text)) return c.fail("a byte count");
          el.counter = { packets: p, bytes: Number(c.next().text) };
        } else el.counter = { packets: 0, bytes: 0 };
        continue;
      }
      if (c.is("comment")) {
        c.next();
        const s = c.cur();
        if (s.type !== "string" && s.type !== "word") return c.fail('a comment string ("...")');
        c.next();
        el.comment = s.value ?? s.text;
        continue;
      }
      break;
    }
    if (c.accept(":")) {
      const data = dataTypes?.[0] === "verdict" ? this.readVerdict() : this.readKey(dataTypes ?? undefined, false);
      if (data === undefined) return undefined;
      el.data = data;
    }
    return el;
  }

  /** `accept`, `drop`, `continue`, `return`, `jump CHAIN`, `goto CHAIN`. */
  readVerdict(): NftVerdict | undefined {
    const c = this.c;
    const w = c.cur().text;
    if (!VERDICT_WORDS.has(w) || c.cur().type !== "word") return c.fail("a verdict (accept, drop, continue, return, jump CHAIN, goto CHAIN)");
    c.next();
    if (w === "jump" || w === "goto") {
      const t = c.cur();
      if (t.type !== "word" && t.type !== "string") return c.fail("a chain name");
      // nft 1.0.6 refuses `jump "name"` ("unexpected quoted string").
      if (t.type === "string") c.sink.error(c.span(t), "nft 1.0.6 takes the chain name unquoted", "a name without quotes", t.text);
      c.next();
      return { kind: "verdict", verdict: w, chain: t.value ?? t.text };
    }
    return { kind: "verdict", verdict: w as NftVerdict["verdict"] };
  }
}
