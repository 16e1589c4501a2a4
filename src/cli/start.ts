/** What both binaries do (cli/main.ts, cli/why-dropped.ts): run the command line, then end the process. */

/** Commands never sent to a server: the server itself, and collect, which gathers this node's own state. */
const LOCAL_ONLY = new Set(["serve", "collect"]);

/**
 * Runs the command line and ends the process with the command's exit code. Every command has
 * written all it says when it returns (io.ts writes synchronously, and the cache too), so there
 * is nothing left to wait for; ended at once, Node skips tearing down the heap, which on the
 * 10k-service dump (~100 MB) is ~40 ms of freeing pages the kernel reclaims anyway (perf:
 * Isolate::Deinit, ~3% of a first why-dropped). `serve` keeps the usual ending: its workers
 * and socket wind down after it returns, and its exit time is no one's wait.
 *
 * `exit`: how the process is ended (a test gives its own).
 */
export async function startCli(argv: string[], exit: (code: number) => void = (code) => process.exit(code)): Promise<void> {
  // Asked for a bug's details: its stack names the TypeScript lines, from the bundle too
  // (build-cli.mjs). Maps apply to the modules loaded after this, so the commands come after;
  // they are read only then (they cost start-up).
  if (process.env.NETFATE_DEBUG) process.setSourceMapsEnabled(true);
  const end = (code: number): void => {
    process.exitCode = code;
    if (argv[0] !== "serve") exit(code);
  };
  // A running `netfate serve` answers from the nodes it keeps loaded (cli/serve/).
  const server = process.env.NETFATE_SERVER;
  if (server && argv[0] !== undefined && !LOCAL_ONLY.has(argv[0])) {
    const { runThroughServer } = await import("./serve/client.js");
    const code = await runThroughServer(server, argv);
    if (code !== undefined) return end(code);
  }
  const { main } = await import("./app.js");
  end(await main(argv));
}
