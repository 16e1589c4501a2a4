/**
 * Several dumps of one node (two files, or an issue that pastes the nat table's listing and
 * then its -S output) merged into one ruleset per family: one table per name, one chain per
 * name. The README promises a merge by table and chain, so nothing given is dropped without
 * a word: a chain given twice with the same rules is simply the same chain; given twice with
 * different rules, or a built-in chain with two different policies, the later one is used and
 * a located warning names both places.
 *
 * Inside one iptables-save dump a table given twice is different: iptables-restore flushes the
 * table at each `*table`, so the later replaces the earlier (save-dump.ts says so). Here the
 * dumps are views of one kernel, not steps of one restore.
 */
import { isUnknown, type Chain, type DumpFormat, type Family, type Ruleset, type Table } from "../model/ast.js";
import type { Diagnostic } from "../model/diagnostics.js";
import type { Span } from "../model/span.js";
import { ruleSpecText } from "../print/save.js";

/** A ruleset and the file it was read from (its spans are lines of that file). */
export interface SourcedRuleset {
  ruleset: Ruleset;
  file: string;
}

interface Placed {
  table: Table;
  file: string;
  /** Where each chain kept came from. */
  chainFiles: Map<string, string>;
}

/**
 * One ruleset per family, in the order the families first appear; nothing merged is lost
 * silently. A family given both as iptables-legacy and as iptables-nft dumps (their headers
 * say which) keeps one ruleset per backend: the kernel runs both backends' tables, each at its
 * table's priority, so they are not views of one table to merge. A dump that does not say its
 * backend goes with the iptables-nft one, and a warning says so.
 */
export function mergeRulesets(inputs: readonly SourcedRuleset[]): { rulesets: Ruleset[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const byFamily = new Map<string, SourcedRuleset[]>();
  const bothBackends = new Set<Family>();
  for (const f of new Set(inputs.map((s) => s.ruleset.family))) {
    const flavours = new Set(inputs.filter((s) => s.ruleset.family === f).map((s) => s.ruleset.flavour));
    if (flavours.has("legacy") && flavours.has("nft")) bothBackends.add(f);
  }
  for (const s of inputs) {
    const rs = s.ruleset;
    const legacy = bothBackends.has(rs.family) && rs.flavour === "legacy";
    if (bothBackends.has(rs.family) && rs.flavour === "unknown" && rs.tables[0]) {
      diagnostics.push(at(s.file, rs.tables[0].span, "warning", "this dump does not say its backend (no iptables-save header) and the inputs hold both iptables-legacy and iptables-nft dumps: it is read as iptables-nft's"));
    }
    const key = `${rs.family}${legacy ? " legacy" : ""}`;
    const l = byFamily.get(key);
    if (l) l.push(s);
    else byFamily.set(key, [s]);
  }
  const rulesets: Ruleset[] = [];
  for (const list of byFamily.values()) {
    const family = list[0]!.ruleset.family;
    if (list.length === 1 && distinctTables(list[0]!.ruleset)) {
      rulesets.push(list[0]!.ruleset);
      continue;
    }
    const out: Ruleset = {
      family,
      format: combinedFormat(list.map((s) => s.ruleset.format)),
      flavour: combinedFlavour(list.map((s) => s.ruleset.flavour)),
      preamble: list.flatMap((s) => s.ruleset.preamble),
      tables: [],
    };
    const placed = new Map<string, Placed>();
    for (const s of list) {
      for (const t of s.ruleset.tables) {
        const tableFormat = t.format ?? s.ruleset.format;
        const p = placed.get(t.name);
        if (!p) {
          const copy: Table = { ...t, chains: [...t.chains], format: tableFormat };
          out.tables.push(copy);
          placed.set(t.name, { table: copy, file: s.file, chainFiles: new Map(t.chains.map((c) => [c.name, s.file])) });
          continue;
        }
        diagnostics.push(at(s.file, t.span, "warning", `table ${t.name} was also given at ${where(p.file, p.table.span)}; the two are merged chain by chain`));
        mergeTable(p, t, s.file, family, diagnostics);
        // A save shows a whole table: a built-in chain missing from it is missing from the kernel.
        if (tableFormat === "save" || p.table.format === "save") p.table.format = "save";
      }
    }
    rulesets.push(out);
  }
  return { rulesets, diagnostics };
}

function distinctTables(rs: Ruleset): boolean {
  return new Set(rs.tables.map((t) => t.name)).size === rs.tables.length;
}

/** Adds the chains of `t` (read from `file`) to the table placed before. */
function mergeTable(p: Placed, t: Table, file: string, family: Family, diagnostics: Diagnostic[]): void {
  const index = new Map(p.table.chains.map((c, i) => [c.name, i]));
  for (const c of t.chains) {
    // A built-in chain the dump did not show (a listing of one chain, an nft save without it).
    if (!c.declared) continue;
    const i = index.get(c.name);
    if (i === undefined) {
      index.set(c.name, p.table.chains.length);
      p.table.chains.push(c);
      p.chainFiles.set(c.name, file);
      continue;
    }
    const e = p.table.chains[i]!;
    const eFile = p.chainFiles.get(c.name) ?? p.file;
    if (e.declared) {
      const here = `chain ${c.name} of table ${t.name}`;
      if (!sameRules(e, c, family)) {
        diagnostics.push(at(file, c.span, "warning", `${here} was also given at ${where(eFile, e.span)} with different rules (${e.rules.count} there, ${c.rules.count} here); the later one, here, is used`));
      }
      const ep = e.policy;
      const cp = c.policy;
      if (cp !== null && isUnknown(cp) && ep !== null && !isUnknown(ep)) {
        // This dump does not say the policy; the earlier one did.
        c.policy = ep;
      } else if (typeof ep === "string" && typeof cp === "string" && ep !== cp) {
        diagnostics.push(at(file, c.span, "warning", `${here} has policy ${cp} here and ${ep} at ${where(eFile, e.span)}; the later one, ${cp}, is used`));
      }
    }
    p.table.chains[i] = c;
    p.chainFiles.set(c.name, file);
  }
}

function sameRules(a: Chain, b: Chain, family: Family): boolean {
  if (a.rules.count !== b.rules.count) return false;
  const as = a.rules.load();
  const bs = b.rules.load();
  for (let i = 0; i < as.length; i++) {
    const ra = as[i]!;
    const rb = bs[i]!;
    if (ra.goto !== rb.goto || ruleSpecText(ra, family) !== ruleSpecText(rb, family)) return false;
  }
  return true;
}

/**
 * The format of a merged ruleset: the one all its parts share, else the one that claims the
 * least (a listing or -S output shows some chains; a save shows whole tables). Each table
 * keeps its own in `Table.format`.
 */
function combinedFormat(formats: DumpFormat[]): DumpFormat {
  if (formats.every((f) => f === formats[0])) return formats[0]!;
  return formats.includes("list") ? "list" : "S";
}

function combinedFlavour(flavours: Ruleset["flavour"][]): Ruleset["flavour"] {
  const known = new Set(flavours.filter((f) => f !== "unknown"));
  return known.size === 1 ? [...known][0]! : "unknown";
}

function where(file: string, s: Span): string {
  return `${file}:${s.line}`;
}

function at(file: string, s: Span, severity: Diagnostic["severity"], message: string): Diagnostic {
  return { severity, file, line: s.line, col: s.col, message };
}
