/**
 * How a batch worker (batch-worker.ts) hands a chunk's answers to the main thread: their UTF-8
 * bytes one after another in one ArrayBuffer, moved to the main thread (transferred, not
 * copied), with each line's length. The main thread writes the bytes as they are and gives the
 * buffer back with a later chunk, so the same few buffers go round: no answer is ever a string
 * in the main thread's heap, and nothing new is allocated per chunk once they have grown to
 * a chunk's size (a full trace is ~9 KB a packet: strings and copies of that made the heaps
 * and the allocator's arenas grow with the batch).
 */

import { UTF8_PER_UNIT } from "../byte-chunk.js";

/** A chunk's answers: `bytes` holds them in order; `lengths[i]` is line i's byte count, or -1 for a line with no answer (blank). */
export interface PackedAnswers {
  bytes: ArrayBuffer;
  lengths: Int32Array;
}

/** A new buffer's size; it doubles when a chunk's answers need more. */
const FIRST_BYTES = 64 << 10;


export class AnswerPacker {
  /** Buffers given back by the main thread, free to be written again. */
  private readonly spare: ArrayBuffer[] = [];

  /** Buffers the main thread has written and given back. */
  giveBack(buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers) this.spare.push(b);
  }

  /** How many buffers wait to be used again (for tests). */
  get spareCount(): number {
    return this.spare.length;
  }

  private bytes = new ArrayBuffer(0);
  private view = Buffer.alloc(0);
  private used = 0;
  private lengths: number[] = [];

  /** Starts a chunk's answers, in a buffer given back or a new one. */
  begin(): void {
    this.bytes = this.spare.pop() ?? new ArrayBuffer(FIRST_BYTES);
    this.view = Buffer.from(this.bytes);
    this.used = 0;
    this.lengths = [];
  }

  /**
   * The next line's answer (null: none), put in the buffer at once: the string is dropped
   * while young, and never moves to the worker's old generation with the chunk's others.
   */
  add(text: string | null): void {
    if (text === null) {
      this.lengths.push(-1);
      return;
    }
    // Room for the worst case, so a write is never cut short.
    const need = this.used + text.length * UTF8_PER_UNIT;
    if (need > this.view.length) {
      const bigger = new ArrayBuffer(Math.max(this.view.length * 2, need));
      new Uint8Array(bigger).set(this.view.subarray(0, this.used));
      this.bytes = bigger;
      this.view = Buffer.from(bigger);
    }
    const n = this.view.write(text, this.used, "utf8");
    this.lengths.push(n);
    this.used += n;
  }

  /** The chunk's answers, to be transferred (the buffer is the receiver's until given back). */
  end(): PackedAnswers {
    const packed = { bytes: this.bytes, lengths: Int32Array.from(this.lengths) };
    this.bytes = new ArrayBuffer(0);
    this.view = Buffer.alloc(0);
    this.lengths = [];
    return packed;
  }
}
