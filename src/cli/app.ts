/** Command dispatch for the `netfate` binary: wires arguments to commands; no logic lives here. */
import { suggest, UsageError } from "./args.js";
import { EXIT_OUTPUT_CLOSED, OutputClosed, OutputFailed, processIO, type CommandIO } from "./io.js";

/** A command's exit code; a promise of it for those that wait on something (the HTML page's layout). */
type Command = (argv: string[], io: CommandIO) => number | Promise<number>;

/** Each command loads only its own modules: `parse` never pays for the evaluator's start-up. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  parse: async () => (await import("./commands/parse.js")).runParse,
  trace: async () => (await import("./commands/trace.js")).runTrace,
  "why-dropped": async () => (await import("./commands/trace.js")).runWhyDropped,
  batch: async () => (await import("./commands/batch.js")).runBatch,
  collect: async () => (await import("./commands/collect.js")).runCollect,
  diff: async () => (await import("./commands/diff.js")).runDiff,
  explore: async () => (await import("./commands/explore.js")).runExplore,
  serve: async () => (await import("./serve/server.js")).runServe,
};

const USAGE = `usage: netfate COMMAND [options]

Commands:
  why-dropped [inputs] PACKET   is this packet dropped, by which rule, and what nearly let it through
  trace [inputs] PACKET         every outcome of a packet: hooks, chains, rules, rewrites, fate
  batch [inputs] --packets F    many packets (JSON lines in, one JSON result per line out)
  parse FILE...                 read iptables/ipset/node dumps; print canonical text, --json AST or --summary
  diff OLD NEW [inputs]         packets whose fate differs between two dumps (exit 1 when any does)
  explore [inputs] [PACKET]     an offline HTML page: trace more packets, search rules, open chains
  collect DIR                   on a node: gather everything netfate reads into DIR (use it with --bundle DIR)
  serve                         stay running with the nodes read: commands sent with NETFATE_SERVER=SOCKET answer in milliseconds

Inputs: --rules FILE (repeatable), --ipsets FILE, --node FILE, --bundle DIR, --iface NAME=CIDR
Run "netfate COMMAND --help" for a command's options.
`;

export async function main(argv: string[], io: CommandIO = processIO): Promise<number> {
  const [cmd, ...rest] = argv;
  // Own keys only: `netfate constructor` is an unknown command, not Object's constructor.
  const load = cmd && Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  try {
    if (!cmd) {
      // Not what was asked for: the usage is a message, on stderr.
      io.err(USAGE);
      return 2;
    }
    if (cmd === "-h" || cmd === "--help" || cmd === "help") {
      io.out(USAGE);
      return 0;
    }
    if (!load) {
      const s = suggest(cmd, Object.keys(COMMANDS));
      throw new UsageError(`unknown command ${cmd}${s ? `; did you mean ${s}?` : ""}`);
    }
    const run = await load();
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`netfate: ${e.message}\n`);
      return 2;
    }
    // The reader left (`| head -1`): nothing to say, to no one.
    if (e instanceof OutputClosed) return EXIT_OUTPUT_CLOSED;
    if (e instanceof OutputFailed) {
      io.err(`netfate: cannot write the output: ${e.message}\n`);
      return 2;
    }
    // A bug of ours: say so in one line, never a stack trace unless asked for.
    io.err(`netfate: internal error: ${(e as Error).message} (set NETFATE_DEBUG=1 for details)\n`);
    if (process.env.NETFATE_DEBUG) io.err(String((e as Error).stack) + "\n");
    return 70;
  }
}
