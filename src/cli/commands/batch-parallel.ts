/**
 * `netfate batch --jobs N`: the packets answered by N worker threads (batch-worker.ts), each
 * loading the inputs itself (from --cache when given) and answering chunks of packet lines
 * the way the in-process loop does (lineAnswerer). This thread only reads the lines, and
 * hands them out and writes the answers back in the order of the input (batch-dispatch.ts),
 * holding a bounded number of them and bytes: memory stays the same however many packets come.
 *
 * A worker re-reads the inputs (about a second for a 10,000-service dump, less from the cache):
 * that pays only for large batches, so without --jobs two workers start only for a packets
 * file of more than AUTO_BYTES on a machine with a processor to spare.
 */
import { fstatSync, statSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { Worker } from "node:worker_threads";
import { flagSet, flagValue, flagValues, UsageError, type ParsedArgs } from "../args.js";
import { InputReader } from "../load.js";
import { processIO, type CommandIO } from "../io.js";
import { BatchTally, packetLines } from "./batch-answer.js";
import { AUTO_BYTES, MAX_JOBS } from "./batch-flags.js";
import { CHUNK_LINES, Dispatch, dispatchAll, type FromWorker } from "./batch-dispatch.js";
import { workerFile } from "../worker-file.js";

/** What a worker is started with (batch-worker.ts). */
export interface WorkerSetup {
  argv: string[];
  /** Say the notes and diagnostics of loading (one worker does). */
  report: boolean;
}

/**
 * Lines read and not yet written, per worker: enough that one worker's pause (a collection of
 * its heap, a burst of first visits to chains it compiles) does not leave the others waiting
 * for lines while this thread waits for the paused one's answers (with 3 chunks a worker, one
 * worker of a 10k-service batch was seen idle up to a fifth of the time).
 */
export const AHEAD_PER_WORKER = 32 * CHUNK_LINES;

/** And at most this many bytes of them, lines and answers, received or to come (a whole trace is ~9 KB a packet). */
export const AHEAD_BYTES = 32 << 20;

/** The flags whose `-` would have each worker read stdin. */
const INPUT_STDIN_FLAGS = ["rules", "ipsets", "node", "ipvs"];

/** How many workers answer the batch: --jobs, or the automatic choice; 1 is this process alone. */
export function jobsOf(args: ParsedArgs, file: string, io: CommandIO): number {
  const given = flagValue(args, "jobs");
  if (given !== undefined) {
    if (!/^[0-9]+$/.test(given) || Number(given) < 1 || Number(given) > MAX_JOBS) throw new UsageError(`--jobs takes a number of workers from 1 to ${MAX_JOBS}, not ${JSON.stringify(given)}`);
    const n = Number(given);
    if (n > 1) {
      const why = whyNotParallel(args, file, io);
      if (why) throw new UsageError(`--jobs ${n}: ${why}`);
    }
    return n;
  }
  if (whyNotParallel(args, file, io)) return 1;
  return autoJobs({ bytes: packetBytes(file, io), cores: availableParallelism(), load: loadavg()[0]! });
}

/** The workers a batch gets without --jobs, from the size of the batch and what the machine has. */
export function autoJobs(o: { bytes: number; cores: number; load: number }): number {
  // Two workers pay for the second load of the inputs on a large batch only: for the compact
  // fields, and for the full trace since its answers come as bytes (batch-pack.ts): 100,000
  // packets over 10k services took 0.68 × the CPU of one process and 0.38 × its wall time
  // (paired, 5 runs, bench/batch.ts's mix), at a flat ~0.5 GB against 0.29.
  if (o.bytes <= AUTO_BYTES) return 1;
  // A second worker pays only with a processor to spare: on a busy machine its second load of
  // the inputs is all it adds (measured: bench/batch.ts).
  return o.cores >= 2 && o.load <= o.cores - 1 ? 2 : 1;
}

/** Why the workers cannot answer this batch (undefined: they can). */
function whyNotParallel(args: ParsedArgs, file: string, io: CommandIO): string | undefined {
  if (INPUT_STDIN_FLAGS.some((f) => flagValues(args, f).includes("-"))) return "each worker reads the inputs, and stdin can be read once: give the inputs as files";
  // A pipe's packets are answered as they come: a worker's answer could not be written while
  // this thread waits for the next line, and a writer waiting for it would wait forever.
  if (file === "-" && io === processIO && !stdinIsFile()) return "the packets come through a pipe, and are answered as they come, in this process: give them as a file (--packets FILE or < FILE)";
  return undefined;
}

function stdinIsFile(): boolean {
  try {
    return fstatSync(0).isFile();
  } catch {
    return false;
  }
}

/** The packets file's size (0 when it is not a file of this process, or cannot be looked at: the in-process loop then says why). */
function packetBytes(file: string, io: CommandIO): number {
  try {
    if (file === "-") return io === processIO && stdinIsFile() ? fstatSync(0).size : 0;
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Which worker answers a line: by its destination, so that a service's chains are compiled
 * by one worker only (each compiles a chain when a packet first reaches it), and the same
 * destination again meets chains already compiled. Any choice gives the same answers.
 */
export function laneOf(text: string, lanes: number): number {
  let from = text.indexOf("->");
  if (from < 0) from = text.indexOf('"dst"');
  if (from < 0) return 0;
  let h = 0x811c9dc5;
  let bracket = false;
  for (let i = from + 2, n = 0; i < text.length && n < 48; i++, n++) {
    const c = text.charCodeAt(i);
    if (c === 91) bracket = true;
    // Up to the destination's end: a port (after `:`, or `]:` for IPv6), an interface or the next JSON field may follow.
    if (n > 4 && (c === 32 || c === 44 || c === 93 || (c === 58 && !bracket))) break;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return (h >>> 0) % lanes;
}

export async function runParallel(argv: readonly string[], args: ParsedArgs, file: string, io: CommandIO, jobs: number): Promise<number> {
  const quiet = flagSet(args, "quiet");
  const progress = io.isTTY && !quiet;
  const tally = new BatchTally();
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  /** Something came (an answer, a note, a failure) since the answers were last written. */
  let came = false;
  const nudge = () => {
    came = true;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const url = workerFile("batch-worker", import.meta.url);
  const workers: Worker[] = [];
  const write = io.outBytes ? io.outBytes.bind(io) : (parts: Uint8Array[]) => io.out(Buffer.concat(parts).toString("utf8"));
  for (let i = 0; i < jobs; i++) {
    // Only the first worker says the notes and diagnostics of loading: they are the same in each.
    const setup: WorkerSetup = { argv: [...argv], report: i === 0 };
    const worker = new Worker(url, { workerData: setup, stdout: false, stderr: false });
    worker.on("message", (m: FromWorker) => {
      if (m.kind === "note") io.err(m.text);
      else if (m.kind === "failed") failure ??= m.usage ? new UsageError(m.message) : new Error(m.message);
      else {
        dispatch.answered(i, m);
        tally.bad += m.bad;
        for (const [kind, n] of m.counts) tally.countFate(kind, n);
      }
      nudge();
    });
    worker.on("error", (e) => {
      failure ??= e;
      nudge();
    });
    worker.on("exit", (code) => {
      failure ??= new Error(`a batch worker stopped (exit ${code}) before the batch was done`);
      nudge();
    });
    workers.push(worker);
  }
  // (Answers come only after this thread next waits: the dispatch is there for them.)
  const dispatch = new Dispatch(workers, write, { lines: jobs * AHEAD_PER_WORKER, bytes: AHEAD_BYTES });
  const nextAnswer = async () => {
    if (failure) throw failure;
    if (progress && Math.floor(dispatch.texts / 1000) > Math.floor(tally.done / 1000)) io.err(`\r${dispatch.texts} packets`);
    tally.done = dispatch.texts;
    if (!came) await new Promise<void>((done) => (wake = done));
    came = false;
    if (failure) throw failure;
  };
  try {
    // Read here, never a pipe (whyNotParallel): a read does not wait, and answers cannot be held up by it.
    const lines = packetLines(file, io, new InputReader(io, args), () => {});
    await dispatchAll(dispatch, lines, (l) => ("text" in l ? laneOf(l.text, jobs) : 0), nextAnswer);
    if (failure) throw failure;
  } finally {
    for (const w of workers) {
      w.removeAllListeners("exit");
      await w.terminate();
    }
  }
  tally.done = dispatch.texts;
  return tally.finish(io, quiet, progress);
}
