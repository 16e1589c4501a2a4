/**
 * The thread of `netfate serve` (server.ts) that runs the commands, one at a time, exactly as
 * the CLI runs them (cli/app.ts main), with the inputs it read kept between them
 * (cli/resident-inputs.ts): a further question about the same node is answered without reading
 * or parsing its dump again, from chains already compiled.
 *
 * Why a thread of its own: a command writes its output synchronously (CommandIO), and the server
 * must not hold more of it than the client has taken: this thread waits (Atomics.wait) while
 * QUEUE_BYTES of output are not yet written to the client's socket, which only the main
 * thread's event loop can do. It waits the same way for stdin the client sends when asked.
 */
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { main } from "../app.js";
import { UsageError } from "../args.js";
import { OutputClosed, type CommandIO } from "../io.js";
import { keepInputsResident, ResidentInputs } from "../resident-inputs.js";
import { ENV_NAMES, type Request, type StdinReply } from "./protocol.js";
import { CONTROL, QUEUE_BYTES, type FromServeWorker, type ServeWorkerSetup, type ToServeWorker } from "./thread-messages.js";

function start(port: NonNullable<typeof parentPort>, setup: ServeWorkerSetup): void {
  const ctl = new Int32Array(setup.control);
  const post = (m: FromServeWorker) => port.postMessage(m);
  keepInputsResident(new ResidentInputs());

  const send = (kind: "out" | "err", text: string): void => {
    post({ kind, text });
    Atomics.add(ctl, CONTROL.queued, text.length);
    for (let q = Atomics.load(ctl, CONTROL.queued); q > QUEUE_BYTES && !Atomics.load(ctl, CONTROL.gone); q = Atomics.load(ctl, CONTROL.queued)) {
      Atomics.wait(ctl, CONTROL.queued, q, 1000);
    }
  };

  const run = async (r: Request): Promise<number> => {
    for (const name of ENV_NAMES) {
      if (r.env[name] === undefined) delete process.env[name];
      else process.env[name] = r.env[name];
    }
    let stdin: string | undefined;
    const io: CommandIO = {
      out: (s) => {
        if (Atomics.load(ctl, CONTROL.gone)) throw new OutputClosed("output closed");
        send("out", s);
      },
      err: (s) => {
        if (!Atomics.load(ctl, CONTROL.gone)) send("err", s);
      },
      // Read once, as the CLI's own stdin is (cli/io.ts).
      readStdin: (limit) => (stdin ??= askStdin(limit)),
      isTTY: r.isTTY,
      ...(r.columns !== undefined ? { columns: r.columns } : {}),
    };
    return main(r.argv, io);
  };

  const askStdin = (limit: number): string => {
    post({ kind: "need-stdin", limit });
    while (!Atomics.load(ctl, CONTROL.stdinReady) && !Atomics.load(ctl, CONTROL.gone)) Atomics.wait(ctl, CONTROL.stdinReady, 0, 1000);
    Atomics.store(ctl, CONTROL.stdinReady, 0);
    const reply = receiveMessageOnPort(setup.stdinPort)?.message as StdinReply | undefined;
    if (!reply) throw new OutputClosed("the client left");
    if ("error" in reply) throw new UsageError(reply.error);
    return reply.text;
  };

  port.on("message", (m: ToServeWorker) => {
    run(m.request).then(
      (code) => post({ kind: "exit", code }),
      // main() answers every error itself; this is the worker's own failure.
      (e: unknown) => {
        post({ kind: "err", text: `netfate: internal error: ${(e as Error).message}\n` });
        post({ kind: "exit", code: 70 });
      },
    );
  });
}

if (parentPort) start(parentPort, workerData as ServeWorkerSetup);
