/** What a command may touch of the outside world, so tests can run commands in-process. */
import { isatty } from "node:tty";
import { writevSync } from "node:fs";
import { pause, readDescriptor } from "./bounded-read.js";

export interface CommandIO {
  /** Results. Throws OutputClosed or OutputFailed when they cannot be written. */
  out(s: string): void;
  /** Results already encoded as UTF-8, written in order as if one (absent: they go to out() as text). Throws as out() does. */
  outBytes?(parts: readonly Uint8Array[]): void;
  /** Notes, warnings, errors, progress. Never throws. */
  err(s: string): void;
  /** stdin, whole, at most `limit` bytes (more is a UsageError). */
  readStdin(limit: number): string;
  isTTY: boolean;
  /** The terminal's width, when out is a terminal that says. */
  columns?: number;
}

/**
 * The reader of our output went away (EPIPE: `netfate batch ... | head -1`). Not an error of
 * ours nor of the input: the command stops quietly, with EXIT_OUTPUT_CLOSED.
 */
export class OutputClosed extends Error {}

/** The output could not be written for another reason (ENOSPC, `> /dev/full`, EIO): exit 2. */
export class OutputFailed extends Error {}

/**
 * 141 = 128 + SIGPIPE, what a shell reports for a program a closed pipe stopped. Not 0 (the
 * answer was not delivered) and not 1 or 3, which why-dropped and diff use for answers.
 */
export const EXIT_OUTPUT_CLOSED = 141;

/** The most slices one writev is given (Linux's IOV_MAX). */
const IOV_MAX = 1024;

/**
 * Writes all of `parts` to a descriptor synchronously, so a failed write is an exception here,
 * at the call, and not a stream 'error' event after the command has returned (which Node turns
 * into a stack trace). EAGAIN (a descriptor a parent made non-blocking) is waited out.
 */
function writeAll(fd: number, parts: readonly Uint8Array[]): void {
  const left = parts.filter((p) => p.length > 0);
  for (let i = 0; i < left.length; ) {
    let n: number;
    try {
      n = writevSync(fd, left.slice(i, i + IOV_MAX));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        pause();
        continue;
      }
      if (code === "EPIPE") throw new OutputClosed("output closed");
      throw new OutputFailed(code ?? (e as Error).message);
    }
    // A write may stop short: on from the first byte not written.
    while (i < left.length && n >= left[i]!.length) n -= left[i++]!.length;
    if (n > 0) left[i] = left[i]!.subarray(n);
  }
}

let stdin: string | undefined;

export const processIO: CommandIO = {
  out: (s) => writeAll(1, [Buffer.from(s, "utf8")]),
  outBytes: (parts) => writeAll(1, parts),
  // Nowhere left to report a failed stderr write: dropped, and the exit code still says how it went.
  err: (s) => {
    try {
      writeAll(2, [Buffer.from(s, "utf8")]);
    } catch {
      /* stderr closed or full */
    }
  },
  // Read once: a command may be run again (see app.ts) and must see the same input.
  readStdin: (limit) => (stdin ??= readDescriptor(0, "stdin", limit)),
  // isatty, not process.stdout.isTTY: creating process.stdout would make a piped stdout non-blocking.
  isTTY: isatty(1),
  get columns() {
    return isatty(1) ? process.stdout.columns : undefined;
  },
};
