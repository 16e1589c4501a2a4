/**
 * How `netfate batch` answers a packet line (the whole trace as JSON, or the chosen fields),
 * and its tally: one code for the in-process loop (batch.ts) and the workers (batch-worker.ts).
 */
import { nodeInputsOf } from "../../assemble.js";
import { buildNode, type EvaluateOptions, type Evaluation } from "../../netfilter/model.js";
import { formatDiagnostic } from "../../model/diagnostics.js";
import { parsePacketJson, parsePacketText } from "../../packet/parse.js";
import { evaluationJson } from "../../explain/json.js";
import { flagSet, flagValue, UsageError, type ParsedArgs } from "../args.js";
import { InputReader, loadInputs } from "../load.js";
import { processIO, type CommandIO } from "../io.js";
import { LineSource, openPacketFile, textLines, type PacketLine } from "./batch-lines.js";
import { compactError, compactLines, fillLines, linesTemplate, parseFields, standInPacket, templateBytes, type Chosen, type LinesTemplate } from "./batch-fields.js";
import { assumptionsOf } from "../assume.js";
import { buildCluster } from "../../netfilter/cluster.js";
import { clusterEvaluationJson } from "../../explain/cluster-json.js";
import type { PacketSpec } from "../../model/packet.js";
import type { Fate } from "../../model/evaluation.js";
import { loadClusterInputs, startOf } from "./cluster-trace.js";
import { wantsCluster } from "./cluster-flags.js";
import { FlowMemo, type MemoStats } from "../../netfilter/flow-memo.js";

/**
 * One packet's answer: its evaluation (one node), JSON (a cluster) or its lines already made
 * (the flow memo's), and the fates it counts; or why the packet cannot be answered.
 */
type Answer = (packet: PacketSpec, line: number) => { json?: Record<string, unknown>; evaluation?: Evaluation; lines?: string; fates: readonly Fate[] } | { error: string };

/** How each answer is written: the whole trace as JSON (the default), or the chosen fields. */
interface Writer {
  answer(line: number, e: { json?: Record<string, unknown>; evaluation?: Evaluation }): string;
  error(line: number, error: string): string;
}

export function writerOf(args: ParsedArgs, cluster: boolean): Writer & { fields?: { chosen: Chosen[]; json: boolean } } {
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
  return {
    answer: (line, a) => compactLines(fields, json, line, a.evaluation!),
    error: (line, error) => compactError(fields, json, line, error),
    fields: { chosen: fields, json },
  };
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
export function lineAnswerer(args: ParsedArgs, io: CommandIO, reader: InputReader, quiet: boolean): LineAnswerer {
  const cluster = wantsCluster(args);
  const writer = writerOf(args, cluster);
  const verbose = flagSet(args, "verbose");
  const assume = assumptionsOf(args);
  // The compact fields read no step's description: the evaluation does not make them.
  const lean = !cluster && flagValue(args, "fields") !== undefined;
  const opts: EvaluateOptions = { verbose, ...(assume ? { assume } : {}), ...(lean ? { lean } : {}) };
  // The flow memo (unless --no-memo) keeps lean answers only (flow-memo.ts).
  const fields = lean && !verbose && memoWanted(args) ? writer.fields : undefined;
  const memo: MemoLines | undefined = fields && { ...fields, stats: { hits: 0, misses: 0, unkept: 0 } };
  const answer = cluster ? clusterAnswer(args, io, quiet, opts) : nodeAnswer(args, io, reader, quiet, opts, memo);
  const answerLine = (l: PacketLine): LineAnswer | undefined => {
    let a: ReturnType<Answer>;
    if ("error" in l) a = l;
    else {
      const line = l.text.trim();
      if (!line) return undefined;
      const r = line.startsWith("{") ? parsePacketJson(line) : parsePacketText(line);
      a = r.ok ? answer(r.packet, l.line) : { error: r.error };
    }
    if ("error" in a) return { text: writer.error(l.line, a.error) };
    return { text: a.lines ?? writer.answer(l.line, a), fates: a.fates };
  };
  return Object.assign(answerLine, memo ? { memo: memo.stats } : {});
}

/** Whether `--fields` answers go through the flow memo: by default, unless --no-memo. */
export function memoWanted(args: ParsedArgs): boolean {
  if (flagSet(args, "memo") && flagSet(args, "no-memo")) throw new UsageError("--memo and --no-memo together: give one");
  return !flagSet(args, "no-memo");
}

/** Answers a packet line; `memo`: how the flow memo did, when it is used. */
export type LineAnswerer = ((l: PacketLine) => LineAnswer | undefined) & { memo?: MemoStats };

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

/** Packets through the one node the input flags give; `memo`: answered through a flow memo keeping the lines of these fields. */
function nodeAnswer(args: ParsedArgs, io: CommandIO, reader: InputReader, quiet: boolean, opts: EvaluateOptions, memo?: MemoLines): Answer {
  const inputs = loadInputs(args, io, reader);
  if (!quiet) for (const n of inputs.notes) io.err(`note: ${n}\n`);
  for (const d of inputs.diagnostics) if (d.severity === "error") io.err(formatDiagnostic(d) + "\n");
  const node = buildNode(nodeInputsOf(inputs));
  const answer: Answer = memo ? memoAnswer(new FlowMemo<LinesTemplate>(node, opts, memo.stats), memo) : (packet) => {
    const e = node.evaluate(packet, opts);
    return { evaluation: e, fates: e.outcomes.map((o) => o.fate) };
  };
  return (packet, line) => {
    if (!node.hasRules(packet.family)) return { error: `an ${packet.family === "ipv6" ? "IPv6" : "IPv4"} packet, but no rules of that family were given` };
    return answer(packet, line);
  };
}

/** The fields a flow memo keeps the lines of, and its tally. */
export interface MemoLines {
  chosen: Chosen[];
  json: boolean;
  stats: MemoStats;
}

/**
 * Packets answered through the flow memo, which keeps each answer as its lines (a template made
 * by the fields' formatter): a packet it answers gets them with its own source, port and line
 * number. A template is kept only when it gives back the very lines of the answer it was made from.
 */
export function memoAnswer(memo: FlowMemo<LinesTemplate>, { chosen, json }: Pick<MemoLines, "chosen" | "json">): Answer {
  return (packet, line) => {
    const k = memo.find(packet);
    if (k) return { lines: fillLines(k.made, packet.src, packet.sport, line), fates: k.fates };
    const { evaluation: e, keepable } = memo.miss(packet);
    const lines = compactLines(chosen, json, line, e);
    if (keepable) {
      const t = linesTemplate(chosen, json, memo.answerOf({ ...keepable.conditions, outcomes: keepable.outcomes }, standInPacket(packet)));
      if (fillLines(t, packet.src, packet.sport, line) === lines) memo.keep(keepable, t, templateBytes(t));
      else memo.forgo();
    }
    return { lines, fates: e.outcomes.map((o) => o.fate) };
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

