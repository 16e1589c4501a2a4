/** Command dispatch for the `netfate` binary: wires arguments to commands; no logic lives here. */
import { suggest, UsageError } from "./args.js";
import { runParse } from "./commands/parse.js";
import { processIO, type CommandIO } from "./io.js";

const COMMANDS: Record<string, (argv: string[], io: CommandIO) => number> = {
  parse: runParse,
};

const USAGE = `usage: netfate COMMAND [options]

Commands:
  parse FILE...   read iptables/ipset/node dumps; print canonical text, --json AST or --summary
`;

export function main(argv: string[], io: CommandIO = processIO): number {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "-h" || cmd === "--help" || cmd === "help") {
    io.out(USAGE);
    return cmd ? 0 : 2;
  }
  const run = COMMANDS[cmd];
  try {
    if (!run) {
      const s = suggest(cmd, Object.keys(COMMANDS));
      throw new UsageError(`unknown command ${cmd}${s ? `; did you mean ${s}?` : ""}`);
    }
    return run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`netfate: ${e.message}\n`);
      return 2;
    }
    // A bug of ours: say so in one line, never a stack trace unless asked for.
    io.err(`netfate: internal error: ${(e as Error).message} (set NETFATE_DEBUG=1 for details)\n`);
    if (process.env.NETFATE_DEBUG) io.err(String((e as Error).stack) + "\n");
    return 70;
  }
}
