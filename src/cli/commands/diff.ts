/**
 * `netfate diff OLD NEW [inputs]`: packets whose fate differs between two dumps of one node.
 * OLD and NEW are rule dumps or `netfate collect` directories; the node facts and ipsets
 * given with the inputs flags serve both. Exit 1 when some packet differs, 3 when none of
 * those compared does but some could not be compared, 0 when every packet ends the same.
 */
import { statSync } from "node:fs";
import { DiagnosticSink, formatDiagnostic } from "../../model/diagnostics.js";
import type { NodeFacts } from "../../facts/model.js";
import { applyShortcuts, factsFromTexts } from "../../facts/parse.js";
import { parseIpsets, type IpSetCollection } from "../../ipset/index.js";
import { evaluationJson } from "../../explain/json.js";
import { packetText } from "../../explain/describe.js";
import { paletteFor } from "../../explain/colour.js";
import { diffNotes, diffVerdictText, differenceText, type DiffLayout } from "../../explain/diff-text.js";
import { diffRulesets, kindsFirst, type FateDifference } from "../../diff/compare.js";
import { DEFAULT_MAX, DEFAULT_RANDOM } from "../../diff/candidates.js";
import { flagSet, flagValue, helpText, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from "../args.js";
import { assembleTexts, INPUT_FLAGS, InputReader, readInputTexts, refuseSecondStdin, type InputTexts, type RulesSource } from "../load.js";
import { toJson } from "../render-json.js";
import type { TextInput } from "../../assemble.js";
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

/** OLD or NEW: a dump, or a `netfate collect` directory. */
function sourceOf(path: string): RulesSource {
  return isDirectory(path) ? { bundle: path } : { rules: path };
}

/**
 * What the candidates need and the loaded views hide: interface names and addresses, set
 * members, of both sides together. From the texts the sides were loaded from (the flags'
 * files once, then each bundle's): no file is read again, but these are parsed again, as
 * the assembled inputs keep only the views built from them.
 */
function candidateFacts(sides: readonly InputTexts[]): { facts: NodeFacts; sets: IpSetCollection } {
  const [old, neu] = sides as [InputTexts, InputTexts];
  const node = [...old.node, ...(neu.bundle?.node ?? [])];
  const ipsets = [...old.ipsets, ...(neu.bundle?.ipsets ?? [])];
  const { facts } = factsFromTexts(node);
  applyShortcuts(facts, old.shortcuts, new DiagnosticSink("<diff>"));
  return { facts, sets: { sets: ipsets.flatMap((t) => parseIpsets(t.text, { file: t.file }).value.sets) } };
}

/**
 * Whether both sides' node facts were read from the same texts (the flags' files, and bundles
 * holding the same ones): the node view is then one for both, which lets diff skip asking the
 * new side about packets whose path met no change (diff/unchanged-path.ts).
 */
function sameNodeTexts(x: InputTexts, y: InputTexts): boolean {
  const same = (a: readonly TextInput[], b: readonly TextInput[]) =>
    a.length === b.length && a.every((t, i) => t.file === b[i]!.file && t.text === b[i]!.text && t.format === b[i]!.format);
  const s = (i: InputTexts) => [i.shortcuts.ifaces, i.shortcuts.localAddrs, i.shortcuts.routes];
  return same(x.node, y.node) && JSON.stringify(s(x)) === JSON.stringify(s(y));
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
  const texts = names.map((n) => readInputTexts(args, reader, sourceOf(n)));
  const sides = texts.map(assembleTexts);
  if (sameNodeTexts(texts[0]!, texts[1]!)) sides[1] = { ...sides[1]!, ...(sides[0]!.node ? { node: sides[0]!.node } : {}) };
  for (const s of sides) {
    for (const d of s.diagnostics) if (d.severity === "error" || (!quiet && d.severity === "warning")) io.err(formatDiagnostic(d) + "\n");
  }
  if (!quiet) for (const n of new Set(sides.flatMap((s) => s.notes))) io.err(`note: ${n}\n`);
  const { facts, sets } = candidateFacts(texts);
  const result = diffRulesets(sides[0]!, sides[1]!, { ...options, facts, sets });
  if (!quiet) for (const n of diffNotes(result, names)) io.err(`note: ${n}\n`);
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
    const layout: DiffLayout = { stacked: flagSet(args, "stacked") || width < 120, width, palette: paletteFor(io.isTTY), names };
    io.out(shown.map((d, i) => differenceText(d, i, ordered.length, layout)).join(""));
    io.out(diffVerdictText(result, kinds, shown.length));
  }
  if (result.differences.length) return 1;
  // "No differences" would be a guess: the packets not compared might differ.
  return result.notCompared ? 3 : 0;
}
