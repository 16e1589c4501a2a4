/**
 * The reader of nft text: `nft list ruleset` output (with `-a` handles, `-s`, `-n`, `-y`),
 * one `list table`/`list chain`/`list set`, and `nft -f` scripts (commands, block syntax,
 * `;`-separated statements). Blocks and commands are read here; rules by StatementReader.
 */
import type {
  NftBaseChain, NftChain, NftChainType, NftExpr, NftFamily, NftFlowtable, NftHook, NftObject, NftObjectType, NftRule, NftSet,
} from "../../model/nft.js";
import { NFT_FAMILIES } from "../../model/nft.js";
import type { Span } from "../../model/span.js";
import { intervalDataMaps } from "../side-facts.js";
import { parseDuration } from "../datatypes.js";
import { expressionType, printNftExpr } from "../print/expr.js";
import { Cursor, handleOf, isHandleComment } from "./cursor.js";
import { priorityNumber } from "./priority.js";
import type { RulesetIndex, TableIndex } from "../ruleset-index.js";
import { StatementReader } from "./statements.js";
import { joinTokens, type Token } from "./tokens.js";

const HOOKS = new Set<NftHook>(["prerouting", "input", "forward", "output", "postrouting", "ingress", "egress"]);
const CHAIN_TYPES = new Set<NftChainType>(["filter", "nat", "route"]);
const COMMANDS = new Set(["add", "create", "insert", "replace", "delete", "destroy", "flush", "list", "reset", "rename"]);
const OBJECT_TYPES = new Set(["counter", "quota", "limit", "secmark", "synproxy"]);
const CT_OBJECT_TYPES = new Set(["helper", "timeout", "expectation"]);

/** `# Warning: table ip filter is managed by iptables-nft, do not touch!` (nft prints it on stderr). */
const MANAGED = /^#\s*Warning:\s*table\s+(\S+)\s+(\S+)\s+is managed by iptables-nft/;


export class NftTextReader extends StatementReader {
  /** Whether the text had script commands (`add`, `flush`...) rather than only a listing. */
  sawCommand = false;
  /** Tables named by iptables-nft warnings. */
  readonly managed: { family: string; name: string }[] = [];
  private current: TableIndex | undefined;
  /** Elements deleted by script commands, left out by `finish`. */
  private readonly deletedElements = new Set<NftSet["elements"][number]>();
  private readonly elementIndex = new Map<NftSet, { byKey: Map<string, NftSet["elements"][number]>; indexed: number }>();

  constructor(c: Cursor, readonly b: RulesetIndex) {
    super(c, {
      get: (name) => this.current?.sets.get(name),
    });
  }

  readAll(): void {
    const c = this.c;
    while (!c.atEof()) {
      const t = c.cur();
      if (t.type === "nl" || (t.type === "punct" && t.text === ";")) {
        c.next();
        continue;
      }
      if (t.type === "comment") {
        const m = MANAGED.exec(t.text);
        if (m) this.managed.push({ family: m[1]!, name: m[2]! });
        c.next();
        continue;
      }
      const before = c.pos;
      if (t.type === "word" && t.text === "table") this.readTable();
      else if (t.type === "word" && COMMANDS.has(t.text)) this.readCommand();
      else if (t.type === "word" && (t.text === "chain" || t.text === "set" || t.text === "map") && this.current) {
        // `nft list chain` / `list set` print the block inside its table; a bare block is read into the last table.
        this.readTableItem(this.current);
      } else {
        c.fail("table, a command (add, insert, delete, flush...), define or include");
        c.skipStatement();
        if (c.is("}")) c.next();
      }
      if (c.pos === before) c.next();
    }
  }

  /**
   * nft 1.0.6 refuses `}` right after an item of a block (`chain c { accept }`, `flags
   * dormant }`, a chain's `}` then the table's): each item ends with a newline or `;` first.
   */
  private requireSeparator(what: string): void {
    const t = this.c.cur();
    if (t.type === "punct" && t.text === "}") {
      this.c.sink.error(this.c.span(t), `nft needs a newline or ";" after ${what} before "}"`, 'a newline or ";"', "}");
    }
  }

  /** Applies what a script left pending: deleted elements leave their sets. */
  finish(): void {
    if (this.deletedElements.size === 0) return;
    for (const set of this.elementIndex.keys()) set.elements = set.elements.filter((e) => !this.deletedElements.has(e));
  }

  // -------------------------------------------------------------------------------------------
  // Names.

  /** A name: a word or a quoted string. */
  private readName(what: string): { name: string; tok: Token } | undefined {
    const t = this.c.cur();
    if ((t.type === "word" && !t.text.startsWith("$")) || t.type === "string") {
      this.c.next();
      return { name: t.value ?? t.text, tok: t };
    }
    return this.c.fail(what);
  }

  /** The name of a table, chain, set or object: nft 1.0.6 refuses it quoted ("unexpected quoted string"). */
  private readObjectName(what: string): { name: string; tok: Token } | undefined {
    const n = this.readName(what);
    if (n?.tok.type === "string") this.c.sink.error(this.c.span(n.tok), `nft 1.0.6 takes ${what} unquoted`, "a name without quotes", n.tok.text);
    return n;
  }

  /** `[FAMILY] NAME`: the family is taken when `names` more names follow it. */
  private readFamily(names: number): NftFamily {
    const t = this.c.cur();
    if (t.type === "word" && (NFT_FAMILIES as readonly string[]).includes(t.text)) {
      let ok = true;
      for (let i = 1; i <= names; i++) {
        const n = this.c.peekTok(i);
        if (n === undefined || (n.type !== "word" && n.type !== "string")) ok = false;
      }
      if (ok) {
        this.c.next();
        return t.text as NftFamily;
      }
    }
    return "ip";
  }

  private readHandleAfterBrace(set: (h: number) => void): void {
    const t = this.c.cur();
    if (t.type === "comment" && isHandleComment(t)) {
      set(handleOf(t));
      this.c.next();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Blocks.

  /** `table [FAMILY] NAME { ... }` (a script may also leave the block out). */
  private readTable(): void {
    const c = this.c;
    c.next();
    const family = this.readFamily(1);
    const n = this.readObjectName("a table name");
    if (!n) return c.skipStatement();
    const ix = this.b.table(family, n.name, c.span(n.tok));
    this.readTableBlock(ix);
  }

  private readTableBlock(ix: TableIndex): void {
    const c = this.c;
    if (!c.is("{")) return;
    if (!c.enter()) return c.skipStatement();
    c.next();
    const saved = this.current;
    const savedFamily = c.family;
    this.current = ix;
    c.family = ix.table.family;
    this.readHandleAfterBrace((h) => (ix.table.handle = h));
    for (;;) {
      c.skipBlank();
      if (c.atEof()) {
        c.fail('"}" closing the table');
        break;
      }
      if (c.accept("}")) break;
      if (c.accept(";")) continue;
      const before = c.pos;
      this.readTableItem(ix);
      this.requireSeparator("a table's chain, set, object, flags or comment");
      if (c.pos === before) {
        c.fail("chain, set, map, flowtable, an object, flags or comment");
        c.skipStatement();
      }
    }
    this.current = saved;
    c.family = savedFamily;
    c.leave();
  }

  private readTableItem(ix: TableIndex): void {
    const c = this.c;
    const t = c.cur();
    switch (t.text) {
      case "flags": {
        c.next();
        do {
          const f = this.readName("a table flag (dormant, owner, persist)");
          if (!f) return c.skipStatement();
          ix.table.flags.push(f.name);
        } while (c.accept(","));
        return;
      }
      case "comment": {
        c.next();
        const s = this.readName('a comment string ("...")');
        if (s) ix.table.comment = s.name;
        return;
      }
      case "chain": {
        c.next();
        const n = this.readObjectName("a chain name");
        if (!n) return c.skipStatement();
        const ch = ix.chain(n.name, c.span(n.tok));
        if (c.is("{")) this.readChainBlock(ch);
        return;
      }
      case "set":
      case "map": {
        c.next();
        const n = this.readObjectName(`a ${t.text} name`);
        if (!n) return c.skipStatement();
        const set = ix.set(t.text as "set" | "map", n.name, c.span(n.tok));
        this.readSetBlock(set);
        return;
      }
      case "flowtable": {
        c.next();
        const n = this.readObjectName("a flowtable name");
        if (!n) return c.skipStatement();
        this.readFlowtableBlock(ix, n.name, c.span(n.tok));
        return;
      }
      case "ct":
        if (CT_OBJECT_TYPES.has(c.peekTok(1)?.text ?? "")) {
          c.next();
          const type = `ct ${c.next().text}` as NftObjectType;
          this.readObject(ix, type);
        }
        return;
      default:
        if (OBJECT_TYPES.has(t.text) && t.type === "word") {
          c.next();
          this.readObject(ix, t.text as NftObjectType);
        }
    }
  }

  private readChainBlock(ch: NftChain): void {
    const c = this.c;
    if (!c.enter()) return c.skipStatement();
    c.next();
    this.readHandleAfterBrace((h) => (ch.handle = h));
    for (;;) {
      c.skipBlank();
      if (c.atEof()) {
        c.fail('"}" closing the chain');
        break;
      }
      if (c.accept("}")) break;
      if (c.accept(";")) continue;
      const t = c.cur();
      if (t.text === "type" && t.type === "word" && CHAIN_TYPES.has(c.peekTok(1)?.text as NftChainType)) {
        this.readBaseChain(ch);
        this.requireSeparator("the chain's type, hook and priority");
        continue;
      }
      if (t.text === "policy" && t.type === "word") {
        c.next();
        const p = c.cur().text;
        if (p !== "accept" && p !== "drop") {
          c.fail("accept or drop");
          c.skipStatement();
          continue;
        }
        c.next();
        if (ch.base) ch.base.policy = p;
        else c.sink.error(c.span(t), "a policy is only for a base chain (one with type ... hook ...)");
        this.requireSeparator("the policy");
        continue;
      }
      if (t.text === "comment" && c.peekTok(1)?.type === "string" && c.atStmtEnd(2)) {
        c.next();
        ch.comment = c.next().value!;
        this.requireSeparator("the comment");
        continue;
      }
      const rule = this.readRule();
      if (rule.stmts.length > 0 || rule.comment !== undefined) ch.rules.push(rule);
      this.requireSeparator("a rule");
      if (!c.atStmtEnd()) {
        c.fail("the end of the rule");
        c.skipStatement();
      }
    }
    c.leave();
  }

  /** `type filter hook input [device D | devices = { ... }] priority P;` */
  private readBaseChain(ch: NftChain): void {
    const c = this.c;
    c.next();
    const type = c.next().text as NftChainType;
    if (!c.expect("hook")) return c.skipStatement();
    const hook = c.cur().text as NftHook;
    if (!HOOKS.has(hook)) {
      c.fail("a hook (prerouting, input, forward, output, postrouting, ingress, egress)");
      return c.skipStatement();
    }
    c.next();
    const base: NftBaseChain = { type, hook, priority: 0, priorityText: "" };
    const devices = this.readDevices();
    if (devices === null) return c.skipStatement();
    if (devices) base.devices = devices;
    if (!c.expect("priority")) return c.skipStatement();
    const p = this.readPriority();
    if (!p) return c.skipStatement();
    base.priority = p.value;
    base.priorityText = p.text;
    ch.base = base;
  }

  /** `device "eth0"` / `devices = { eth0, eth1 }`; undefined when absent, null after an error. */
  private readDevices(): string[] | undefined | null {
    const c = this.c;
    if (c.accept("device")) {
      const d = this.readName("a device name");
      return d ? [d.name] : null;
    }
    if (!c.accept("devices")) return undefined;
    if (!c.expect("=")) return null;
    const out: string[] = [];
    if (c.accept("{")) {
      for (;;) {
        c.skipBlank();
        const d = this.readName("a device name");
        if (!d) return null;
        out.push(d.name);
        c.skipBlank();
        if (c.accept(",")) continue;
        if (c.accept("}")) break;
        c.fail('"," or "}"');
        return null;
      }
    } else {
      const d = this.readName("a device name or { devices }");
      if (!d) return null;
      out.push(d.name);
    }
    return out;
  }

  /** `filter`, `filter + 10`, `dstnat - 10`, `-300`, `10`. */
  private readPriority(): { value: number; text: string } | undefined {
    const c = this.c;
    const t = c.cur();
    if (t.type !== "word") return c.fail("a priority (a number or raw, mangle, dstnat, filter, security, srcnat, out)");
    if (/^[-+]?[0-9]+$/.test(t.text)) {
      c.next();
      return { value: Number(t.text), text: t.text };
    }
    const base = priorityNumber(t.text, c.family);
    if (base === undefined) return c.fail("a priority (a number or raw, mangle, dstnat, filter, security, srcnat, out)");
    c.next();
    let value = base;
    let text = t.text;
    if (c.is("+") || c.is("-")) {
      const sign = c.next().text;
      const n = c.cur();
      if (!/^[0-9]+$/.test(n.text)) return c.fail("a number after " + sign);
      c.next();
      value += sign === "+" ? Number(n.text) : -Number(n.text);
      text += ` ${sign} ${n.text}`;
    } else if (/^[-+][0-9]+$/.test(c.cur().text)) {
      const n = c.next().text;
      value += Number(n);
      text += ` ${n[0]} ${n.slice(1)}`;
    }
    return { value, text };
  }

  private readSetBlock(set: NftSet): void {
    const c = this.c;
    if (!c.is("{")) return;
    if (!c.enter()) return c.skipStatement();
    c.next();
    this.readHandleAfterBrace((h) => (set.handle = h));
    for (;;) {
      c.skipBlank();
      if (c.atEof()) {
        c.fail(`"}" closing the ${set.kind}`);
        break;
      }
      if (c.accept("}")) break;
      if (c.accept(";")) continue;
      const before = c.pos;
      const elements = c.is("elements");
      if (!this.readSetItem(set)) c.skipStatement();
      // nft takes `elements = { ... }` right before the closing brace, but nothing else.
      else if (!elements) this.requireSeparator(`the ${set.kind}'s ${c.toks[before]!.text}`);
      if (c.pos === before) {
        c.fail("type, typeof, flags, timeout, gc-interval, size, policy, auto-merge, counter, comment or elements");
        c.skipStatement();
      }
    }
    c.leave();
  }

  private readTypeList(): string[] | undefined {
    const out: string[] = [];
    do {
      // `interval ipv4_addr`: a map value of ranges.
      this.c.accept("interval");
      const obj = this.objectTypeWord();
      if (obj !== undefined) {
        out.push(obj);
        continue;
      }
      const t = this.c.cur();
      if (t.type !== "word") return this.c.fail("a datatype (ipv4_addr, inet_service, ...)");
      out.push(this.c.next().text);
    } while (this.c.accept("."));
    return out;
  }

  /** `verdict`, `counter`, `quota`, `ct helper`...: a map value type that is no expression. */
  private objectTypeWord(): string | undefined {
    const c = this.c;
    if (c.is("ct") && CT_OBJECT_TYPES.has(c.peekTok(1)?.text ?? "")) {
      c.next();
      return `ct ${c.next().text}`;
    }
    for (const w of ["verdict", ...OBJECT_TYPES]) {
      if (c.is(w) && (c.atStmtEnd(1) || c.is(".", 1))) {
        c.next();
        return w;
      }
    }
    return undefined;
  }

  private readSetItem(set: NftSet): boolean {
    const c = this.c;
    const w = c.next();
    switch (w.text) {
      case "type": {
        const k = this.readTypeList();
        if (!k) return false;
        set.keyType = k;
        if (c.accept(":")) {
          if (c.is("interval")) intervalDataMaps.add(set);
          const d = this.readTypeList();
          if (!d) return false;
          set.dataType = d;
        }
        return true;
      }
      case "typeof": {
        const k = this.readConcat();
        if (!k) return false;
        set.keyTypeof = k.kind === "concat" ? k.parts : [k];
        set.keyType = expressionType(k) ?? [];
        if (c.accept(":")) {
          if (c.accept("interval")) intervalDataMaps.add(set);
          // A verdict or an object type names no expression: `typeof ip saddr : verdict`.
          const obj = this.objectTypeWord();
          if (obj !== undefined) {
            set.dataType = [obj];
            return true;
          }
          const d = this.readConcat();
          if (!d) return false;
          set.dataTypeof = d.kind === "concat" ? d.parts : [d];
          set.dataType = expressionType(d) ?? [];
        }
        return true;
      }
      case "flags":
        do {
          const f = this.readName("a set flag (constant, interval, timeout, dynamic)");
          if (!f) return false;
          set.flags.push(f.name);
        } while (c.accept(","));
        return true;
      case "timeout":
      case "gc-interval": {
        const d = parseDuration(c.cur().text);
        if (d === undefined) return c.fail("a time such as 10s or 1h") !== undefined;
        c.next();
        if (w.text === "timeout") set.timeout = d;
        else set.gcInterval = d;
        return true;
      }
      case "size": {
        const t = c.cur();
        if (!/^[0-9]+$/.test(t.text)) return c.fail("a size") !== undefined;
        c.next();
        set.size = Number(t.text);
        return true;
      }
      case "policy": {
        const p = c.cur().text;
        if (p !== "performance" && p !== "memory") return c.fail("performance or memory") !== undefined;
        c.next();
        set.policy = p;
        return true;
      }
      case "auto-merge":
        set.autoMerge = true;
        return true;
      case "counter":
        set.counter = true;
        return true;
      case "comment": {
        const s = this.readName('a comment string ("...")');
        if (!s) return false;
        set.comment = s.name;
        return true;
      }
      case "elements": {
        if (!c.expect("=")) return false;
        return this.readElementsInto(set.elements, set.keyType, set.kind === "map" ? set.dataType : undefined);
      }
      default:
        c.pos--;
        return c.fail("type, typeof, flags, timeout, gc-interval, size, policy, auto-merge, counter, comment or elements") !== undefined;
    }
  }

  private readFlowtableBlock(ix: TableIndex, name: string, span: Span): void {
    const c = this.c;
    const ft = ix.flowtables.get(name) ?? ix.addFlowtable({ name, hook: "ingress", priority: 0, priorityText: "", devices: [], flags: [], span });
    if (!c.is("{")) return;
    if (!c.enter()) return c.skipStatement();
    c.next();
    const f: NftFlowtable = ft;
    this.readHandleAfterBrace((h) => (f.handle = h));
    for (;;) {
      c.skipBlank();
      if (c.atEof()) {
        c.fail('"}" closing the flowtable');
        break;
      }
      if (c.accept("}")) break;
      if (c.accept(";")) continue;
      const w = c.cur().text;
      if (w === "hook") {
        c.next();
        const h = c.cur().text as NftHook;
        if (!HOOKS.has(h)) {
          c.fail("a hook (ingress)");
          c.skipStatement();
          continue;
        }
        c.next();
        f.hook = h;
        if (c.accept("priority")) {
          const p = this.readPriority();
          if (!p) {
            c.skipStatement();
            continue;
          }
          f.priority = p.value;
          f.priorityText = p.text;
        }
      } else if (w === "devices" || w === "device") {
        const d = this.readDevices();
        if (!d) c.skipStatement();
        else f.devices = d;
      } else if (w === "flags") {
        c.next();
        do {
          const n = this.readName("a flowtable flag (offload)");
          if (!n) break;
          f.flags.push(n.name);
        } while (c.accept(","));
      } else if (w === "counter") {
        c.next();
        f.flags.push("counter");
      } else {
        c.fail("hook, devices, flags or counter");
        c.skipStatement();
      }
    }
    c.leave();
  }

  /**
   * `counter NAME { packets 0 bytes 0 }`, `quota NAME { over 1 mbytes used 0 bytes }`,
   * `limit NAME { rate 10/second }`, `ct helper NAME { type "ftp" protocol tcp; l3proto ip }`...
   * Counters' numbers are read as numbers; every other line is kept as its first word and the
   * rest, as printed.
   */
  private readObject(ix: TableIndex, type: NftObjectType): void {
    const c = this.c;
    const n = this.readObjectName(`a ${type} name`);
    if (!n) return c.skipStatement();
    const obj = ix.object(type, n.name) ?? ix.addObject({ type, name: n.name, props: [], span: c.span(n.tok) });
    if (!c.is("{")) return;
    if (!c.enter()) return c.skipStatement();
    c.next();
    const o: NftObject = obj;
    this.readHandleAfterBrace((h) => (o.handle = h));
    for (;;) {
      c.skipBlank();
      if (c.atEof()) {
        c.fail(`"}" closing the ${type}`);
        break;
      }
      if (c.accept("}")) break;
      if (c.accept(";")) continue;
      if (c.is("comment") && c.peekTok(1)?.type === "string") {
        c.next();
        o.comment = c.next().value!;
        continue;
      }
      if (type === "counter" && c.is("packets")) {
        c.next();
        const p = c.cur().text;
        if (!/^[0-9]+$/.test(p)) {
          c.fail("a packet count");
          c.skipStatement();
          continue;
        }
        c.next();
        o.props.push({ key: "packets", value: Number(p) });
        if (c.accept("bytes")) {
          const b = c.cur().text;
          if (!/^[0-9]+$/.test(b)) {
            c.fail("a byte count");
            c.skipStatement();
            continue;
          }
          c.next();
          o.props.push({ key: "bytes", value: Number(b) });
        }
        continue;
      }
      // One line (to `;` or newline, whole braces included) as key and text.
      const start = c.pos;
      c.skipStatement();
      const toks = c.toks.slice(start, c.pos).filter((t) => t.type !== "comment");
      if (toks.length === 0) {
        c.fail(`a property of the ${type}`);
        c.next();
        continue;
      }
      const first = toks[0]!;
      if (first.type === "string") o.props.push({ key: "", value: joinTokens(toks) });
      else o.props.push({ key: first.text, value: joinTokens(toks.slice(1)) });
    }
    c.leave();
  }

  // -------------------------------------------------------------------------------------------
  // Script commands.

  private readCommand(): void {
    const c = this.c;
    this.sawCommand = true;
    const cmdTok = c.next();
    const cmd = cmdTok.text;
    if (cmd === "list" || cmd === "reset") {
      // Listing commands change nothing; a script that has them is still read.
      c.skipStatement();
      return;
    }
    const what = c.cur();
    if (what.type !== "word") {
      c.fail("table, chain, rule, set, map, element, flowtable or an object after " + cmd);
      return c.skipStatement();
    }
    c.next();
    const obj = what.text === "ct" ? `ct ${c.next().text}` : what.text;
    if (obj === "ruleset") {
      if (cmd !== "flush") {
        c.fail("flush ruleset");
        return c.skipStatement();
      }
      const fam = c.cur().text;
      if ((NFT_FAMILIES as readonly string[]).includes(fam)) {
        c.next();
        this.b.flush(fam as NftFamily);
      } else this.b.flush();
      return;
    }
    if (obj === "table") return this.tableCommand(cmd, cmdTok);
    const family = this.readFamily(2);
    const tn = this.readObjectName("a table name");
    if (!tn) return c.skipStatement();
    const ix = this.tableFor(cmd, family, tn);
    if (!ix) return c.skipStatement();
    const saved = this.current;
    const savedFamily = c.family;
    this.current = ix;
    c.family = ix.table.family;
    try {
      switch (obj) {
        case "chain":
          return this.chainCommand(cmd, ix);
        case "rule":
          return this.ruleCommand(cmd, ix);
        case "set":
        case "map":
          return this.setCommand(cmd, obj, ix);
        case "element":
          return this.elementCommand(cmd, ix);
        case "flowtable": {
          const n = this.readObjectName("a flowtable name");
          if (!n) return c.skipStatement();
          if (cmd === "delete" || cmd === "destroy") {
            ix.removeFlowtable(n.name);
            return c.skipStatement();
          }
          c.pos--;
          const nn = this.readObjectName("a flowtable name")!;
          return this.readFlowtableBlock(ix, nn.name, c.span(nn.tok));
        }
        default:
          if (OBJECT_TYPES.has(obj) || obj.startsWith("ct ")) {
            if (cmd === "delete" || cmd === "destroy") {
              const n = this.readObjectName(`a ${obj} name`);
              if (n) {
                if (!ix.removeObject(obj, n.name) && cmd === "delete") c.sink.error(c.span(n.tok), `there is no ${obj} ${n.name} to delete`);
              }
              return c.skipStatement();
            }
            return this.readObject(ix, obj as NftObjectType);
          }
          c.sink.error(c.span(what), `${cmd} ${obj} is not an nft command`, "table, chain, rule, set, map, element, flowtable or an object", obj);
          return c.skipStatement();
      }
    } finally {
      this.current = saved;
      c.family = savedFamily;
    }
  }

  private tableFor(cmd: string, family: NftFamily, tn: { name: string; tok: Token }): TableIndex | undefined {
    const ix = this.b.find(family, tn.name);
    if (ix) return ix;
    if (cmd === "destroy") return undefined;
    // nft refuses a command on a table that does not exist (ENOENT).
    this.c.sink.error(this.c.span(tn.tok), `table ${family} ${tn.name} does not exist (add it first)`);
    return undefined;
  }

  private tableCommand(cmd: string, cmdTok: Token): void {
    const c = this.c;
    const family = this.readFamily(1);
    const n = this.readObjectName("a table name");
    if (!n) return c.skipStatement();
    if (cmd === "delete" || cmd === "destroy") {
      if (!this.b.deleteTable(family, n.name) && cmd === "delete") c.sink.error(c.span(n.tok), `table ${family} ${n.name} does not exist`);
      return c.skipStatement();
    }
    if (cmd === "flush") {
      const ix = this.b.find(family, n.name);
      if (!ix) c.sink.error(c.span(n.tok), `table ${family} ${n.name} does not exist`);
      // nft flushes the rules of every chain and the elements of every set.
      else {
        for (const ch of ix.chains.values()) ix.flushRules(ch);
        for (const s of ix.sets.values()) {
          s.elements = [];
          this.elementIndex.delete(s);
        }
      }
      return;
    }
    if (cmd === "create" && this.b.find(family, n.name)) c.sink.error(c.span(cmdTok), `table ${family} ${n.name} exists already (create refuses; add would not)`);
    if (cmd !== "add" && cmd !== "create") {
      c.sink.error(c.span(cmdTok), `${cmd} table is not an nft command`, "add, create, delete, destroy or flush");
      return c.skipStatement();
    }
    const ix = this.b.table(family, n.name, c.span(n.tok));
    this.readTableBlock(ix);
  }

  private chainCommand(cmd: string, ix: TableIndex): void {
    const c = this.c;
    const n = this.readObjectName("a chain name");
    if (!n) return c.skipStatement();
    switch (cmd) {
      case "add":
      case "create": {
        if (cmd === "create" && ix.chains.has(n.name)) c.sink.error(c.span(n.tok), `chain ${n.name} exists already (create refuses)`);
        const ch = ix.chain(n.name, c.span(n.tok));
        if (c.is("{")) this.readChainBlock(ch);
        return;
      }
      case "delete":
      case "destroy":
        if (!ix.removeChain(n.name) && cmd === "delete") c.sink.error(c.span(n.tok), `chain ${n.name} does not exist`);
        return c.skipStatement();
      case "flush": {
        const ch = ix.chains.get(n.name);
        if (ch) ix.flushRules(ch);
        else c.sink.error(c.span(n.tok), `chain ${n.name} does not exist`);
        return;
      }
      case "rename": {
        const to = this.readObjectName("the new chain name");
        const ch = ix.chains.get(n.name);
        if (!to) return c.skipStatement();
        if (!ch) {
          c.sink.error(c.span(n.tok), `chain ${n.name} does not exist`);
          return;
        }
        ix.renameChain(ch, to.name);
        return;
      }
      default:
        c.sink.error(c.span(n.tok), `${cmd} chain is not an nft command`, "add, create, delete, destroy, flush or rename");
        return c.skipStatement();
    }
  }

  /** `add|insert rule T C [position N | handle N | index N] STATEMENTS`, `replace rule ... handle N`, `delete rule ... handle N`. */
  private ruleCommand(cmd: string, ix: TableIndex): void {
    const c = this.c;
    const n = this.readObjectName("a chain name");
    if (!n) return c.skipStatement();
    const ch = ix.chains.get(n.name);
    if (!ch) {
      c.sink.error(c.span(n.tok), `chain ${n.name} does not exist in table ${ix.table.family} ${ix.table.name}`);
      return c.skipStatement();
    }
    let where: { by: "handle" | "index"; n: number; tok: Token } | undefined;
    if (c.is("position") || c.is("handle") || c.is("index")) {
      const by = c.next().text === "index" ? "index" : "handle";
      const t = c.cur();
      if (!/^[0-9]+$/.test(t.text)) {
        c.fail("a number");
        return c.skipStatement();
      }
      c.next();
      where = { by, n: Number(t.text), tok: t };
    }
    if (cmd === "delete" || cmd === "destroy") {
      if (where?.by !== "handle") {
        c.fail("handle N (delete rule needs the rule's handle)");
        return c.skipStatement();
      }
      const seq = ix.rules(ch);
      const old = seq.withHandle(where.n);
      if (old) seq.remove(old);
      else if (cmd === "delete") c.sink.error(c.span(where.tok), `no rule with handle ${where.n} in chain ${ch.name}`);
      return c.skipStatement();
    }
    const rule = this.readRule();
    if (cmd === "add" || cmd === "create" || cmd === "insert" || cmd === "replace") this.placeRule(cmd, ix, ch, rule, where);
    else {
      c.sink.error(c.span(n.tok), `${cmd} rule is not an nft command`, "add, insert, replace or delete");
    }
  }

  private placeRule(cmd: string, ix: TableIndex, ch: NftChain, rule: NftRule, where: { by: "handle" | "index"; n: number; tok: Token } | undefined): void {
    if (!where) {
      if (cmd === "replace") this.c.sink.error(rule.span, "replace rule needs handle N");
      else if (cmd === "insert") ix.rules(ch).unshift(rule);
      else ch.rules.push(rule);
      return;
    }
    const seq = ix.rules(ch);
    const at = where.by === "handle" ? seq.withHandle(where.n) : undefined;
    const i = where.by === "index" ? (where.n < seq.length ? where.n : -1) : at ? seq.positionOf(at) : -1;
    if (i < 0) {
      // Handles of rules a script adds are given by the kernel: a script cannot know them.
      this.c.sink.error(this.c.span(where.tok), `no rule with ${where.by} ${where.n} in chain ${ch.name} (handles of rules added by the script are not known until the kernel assigns them)`);
      return;
    }
    if (cmd === "replace") {
      // The replaced rule keeps its place and its handle (given by position, the rule there).
      const old = at ?? seq.ruleAt(i);
      seq.replace(old, { ...rule, handle: old.handle } as NftRule);
    } else seq.insertAt(cmd === "insert" ? i : i + 1, rule);
  }

  private setCommand(cmd: string, kind: string, ix: TableIndex): void {
    const c = this.c;
    const n = this.readObjectName(`a ${kind} name`);
    if (!n) return c.skipStatement();
    switch (cmd) {
      case "add":
      case "create": {
        if (cmd === "create" && ix.sets.has(n.name)) c.sink.error(c.span(n.tok), `${kind} ${n.name} exists already (create refuses)`);
        this.readSetBlock(ix.set(kind as "set" | "map", n.name, c.span(n.tok)));
        return;
      }
      case "delete":
      case "destroy":
        if (!ix.removeSet(n.name) && cmd === "delete") c.sink.error(c.span(n.tok), `${kind} ${n.name} does not exist`);
        return c.skipStatement();
      case "flush": {
        const s = ix.sets.get(n.name);
        if (s) {
          s.elements = [];
          this.elementIndex.delete(s);
        }
        else c.sink.error(c.span(n.tok), `${kind} ${n.name} does not exist`);
        return;
      }
      default:
        c.sink.error(c.span(n.tok), `${cmd} ${kind} is not an nft command`);
        return c.skipStatement();
    }
  }

  /** `add element T S { ... }`, `delete element T S { ... }`. */
  private elementCommand(cmd: string, ix: TableIndex): void {
    const c = this.c;
    const n = this.readObjectName("a set or map name");
    if (!n) return c.skipStatement();
    const set = ix.sets.get(n.name);
    if (!set) {
      c.sink.error(c.span(n.tok), `set ${n.name} does not exist in table ${ix.table.family} ${ix.table.name}`);
      return c.skipStatement();
    }
    const els: NftSet["elements"] = [];
    if (!this.readElementsInto(els, set.keyType, set.kind === "map" ? set.dataType : undefined)) return c.skipStatement();
    if (cmd === "add" || cmd === "create") {
      for (const e of els) set.elements.push(e);
      return;
    }
    if (cmd === "delete" || cmd === "destroy") {
      // Elements are matched by key through an index kept per set, and left out once at the
      // end: a script deleting elements one command at a time stays linear.
      let index = this.elementIndex.get(set);
      if (!index) {
        index = { byKey: new Map(), indexed: 0 };
        this.elementIndex.set(set, index);
      }
      for (; index.indexed < set.elements.length; index.indexed++) {
        const e = set.elements[index.indexed]!;
        if (!this.deletedElements.has(e)) index.byKey.set(keyText(e.key), e);
      }
      for (const e of els) {
        const k = keyText(e.key);
        const hit = index.byKey.get(k);
        if (hit) {
          this.deletedElements.add(hit);
          index.byKey.delete(k);
        } else if (cmd === "delete") c.sink.error(e.span ?? c.span(n.tok), `no element ${printNftExpr(e.key)} in ${set.kind} ${set.name} to delete`);
      }
      return;
    }
    c.sink.error(c.span(n.tok), `${cmd} element is not an nft command`, "add, create, delete or destroy");
  }
}

function keyText(e: NftExpr): string {
  return JSON.stringify(e, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}
