/**
 * `netfate batch --packets FILE.jsonl`: one JSON result per input line on stdout (or, with
 * `--fields`, one short line per outcome, answered through the flow memo unless --no-memo), a
 * count of packets done on stderr when it is a terminal, and summary counts at the end (stderr). Packets are read, answered and written a
 * line at a time: memory does not grow with their number. With `--jobs N`, worker threads
 * answer them (batch-parallel.ts).
 */
import { flagSet, flagValue, helpText, parseArgs, UsageError } from "../args.js";
import { InputReader, refuseSecondStdin } from "../load.js";
import type { CommandIO } from "../io.js";
import { chunkWriter } from "../byte-chunk.js";
import { FIELD_NAMES, FIELDS } from "./batch-fields.js";
import { wantsCluster } from "./cluster-flags.js";
import { BATCH_FLAGS } from "./batch-flags.js";
import { BatchTally, lineAnswerer, memoWanted, packetLines, writerOf } from "./batch-answer.js";
import { jobsOf, runParallel } from "./batch-parallel.js";

export { BATCH_FLAGS };

export function runBatch(argv: string[], io: CommandIO): number | Promise<number> {
  const args = parseArgs(argv, BATCH_FLAGS);
  if (flagSet(args, "help")) {
    io.out(helpText("usage: netfate batch [inputs] --packets FILE.jsonl [--fields LIST [--format json] [--no-memo]] [--jobs N]", BATCH_FLAGS) + fieldsHelp());
    return 0;
  }
  const file = flagValue(args, "packets") ?? args.positionals[0];
  if (!file) throw new UsageError("batch needs --packets FILE (one packet per line)");
  refuseSecondStdin(args, flagValue(args, "packets") === undefined ? [file] : []);
  // The flags are checked here, before any worker starts or any input is read.
  writerOf(args, wantsCluster(args));
  memoWanted(args);
  const quiet = flagSet(args, "quiet");
  const jobs = jobsOf(args, file, io);
  if (jobs > 1) return runParallel(argv, args, file, io, jobs);
  const reader = new InputReader(io, args);
  // Answers are written in chunks, and whenever the next packet has to be waited for: a reader
  // downstream sees each answer soon, and memory holds one chunk.
  const out = chunkWriter(io);
  const lines = packetLines(file, io, reader, () => out.flush());
  const answerLine = lineAnswerer(args, io, reader, quiet);
  const tally = new BatchTally();
  const progress = io.isTTY && !quiet;
  for (const l of lines) {
    const a = answerLine(l);
    if (!a) continue;
    out.add(a.text);
    tally.add(a);
    if (progress && tally.done % 1000 === 0) io.err(`\r${tally.done} packets`);
  }
  out.flush();
  return tally.finish(io, quiet, progress);
}

function fieldsHelp(): string {
  return `\nfields (--fields):\n${FIELD_NAMES.map((n) => `  ${n.padEnd(12)} ${FIELDS[n]!.help}`).join("\n")}\n`;
}
