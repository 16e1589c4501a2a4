/**
 * `netfate diff OLD NEW [inputs]`: packets whose fate differs between two dumps of one node.
 * OLD and NEW are rule dumps or `netfate collect` directories; the node facts and ipsets
 * given with the inputs flags serve both. Exit 1 when some packet differs, 0 when none does.
 */
import { readdirSync, statSync } from "node:fs";
import { readTextFile } from "../../text-file.js";
import { join } from "node:path";
import { formatDiagnostic } from "../../model/diagnostics.js";
import { DiagnosticSink } from "../../model/diagnostics.js";
import { emptyFacts, type NodeFacts } from "../../facts/model.js";
import { applyShortcuts, detectFactsFormat, readFacts } from "../../facts/parse.js";
import { parseIpsets, type IpSetCollection } from "../../ipset/index.js";
import { evaluationJson } from "../../explain/json.js";
import { traceText } from "../../explain/text.js";
import { packetText } from "../../explain/describe.js";
import { paletteFor, PLAIN, type Palette } from "../../explain/colour.js";
import { diffRulesets, kindsFirst, type FateDifference, type OutcomeSummary } from "../../diff/compare.js";
import { DEFAULT_MAX, DEFAULT_RANDOM } from "../../diff/candidates.js";
import { flagSet, flagValue, flagValues, helpText, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from "../args.js";
import { INPUT_FLAGS, loadInputs, type LoadedInputs } from "../load.js";
import { toJson } from "../render-json.js";
import type { CommandIO } from "../io.js";

/** The rules come from OLD and NEW, so the flags that name rules are not offered. */
export const DIFF_FLAGS: FlagSpec[] = [
  ...INPUT_FLAGS.filter((f) => f.name !== "rules" && f.name !== "bundle"),
  { name: "max", value: true, help: `at most N packets made from the rules' constants (default ${DEFAULT_MAX})` },
  { name: "random", value: true, help: `N more packets from a seeded random search (default ${DEFAULT_RANDOM})` },
  { name: "seed", value: true, help: "seed of the random search (default 1)" },
  { name: "established", help: "also try every packet as part of an established connection" },
  { name: "limit", short: "l", value: true, help: "show at most N differences, one of each kind first (default 10; 0 for all)" },
  { name: "stacked", help: "print the two traces one above the other instead of side by side" },
  { name: "json", help: "print one JSON object: {version: 1, candidates, total, kinds, differences: [...]} (--limit applies)" },
  { name: "quiet", short: "q", help: "do not print notes and warnings on stderr" },
  { name: "help", short: "h", help: "show this help" },
];

const USAGE = `usage: netfate diff OLD NEW [inputs]

OLD, NEW: iptables-save (or -S, -L) dumps of one node, or netfate collect directories.
Exit status: 1 when some packet's fate differs, 0 when none does, 2 on bad input.`;

function count(args: ParsedArgs, name: string, dflt: number): number {
  const v = flagValue(args, name);
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v)) throw new UsageError(`--${name} takes a whole number, not ${v}`);
  return Number(v);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** One side's inputs: its dump (or bundle) with the shared facts and sets flags. */
function loadSide(args: ParsedArgs, path: string, io: CommandIO): LoadedInputs {
  const flags = new Map(args.flags);
  flags.set(isDirectory(path) ? "bundle" : "rules", [path]);
  return loadInputs({ flags, positionals: [] }, io);
}

/**
 * What the candidates need and the loaded views hide: interface names and addresses, set
 * members. Read after loadSide succeeded, so every file here is known to be readable.
 */
function candidateFacts(args: ParsedArgs, sides: readonly string[]): { facts: NodeFacts; sets: IpSetCollection } {
  const facts = emptyFacts();
  const sets: IpSetCollection = { sets: [] };
  const texts: Array<{ file: string; text: string; ipsets: boolean }> = [];
  for (const f of flagValues(args, "node")) if (f !== "-") texts.push({ file: f, text: readTextFile(f), ipsets: false });
  for (const f of flagValues(args, "ipsets")) if (f !== "-") texts.push({ file: f, text: readTextFile(f), ipsets: true });
  for (const dir of sides.filter(isDirectory)) {
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name);
      if (isDirectory(file)) continue;
      const text = readTextFile(file);
      texts.push({ file, text, ipsets: /ipset/.test(name) });
    }
  }
  const sink = new DiagnosticSink("<diff>");
  for (const t of texts) {
    if (t.ipsets) sets.sets.push(...parseIpsets(t.text, { file: t.file }).value.sets);
    else if (detectFactsFormat(t.text)) readFacts(t.text, t.file, facts, sink);
  }
  applyShortcuts(facts, { ifaces: flagValues(args, "iface"), localAddrs: flagValues(args, "local-addr"), routes: flagValues(args, "route") }, sink);
  return { facts, sets };
}

function summaryLine(s: OutcomeSummary): string {
  const p = s.probability === 1 ? "" : ` (p=${s.probability.toFixed(4)})`;
  return `${s.fate}${p}\n       ${s.decidedBy ? `by ${s.decidedBy}` : `then ${s.final}`}`;
}

/** Cuts lines longer than the column, so the right column stays where it is. */
function fit(text: string, width: number): string[] {
  return text.replace(/\n$/, "").split("\n").flatMap((l) => {
    const out: string[] = [];
    for (let s = l; ; s = "    " + s.slice(width)) {
      out.push(s.slice(0, width));
      if (s.length <= width) break;
    }
    return out;
  });
}

function sideBySide(left: string, right: string, width: number, titles: [string, string]): string {
  const col = Math.floor((width - 3) / 2);
  const a = [titles[0], "-".repeat(Math.min(col, titles[0].length)), ...fit(left, col)];
  const b = [titles[1], "-".repeat(Math.min(col, titles[1].length)), ...fit(right, col)];
  const rows: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) rows.push(`${(a[i] ?? "").padEnd(col)} │ ${b[i] ?? ""}`.trimEnd());
  return rows.join("\n") + "\n";
}

interface Layout {
  stacked: boolean;
  width: number;
  palette: Palette;
  names: [string, string];
}

function differenceText(d: FateDifference, i: number, total: number, l: Layout): string {
  const c = l.palette;
  let s = `${c.bold(`Difference ${i + 1} of ${total}:`)} ${packetText(d.packet)}\n`;
  s += d.oldSummary.map((x) => `  ${c.red("old:")} ${summaryLine(x)}\n`).join("");
  s += d.newSummary.map((x) => `  ${c.green("new:")} ${summaryLine(x)}\n`).join("");
  s += "\n";
  if (l.stacked) {
    s += `${c.bold(`old (${l.names[0]}):`)}\n${traceText(d.old, { palette: c, width: l.width })}\n`;
    s += `${c.bold(`new (${l.names[1]}):`)}\n${traceText(d.new, { palette: c, width: l.width })}`;
  } else {
    // Colours would throw the column padding off: side by side is plain.
    const col = Math.floor((l.width - 3) / 2);
    s += sideBySide(traceText(d.old, { palette: PLAIN, width: col }), traceText(d.new, { palette: PLAIN, width: col }), l.width, [`old: ${l.names[0]}`, `new: ${l.names[1]}`]);
  }
  return s + "\n";
}

function json(d: FateDifference) {
  return {
    packet: packetText(d.packet),
    spec: d.packet,
    old: { summary: d.oldSummary, evaluation: evaluationJson(d.old) },
    new: { summary: d.newSummary, evaluation: evaluationJson(d.new) },
  };
}

export function runDiff(argv: string[], io: CommandIO): number {
  const args = parseArgs(argv, DIFF_FLAGS);
  if (flagSet(args, "help")) {
    io.out(helpText(USAGE, DIFF_FLAGS));
    return 0;
  }
  if (args.positionals.length !== 2) throw new UsageError(`diff needs two dumps, OLD and NEW (got ${args.positionals.length} arguments)`);
  const names = args.positionals as [string, string];
  const options = {
    max: count(args, "max", DEFAULT_MAX),
    random: count(args, "random", DEFAULT_RANDOM),
    seed: count(args, "seed", 1),
    established: flagSet(args, "established"),
  };
  const limit = count(args, "limit", 10) || Infinity;
  const quiet = flagSet(args, "quiet");
  const sides = names.map((n) => loadSide(args, n, io));
  for (const s of sides) {
    for (const d of s.diagnostics) if (d.severity === "error" || (!quiet && d.severity === "warning")) io.err(formatDiagnostic(d) + "\n");
  }
  if (!quiet) for (const n of new Set(sides.flatMap((s) => s.notes))) io.err(`note: ${n}\n`);
  const { facts, sets } = candidateFacts(args, names);
  const result = diffRulesets(sides[0]!, sides[1]!, { ...options, facts, sets });
  const { ordered, kinds } = kindsFirst(result.differences);
  const shown = ordered.slice(0, limit);
  if (flagSet(args, "json")) {
    const total = result.differences.length;
    io.out(toJson({ version: 1, old: names[0], new: names[1], candidates: result.candidates, total, kinds, differences: shown.map(json) }) + "\n");
  } else {
    const width = io.isTTY && process.stdout.columns ? process.stdout.columns : 160;
    const layout: Layout = { stacked: flagSet(args, "stacked") || width < 120, width, palette: paletteFor(io.isTTY), names };
    io.out(shown.map((d, i) => differenceText(d, i, ordered.length, layout)).join(""));
    const n = result.differences.length;
    io.out(n === 0
      ? `No differences: ${result.candidates} packets tried, each ends the same under both dumps.\n`
      : `${n} of ${result.candidates} packets tried end differently (${kinds} kind${kinds === 1 ? "" : "s"} of difference)${shown.length < n ? `; ${shown.length} shown (--limit)` : ""}.\n`);
  }
  return result.differences.length ? 1 : 0;
}
