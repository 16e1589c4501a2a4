/**
 * Reading an input whole, but never more than a limit, and never from something that is not
 * a regular file: a FIFO nobody writes to would hang the read, /dev/zero would fill memory.
 * stdin is the one exception (a pipe is what `-` is for); it is read up to the limit.
 * Every refusal is a UsageError: one line, exit 2.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { UsageError } from "./args.js";
import { NotTextError, textOf } from "../text-file.js";

/** 64 MiB: three times the 10,000-service kube-proxy dump (17 MB) and well above 100k-rule dumps. */
export const DEFAULT_MAX_INPUT = 64 * 1024 * 1024;
/** V8 cannot make a string longer than about 512 MiB: a larger input could not be decoded at all. */
export const LARGEST_MAX_INPUT = 512 * 1024 * 1024;

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `--max-input-size 200M`: bytes, with an optional K, M or G (powers of 1024). */
export function parseSize(flag: string, v: string): number {
  const m = /^([0-9]{1,12})([kmg]?)(i?b)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`--${flag} takes a size such as 64M, 200M or 1G, not ${v}`);
  const n = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  if (n < 1) throw new UsageError(`--${flag} must be at least 1 byte`);
  if (n > LARGEST_MAX_INPUT) throw new UsageError(`--${flag} is at most ${sizeText(LARGEST_MAX_INPUT)} (a larger input cannot be held as text)`);
  return n;
}

export function sizeText(n: number): string {
  if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) return `${n / 1024 ** 3} GiB`;
  if (n >= 1024 ** 2 && n % 1024 ** 2 === 0) return `${n / 1024 ** 2} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

function tooLarge(name: string, limit: number): UsageError {
  return new UsageError(`${name} is larger than ${sizeText(limit)}, the input size limit (--max-input-size raises it)`);
}

/**
 * The readers hold a few hundred bytes per line whatever the line holds, so a file of short
 * lines costs far more than its size: 20 MB of empty lines took 4 GB. Real dumps average
 * over 60 bytes a line; one line per 16 bytes of the limit (4 Mi lines for 64 MiB) leaves
 * them plenty of room and keeps the rest bounded.
 */
export const BYTES_PER_LINE = 16;

function tooManyLines(name: string, limit: number): UsageError {
  return new UsageError(`${name} has more than ${Math.floor(limit / BYTES_PER_LINE)} lines, the line limit that goes with the input size limit of ${sizeText(limit)} (--max-input-size raises both)`);
}

/**
 * Counted on the decoded text: the string's indexOf is a call the optimizing compiler makes
 * cheap, where a Buffer's goes through Node's bindings each time (a 160k-line dump: about
 * 20 ms of CPU, against 4).
 */
function checkLines(text: string, name: string, limit: number): void {
  const most = Math.floor(limit / BYTES_PER_LINE);
  if (text.length <= most) return;
  let lines = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) if (++lines > most) throw tooManyLines(name, limit);
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a named pipe";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  if (st.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}

/** A short pause for a descriptor that said "try again" (stdin left non-blocking by a parent). */
export function pause(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
}

/**
 * Reads an open descriptor to its end or to `limit` bytes, whichever comes first; more than
 * `limit` bytes, or more than one line per BYTES_PER_LINE of it, is refused. Decoded as
 * UTF-8 after reading, as readTextFile does.
 */
export function readDescriptor(fd: number, name: string, limit: number, sizeHint = 0): string {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    // A regular file's size is known: one read, and one byte more to see it did not grow.
    const buf = Buffer.allocUnsafe(Math.min(Math.max(1 << 20, total === 0 ? sizeHint + 1 : 0), limit + 1 - total));
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") {
        pause();
        continue;
      }
      throw e;
    }
    if (n === 0) break;
    chunks.push(n === buf.length ? buf : buf.subarray(0, n));
    total += n;
    if (total > limit) throw tooLarge(name, limit);
  }
  const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  let text: string;
  try {
    text = textOf(all, name);
  } catch (e) {
    if (e instanceof NotTextError) throw new UsageError(e.message);
    throw e;
  }
  // After decoding: the byte limit already bounds the text; the line limit bounds what the readers make of it.
  checkLines(text, name, limit);
  return text;
}

export interface ReadFileOptions {
  limit: number;
  /** Refuse a symbolic link instead of following it (files of a bundle, which has none). */
  noFollow?: boolean;
  /** What to say after "is a directory". */
  directoryHint?: string;
}

/**
 * A regular file's text. Opened non-blocking, so opening a FIFO returns at once and is then
 * refused by its type; the size is checked before reading and again while reading (a file
 * may grow).
 */
export function readRegularFile(path: string, o: ReadFileOptions): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (o.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ELOOP" && o.noFollow) throw new UsageError(`cannot read ${path}: it is a symbolic link (a bundle made by netfate collect has none)`);
    throw new UsageError(`cannot read ${path}: ${code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new UsageError(`${path} is a directory${o.directoryHint ? ` (${o.directoryHint})` : ""}`);
    if (!st.isFile()) throw new UsageError(`cannot read ${path}: it is ${kindOf(st)}, not a regular file (to read a pipe, give - and send it on stdin)`);
    if (st.size > o.limit) throw tooLarge(path, o.limit);
    return readDescriptor(fd, path, o.limit, st.size);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
