/**
 * A command sent to `netfate serve` (server.ts) instead of run here: what the CLI does when
 * NETFATE_SERVER names a socket. The server runs it as this process would and sends back its
 * output and exit code; this process writes them as its own, and reads its own stdin when the
 * command asks for it. Loads nothing of netfate's commands: the answer costs Node's start-up
 * and the server's few milliseconds.
 */
import { createConnection } from "node:net";
import { UsageError } from "../args.js";
import { EXIT_OUTPUT_CLOSED, OutputClosed, processIO } from "../io.js";
import { ENV_NAMES, FRAME, frame, FrameReader, type Request, type StdinReply } from "./protocol.js";

/** The command's exit code, or undefined when no server answers at `path` (nothing was run). */
export function runThroughServer(path: string, argv: string[]): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    let connected = false;
    let exit: number | undefined;
    const settle = (code: number | undefined) => {
      if (exit !== undefined) return;
      exit = code ?? -1;
      socket.destroy();
      resolve(code);
    };
    socket.once("connect", () => {
      connected = true;
      const env: Record<string, string> = {};
      for (const name of ENV_NAMES) if (process.env[name] !== undefined) env[name] = process.env[name]!;
      const columns = processIO.columns;
      const request: Request = { argv, cwd: process.cwd(), env, isTTY: processIO.isTTY, ...(columns !== undefined ? { columns } : {}) };
      socket.write(frame(FRAME.request, JSON.stringify(request)));
    });
    const reader = new FrameReader((type, payload) => {
      if (type === FRAME.out) {
        try {
          processIO.out(payload);
        } catch (e) {
          // Our reader left (`| head -1`): so does the command, as it would here.
          settle(e instanceof OutputClosed ? EXIT_OUTPUT_CLOSED : 2);
        }
      } else if (type === FRAME.err) processIO.err(payload);
      else if (type === FRAME.needStdin) {
        const { limit } = JSON.parse(payload) as { limit: number };
        let reply: StdinReply;
        try {
          reply = { text: processIO.readStdin(limit) };
        } catch (e) {
          reply = { error: e instanceof UsageError ? e.message : `cannot read stdin: ${(e as Error).message}` };
        }
        socket.write(frame(FRAME.stdin, JSON.stringify(reply)));
      } else if (type === FRAME.exit) settle(Number(payload));
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (e) {
        processIO.err(`netfate: the server at ${path} answered something else: ${(e as Error).message}\n`);
        settle(70);
      }
    });
    socket.on("error", (e) => {
      if (!connected) {
        processIO.err(`netfate: note: no netfate server answers at ${path} (NETFATE_SERVER): ${(e as NodeJS.ErrnoException).code ?? e.message}; answering here\n`);
        settle(undefined);
      }
    });
    socket.on("close", () => {
      if (exit !== undefined) return;
      if (connected) processIO.err(`netfate: the server at ${path} stopped before it answered\n`);
      settle(connected ? 70 : undefined);
    });
  });
}
