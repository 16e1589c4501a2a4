/**
 * `netfate batch --packets FILE.jsonl`: one JSON result per input line on stdout (or, with
 * `--fields`, one short line per outcome), a count of packets done on stderr when it is a
 * terminal, and summary counts at the end (stderr). Packets are read, answered and written a
 * line at a time: memory does not grow with their number.
 */
import { nodeInputsOf } from "../../assemble.js";
import { buildNode, type EvaluateOptions, type Evaluation } from "../../netfilter/model.js";
import { formatDiagnostic } from "../../model/diagnostics.js";
import { parsePacketJson, parsePacketText } from "../../packet/parse.js";
import { evaluationJson } from "../../explain/json.js";
import { flagSet, flagValue, helpText, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from "../args.js";
import { INPUT_FLAGS, InputReader, loadInputs, refuseSecondStdin } from "../load.js";
import { processIO, type CommandIO } from "../io.js";
import { LineSource, openPacketFile, textLines, type PacketLine } from "./batch-lines.js";
import { compactError, compactLines, FIELD_NAMES, FIELDS, parseFields } from "./batch-fields.js";
import { ASSUME_FLAG, assumptionsOf } from "../assume.js";
import { buildCluster } from "../../netfilter/cluster.js";
import { clusterEvaluationJson } from "../../explain/cluster-json.js";
import type { PacketSpec } from "../../model/packet.js";
import type { Fate } from "../../model/evaluation.js";
import { CLUSTER_FLAGS, loadClusterInputs, startOf, wantsCluster } from "./cluster-trace.js";
import { AUTO_BYTES, jobsOf, MAX_JOBS, runParallel } from "./batch-parallel.js";

/** One packet's answer: its evaluation (one node) or JSON (a cluster), and the fates it counts; or why the packet cannot be answered. */
type Answer = (packet: PacketSpec) => { json?: Record<string, unknown>; evaluation?: Evaluation; fates: Fate[] } | { error: string };

export const BATCH_FLAGS: FlagSpec[] = [
  ...INPUT_FLAGS,
  ...CLUSTER_FLAGS,
  { name: "packets", value: true, help: "packets, one per line: JSON objects or the text form (- for stdin); read and answered a line at a time" },
  { name: "fields", value: true, help: `one short line per outcome with these fields instead of the whole trace, e.g. fate,final,rule; of: ${FIELD_NAMES.join(", ")}` },
  { name: "format", short: "f", value: true, help: "with --fields: text (tab-separated, the default) or json (one object per outcome)" },
  { name: "verbose", short: "v", help: "include the rules tried that did not match" },
  ASSUME_FLAG,
  {
    name: "jobs", short: "j", value: true,
    help: `answer with N worker threads (1 to ${MAX_JOBS}), each loading the inputs, answers kept in input order; default 2 for a packets file over ${AUTO_BYTES >> 20} MiB with a processor to spare, else 1 (this process)`,
  },
  { name: "quiet", short: "q", help: "no progress, notes or summary on stderr" },
  { name: "help", short: "h", help: "show this help" },
];

/** How each answer is written: the whole trace as JSON (the default), or the chosen fields. */
interface Writer {
  answer(line: number, e: { json?: Record<string, unknown>; evaluation?: Evaluation }): string;
  error(line: number, error: string): string;
}

function writerOf(args: ParsedArgs, cluster: boolean): Writer {
  const list = flagValue(args, "fields");
  const format = flagValue(args, "format");
  if (list === undefined) {
    if (format !== undefined) throw new UsageError("--format goes with --fields (without them every line is the whole trace as JSON)");
    return {
      answer: (line, a) => {
        const json = a.json ?? (evaluationJson(a.evaluation!) as Record<string, unknown>);
        json.line = line;
        return JSON.stringify(json) + "\n";
      },
      error: (line, error) => JSON.stringify({ version: 1, line, error }) + "\n",
    };
  }
  if (cluster) throw new UsageError("--fields is for one node's packets; a cluster batch writes each answer as JSON");
  if (format !== undefined && format !== "text" && format !== "json") throw new UsageError(`unknown --format ${format}; one of text, json`);
  const fields = parseFields(list);
  const json = format === "json";
  return { answer: (line, a) => compactLines(fields, json, line, a.evaluation!), error: (line, error) => compactError(fields, json, line, error) };
}

/** The packet lines: a file or stdin, a line at a time (stdin handed over whole when the command runs in a test's process). */
export function packetLines(file: string, io: CommandIO, reader: InputReader, flush: () => void): Iterable<PacketLine> {
  if (file === "-" && io !== processIO) return textLines(reader.read("-"));
  const source = file === "-" ? new LineSource(0) : openPacketFile(file);
  source.beforeRead = flush;
  return source;
}

/** What one packet line comes to: the text written for it, and the fates it counts (none: it could not be answered). */
export interface LineAnswer {
  text: string;
  fates?: readonly Fate[];
}

/**
 * How each packet line is answered, with the inputs loaded once: its writer, the node (or
 * cluster) and the options. The in-process loop and every worker (batch-parallel.ts) answer
 * through this one function, so their answers are the same text.
 */
export function lineAnswerer(args: ParsedArgs, io: CommandIO, reader: InputReader, quiet: boolean): (l: PacketLine) => LineAnswer | undefined {
  const cluster = wantsCluster(args);
  const writer = writerOf(args, cluster);
  const verbose = flagSet(args, "verbose");
  const assume = assumptionsOf(args);
  // The compact fields read no step's description: the evaluation does not make them.
  const lean = !cluster && flagValue(args, "fields") !== undefined;
  const opts: EvaluateOptions = { verbose, ...(assume ? { assume } : {}), ...(lean ? { lean } : {}) };
  const answer = cluster ? clusterAnswer(args, io, quiet, opts) : nodeAnswer(args, io, reader, quiet, opts);
  return (l) => {
    let a: ReturnType<Answer>;
    if ("error" in l) a = l;
    else {
      const line = l.text.trim();
      if (!line) return undefined;
      const r = line.startsWith("{") ? parsePacketJson(line) : parsePacketText(line);
      a = r.ok ? answer(r.packet) : { error: r.error };
    }
    if ("error" in a) return { text: writer.error(l.line, a.error) };
    return { text: writer.answer(l.line, a), fates: a.fates };
  };
}

/** The tally of a batch: packets answered, those unreadable, and outcomes by fate. */
export class BatchTally {
  readonly counts = new Map<string, number>();
  bad = 0;
  done = 0;

  add(a: LineAnswer): void {
    this.done++;
    if (!a.fates) this.bad++;
    else for (const f of a.fates) this.countFate(f.kind, 1);
  }

  countFate(kind: string, n: number): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
  }

  /** The summary line on stderr, and the exit code (2 when a packet could not be read). */
  finish(io: CommandIO, quiet: boolean, progress: boolean): number {
    if (progress && this.done >= 1000) io.err(`\r${this.done} packets\n`);
    if (!quiet) {
      const parts = [...this.counts].sort().map(([k, v]) => `${k} ${v}`);
      io.err(`${this.done} packets${this.bad ? `, ${this.bad} unreadable` : ""}; outcomes: ${parts.join(", ") || "none"}\n`);
    }
    return this.bad > 0 ? 2 : 0;
  }
}

export function runBatch(argv: string[], io: CommandIO): number | Promise<number> {
  const args = parseArgs(argv, BATCH_FLAGS);
  if (flagSet(args, "help")) {
    io.out(helpText("usage: netfate batch [inputs] --packets FILE.jsonl [--fields LIST [--format json]] [--jobs N]", BATCH_FLAGS) + fieldsHelp());
    return 0;
  }
  const file = flagValue(args, "packets") ?? args.positionals[0];
  if (!file) throw new UsageError("batch needs --packets FILE (one packet per line)");
  refuseSecondStdin(args, flagValue(args, "packets") === undefined ? [file] : []);
  // The flags are checked here, before any worker starts or any input is read.
  writerOf(args, wantsCluster(args));
  const quiet = flagSet(args, "quiet");
  const jobs = jobsOf(args, file, io);
  if (jobs > 1) return runParallel(argv, args, file, io, jobs);
  const reader = new InputReader(io, args);
  let chunk = "";
  // Answers are written in chunks, and whenever the next packet has to be waited for.
  const flush = () => {
    if (chunk) io.out(chunk);
    chunk = "";
  };
  const lines = packetLines(file, io, reader, flush);
  const answerLine = lineAnswerer(args, io, reader, quiet);
  const tally = new BatchTally();
  const progress = io.isTTY && !quiet;
  for (const l of lines) {
    const a = answerLine(l);
    if (!a) continue;
    chunk += a.text;
    tally.add(a);
    // Written as it goes: a reader downstream sees each answer soon, and memory holds one chunk.
    if (chunk.length > 1 << 16) flush();
    if (progress && tally.done % 1000 === 0) io.err(`\r${tally.done} packets`);
  }
  flush();
  return tally.finish(io, quiet, progress);
}

function fieldsHelp(): string {
  return `\nfields (--fields):\n${FIELD_NAMES.map((n) => `  ${n.padEnd(12)} ${FIELDS[n]!.help}`).join("\n")}\n`;
}

/** Packets through the one node the input flags give. */
function nodeAnswer(args: ParsedArgs, io: CommandIO, reader: InputReader, quiet: boolean, opts: EvaluateOptions): Answer {
  const inputs = loadInputs(args, io, reader);
  if (!quiet) for (const n of inputs.notes) io.err(`note: ${n}\n`);
  for (const d of inputs.diagnostics) if (d.severity === "error") io.err(formatDiagnostic(d) + "\n");
  const node = buildNode(nodeInputsOf(inputs));
  return (packet) => {
    if (!node.hasRules(packet.family)) return { error: `an ${packet.family === "ipv6" ? "IPv6" : "IPv4"} packet, but no rules of that family were given` };
    const e = node.evaluate(packet, opts);
    return { evaluation: e, fates: e.outcomes.map((o) => o.fate) };
  };
}

/** Packets through a cluster (--cluster, or --reply on the one node): each starts at --at or where its source is. */
function clusterAnswer(args: ParsedArgs, io: CommandIO, quiet: boolean, opts: EvaluateOptions): Answer {
  const loaded = loadClusterInputs(args, io);
  if (!quiet) for (const n of loaded.notes) io.err(`note: ${n}\n`);
  for (const { node, diagnostic } of loaded.diagnostics) if (diagnostic.severity === "error") io.err(`${node ? `[${node}] ` : ""}${formatDiagnostic(diagnostic)}\n`);
  const cluster = buildCluster(loaded.inputs);
  const reply = flagSet(args, "reply");
  return (packet) => {
    let start;
    try {
      start = startOf(args, cluster, packet);
    } catch (e) {
      if (e instanceof UsageError) return { error: e.message };
      throw e;
    }
    const ev = cluster.evaluate(packet, start, { ...opts, reply });
    return { json: clusterEvaluationJson(ev), fates: ev.outcomes.flatMap((o) => [o.fate, ...(o.reply ?? []).map((r) => r.fate)]) };
  };
}

