/**
 * `netfate batch --packets FILE.jsonl`: one JSON result per input line on stdout, a progress
 * bar on stderr when it is a terminal, and summary counts at the end (stderr).
 */
import { nodeInputsOf } from "../../assemble.js";
import { buildNode, type EvaluateOptions } from "../../netfilter/model.js";
import { formatDiagnostic } from "../../model/diagnostics.js";
import { parsePacketJson, parsePacketText } from "../../packet/parse.js";
import { evaluationJson } from "../../explain/json.js";
import { flagSet, flagValue, helpText, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from "../args.js";
import { INPUT_FLAGS, InputReader, loadInputs, refuseSecondStdin } from "../load.js";
import type { CommandIO } from "../io.js";
import { ASSUME_FLAG, assumptionsOf } from "../assume.js";
import { buildCluster } from "../../netfilter/cluster.js";
import { clusterEvaluationJson } from "../../explain/cluster-json.js";
import type { PacketSpec } from "../../model/packet.js";
import type { Fate } from "../../model/evaluation.js";
import { CLUSTER_FLAGS, loadClusterInputs, startOf, wantsCluster } from "./cluster-trace.js";

/** One packet's answer as a JSON line, and the fates it counts; or why the packet cannot be answered. */
type Answer = (packet: PacketSpec) => { json: Record<string, unknown>; fates: Fate[] } | { error: string };

export const BATCH_FLAGS: FlagSpec[] = [
  ...INPUT_FLAGS,
  ...CLUSTER_FLAGS,
  { name: "packets", value: true, help: "packets, one per line: JSON objects or the text form (- for stdin)" },
  { name: "verbose", short: "v", help: "include the rules tried that did not match" },
  ASSUME_FLAG,
  { name: "quiet", short: "q", help: "no progress, notes or summary on stderr" },
  { name: "help", short: "h", help: "show this help" },
];

export function runBatch(argv: string[], io: CommandIO): number {
  const args = parseArgs(argv, BATCH_FLAGS);
  if (flagSet(args, "help")) {
    io.out(helpText("usage: netfate batch [inputs] --packets FILE.jsonl", BATCH_FLAGS));
    return 0;
  }
  const file = flagValue(args, "packets") ?? args.positionals[0];
  if (!file) throw new UsageError("batch needs --packets FILE (one packet per line)");
  refuseSecondStdin(args, flagValue(args, "packets") === undefined ? [file] : []);
  const reader = new InputReader(io, args);
  const text = reader.read(file);
  const quiet = flagSet(args, "quiet");
  const verbose = flagSet(args, "verbose");
  const assume = assumptionsOf(args);
  const answer = wantsCluster(args) ? clusterAnswer(args, io, quiet, { verbose, ...(assume ? { assume } : {}) }) : nodeAnswer(args, io, reader, quiet, { verbose, ...(assume ? { assume } : {}) });
  const lines = text.split("\n");
  const counts = new Map<string, number>();
  let bad = 0;
  let done = 0;
  const total = lines.filter((l) => l.trim()).length;
  const progress = io.isTTY && !quiet && total >= 1000;
  let chunk = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    const r = line.startsWith("{") ? parsePacketJson(line) : parsePacketText(line);
    const a = r.ok ? answer(r.packet) : { error: r.error };
    if ("error" in a) {
      bad++;
      chunk += JSON.stringify({ version: 1, line: i + 1, error: a.error }) + "\n";
    } else {
      a.json.line = i + 1;
      chunk += JSON.stringify(a.json) + "\n";
      for (const f of a.fates) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
    }
    done++;
    if (chunk.length > 1 << 16) {
      io.out(chunk);
      chunk = "";
    }
    if (progress && done % 1000 === 0) io.err(`\r${progressBar(done, total)}`);
  }
  io.out(chunk);
  if (progress) io.err(`\r${progressBar(total, total)}\n`);
  if (!quiet) {
    const parts = [...counts].sort().map(([k, v]) => `${k} ${v}`);
    io.err(`${done} packets${bad ? `, ${bad} unreadable` : ""}; outcomes: ${parts.join(", ") || "none"}\n`);
  }
  return bad > 0 ? 2 : 0;
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
    return { json: evaluationJson(e) as Record<string, unknown>, fates: e.outcomes.map((o) => o.fate) };
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

function progressBar(done: number, total: number): string {
  const w = 30;
  const f = Math.round((done / Math.max(1, total)) * w);
  return `[${"#".repeat(f)}${".".repeat(w - f)}] ${done}/${total}`;
}
