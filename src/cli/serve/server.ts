/**
 * `netfate serve`: a process that stays, holding the nodes it has read, so that a further
 * question about the same node is answered in milliseconds. Any netfate command run with
 * NETFATE_SERVER set to its socket (client.ts) is sent here and answered by the same code
 * the CLI runs, with the same output, words and exit code; only the time differs.
 *
 * One Unix socket, made with mode 0700 (only its owner can connect: a request runs with the
 * server's rights). Requests are answered one at a time, in the order they came; the
 * commands run on serve-worker.ts's thread, and this one moves their output to the clients.
 * The server stops when told (SIGINT, SIGTERM) or after --idle-minutes without a request, and
 * removes its socket.
 */
import { existsSync, lstatSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MessageChannel, Worker } from "node:worker_threads";
import { flagSet, flagValue, helpText, parseArgs, UsageError, type FlagSpec } from "../args.js";
import type { CommandIO } from "../io.js";
import { workerFile } from "../worker-file.js";
import { FRAME, frame, FrameReader, type Request, type StdinReply } from "./protocol.js";
import { CONTROL, type FromServeWorker, type ServeWorkerSetup, type ToServeWorker } from "./thread-messages.js";

export const SERVE_FLAGS: FlagSpec[] = [
  { name: "socket", value: true, help: "the Unix socket to answer on (default: $XDG_RUNTIME_DIR/netfate.sock, else netfate-UID.sock in the temporary directory)" },
  { name: "idle-minutes", value: true, help: "stop after this many minutes without a request (default 60; 0: never)" },
  { name: "quiet", short: "q", help: "do not say where the server answers" },
  { name: "help", short: "h", help: "show this help" },
];

const USAGE = `usage: netfate serve [options]

Stays running and answers netfate commands sent to it, keeping the nodes it has read (rules,
sets, facts, compiled chains) between them: a further question about the same node takes
milliseconds. Send commands to it with NETFATE_SERVER set to its socket:

  netfate serve &
  export NETFATE_SERVER=$XDG_RUNTIME_DIR/netfate.sock
  why-dropped --rules rules.save ... PACKET

A file changed since it was read is read again. Without a server at NETFATE_SERVER a command
says so and answers by itself.
`;

export function defaultSocketPath(): string {
  const dir = process.env.XDG_RUNTIME_DIR;
  return dir ? join(dir, "netfate.sock") : join(tmpdir(), `netfate-${process.getuid?.() ?? "user"}.sock`);
}

interface Pending {
  socket: Socket;
  request: Request;
}

export async function runServe(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, SERVE_FLAGS);
  if (flagSet(args, "help")) {
    io.out(helpText(USAGE, SERVE_FLAGS));
    return 0;
  }
  if (args.positionals.length) throw new UsageError(`serve takes no arguments, got ${args.positionals[0]}`);
  const path = flagValue(args, "socket") ?? defaultSocketPath();
  const idleText = flagValue(args, "idle-minutes") ?? "60";
  if (!/^[0-9]{1,6}$/.test(idleText)) throw new UsageError(`--idle-minutes takes a whole number of minutes, got ${idleText}`);
  const idleMs = Number(idleText) * 60_000;
  await clearStaleSocket(path);
  const quiet = flagSet(args, "quiet");
  return new Promise<number>((resolve) => new Server(path, idleMs, io, quiet, resolve).start());
}

/** Removes a socket no server answers on (one left by a server that was killed); refuses anything else. */
async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new UsageError(`${path} exists and is not a socket: give another with --socket`);
  const answers = await new Promise<boolean>((done) => {
    const s = createConnection(path);
    s.once("connect", () => {
      s.destroy();
      done(true);
    });
    s.once("error", () => done(false));
  });
  if (answers) throw new UsageError(`a netfate server already answers at ${path}`);
  unlinkSync(path);
}

class Server {
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private worker!: Worker;
  private control = new SharedArrayBuffer(4 * 3);
  private ctl = new Int32Array(this.control);
  private stdinPort!: MessageChannel["port1"];
  private idle: NodeJS.Timeout | undefined;
  /** The socket is ours to remove only once we made it. */
  private listening = false;
  private stopping = false;
  private readonly server = createServer((s) => this.accept(s));

  constructor(
    private readonly path: string,
    private readonly idleMs: number,
    private readonly io: CommandIO,
    private readonly quiet: boolean,
    private readonly done: (code: number) => void,
  ) {}

  start(): void {
    this.startWorker();
    const stop = () => this.stop(0);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    // The socket is made with the process's umask: only its owner may connect.
    const umask = process.umask(0o077);
    this.server.once("error", (e) => {
      process.umask(umask);
      this.io.err(`netfate: cannot answer at ${this.path}: ${e.message}\n`);
      this.stop(2);
    });
    this.server.listen(this.path, () => {
      process.umask(umask);
      this.listening = true;
      if (!this.quiet) this.io.err(`netfate serve: answering at ${this.path} (export NETFATE_SERVER=${this.path})\n`);
      this.armIdle();
    });
  }

  private startWorker(): void {
    const { port1, port2 } = new MessageChannel();
    this.stdinPort = port1;
    const setup: ServeWorkerSetup = { control: this.control, stdinPort: port2 };
    const w = new Worker(workerFile("serve-worker", import.meta.url), { workerData: setup, transferList: [port2] });
    this.worker = w;
    w.on("message", (m: FromServeWorker) => this.fromWorker(m));
    // Only the thread now in use matters: one replaced or stopped on purpose ends quietly.
    w.on("error", (e) => w === this.worker && this.workerFailed(e.message));
    w.on("exit", () => w === this.worker && !this.stopping && this.workerFailed("the thread that runs commands stopped"));
  }

  /** The thread died (a bug of ours, or memory): the request it ran is answered as an internal error, and a new thread takes the next. */
  private workerFailed(message: string): void {
    const p = this.current;
    this.current = undefined;
    if (p && !p.socket.destroyed) p.socket.end(Buffer.concat([frame(FRAME.err, `netfate: internal error: ${message} (set NETFATE_DEBUG=1 for details)\n`), frame(FRAME.exit, "70")]));
    void this.worker.terminate();
    this.control = new SharedArrayBuffer(4 * 3);
    this.ctl = new Int32Array(this.control);
    this.startWorker();
    this.next();
  }

  private accept(socket: Socket): void {
    this.disarmIdle();
    let asked = false;
    const reader = new FrameReader((type, payload) => {
      if (type === FRAME.request && !asked) {
        asked = true;
        let request: Request;
        try {
          request = JSON.parse(payload) as Request;
          if (!Array.isArray(request.argv) || typeof request.cwd !== "string") throw new Error("bad request");
        } catch {
          socket.destroy();
          return;
        }
        this.queue.push({ socket, request });
        this.next();
      } else if (type === FRAME.stdin && this.current?.socket === socket) {
        this.stdinPort.postMessage(JSON.parse(payload) as StdinReply);
        Atomics.store(this.ctl, CONTROL.stdinReady, 1);
        Atomics.notify(this.ctl, CONTROL.stdinReady);
      } else socket.destroy();
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch {
        socket.destroy();
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      const k = this.queue.findIndex((p) => p.socket === socket);
      if (k >= 0) this.queue.splice(k, 1);
      if (this.current?.socket === socket) {
        // The command's next write fails as writing to a closed pipe does (exit 141, unseen).
        Atomics.store(this.ctl, CONTROL.gone, 1);
        Atomics.notify(this.ctl, CONTROL.queued);
        Atomics.notify(this.ctl, CONTROL.stdinReady);
      }
      this.armIdle();
    });
  }

  private next(): void {
    if (this.current) return;
    const p = this.queue.shift();
    if (!p) return this.armIdle();
    this.current = p;
    Atomics.store(this.ctl, CONTROL.gone, 0);
    Atomics.store(this.ctl, CONTROL.queued, 0);
    Atomics.store(this.ctl, CONTROL.stdinReady, 0);
    // Relative file names are the client's: the whole process moves there (one command at a time).
    try {
      process.chdir(p.request.cwd);
    } catch (e) {
      this.finish(p, [frame(FRAME.err, `netfate: cannot work in ${p.request.cwd}: ${(e as Error).message}\n`), frame(FRAME.exit, "2")]);
      return;
    }
    this.worker.postMessage({ kind: "run", request: p.request } satisfies ToServeWorker);
  }

  private fromWorker(m: FromServeWorker): void {
    const p = this.current;
    if (!p) return;
    if (m.kind === "out" || m.kind === "err") {
      const written = () => {
        Atomics.sub(this.ctl, CONTROL.queued, m.text.length);
        Atomics.notify(this.ctl, CONTROL.queued);
      };
      if (p.socket.destroyed) written();
      else p.socket.write(frame(m.kind === "out" ? FRAME.out : FRAME.err, m.text), written);
    } else if (m.kind === "need-stdin") {
      if (!p.socket.destroyed) p.socket.write(frame(FRAME.needStdin, JSON.stringify({ limit: m.limit })));
    } else if (m.kind === "exit") this.finish(p, [frame(FRAME.exit, String(m.code))]);
  }

  private finish(p: Pending, last: Buffer[]): void {
    if (!p.socket.destroyed) p.socket.end(Buffer.concat(last));
    this.current = undefined;
    this.next();
  }

  private armIdle(): void {
    this.disarmIdle();
    if (this.idleMs === 0 || this.current || this.queue.length) return;
    this.idle = setTimeout(() => {
      if (!this.current && !this.queue.length) this.stop(0);
    }, this.idleMs);
  }

  private disarmIdle(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
  }

  private stop(code: number): void {
    if (this.stopping) return;
    this.stopping = true;
    this.disarmIdle();
    this.server.close();
    try {
      if (this.listening && existsSync(this.path) && lstatSync(this.path).isSocket()) unlinkSync(this.path);
    } catch {
      // Gone already.
    }
    void this.worker.terminate().then(() => this.done(code));
  }
}
