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
import { diffNotes, diffVerdictText, differenceText, type DiffLayout } from "../../diff/text.js";
import { DiffSides, kindsFirst, type DiffResult, type FateDifference, type OldLook } from "../../diff/compare.js";
import type { PacketSpec } from "../../model/packet.js";
import { chunkLook, loadSides, lookAtChunks, OldSideHelper } from "./diff-sides.js";
import { DEFAULT_MAX, DEFAULT_RANDOM } from "../../diff/candidates.js";
import { flagSet, flagValue, helpText, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from "../args.js";
import { INPUT_FLAGS, InputReader, readInputTexts, refuseSecondStdin, type InputTexts, type RulesSource } from "../load.js";
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
  { name: "threads", value: true, help: "trace packets on N threads, 1 (default) or 2: a helper thread loads both dumps again and traces half the packets (the findings are the same; on the 10k-service pair it is slower than one thread)" },
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

function json(d: FateDifference) {
  return {
    packet: packetText(d.packet),
    spec: d.packet,
    old: { summary: d.oldSummary, evaluation: evaluationJson(d.old) },
    new: { summary: d.newSummary, evaluation: evaluationJson(d.new) },
  };
}

/**
 * The differences, the packets' looks worked out here and by `helper` when there is one, chunk
 * by chunk, whichever thread is free taking the next (diff-sides.ts). The looks of this thread
 * keep their evaluation when the comparison will need it; the comparison then goes through the
 * packets in order.
 */
async function compareShared(sides: DiffSides, packets: readonly PacketSpec[], helper: OldSideHelper | undefined): Promise<DiffResult> {
  if (!helper) return sides.compare(packets);
  const claimed = new Int32Array(new SharedArrayBuffer(4));
  const theirs = helper.looks(packets, claimed);
  const mine = lookAtChunks(packets, claimed, (p): OldLook | undefined => {
    if (!sides.families.has(p.family)) return undefined;
    const l = sides.look(p);
    return l.unknown || l.same ? { ...(l.unknown ? { unknown: l.unknown } : {}), same: l.same } : l;
  });
  const rest = await theirs;
  return sides.compare(packets, (i) => chunkLook(mine, i) ?? chunkLook(rest, i));
}

export async function runDiff(argv: string[], io: CommandIO): Promise<number> {
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
  const threads = flagValue(args, "threads") === undefined ? undefined : count(args, "threads", 2, 2);
  if (threads === 0) throw new UsageError("--threads is 1 or 2, not 0");
  const quiet = flagSet(args, "quiet");
  refuseSecondStdin(args, names);
  const reader = new InputReader(io, args);
  const texts = names.map((n) => readInputTexts(args, reader, sourceOf(n))) as [InputTexts, InputTexts];
  const helper = threads === 2 ? OldSideHelper.start(texts) : undefined;
  let result: DiffResult;
  try {
    const sides = loadSides(texts);
    for (const s of sides) {
      for (const d of s.diagnostics) if (d.severity === "error" || (!quiet && d.severity === "warning")) io.err(formatDiagnostic(d) + "\n");
    }
    if (!quiet) for (const n of new Set(sides.flatMap((s) => s.notes))) io.err(`note: ${n}\n`);
    const { facts, sets } = candidateFacts(texts);
    const diff = new DiffSides(sides[0], sides[1], { ...options, facts, sets });
    result = await compareShared(diff, diff.candidates(), helper);
  } finally {
    helper?.stop();
  }
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
