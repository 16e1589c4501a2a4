/**
 * Answers written out through one reused buffer, encoded as they come. Gathering them in a
 * string first made each chunk (64 K characters, UTF-16 once an answer holds a `→`) a large
 * object of its own when it was flattened for writing: fresh pages each time, which cost a
 * batch of full traces more system time (page faults) than its answers' writes.
 */
import type { CommandIO } from "./io.js";

/** The buffer's size: a chunk is written when the next answer might not fit. */
const CHUNK_BYTES = 256 << 10;

/** The most bytes one UTF-16 unit of a string can take in UTF-8: room reserved so that an encoding is never cut short. */
export const UTF8_PER_UNIT = 3;

export interface ChunkWriter {
  /** Adds an answer; writes the chunk first when the answer might not fit in what is left. */
  add(text: string): void;
  /** Writes what has been added and not yet written. */
  flush(): void;
}

/** A writer for `io`: through one reused buffer when it takes bytes, else in strings of about a chunk. */
export function chunkWriter(io: CommandIO): ChunkWriter {
  return io.outBytes ? new ByteChunk(io.outBytes.bind(io)) : new TextChunk(io);
}

class ByteChunk implements ChunkWriter {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;

  constructor(private readonly write: (parts: readonly Uint8Array[]) => void) {}

  add(text: string): void {
    // Room for the worst case, so an answer is never cut short.
    const worst = text.length * UTF8_PER_UNIT;
    if (this.used + worst > this.buffer.length) {
      this.flush();
      // One answer larger than the buffer: a buffer its size, for as long as such answers come.
      if (worst > this.buffer.length) this.buffer = Buffer.allocUnsafe(worst);
    }
    this.used += this.buffer.write(text, this.used, "utf8");
  }

  flush(): void {
    if (this.used === 0) return;
    // The write is synchronous (io.ts), so the buffer is free again when it returns.
    this.write([this.buffer.subarray(0, this.used)]);
    this.used = 0;
  }
}

class TextChunk implements ChunkWriter {
  private chunk = "";

  constructor(private readonly io: CommandIO) {}

  add(text: string): void {
    this.chunk += text;
    if (this.chunk.length > CHUNK_BYTES / UTF8_PER_UNIT) this.flush();
  }

  flush(): void {
    if (this.chunk) this.io.out(this.chunk);
    this.chunk = "";
  }
}
