/**
 * The main thread's side of `batch --jobs N` (batch-parallel.ts starts the workers): hands each
 * packet line to its worker in chunks, and writes the answers back in the order of the input.
 * What is held at any time is bounded, in lines and in bytes (lines read and not written, the
 * answers received and not written, and those still to come for the lines sent), so memory
 * stays the same however many packets come.
 */
import type { PacketLine } from "./batch-lines.js";
import type { PackedAnswers } from "./batch-pack.js";

/** A chunk of lines for a worker, and buffers of its earlier answers, written, for it to fill again. */
export type ToWorker = { kind: "chunk"; lines: PacketLine[]; spare: ArrayBuffer[] };

export type FromWorker =
  | { kind: "note"; text: string }
  | { kind: "failed"; usage: boolean; message: string }
  /** A chunk's answers (batch-pack.ts), how many were unreadable, and outcomes by fate. */
  | ({ kind: "answered"; bad: number; counts: Array<[string, number]> } & PackedAnswers);

/** What the dispatch needs of a worker: to be sent a chunk, with the buffers it moves along. */
export interface ChunkTaker {
  postMessage(m: ToWorker, transfer: ArrayBuffer[]): void;
}

/** A chunk handed to a worker ends at this many lines, or this many bytes of them. */
export const CHUNK_LINES = 256;
const CHUNK_BYTES = 1 << 20;

/** Answers are written in runs of about this many bytes (one write of several slices). */
const WRITE_BYTES = 1 << 20;

/** Before any answer has come, each line sent is counted as an answer this large (a whole trace is ~9 KB). */
const FIRST_ANSWER_GUESS = 16 << 10;

export interface AheadBound {
  /** Lines read and not yet written. */
  lines: number;
  /** Bytes held and to come: lines read, answers received, and the answers expected for lines sent. */
  bytes: number;
}

interface Lane {
  taker: ChunkTaker;
  /** Lines given to this worker and not yet sent: its next chunk. */
  next: PacketLine[];
  nextBytes: number;
  /** Answered chunks not yet all written, oldest first; `at` and `offset`: the first unwritten line of answers[0] and where its bytes start. */
  answers: PackedAnswers[];
  at: number;
  offset: number;
  /** Buffers written, to go back to the worker with its next chunk. */
  spare: ArrayBuffer[];
}

export class Dispatch {
  private readonly lanes: Lane[];
  /** The lane of each line taken and not yet written, in input order from `head` on, and each line's size. */
  private order: number[] = [];
  private sizes: number[] = [];
  private head = 0;
  /** Lines taken, answered (their chunk received) and not yet written. */
  private answeredLines = 0;
  /** Bytes of lines taken and answers received, not yet written. */
  private heldBytes = 0;
  /** All answers received so far: their lines and bytes (the size expected of answers to come). */
  private seenLines = 0;
  private seenBytes = 0;
  /** Lines whose answer has been written (blank lines have none). */
  texts = 0;
  /** The most bytes ever held (for tests of the bound). */
  peakBytes = 0;

  constructor(takers: readonly ChunkTaker[], private readonly write: (parts: Uint8Array[]) => void, private readonly bound: AheadBound) {
    this.lanes = takers.map((taker) => ({ taker, next: [], nextBytes: 0, answers: [], at: 0, offset: 0, spare: [] }));
  }

  /** Takes a line read, for the worker `lane`: sent with its chunk when that is full. */
  take(l: PacketLine, lane: number): void {
    const x = this.lanes[lane]!;
    const size = "text" in l ? l.text.length : 0;
    this.order.push(lane);
    this.sizes.push(size);
    this.heldBytes += size;
    x.next.push(l);
    x.nextBytes += size;
    if (x.next.length >= CHUNK_LINES || x.nextBytes >= CHUNK_BYTES) this.send(x);
    this.notePeak();
  }

  /** Sends every lane's lines not yet sent: before waiting for answers, none may be left behind. */
  sendAll(): void {
    for (const x of this.lanes) if (x.next.length) this.send(x);
  }

  /** Whether reading must wait for answers to be written. */
  get full(): boolean {
    return this.order.length - this.head >= this.bound.lines || this.expectedBytes() >= this.bound.bytes;
  }

  /** Whether every line taken has been written. */
  get done(): boolean {
    return this.head >= this.order.length;
  }

  /** A worker's next chunk answered (each worker answers its chunks in the order sent). */
  answered(lane: number, a: PackedAnswers): void {
    this.lanes[lane]!.answers.push(a);
    let bytes = 0;
    for (const n of a.lengths) if (n > 0) bytes += n;
    this.answeredLines += a.lengths.length;
    this.heldBytes += bytes;
    this.seenLines += a.lengths.length;
    this.seenBytes += bytes;
    this.notePeak();
  }

  /** Writes the answers that are next in the input's order. */
  writeReady(): void {
    let parts: Uint8Array[] = [];
    let partBytes = 0;
    /** Lanes whose answers[0] was written whole: its buffer goes back once the parts are written. */
    let spent: Array<[Lane, ArrayBuffer]> = [];
    const flush = () => {
      if (parts.length) this.write(parts);
      for (const [x, b] of spent) x.spare.push(b);
      parts = [];
      partBytes = 0;
      spent = [];
    };
    let last: { bytes: ArrayBuffer; start: number; end: number } | undefined;
    const runs: Array<{ bytes: ArrayBuffer; start: number; end: number }> = [];
    const closeRuns = () => {
      for (const r of runs) parts.push(new Uint8Array(r.bytes, r.start, r.end - r.start));
      runs.length = 0;
      last = undefined;
    };
    while (this.head < this.order.length) {
      const x = this.lanes[this.order[this.head]!]!;
      const a = x.answers[0];
      if (!a) break;
      const n = a.lengths[x.at]!;
      if (n >= 0) {
        // Lines of one chunk that follow each other in the input are one slice of its buffer.
        if (last && last.bytes === a.bytes && last.end === x.offset) last.end += n;
        else runs.push((last = { bytes: a.bytes, start: x.offset, end: x.offset + n }));
        x.offset += n;
        partBytes += n;
        this.heldBytes -= n;
        this.texts++;
      }
      this.heldBytes -= this.sizes[this.head]!;
      this.answeredLines--;
      this.head++;
      if (++x.at >= a.lengths.length) {
        x.answers.shift();
        x.at = 0;
        x.offset = 0;
        spent.push([x, a.bytes]);
      }
      if (partBytes >= WRITE_BYTES) {
        closeRuns();
        flush();
      }
    }
    closeRuns();
    flush();
    // Written lines are dropped from the front now and then: each is moved once at most.
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  /** Bytes held, and those expected of the answers to lines sent or waiting to be. */
  private expectedBytes(): number {
    const unanswered = this.order.length - this.head - this.answeredLines;
    const perAnswer = this.seenLines ? this.seenBytes / this.seenLines : FIRST_ANSWER_GUESS;
    return this.heldBytes + unanswered * perAnswer;
  }

  private notePeak(): void {
    this.peakBytes = Math.max(this.peakBytes, this.heldBytes);
  }

  private send(x: Lane): void {
    const spare = x.spare;
    x.taker.postMessage({ kind: "chunk", lines: x.next, spare }, spare);
    x.next = [];
    x.nextBytes = 0;
    x.spare = [];
  }
}

/**
 * Reads every line, each taken for its worker (`laneOf`); whenever the bound is reached, waits
 * for answers (`nextAnswer` resolves when one has come) and writes them. Resolves when every
 * line's answer is written.
 */
export async function dispatchAll(d: Dispatch, lines: Iterable<PacketLine>, laneOf: (l: PacketLine) => number, nextAnswer: () => Promise<void>): Promise<void> {
  for (const l of lines) {
    d.take(l, laneOf(l));
    if (d.full) {
      d.sendAll();
      while (d.full) {
        await nextAnswer();
        d.writeReady();
      }
    }
  }
  d.sendAll();
  while (!d.done) {
    await nextAnswer();
    d.writeReady();
  }
}
