/**
 * What the two threads of `netfate serve` share: the main thread (server.ts), which moves
 * output to the clients, and the thread that runs the commands (serve-worker.ts).
 */
import type { MessagePort } from "node:worker_threads";
import type { Request } from "./protocol.js";

/** Output posted and not yet written to the client, at most (then the command waits). */
export const QUEUE_BYTES = 8 * 1024 * 1024;

/** The shared words: output bytes in flight, stdin ready, client gone. */
export const CONTROL = { queued: 0, stdinReady: 1, gone: 2 } as const;

export interface ServeWorkerSetup {
  control: SharedArrayBuffer;
  stdinPort: MessagePort;
}

export type ToServeWorker = { kind: "run"; request: Request };
export type FromServeWorker =
  | { kind: "out" | "err"; text: string }
  | { kind: "need-stdin"; limit: number }
  | { kind: "exit"; code: number };

