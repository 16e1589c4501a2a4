/**
 * The packets of `netfate batch`, read a line at a time from a file or stdin: memory stays
 * the same however many packets come (a batch of millions is a stream, not a text held
 * whole), and the answer to a line is written before the next is read.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { UsageError } from "../args.js";
import { pause, readRegularFile } from "../bounded-read.js";

/** A packet line longer than this is not a packet: it is answered as unreadable and skipped, never held whole. */
export const MAX_PACKET_LINE = 64 * 1024;

const CHUNK = 1 << 16;

export type PacketLine = { line: number; text: string } | { line: number; error: string };

/** Lines of an open descriptor, each decoded as UTF-8; a NUL byte or an overlong line is an error line. */
export class LineSource {
  private buf = Buffer.allocUnsafe(CHUNK * 2);
  /** Bytes of `buf` not yet returned: [start, end). */
  private start = 0;
  private end = 0;
  private eof = false;
  private line = 0;
  /** Skipping the rest of an overlong line. */
  private skipping = false;

  /** Called before each read that may wait for more input: the answers so far are written then, not held until more comes. */
  beforeRead: () => void = () => {};

  constructor(private readonly fd: number, private readonly close = false) {}

  *[Symbol.iterator](): Generator<PacketLine> {
    for (let l = this.next(); l; l = this.next()) yield l;
  }

  /** The next line, or undefined at the end of the input. */
  next(): PacketLine | undefined {
    for (;;) {
      const nl = this.buf.indexOf(10, this.start);
      if (nl >= 0 && nl < this.end) {
        const from = this.start;
        this.start = nl + 1;
        this.line++;
        if (this.skipping) {
          this.skipping = false;
          continue;
        }
        return this.lineOf(from, nl);
      }
      if (this.end - this.start > MAX_PACKET_LINE) {
        // No newline in reach: this line is longer than any packet; say so once, drop its bytes until its end.
        if (!this.skipping) {
          this.skipping = true;
          this.start = this.end;
          return { line: this.line + 1, error: `line longer than ${MAX_PACKET_LINE / 1024} KiB: not a packet` };
        }
        this.start = this.end;
      }
      if (this.eof) {
        if (this.start >= this.end) {
          if (this.close) closeSync(this.fd);
          return undefined;
        }
        const from = this.start;
        this.start = this.end;
        this.line++;
        if (this.skipping) continue;
        return this.lineOf(from, this.end);
      }
      this.fill();
    }
  }

  private lineOf(from: number, to: number): PacketLine {
    const nul = this.buf.indexOf(0, from);
    if (nul >= 0 && nul < to) return { line: this.line, error: "the line holds a NUL byte: not text" };
    return { line: this.line, text: this.buf.toString("utf8", from, to) };
  }

  /** Moves what is left to the front and reads more after it. */
  private fill(): void {
    if (this.start > 0) {
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.buf.length - this.end < CHUNK) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    this.beforeRead();
    let n: number;
    try {
      n = readSync(this.fd, this.buf, this.end, CHUNK, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        pause();
        return;
      }
      if (code === "EOF") n = 0;
      else throw new UsageError(`cannot read the packets: ${code ?? (e as Error).message}`);
    }
    if (n === 0) this.eof = true;
    this.end += n;
  }
}

/** The lines of a text already read whole (stdin in a test's in-process run). */
export function* textLines(text: string): Generator<PacketLine> {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) yield { line: i + 1, text: lines[i]! };
}

/** A packets file, opened for reading a line at a time: a regular file (a pipe is given as -, on stdin). */
export function openPacketFile(path: string): LineSource {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    // The whole-file reader refuses it, in the words every input's refusal uses.
    readRegularFile(path, { limit: 0 });
    throw new UsageError(`cannot read ${path}: not a regular file`);
  }
  return new LineSource(fd, true);
}
