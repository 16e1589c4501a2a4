/**
 * The statements of one rule, read in order until the rule ends (newline, `;`, `}`, `#`).
 * A statement that starts with a word nft has but netfate does not model (dup, fwd, tproxy,
 * synproxy, meter...) or an expression the registry does not know is kept as `other`, with a
 * warning, taking the rest of the rule with it so nothing is lost.
 */
import type {
  NftExpr, NftLimit, NftLog, NftMatch, NftNat, NftOp, NftOtherStmt, NftQueue, NftQuota, NftReject, NftRule, NftSetStmt, NftStmt,
} from "../../model/nft.js";
import { boundChainRules } from "../side-facts.js";
import { asNftLoadsIt, BYTE_UNITS, parseDuration } from "../datatypes.js";
import { expressionKindByKeyword } from "../../extensions/nft/registry.js";
import { wordTable } from "../../extensions/nft/types.js";
import { expressionType, printNftExpr } from "../print/expr.js";
import { printNftRule } from "../print/statements.js";
import { isHandleComment, handleOf } from "./cursor.js";
import { joinTokens, type Token } from "./tokens.js";
import { RAW_TYPE, ValueReader, VERDICT_WORDS } from "./values.js";

const RELATIONS: Readonly<Record<string, NftOp>> = wordTable({
  "==": "==", eq: "==", "!=": "!=", ne: "!=", "<": "<", lt: "<", ">": ">", gt: ">", "<=": "<=", le: "<=", ">=": ">=", ge: ">=",
});

const PER = new Set(["second", "minute", "hour", "day", "week"]);
const NAT_FLAGS = new Set(["random", "fully-random", "persistent", "netmap"]);
/** Statement words kept as written (`other`), to the end of the rule. */
const OTHER_STATEMENTS = new Set(["dup", "fwd", "tproxy", "synproxy", "meter", "last", "secmark", "osf"]);

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
  private otherToEnd(name: string, why: string): NftStmt {
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
    switch (w) {
      case "counter":
        return this.readCounter();
      case "log":
        return this.readLog();
      case "limit":
        return this.readLimit();
      case "quota":
        return this.readQuota();
      case "snat":
      case "dnat":
      case "masquerade":
      case "redirect":
        return this.readNat();
      case "reject":
        return this.readReject();
      case "notrack":
        c.next();
        return { kind: "notrack" };
      case "queue":
        return this.readQueue();
      case "xt":
        return this.readXt();
      case "add":
      case "update":
      case "delete":
        if (c.peekTok(1)?.text.startsWith("@")) return this.readSetStmt();
        break;
      case "flow":
        if ((c.is("add", 1) || c.is("offload", 1)) && c.peekTok(2)?.text.startsWith("@")) {
          const words = [c.next().text, c.next().text, c.next().text];
          c.sink.warning(c.span(), "flow offload is kept as written and not evaluated", undefined, words.join(" "));
          return { kind: "other", name: "flow", text: words.join(" ") };
        }
        break;
      case "ct":
        if (c.is("count", 1)) return this.readCtCount();
        if ((c.is("helper", 1) || c.is("timeout", 1) || c.is("expectation", 1)) && c.is("set", 2)) {
          const type = `ct ${c.peekTok(1)!.text}` as "ct helper" | "ct timeout" | "ct expectation";
          c.next();
          c.next();
          c.next();
          const name = this.readObjName(type);
          return name === undefined ? undefined : { kind: "objref", type, name };
        }
        break;
    }
    if (OTHER_STATEMENTS.has(w)) return this.otherToEnd(w, `the ${w} statement is kept as written and not evaluated`);
    if (!this.startsExpression()) {
      // `meta constructor`, `tcp option-less`: a known kind with an unknown key is refused, as nft does.
      const kind = c.cur().type === "word" ? expressionKindByKeyword(w) : undefined;
      if (kind) return kind.read(c.words) as undefined;
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
    const types = expressionType(left);
    if (c.is("set") && c.cur().type === "word") {
      c.next();
      if (left.kind !== "meta" && left.kind !== "ct" && left.kind !== "payload" && left.kind !== "other") {
        return c.fail("a meta, ct or payload expression before set");
      }
      const value = this.readValueExpr(types);
      return value === undefined ? undefined : { kind: "mangle", target: left, value };
    }
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

  /** An object's name: `"c1"`, or an expression mapping to one (`ct helper set udp dport map { 69 : "tftp" }`). */
  private readObjName(type: string): NftExpr | undefined {
    return this.startsExpression() ? this.readValueExpr([type]) : this.readAtom(type);
  }

  private readUint(what: string): number | undefined {
    const t = this.c.cur();
    if (t.type !== "word" || !/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(t.text)) return this.c.fail(what);
    this.c.next();
    return Number(t.text);
  }

  private readCounter(): NftStmt | undefined {
    const c = this.c;
    c.next();
    if (c.is("name")) {
      c.next();
      const name = this.readObjName("counter");
      return name === undefined ? undefined : { kind: "objref", type: "counter", name };
    }
    if (!c.is("packets")) return { kind: "counter" };
    c.next();
    const packets = this.readUint("a packet count");
    if (packets === undefined || !c.expect("bytes")) return undefined;
    const bytes = this.readUint("a byte count");
    return bytes === undefined ? undefined : { kind: "counter", packets, bytes };
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

  private readLog(): NftLog | undefined {
    const c = this.c;
    c.next();
    const log: NftLog = { kind: "log" };
    for (;;) {
      if (c.accept("prefix")) {
        const p = this.readString('a prefix string ("...")');
        if (p === undefined) return undefined;
        log.prefix = p;
      } else if (c.accept("level")) {
        const l = this.readString("a log level (emerg, alert, crit, err, warn, notice, info, debug, audit)");
        if (l === undefined) return undefined;
        log.level = l;
      } else if (c.is("group") || c.is("snaplen") || c.is("queue-threshold")) {
        const k = c.next().text;
        const n = this.readUint(`a number after ${k}`);
        if (n === undefined) return undefined;
        if (k === "group") log.group = n;
        else if (k === "snaplen") log.snaplen = n;
        else log.queueThreshold = n;
      } else if (c.accept("flags")) {
        log.flags ??= [];
        // `flags tcp sequence,options`, `flags ip options`, `flags skuid`, `flags ether`, `flags all`.
        const words: string[] = [];
        if (c.is("tcp") || c.is("ip")) words.push(c.next().text);
        const parts: string[] = [];
        do {
          const t = c.cur();
          if (t.type !== "word") return c.fail("a log flag (tcp sequence,options, ip options, skuid, ether, all)");
          parts.push(c.next().text);
        } while (c.accept(","));
        words.push(parts.join(","));
        log.flags.push(words.join(" "));
      } else break;
    }
    return log;
  }

  /** `N/second`, or `N UNIT/second` for bytes. */
  private readRate(): { rate: number; per: string; unit?: string } | undefined {
    const c = this.c;
    const t = c.cur();
    const m = /^([0-9]+)\/([a-z]+)$/.exec(t.text);
    if (m && PER.has(m[2]!)) {
      c.next();
      return { rate: Number(m[1]), per: m[2]! };
    }
    if (/^[0-9]+$/.test(t.text)) {
      const u = /^([a-z]+)\/([a-z]+)$/.exec(c.peekTok(1)?.text ?? "");
      if (u && BYTE_UNITS[u[1]!] !== undefined && PER.has(u[2]!)) {
        c.next();
        c.next();
        return { rate: Number(t.text), per: u[2]!, unit: u[1]! };
      }
    }
    return c.fail("a rate such as 10/second or 1 mbytes/second");
  }

  private readLimit(): NftStmt | undefined {
    const c = this.c;
    c.next();
    if (c.accept("name")) {
      const name = this.readObjName("limit");
      return name === undefined ? undefined : { kind: "objref", type: "limit", name };
    }
    if (!c.expect("rate")) return undefined;
    const over = c.accept("over");
    c.accept("until");
    const r = this.readRate();
    if (r === undefined) return undefined;
    const out: NftLimit = { kind: "limit", rate: r.rate, per: r.per as NftLimit["per"], over };
    if (r.unit !== undefined) out.unit = r.unit;
    if (c.accept("burst")) {
      const b = this.readUint("a burst size");
      if (b === undefined) return undefined;
      out.burst = b;
      const u = c.cur().text;
      if (u === "packets" || BYTE_UNITS[u] !== undefined) {
        c.next();
        if (u !== "packets") out.burstUnit = u;
      }
    }
    return out;
  }

  private readQuota(): NftStmt | undefined {
    const c = this.c;
    c.next();
    if (c.accept("name")) {
      const name = this.readObjName("quota");
      return name === undefined ? undefined : { kind: "objref", type: "quota", name };
    }
    const over = c.accept("over");
    c.accept("until");
    const amount = this.readAmount();
    if (amount === undefined) return undefined;
    const q: NftQuota = { kind: "quota", bytes: amount.bytes, unit: amount.unit, over };
    if (c.accept("used")) {
      const used = this.readAmount();
      if (used === undefined) return undefined;
      q.used = used.bytes;
      q.usedUnit = used.unit;
    }
    return q;
  }

  /** `100 mbytes` (also glued, `100mbytes`): bytes and the unit it was written in. */
  readAmount(): { bytes: number; unit: string } | undefined {
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

  private readNat(): NftNat | undefined {
    const c = this.c;
    const type = c.next().text as NftNat["type"];
    const nat: NftNat = { kind: "nat", type, flags: [] };
    if ((c.is("ip") || c.is("ip6")) && (c.is("to", 1) || c.is("addr", 1) || c.is("prefix", 1))) nat.family = c.next().text as "ip" | "ip6";
    // `dnat ip addr . port to EXPR`: the expression gives address and port.
    if (c.is("addr") && c.is(".", 1) && c.is("port", 2)) {
      c.pos += 3;
      nat.addrPort = true;
    }
    if (c.accept("prefix")) nat.flags.push("prefix");
    // `dnat tcp dport map { ... }`: the older syntax without `to`.
    if (c.accept("to") || ((type === "snat" || type === "dnat") && this.startsExpression())) {
      if (!this.readNatTarget(nat)) return undefined;
    } else if (type === "snat" || type === "dnat") {
      return c.fail(`"to" and an address after ${type}`);
    }
    while (c.cur().type === "word" && NAT_FLAGS.has(c.cur().text)) {
      nat.flags.push(c.next().text);
      if (!c.accept(",")) break;
    }
    return nat;
  }

  /** What follows `to`: `:PORT`, `ADDR[:PORT]`, `[ADDR6]:PORT`, a range, or an expression with `map`. */
  private readNatTarget(nat: NftNat): boolean {
    const c = this.c;
    const addrType = nat.family === "ip6" || (nat.family === undefined && c.family === "ip6") ? "ipv6_addr" : "ipv4_addr";
    const t = c.cur();
    if (t.type === "word" && t.text.startsWith(":")) {
      c.next();
      const port = this.portOf(t.text.slice(1), t);
      if (port === undefined) return false;
      nat.port = port;
      return true;
    }
    if (this.startsExpression()) {
      const addr = this.readValueExpr(nat.addrPort ? [addrType, "inet_service"] : [addrType]);
      if (addr === undefined) return false;
      nat.addr = addr;
      if (addr.kind === "map" && (nat.addrPort || (addr.map.kind === "set" && addr.map.elements[0]?.data?.kind === "concat"))) nat.addrPort = true;
      if (c.is(":") && !c.atStmtEnd(1)) {
        c.next();
        const port = this.readValueExpr(["inet_service"]);
        if (port === undefined) return false;
        nat.port = port;
      }
      return true;
    }
    if (t.type !== "word") return c.fail("an address, :PORT or an expression after to") !== undefined;
    c.next();
    // Split the port off: `10.0.0.1:80`, `10.0.0.1-10.0.0.9:80-90`, `[2001:db8::1]:80`.
    let addrText = t.text;
    let portText: string | undefined;
    const bracket = /^\[([^\]]+)\](?::(.+))?$/.exec(addrText);
    const fam = bracket || addrText.split(":").length > 2 ? "ipv6_addr" : addrType;
    if (bracket) {
      addrText = bracket[1]!;
      portText = bracket[2];
    } else if (fam === "ipv4_addr") {
      const colon = addrText.indexOf(":");
      if (colon >= 0) {
        portText = addrText.slice(colon + 1);
        addrText = addrText.slice(0, colon);
      }
    }
    const sub = c.toks[c.pos - 1]!;
    const addr = this.wordAs(fam, addrText, sub);
    if (addr === undefined) return false;
    nat.addr = addr;
    if (portText !== undefined) {
      const port = this.portOf(portText, sub);
      if (port === undefined) return false;
      nat.port = port;
    } else if (c.is(":") && !c.atStmtEnd(1)) {
      // `dnat to 192.168.1.100 : numgen inc mod 2 map { ... }`.
      c.next();
      const port = this.readValueExpr(["inet_service"]);
      if (port === undefined) return false;
      nat.port = port;
    }
    return true;
  }

  /** Reads a piece of a word (`80-90` of `10.0.0.1:80-90`) as a value of `type`, located at the word. */
  private wordAs(type: string, text: string, at: Token): NftExpr | undefined {
    return this.wordValue(type, { ...at, type: "word", text });
  }

  private portOf(text: string, at: Token): NftExpr | undefined {
    return this.wordAs("inet_service", text, at);
  }

  private readReject(): NftReject | undefined {
    const c = this.c;
    c.next();
    const r: NftReject = { kind: "reject" };
    if (!c.accept("with")) return r;
    if (c.is("tcp") && c.is("reset", 1)) {
      c.pos += 2;
      r.type = "tcp reset";
      return r;
    }
    const t = c.cur().text;
    if (t !== "icmp" && t !== "icmpv6" && t !== "icmpx") return c.fail("icmp, icmpv6, icmpx or tcp reset after with");
    c.next();
    r.type = t;
    c.accept("type");
    const code = this.readAtom(t === "icmp" ? "icmp_code" : t === "icmpv6" ? "icmpv6_code" : "icmpx_code");
    if (code === undefined || code.kind !== "const") return undefined;
    r.code = c.toks[c.pos - 1]!.text;
    return r;
  }

  private readQueue(): NftQueue | undefined {
    const c = this.c;
    c.next();
    const q: NftQueue = { kind: "queue" };
    for (;;) {
      if (c.accept("flags")) {
        q.flags ??= [];
        do {
          const f = c.cur().text;
          if (f !== "bypass" && f !== "fanout") return c.fail("bypass or fanout");
          q.flags.push(c.next().text);
        } while (c.accept(","));
      } else if (c.is("num") || c.is("to")) {
        c.next();
        if (this.startsExpression()) {
          // `queue to jhash tcp dport mod 4`: the queue number an expression gives, kept as printed.
          const e = this.readValueExpr(["integer"]);
          if (e === undefined) return undefined;
          q.num = printNftExpr(e);
          continue;
        }
        const t = c.cur();
        if (t.type !== "word") return c.fail("a queue number or range");
        q.num = c.next().text;
      } else if (c.is("bypass") || c.is("fanout")) {
        (q.flags ??= []).push(c.next().text);
        c.accept(",");
      } else break;
    }
    return q;
  }

  private readXt(): NftStmt | undefined {
    const c = this.c;
    c.next();
    const type = c.cur().text;
    if (type !== "match" && type !== "target" && type !== "watcher") return c.fail("match, target or watcher after xt");
    c.next();
    const name = this.readString("the name of the iptables extension");
    if (name === undefined) return undefined;
    c.sink.warning(c.span(c.toks[c.pos - 1]), `xt ${type} ${name} is an iptables extension nft cannot show; it is evaluated as indeterminate`);
    return { kind: "xt", type, name };
  }

  private readSetStmt(): NftSetStmt | undefined {
    const c = this.c;
    const op = c.next().text as NftSetStmt["op"];
    const set = c.next().text.slice(1);
    if (!c.enter()) return undefined;
    try {
      if (!c.expect("{")) return undefined;
      const key = this.readSetKey(this.sets.get(set)?.keyType);
      if (key === undefined) return undefined;
      const s: NftSetStmt = { kind: "setop", op, set, key };
      for (;;) {
        if (c.accept("timeout")) {
          const d = parseDuration(c.cur().text);
          if (d === undefined) return c.fail("a time such as 10s");
          c.next();
          s.timeout = d;
          continue;
        }
        if (c.is("}") || c.is(":")) break;
        if (c.atStmtEnd()) return c.fail('"}"');
        const st = this.readStatement();
        if (st === undefined) return undefined;
        (s.stmts ??= []).push(st);
      }
      if (c.accept(":")) {
        const data = this.readValueExpr(this.sets.get(set)?.dataType ?? [RAW_TYPE]);
        if (data === undefined) return undefined;
        s.data = data;
      }
      if (!c.expect("}")) return undefined;
      return s;
    } finally {
      c.leave();
    }
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

  /** A set statement's key: expressions and constants joined by `.` (`ip saddr . 10002`). */
  private readSetKey(types: string[] | undefined): NftExpr | undefined {
    const parts: NftExpr[] = [];
    do {
      const p = this.startsExpression() ? this.readPrimary() : this.readAtom(types?.[parts.length] ?? RAW_TYPE);
      if (p === undefined) return undefined;
      parts.push(p);
    } while (this.c.accept("."));
    return parts.length === 1 ? parts[0] : { kind: "concat", parts };
  }

  private readCtCount(): NftStmt | undefined {
    const c = this.c;
    const words = [c.next().text, c.next().text];
    if (c.is("over")) words.push(c.next().text);
    const n = c.cur();
    if (!/^[0-9]+$/.test(n.text)) return c.fail("a connection count");
    words.push(c.next().text);
    c.sink.warning(c.span(n), "ct count is kept as written and evaluated as indeterminate", undefined, words.join(" "));
    return { kind: "other", name: "ct count", text: words.join(" ") };
  }
}
