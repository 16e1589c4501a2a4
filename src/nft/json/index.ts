/**
 * `nft -j list ruleset` (libnftables' JSON, libnftables-json(5)) as the nft AST, and the
 * command form `nft -j -f` takes (`{"nftables": [{"add": {"rule": {...}}}]}`), which holds the
 * same objects. Every problem is a located diagnostic; nothing the reader does not know is
 * dropped (unknown expressions and statements are kept as written); the time is linear in
 * the input and the nesting is bounded.
 */
import { DiagnosticSink, type Diagnostic } from "../../model/diagnostics.js";
import type { NftObjectType, NftRuleset } from "../../model/nft.js";
import type { JsonNode } from "../../facts/located-json.js";
import { OBJECT_TYPES, placed, readChain, readFlowtable, readObject, readRule, readSet, readElements, readTable } from "./objects.js";
import { NftJsonReader } from "./reader.js";
import { RulesetBuilder } from "./ruleset-builder.js";

/** The JSON schema version nft 1.0.6 writes (`"json_schema_version": 1`). */
const SCHEMA_VERSION = 1;

const COMMANDS = ["add", "create", "insert", "replace", "delete", "destroy", "flush", "list", "reset", "rename"];

export function parseNftJson(text: string, file: string): { ruleset: NftRuleset; diagnostics: Diagnostic[] } {
  const sink = new DiagnosticSink(file);
  const r = new NftJsonReader(text, sink);
  const b = new RulesetBuilder(r);
  const root = r.j.parse();
  if (root) {
    const top = r.fields(root, "the nft JSON document");
    const list = top?.get("nftables");
    if (top && !list) r.error(root, 'no "nftables" list', '{"nftables": [...]}');
    for (const item of (list && r.j.list(list.value, '"nftables"', "a list of objects or commands")) ?? []) readItem(r, b, item);
  }
  return { ruleset: { tables: b.finish(), source: "json" }, diagnostics: sink.items };
}

/** One item of the `"nftables"` list: metainfo, a ruleset object, or a command holding one. */
function readItem(r: NftJsonReader, b: RulesetBuilder, item: JsonNode): void {
  const f = r.single(item, "an item of the nftables list", "metainfo, a ruleset object or a command");
  if (!f) return;
  if (f.key === "metainfo") return metainfo(r, f.value);
  if (COMMANDS.includes(f.key)) {
    b.commands = true;
    return command(r, b, f.key, f.value);
  }
  addObject(r, b, f.key, f.value, item, false);
}

function metainfo(r: NftJsonReader, v: JsonNode): void {
  const f = r.fields(v, "metainfo");
  const version = f && r.int(f, "json_schema_version", "metainfo");
  if (version !== undefined && version > SCHEMA_VERSION) {
    r.warning(f!.get("json_schema_version")!.value, `JSON schema version ${version} is newer than the ${SCHEMA_VERSION} this reader knows; objects it does not know are reported`, String(SCHEMA_VERSION));
  }
}

/** A ruleset object given as such (a listing) or in an add/create command. */
function addObject(r: NftJsonReader, b: RulesetBuilder, kind: string, v: JsonNode, at: JsonNode, create: boolean): void {
  switch (kind) {
    case "table": {
      const t = readTable(r, v);
      if (t) b.addTable(t, v, create);
      return;
    }
    case "chain": {
      const c = readChain(r, v);
      if (c) b.addChain(c, c.chain, v, create);
      return;
    }
    case "set":
    case "map": {
      const f = r.fields(v, kind);
      const where = f && placed(r, v, f, kind);
      if (!where) return;
      const s = readSet(b.scopeFor(where), kind, v);
      if (s) b.addSet(s, s.set, v, create);
      return;
    }
    case "element": {
      const f = r.fields(v, "element");
      const where = f && placed(r, v, f, "element");
      const name = where && r.needStr(v, f!, "name", "element");
      const set = where && name !== undefined ? b.setOf(where, name, v) : undefined;
      const elem = f?.get("elem");
      if (set && elem) b.addElements(set, readElements(b.scopeFor(where!), elem.value, set, `elements of ${name}`));
      else if (set) r.error(v, 'an element command has no "elem"', "the elements");
      return;
    }
    case "flowtable": {
      const ft = readFlowtable(r, v);
      if (ft) b.addFlowtable(ft, ft.flowtable, v);
      return;
    }
    case "rule": {
      const rule = readRule(r, v, b.scopeFor);
      if (rule) b.addRule(rule, v, "add");
      return;
    }
  }
  if ((OBJECT_TYPES as readonly string[]).includes(kind)) {
    const o = readObject(r, kind as NftObjectType, v);
    if (o) b.addObject(o, o.object, v);
    return;
  }
  r.warning(at, `unknown ruleset object ${JSON.stringify(kind)}, left out`, ["table", "chain", "set", "map", "element", "rule", "flowtable", ...OBJECT_TYPES].join(", "));
}

/** A command of `nft -j -f` input, applied in order. */
function command(r: NftJsonReader, b: RulesetBuilder, cmd: string, v: JsonNode): void {
  const f = r.single(v, `the ${cmd} command`, "the object it applies to");
  if (!f) return;
  const { key: kind, value: body } = f;
  switch (cmd) {
    case "add":
    case "create":
      return addObject(r, b, kind, body, v, cmd === "create");
    case "insert":
    case "replace": {
      if (kind !== "rule") return void r.error(v, `${cmd} applies to rules only: found ${JSON.stringify(kind)}`, "rule");
      const rule = readRule(r, body, b.scopeFor);
      if (rule) b.addRule(rule, body, cmd);
      return;
    }
    case "flush":
      if (kind === "ruleset") return b.flushRuleset();
      return named(r, body, kind, (where, name) => {
        if (kind === "table") b.flushTable(where, body);
        else if (kind === "chain") b.flushChain(where, name!, body);
        else if (kind === "set" || kind === "map") b.flushSet(where, name!, body);
        else r.warning(v, `flush ${kind} is not applied`, "flush ruleset, table, chain, set or map");
      });
    case "delete":
    case "destroy":
      return named(r, body, kind, (where, name, o) => {
        if (kind === "table") b.deleteTable(where, body);
        else if (kind === "chain") b.deleteChain(where, name!, body);
        else if (kind === "set" || kind === "map") b.deleteSet(where, name!, body);
        else if (kind === "rule") b.byKernelHandle(body, cmd, r.int(o, "handle", "rule"));
        else if ((OBJECT_TYPES as readonly string[]).includes(kind) || kind === "flowtable") b.deleteObject(where, kind, name!, body);
        else r.warning(v, `${cmd} ${kind} is not applied: the ruleset may hold what it deletes`, "delete table, chain, rule, set, map, object or flowtable");
      });
  }
  // list, reset, rename: change nothing this reader keeps, or (rename) what it cannot follow.
  r.warning(v, `the ${cmd} command is not applied`, "add, create, insert, replace, delete or flush");
}

/** The family, table and (for all but a table) name a flush or delete names; `then` runs when they are given. */
function named(r: NftJsonReader, body: JsonNode, kind: string, then: (where: { family: import("../../model/nft.js").NftFamily; table: string }, name: string | undefined, o: Map<string, import("../../facts/located-json.js").JsonField>) => void): void {
  const o = r.fields(body, kind);
  if (!o) return;
  if (kind === "table") {
    const t = readTable(r, body);
    if (t) then({ family: t.family, table: t.name }, undefined, o);
    return;
  }
  const where = placed(r, body, o, kind);
  const name = kind === "rule" ? undefined : r.needStr(body, o, "name", kind);
  if (where && (kind === "rule" || name !== undefined)) then(where, name, o);
}
