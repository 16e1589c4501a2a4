/**
 * The statements of one rule, read in order until the rule ends (newline, `;`, `}`, `#`).
 * Each statement kind reads itself (src/extensions/nft/statements/, found through its
 * registry by its first word, or by the word after an expression: `meta mark set`); this
 * reader keeps the rule's own structure: relations, verdicts, verdict maps and anonymous
 * chains. A word that starts no statement or expression netfate knows is kept as `other`,
 * with a warning, taking the rest of the rule with it so nothing is lost.
 */
import type { NftExpr, NftMatch, NftOp, NftOtherStmt, NftRule, NftStmt } from "../../model/nft.js";
import { boundChainRules } from "../side-facts.js";
import { asNftLoadsIt, BYTE_UNITS, parseDuration } from "../datatypes.js";
import { expressionKindByKeyword } from "../../extensions/nft/registry.js";
import { statementKindAfter, statementKindAt } from "../../extensions/nft/statements/registry.js";
import type { StmtWordReader } from "../../extensions/nft/statements/types.js";
import { wordTable } from "../../extensions/nft/types.js";
import { expressionType, printNftExpr } from "../print/expr.js";
import { printNftRule } from "../print/statements.js";
import { isHandleComment, handleOf } from "./cursor.js";
import { joinTokens, type Token } from "./tokens.js";
import { RAW_TYPE, ValueReader, VERDICT_WORDS } from "./values.js";

const RELATIONS: Readonly<Record<string, NftOp>> = wordTable({
  "==": "==", eq: "==", "!=": "!=", ne: "!=", "<": "<", lt: "<", ">": ">", gt: ">", "<=": "<=", le: "<=", ">=": ">=", ge: ">=",
});


export class StatementReader extends ValueReader {
  /** Rules with a wide gap before a statement (its index): see `Token.wide`. */
  readonly wideGaps = new Map<NftRule, number[]>();

  /** One rule: statements, a trailing `comment "..."`, and `# handle N`. */
  readRule(): NftRule {
    const c = this.c;
    const start = c.cur();
    const rule: NftRule = { stmts: [], span: c.span(start) };
    const ruleStart = c.pos;
    while (!c.atStmtEnd()) {
      if (c.is("comment") && c.peekTok(1)?.type === "string") {
        c.next();
        rule.comment = c.next().value!;
        continue;
      }
      if (c.cur().wide && rule.stmts.length > 0) (this.wideGaps.get(rule) ?? this.wideGaps.set(rule, []).get(rule)!).push(rule.stmts.length);
      const errors = c.sink.errorCount;
      const depth = c.depth;
      const s = this.readStatement();
      if (s !== undefined) {
        rule.stmts.push(s);
        continue;
      }
      if (c.sink.errorCount === errors) break;
      // After an error (perhaps inside braces), the whole rule from its start, braces balanced,
      // is kept as written: left out, it would change what the chain does; kept, it is
      // evaluated as indeterminate.
      c.depth = depth;
      c.pos = ruleStart;
      c.skipStatement();
      const skipped = c.toks.slice(ruleStart, c.pos);
      const text = joinTokens(skipped.filter((t) => t.type !== "nl" && t.type !== "comment"));
      rule.stmts = [{ kind: "other", name: "rule", text }];
      const handle = skipped.find(isHandleComment);
      if (handle) rule.handle = handleOf(handle);
      break;
    }
    const end = c.cur();
    if (end.type === "comment" && isHandleComment(end)) {
      rule.handle = handleOf(end);
      c.next();
    }
    // The rule's extent on its first line (a rule with an anonymous chain spans lines).
    const last = c.toks[c.pos - 1];
    rule.span.len = last && last.line === start.line && c.pos - 1 >= ruleStart ? last.col + last.text.length - start.col : start.text.length;
    return rule;
  }

  /** The words to the end of the rule (before a trailing `comment "..."`), as one `other`. */
  private otherToEnd(name: string, why: string): NftOtherStmt {
    const c = this.c;
    const first = c.cur();
    const words: string[] = [];
    let depth = 0;
    while (!c.atEof()) {
      if (depth === 0 && (c.atStmtEnd() || (c.is("comment") && c.peekTok(1)?.type === "string" && c.atStmtEnd(2)))) break;
      const t = c.next();
      if (t.type === "nl" || t.type === "comment") continue;
      if (t.type === "punct" && t.text === "{") depth++;
      if (t.type === "punct" && t.text === "}") depth--;
      words.push(words.length > 0 && t.glued ? (words.pop() ?? "") + t.text : t.text);
    }
    c.sink.warning(c.span(first), why, undefined, words.join(" "));
    return { kind: "other", name, text: words.join(" ") };
  }

  readStatement(): NftStmt | undefined {
    const c = this.c;
    const w = c.cur().type === "word" ? c.cur().text : "";
    if ((w === "jump" || w === "goto") && c.is("{", 1)) return this.readChainBinding();
    if (VERDICT_WORDS.has(w)) return this.readVerdict();
    const kind = w === "" ? undefined : statementKindAt(w, this.words);
    if (kind?.read) return kind.read(this.words);
    if (!this.startsExpression()) {
      // `meta constructor`, `tcp option-less`: a known kind with an unknown key is refused, as nft does.
      const expr = c.cur().type === "word" ? expressionKindByKeyword(w) : undefined;
      if (expr) return expr.read(c.words) as undefined;
      if (c.cur().type === "word") return this.otherToEnd(w, `${w} is not a statement or expression netfate knows; the rest of the rule is kept as written and not evaluated`);
      return c.fail("a statement");
    }
    return this.readRelation();
  }

  /** `EXPR [OP] VALUE`, `EXPR vmap MAP`, `EXPR set VALUE`. */
  private readRelation(): NftStmt | undefined {
    const c = this.c;
    const left = this.readLhs();
    if (left === undefined) return undefined;
    // `meta mark set 1`: a statement the expression starts.
    const after = c.cur().type === "word" ? statementKindAfter(c.cur().text) : undefined;
    if (after?.readAfter) {
      c.next();
      return after.readAfter(left, this.words);
    }
    const types = expressionType(left);
    if (c.is("vmap")) {
      c.next();
      const map = this.readSetOrRef(types, ["verdict"]);
      return map === undefined ? undefined : { kind: "vmap", key: left, map };
    }
    let op: NftOp = "implicit" as NftOp;
    const rel = RELATIONS[c.cur().text];
    if (rel !== undefined && c.cur().type !== "string") {
      op = rel;
      c.next();
    }
    if (c.atStmtEnd()) return c.fail("a value to compare with");
    // `tcp flags syn / fin,syn,rst,ack`: the value, then the mask it is compared under.
    this.orJoined = false;
    const right = this.readValue(types, true);
    if (right === undefined) return undefined;
    if (op === "implicit" && this.orJoined && right.kind === "const") op = "==";
    if (c.is("/") && types !== undefined) {
      c.next();
      const mask = this.readValue(types, true);
      if (mask === undefined) return undefined;
      return { kind: "match", left: { kind: "binop", op: "&", left, right: mask }, op: op === "implicit" ? "==" : op, right };
    }
    const m: NftMatch = { kind: "match", left, ...asNftLoadsIt(op, right) };
    return m;
  }

  /**
   * `jump { RULES }`: an anonymous chain bound to the rule. Kept as written (its rules as nft
   * prints them, one per line) and evaluated as indeterminate.
   */
  private readChainBinding(): NftStmt | undefined {
    const c = this.c;
    const verdict = c.next();
    const open = c.cur();
    if (!c.enter()) return undefined;
    c.next();
    const lines: string[] = [];
    const rules: NftRule[] = [];
    try {
      for (;;) {
        c.skipBlank();
        if (c.atEof()) return c.fail('"}" closing the anonymous chain');
        if (c.accept("}")) break;
        if (c.accept(";")) continue;
        const rule = this.readRule();
        if (rule.stmts.length > 0) {
          lines.push(printNftRule(rule));
          rules.push(rule);
        }
        if (!c.atStmtEnd()) {
          c.fail("the end of the rule");
          c.skipStatement();
        }
      }
    } finally {
      c.leave();
    }
    const text = `${verdict.text} {\n${lines.map((l) => `\t${l}\n`).join("")}}`;
    c.sink.warning(c.span(open), `an anonymous chain (${verdict.text} { ... }) is kept as written and evaluated as indeterminate`);
    const stmt: NftOtherStmt = { kind: "other", name: verdict.text, text };
    boundChainRules.set(stmt, rules);
    return stmt;
  }

  /** `100 mbytes` (also glued, `100mbytes`): bytes and the unit it was written in. */
  private readAmount(): { bytes: number; unit: string } | undefined {
    const c = this.c;
    const t = c.cur();
    const glued = /^([0-9]+)([a-z]+)$/.exec(t.text);
    if (glued && BYTE_UNITS[glued[2]!] !== undefined) {
      c.next();
      return { bytes: Number(glued[1]) * BYTE_UNITS[glued[2]!]!, unit: glued[2]! };
    }
    if (/^[0-9]+$/.test(t.text) && BYTE_UNITS[c.peekTok(1)?.text ?? ""] !== undefined) {
      c.next();
      const unit = c.next().text;
      return { bytes: Number(t.text) * BYTE_UNITS[unit]!, unit };
    }
    return c.fail("an amount such as 100 mbytes");
  }

  private readUint(what: string): number | undefined {
    const t = this.c.cur();
    if (t.type !== "word" || !/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(t.text)) return this.c.fail(what);
    this.c.next();
    return Number(t.text);
  }

  private readString(what: string): string | undefined {
    const t = this.c.cur();
    if (t.type === "string") {
      this.c.next();
      return t.value!;
    }
    if (t.type === "word") {
      this.c.next();
      return t.text;
    }
    return this.c.fail(what);
  }

  /** Reads a piece of a word (`80-90` of `10.0.0.1:80-90`) as a value of `type`, located at the word. */
  private wordAs(type: string, text: string, at: Token): NftExpr | undefined {
    return this.wordValue(type, { ...at, type: "word", text });
  }

  /** The view of the rule's words that statement kinds read through (one per reader). */
  private readonly words: StmtWordReader = ((self: StatementReader): StmtWordReader => {
    const c = self.c;
    return {
      peek: (ahead = 0) => c.peekTok(ahead)?.text,
      isWord: (ahead = 0) => c.peekTok(ahead)?.type === "word",
      is: (text, ahead = 0) => c.is(text, ahead),
      accept: (text) => c.accept(text),
      expect: (text) => c.expect(text),
      take: () => c.next().text,
      atEnd: (ahead = 0) => c.atStmtEnd(ahead),
      fail: (expected) => c.fail(expected),
      position: () => c.pos,
      warn(at, message, found) {
        c.sink.warning(c.span(c.toks[at] ?? c.cur()), message, undefined, found);
      },
      string: (what) => self.readString(what),
      uint: (what) => self.readUint(what),
      amount: () => self.readAmount(),
      isByteUnit: (word) => BYTE_UNITS[word] !== undefined,
      duration: (word) => parseDuration(word),
      startsExpression: () => self.startsExpression(),
      value: (types) => self.readValueExpr(types),
      atom: (type) => self.readAtom(type),
      primary: () => self.readPrimary(),
      wordAs: (type, text) => self.wordAs(type, text, c.toks[c.pos - 1]!),
      last: () => c.toks[c.pos - 1]!.text,
      statement: () => self.readStatement(),
      keepToEnd: (name, why) => self.otherToEnd(name, why),
      nested<T>(read: () => T | undefined): T | undefined {
        if (!c.enter()) return undefined;
        try {
          return read();
        } finally {
          c.leave();
        }
      },
      setTypes: (name) => self.sets.get(name),
      rawType: RAW_TYPE,
      exprText: (e) => printNftExpr(e),
      typeOf: (e) => expressionType(e),
      get family() {
        return c.family;
      },
    };
  })(this);
}
