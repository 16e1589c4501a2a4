/**
 * `netfate diff OLD NEW [inputs]`: packets whose fate differs between two dumps of one node.
 * OLD and NEW are rule dumps or `netfate collect` directories; the node facts and ipsets
 * given with the inputs flags serve both. Exit 1 when some packet differs, 3 when none of
 * those compared does but some could not be compared, 0 when every packet ends the same.
 */
import { statSync } from "node:fs";
import { formatDiagnostic } from "../../model/diagnostics.js";
import { DiagnosticSink } from "../../model/diagnostics.js";
import { emptyFacts, type NodeFacts } from "../../facts/model.js";
import { applyShortcuts, detectFactsFormat, readFacts } from "../../facts/parse.js";
import { parseIpsets, type IpSetCollection } from "../../ipset/index.js";
import { evaluationJson } from "../../explain/json.js";
import { traceText } from "../../explain/text.js";
import { packetText } from "../../explain/describe.js";
import { paletteFor, PLAIN, type Palette } from "../../explain/colour.js";
import { diffRulesets, kindsFirst, type DiffResult, type FateDifference, type OutcomeSummary } from "../../diff/compare.js";
import { DEFAULT_MAX, DEFAULT_RANDOM } from "../../diff/candidates.js";
import { flagSet, flagValue, flagValues, helpText, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from "../args.js";
import { INPUT_FLAGS, InputReader, loadInputs, refuseSecondStdin, type LoadedInputs } from "../load.js";
import { toJson } from "../render-json.js";
import type { CommandIO } from "../io.js";

/**
 * Bounds on the work asked for: each packet is evaluated twice and a difference keeps both
 * evaluations. The random search hands its packets on as one argument list, which Node
 * cannot make much longer than 100,000.
 */
const MAX_MAX = 200_000;
const MAX_RANDOM = 50_000;
const MAX_SEED = 0xffffffff;
const MAX_LIMIT = 1_000_000_000;

/** The rules come from OLD and NEW, so the flags that name rules are not offered. */
export const DIFF_FLAGS: FlagSpec[] = [
  ...INPUT_FLAGS.filter((f) => f.name !== "rules" && f.name !== "bundle"),
  { name: "max", value: true, help: `at most N packets made from the rules' constants (default ${DEFAULT_MAX}, at most ${MAX_MAX})` },
  { name: "random", value: true, help: `N more packets from a seeded random search (default ${DEFAULT_RANDOM}, at most ${MAX_RANDOM})` },
  { name: "seed", value: true, help: `seed of the random search (default 1, at most ${MAX_SEED})` },
  { name: "established", help: "also try every packet as part of an established connection" },
  { name: "limit", short: "l", value: true, help: "show at most N differences, one of each kind first (default 10; 0 for all)" },
  { name: "stacked", help: "print the two traces one above the other instead of side by side" },
  { name: "json", help: "print one JSON object: {version: 1, candidates, notCompared, total, kinds, differences: [...]} (--limit applies)" },
  { name: "quiet", short: "q", help: "do not print notes and warnings on stderr" },
  { name: "help", short: "h", help: "show this help" },
];

const USAGE = `usage: netfate diff OLD NEW [inputs]

OLD, NEW: iptables-save (or -S, -L) dumps of one node, or netfate collect directories.
A packet whose fate is unknown under either dump (indeterminate: the inputs do not say
something it depends on, such as the node's routes) is not compared; it is counted.
Outcomes that rest on different assumptions are shown apart ("if ...:"): their
probabilities are chances only among outcomes of the same assumptions.

Exit status:
  0  every packet tried ends the same under both dumps
  1  some packet's fate differs
  2  bad input or usage
  3  no compared packet differs, but some could not be compared (the answer depends on
     something the inputs do not say: give node facts with --node, --bundle or --iface)
  141  the output was closed before it was all written`;

function count(args: ParsedArgs, name: string, dflt: number, max: number): number {
  const v = flagValue(args, name);
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v)) throw new UsageError(`--${name} takes a whole number, not ${v}`);
  const n = Number(v);
  if (n > max) throw new UsageError(`--${name} is at most ${max}, not ${v}`);
  return n;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** One side's inputs: its dump (or bundle) with the shared facts and sets flags. */
function loadSide(args: ParsedArgs, path: string, io: CommandIO, reader: InputReader): LoadedInputs {
  const flags = new Map(args.flags);
  flags.set(isDirectory(path) ? "bundle" : "rules", [path]);
  return loadInputs({ flags, positionals: [] }, io, reader);
}

/**
 * What the candidates need and the loaded views hide: interface names and addresses, set
 * members. From the texts loadSide read (the reader keeps them): nothing is read twice.
 */
function candidateFacts(args: ParsedArgs, sides: readonly string[], reader: InputReader): { facts: NodeFacts; sets: IpSetCollection } {
  const facts = emptyFacts();
  const sets: IpSetCollection = { sets: [] };
  const texts: Array<{ file: string; text: string; ipsets: boolean }> = [];
  for (const f of flagValues(args, "node")) texts.push({ file: f, text: reader.read(f), ipsets: false });
  for (const f of flagValues(args, "ipsets")) texts.push({ file: f, text: reader.read(f), ipsets: true });
  for (const dir of sides.filter(isDirectory)) {
    const b = reader.bundle(dir);
    for (const t of b.node) texts.push({ ...t, ipsets: false });
    for (const t of b.ipsets) texts.push({ ...t, ipsets: true });
  }
  const sink = new DiagnosticSink("<diff>");
  for (const t of texts) {
    if (t.ipsets) sets.sets.push(...parseIpsets(t.text, { file: t.file }).value.sets);
    else if (detectFactsFormat(t.text)) readFacts(t.text, t.file, facts, sink);
  }
  applyShortcuts(facts, { ifaces: flagValues(args, "iface"), localAddrs: flagValues(args, "local-addr"), routes: flagValues(args, "route") }, sink);
  return { facts, sets };
}

function summaryLine(s: OutcomeSummary, indent: string): string {
  const p = s.probability === 1 ? "" : ` (p=${s.probability.toFixed(4)})`;
  return `${s.fate}${p}\n${indent}   ${s.decidedBy ? `by ${s.decidedBy}` : `then ${s.final}`}`;
}

/**
 * One side's outcomes, a group per assumption set ("if ...:"), each group's probabilities
 * its own: outcomes under different assumptions are alternatives, not chances to add. When
 * every group has the same outcomes, the assumptions change nothing and are not shown.
 */
function sideText(label: string, summaries: readonly OutcomeSummary[]): string {
  const groups = new Map<string, OutcomeSummary[]>();
  for (const x of summaries) {
    const k = JSON.stringify(x.assumptions);
    const g = groups.get(k);
    if (g) g.push(x);
    else groups.set(k, [x]);
  }
  const outcomes = (g: readonly OutcomeSummary[]) => JSON.stringify(g.map((x) => [x.fate, x.decidedBy, x.final, x.probability.toFixed(9)]));
  const all = [...groups.values()];
  if (all.every((g) => outcomes(g) === outcomes(all[0]!))) return all[0]!.map((x) => `  ${label} ${summaryLine(x, "    ")}\n`).join("");
  let s = "";
  for (const g of all) {
    s += g[0]!.assumptions.length ? `  ${label} if ${g[0]!.assumptions.join("; and ")}:\n` : `  ${label} with no assumption:\n`;
    for (const x of g) s += `         ${summaryLine(x, "         ")}\n`;
  }
  return s;
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
  s += sideText(c.red("old:"), d.oldSummary);
  s += sideText(c.green("new:"), d.newSummary);
  s += "\n";
  // The dumps' own problems (a policy the dump does not show, a jump to no chain) are notes,
  // said once on stderr (see dumpNotes), not in every difference.
  const old = { ...d.old, problems: [] };
  const neu = { ...d.new, problems: [] };
  if (l.stacked) {
    s += `${c.bold(`old (${l.names[0]}):`)}\n${traceText(old, { palette: c, width: l.width })}\n`;
    s += `${c.bold(`new (${l.names[1]}):`)}\n${traceText(neu, { palette: c, width: l.width })}`;
  } else {
    // Colours would throw the column padding off: side by side is plain.
    const col = Math.floor((l.width - 3) / 2);
    s += sideBySide(traceText(old, { palette: PLAIN, width: col }), traceText(neu, { palette: PLAIN, width: col }), l.width, [`old: ${l.names[0]}`, `new: ${l.names[1]}`]);
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
    max: count(args, "max", DEFAULT_MAX, MAX_MAX),
    random: count(args, "random", DEFAULT_RANDOM, MAX_RANDOM),
    seed: count(args, "seed", 1, MAX_SEED),
    established: flagSet(args, "established"),
  };
  const limit = count(args, "limit", 10, MAX_LIMIT) || Infinity;
  const quiet = flagSet(args, "quiet");
  refuseSecondStdin(args, names);
  const reader = new InputReader(io, args);
  const sides = names.map((n) => loadSide(args, n, io, reader));
  for (const s of sides) {
    for (const d of s.diagnostics) if (d.severity === "error" || (!quiet && d.severity === "warning")) io.err(formatDiagnostic(d) + "\n");
  }
  if (!quiet) for (const n of new Set(sides.flatMap((s) => s.notes))) io.err(`note: ${n}\n`);
  const { facts, sets } = candidateFacts(args, names, reader);
  const result = diffRulesets(sides[0]!, sides[1]!, { ...options, facts, sets });
  if (!quiet) for (const n of dumpNotes(result, names)) io.err(`note: ${n}\n`);
  const { ordered, kinds } = kindsFirst(result.differences);
  const shown = ordered.slice(0, limit);
  if (flagSet(args, "json")) {
    const total = result.differences.length;
    const nc = result.notComparedExample;
    io.out(toJson({
      version: 1, old: names[0], new: names[1], candidates: result.candidates, total, kinds,
      notCompared: result.notCompared,
      ...(nc ? { notComparedExample: { packet: packetText(nc.packet), spec: nc.packet, side: nc.side, reason: nc.reason } } : {}),
      differences: shown.map(json),
    }) + "\n");
  } else {
    const width = io.isTTY && io.columns ? io.columns : 160;
    const layout: Layout = { stacked: flagSet(args, "stacked") || width < 120, width, palette: paletteFor(io.isTTY), names };
    io.out(shown.map((d, i) => differenceText(d, i, ordered.length, layout)).join(""));
    io.out(verdictText(result, kinds, shown.length));
  }
  if (result.differences.length) return 1;
  // "No differences" would be a guess: the packets not compared might differ.
  return result.notCompared ? 3 : 0;
}

/** The dumps' problems, each once, saying which side has it. */
function dumpNotes(r: DiffResult, names: readonly [string, string]): string[] {
  const out = new Set<string>();
  for (const [side, list] of [["old", r.problems.old], ["new", r.problems.new]] as const) {
    for (const p of list) out.add(`${side} (${side === "old" ? names[0] : names[1]}): ${p.table} ${p.chain}${p.rule ? ` rule ${p.rule}` : ""}: ${p.message}`);
  }
  return [...out];
}

function verdictText(r: DiffResult, kinds: number, shown: number): string {
  const n = r.differences.length;
  const nc = r.notCompared;
  const ex = r.notComparedExample;
  const why = ex ? ` (e.g. ${packetText(ex.packet)} under ${ex.side}: ${ex.reason})` : "";
  const unknown = `${nc} of ${r.candidates} packets tried could not be compared: their fate is unknown under one dump or both${why}`;
  if (n > 0) {
    return `${n} of ${r.candidates} packets tried end differently (${kinds} kind${kinds === 1 ? "" : "s"} of difference)${shown < n ? `; ${shown} shown (--limit)` : ""}.\n` +
      (nc ? `${unknown}.\n` : "");
  }
  if (nc === 0) return `No differences: ${r.candidates} packets tried, each ends the same under both dumps.\n`;
  const compared = r.candidates - nc;
  return `${unknown}.\n${compared ? `No differences among the other ${compared}` : "Nothing was compared"}; node facts (--node, --bundle or --iface) may let more be compared.\n`;
}
