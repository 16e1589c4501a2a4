/**
 * `ipset save` (create/add lines, as `ipset restore` also reads them) and `ipset list`
 * (Name:/Type:/Header:/Members: blocks) into one AST. Every problem is located.
 */
import { DiagnosticSink, type Diagnostic } from "../model/diagnostics.js";
import type { Family } from "../model/ast.js";
import type { IpSet, IpSetCollection, SetEntry, SetOption } from "./ast.js";
import { MemberChecker } from "./members.js";
import { setHeader } from "./element.js";

const KNOWN_TYPES = new Set([
  "hash:ip", "hash:net", "hash:ip,port", "hash:net,port", "hash:ip,port,ip", "hash:ip,port,net", "hash:net,iface",
  "hash:net,net", "hash:net,port,net", "hash:ip,mark", "hash:mac", "hash:ip,mac", "bitmap:port", "bitmap:ip", "bitmap:ip,mac", "list:set",
]);
/** Header options that take a value; the rest are flags. */
const VALUED = new Set(["family", "hashsize", "maxelem", "timeout", "netmask", "range", "size", "bucketsize", "initval", "markmask"]);
const ENTRY_VALUED = new Set(["timeout", "packets", "bytes", "comment", "skbmark", "skbprio", "skbqueue", "before", "after"]);

/** Splits on spaces, keeping `"..."` together (comments); returns words with their columns. */
function tokens(line: string): Array<{ w: string; col: number; quoted: boolean }> {
  const out: Array<{ w: string; col: number; quoted: boolean }> = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    out.push(m[1] !== undefined ? { w: m[1].replace(/\\(.)/g, "$1"), col: m.index + 1, quoted: true } : { w: m[2]!, col: m.index + 1, quoted: false });
  }
  return out;
}

// Most members have no options: they share this list (a set of a million members is common).
const NO_OPTIONS: SetOption[] = Object.freeze([]) as unknown as SetOption[];

function readOptions(ws: ReturnType<typeof tokens>, from: number, valued: Set<string>, line: number, sink: DiagnosticSink): SetOption[] | undefined {
  if (from >= ws.length) return NO_OPTIONS;
  const out: SetOption[] = [];
  for (let i = from; i < ws.length; i++) {
    const k = ws[i]!;
    if (valued.has(k.w)) {
      const v = ws[i + 1];
      if (!v) {
        sink.error({ line, col: k.col, len: k.w.length }, `${k.w} needs a value`);
        return undefined;
      }
      out.push({ key: k.w, value: v.w });
      i++;
    } else out.push({ key: k.w });
  }
  return out;
}

function familyOf(options: SetOption[]): Family {
  const f = options.find((o) => o.key === "family")?.value;
  if (f === "inet6") return "ipv6";
  return "ipv4";
}

/** An element line's entry, with the column of each of its options (for the member checks). */
function entry(ws: ReturnType<typeof tokens>, from: number, line: number, sink: DiagnosticSink): { e: SetEntry; optionCols: number[] } | undefined {
  const e = ws[from];
  if (!e) {
    sink.error({ line, col: 1, len: 0 }, "missing the element to add", "an element such as 10.0.0.1 or 10.0.0.0/24,tcp:80");
    return undefined;
  }
  const opts = readOptions(ws, from + 1, ENTRY_VALUED, line, sink);
  if (!opts) return undefined;
  const nomatch = opts.some((o) => o.key === "nomatch");
  const optionCols: number[] = [];
  for (let i = from + 1; i < ws.length; i++) {
    optionCols.push(ws[i]!.col);
    if (ENTRY_VALUED.has(ws[i]!.w)) i++;
  }
  return { e: { text: e.w, nomatch, options: opts, span: { line, col: e.col, len: e.w.length } }, optionCols };
}

export function parseIpsetText(text: string, sink: DiagnosticSink): IpSetCollection {
  const sets: IpSet[] = [];
  const byName = new Map<string, IpSet>();
  const lines = text.split("\n");
  let listSet: IpSet | undefined;
  let inMembers = false;
  // One checker per set, made at its first member (a listing's header comes before them).
  const checkers = new Map<IpSet, MemberChecker>();
  const checker = (s: IpSet, known?: (name: string) => string | undefined) => {
    let c = checkers.get(s);
    if (!c) checkers.set(s, (c = new MemberChecker(s, sink, known)));
    return c;
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const n = i + 1;
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) {
      if (trimmed === "") inMembers = false;
      continue;
    }
    const ws = tokens(line);
    const first = ws[0]!.w;
    // ipset list blocks; their keys are capitalised, and the lines of a save never are.
    const c0 = line.charCodeAt(0);
    const kv = c0 >= 65 && c0 <= 90 ? /^(Name|Type|Revision|Header|Size in memory|References|Number of entries|Members):\s?(.*)$/.exec(line) : null;
    if (kv) {
      const [, key, value] = kv as unknown as [string, string, string];
      if (key === "Name") {
        listSet = { name: value.trim(), type: "", family: "ipv4", options: [], entries: [], span: { line: n, col: 1, len: line.length }, listInfo: {} };
        sets.push(listSet);
        byName.set(listSet.name, listSet);
        inMembers = false;
      } else if (!listSet) sink.error({ line: n, col: 1, len: key.length }, `${key}: before any Name:`, "Name: SETNAME first");
      else if (key === "Type") {
        listSet.type = value.trim();
        if (!KNOWN_TYPES.has(listSet.type)) sink.warning({ line: n, col: 7, len: value.length }, `unknown set type ${listSet.type}; its lookups are indeterminate`);
      } else if (key === "Header") {
        const o = readOptions(tokens(value), 0, VALUED, n, sink);
        if (o) {
          listSet.options = o;
          listSet.family = familyOf(o);
        }
      } else if (key === "Members") inMembers = true;
      else listSet.listInfo![key] = value.trim();
      continue;
    }
    if (inMembers && listSet) {
      const r = entry(ws, 0, n, sink);
      if (r && checker(listSet).accept(r.e, r.optionCols)) listSet.entries.push(r.e);
      continue;
    }
    if (first === "create" || first === "-N" || first === "-exist") {
      const [name, type] = [ws[1], ws[2]];
      if (!name || !type) {
        sink.error({ line: n, col: ws[0]!.col, len: first.length }, "create needs a set name and a type", "create NAME TYPE [options]");
        continue;
      }
      if (!KNOWN_TYPES.has(type.w)) sink.warning({ line: n, col: type.col, len: type.w.length }, `unknown set type ${type.w}; its lookups are indeterminate`);
      const o = readOptions(ws, 3, VALUED, n, sink);
      if (!o) continue;
      if (byName.has(name.w)) sink.error({ line: n, col: name.col, len: name.w.length }, `set ${name.w} created twice`);
      const s: IpSet = { name: name.w, type: type.w, family: familyOf(o), options: o, entries: [], span: { line: n, col: 1, len: line.length } };
      const h = KNOWN_TYPES.has(type.w) ? setHeader(s) : undefined;
      if (h && "problem" in h) sink.error({ line: n, col: type.col, len: type.w.length }, `set ${name.w} cannot be created: ${h.problem}`);
      sets.push(s);
      byName.set(s.name, s);
      continue;
    }
    if (first === "add" || first === "-A") {
      const name = ws[1];
      const s = name ? byName.get(name.w) : undefined;
      if (!s) {
        sink.error({ line: n, col: name?.col ?? 1, len: name?.w.length ?? 0 }, `add to set ${name?.w ?? "?"}, which was not created before`, "create NAME TYPE first");
        continue;
      }
      const r = entry(ws, 2, n, sink);
      if (r && checker(s, (m) => byName.get(m)?.type).accept(r.e, r.optionCols)) s.entries.push(r.e);
      continue;
    }
    sink.error({ line: n, col: ws[0]!.col, len: first.length }, "not an ipset line", "create, add, or an ipset list block (Name:, Type:, Header:, Members:)", first);
  }
  return { sets };
}

export function parseIpsets(text: string, opts: { file?: string } = {}): { value: IpSetCollection; diagnostics: Diagnostic[] } {
  const sink = new DiagnosticSink(opts.file ?? "<ipsets>");
  return { value: parseIpsetText(text, sink), diagnostics: sink.items };
}
