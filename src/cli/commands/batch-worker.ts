/**
 * A worker thread of `netfate batch --jobs N` (batch-parallel.ts): loads the inputs the
 * command's flags name, then answers each chunk of packet lines it is sent with the same
 * lineAnswerer as the in-process loop, and sends back the chunk's answers as bytes (batch-pack.ts) and its tally.
 */
import { parentPort, workerData } from "node:worker_threads";
import { flagSet, parseArgs, UsageError } from "../args.js";
import { InputReader } from "../load.js";
import type { CommandIO } from "../io.js";
import { BATCH_FLAGS } from "./batch-flags.js";
import { BatchTally, lineAnswerer } from "./batch-answer.js";
import type { WorkerSetup } from "./batch-parallel.js";
import type { FromWorker, ToWorker } from "./batch-dispatch.js";
import { AnswerPacker } from "./batch-pack.js";

function start(port: NonNullable<typeof parentPort>, setup: WorkerSetup): void {
  const post = (m: FromWorker) => port.postMessage(m, m.kind === "answered" ? [m.bytes] : []);
  const io: CommandIO = {
    out: () => {
      throw new Error("a batch worker writes its answers through the main thread");
    },
    err: (text) => {
      if (setup.report) post({ kind: "note", text });
    },
    readStdin: () => {
      // batch-parallel.ts starts no worker when an input is stdin.
      throw new UsageError("a batch worker cannot read stdin");
    },
    isTTY: false,
  };
  try {
    const args = parseArgs(setup.argv, BATCH_FLAGS);
    const answerLine = lineAnswerer(args, io, new InputReader(io, args), !setup.report || flagSet(args, "quiet"));
    const packer = new AnswerPacker();
    port.on("message", (m: ToWorker) => {
      try {
        packer.giveBack(m.spare);
        packer.begin();
        const tally = new BatchTally();
        for (const l of m.lines) {
          const a = answerLine(l);
          packer.add(a ? a.text : null);
          if (a) tally.add(a);
        }
        post({ kind: "answered", ...packer.end(), bad: tally.bad, counts: [...tally.counts] });
      } catch (e) {
        fail(e);
      }
    });
  } catch (e) {
    fail(e);
  }

  function fail(e: unknown): void {
    const usage = e instanceof UsageError;
    const message = usage ? e.message : `${(e as Error).message}${process.env.NETFATE_DEBUG ? `\n${(e as Error).stack}` : ""}`;
    post({ kind: "failed", usage, message });
  }
}

if (parentPort) start(parentPort, workerData as WorkerSetup);
