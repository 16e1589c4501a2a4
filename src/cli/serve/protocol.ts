/**
 * What `netfate serve` (server.ts) and a command run through it (client.ts) say to each other
 * over the server's Unix socket: frames of one type byte, a 32-bit length (little-endian) and
 * that many bytes of UTF-8.
 *
 * Client to server: REQUEST (JSON, a Request) once, then STDIN (JSON, a StdinReply) if asked.
 * Server to client: OUT and ERR (text for stdout and stderr, in order), NEED_STDIN (JSON,
 * `{ limit }`) when the command reads stdin, and EXIT (the exit code, as text) last.
 */
export const FRAME = { request: 0x71, stdin: 0x69, out: 0x6f, err: 0x65, needStdin: 0x6e, exit: 0x78 } as const;

/** A frame's payload is at most this long: a longer one is a client or server out of step. */
export const MAX_FRAME = 64 * 1024 * 1024;

export interface Request {
  /** The command line after `netfate` (`why-dropped ...`). */
  argv: string[];
  /** Where relative file names are (the client's working directory). */
  cwd: string;
  /** The environment variables netfate reads (ENV_NAMES), as the client has them. */
  env: Record<string, string>;
  /** Whether the client's stdout is a terminal, and its width: colour and layout follow them. */
  isTTY: boolean;
  columns?: number;
}

/** stdin read by the client (at most the limit asked for), or why it could not be. */
export type StdinReply = { text: string } | { error: string };

/** The environment variables a command reads: the client's go with each request. */
export const ENV_NAMES = ["NETFATE_CACHE", "NETFATE_DEBUG"] as const;

export function frame(type: number, payload: string): Buffer {
  const body = Buffer.from(payload, "utf8");
  const head = Buffer.allocUnsafe(5);
  head[0] = type;
  head.writeUInt32LE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into frames as they complete; a frame beyond MAX_FRAME is an error. */
export class FrameReader {
  private pending: Buffer[] = [];
  private size = 0;

  constructor(private readonly onFrame: (type: number, payload: string) => void) {}

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.size += chunk.length;
    if (this.size < 5) return;
    let buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    let at = 0;
    while (buf.length - at >= 5) {
      const len = buf.readUInt32LE(at + 1);
      if (len > MAX_FRAME) throw new Error(`a frame of ${len} bytes: the other side is not netfate's`);
      if (buf.length - at - 5 < len) break;
      const type = buf[at]!;
      const payload = buf.toString("utf8", at + 5, at + 5 + len);
      at += 5 + len;
      this.onFrame(type, payload);
    }
    buf = buf.subarray(at);
    this.pending = buf.length ? [buf] : [];
    this.size = buf.length;
  }
}
