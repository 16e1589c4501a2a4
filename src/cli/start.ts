/** What both binaries do (cli/main.ts, cli/why-dropped.ts): run the command line, set the exit code. */
export async function startCli(argv: string[]): Promise<void> {
  // Asked for a bug's details: its stack names the TypeScript lines, from the bundle too
  // (build-cli.mjs). Maps apply to the modules loaded after this, so the commands come after;
  // they are read only then (they cost start-up).
  if (process.env.NETFATE_DEBUG) process.setSourceMapsEnabled(true);
  const { main } = await import("./app.js");
  process.exitCode = await main(argv);
}
