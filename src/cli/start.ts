/** What both binaries do (cli/main.ts, cli/why-dropped.ts): run the command line, set the exit code. */

/** Commands never sent to a server: the server itself, and collect, which gathers this node's own state. */
const LOCAL_ONLY = new Set(["serve", "collect"]);

export async function startCli(argv: string[]): Promise<void> {
  // Asked for a bug's details: its stack names the TypeScript lines, from the bundle too
  // (build-cli.mjs). Maps apply to the modules loaded after this, so the commands come after;
  // they are read only then (they cost start-up).
  if (process.env.NETFATE_DEBUG) process.setSourceMapsEnabled(true);
  // A running `netfate serve` answers from the nodes it keeps loaded (cli/serve/).
  const server = process.env.NETFATE_SERVER;
  if (server && argv[0] !== undefined && !LOCAL_ONLY.has(argv[0])) {
    const { runThroughServer } = await import("./serve/client.js");
    const code = await runThroughServer(server, argv);
    if (code !== undefined) {
      process.exitCode = code;
      return;
    }
  }
  const { main } = await import("./app.js");
  process.exitCode = await main(argv);
}
