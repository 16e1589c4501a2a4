/** The CLI run in this process, its output collected: for tests that check a command's words and exit code. */
import { main } from "../../src/cli/app.js";
import type { CommandIO } from "../../src/cli/io.js";

export async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIO = { out: (s) => void out.push(s), err: (s) => void err.push(s), readStdin: () => "", isTTY: false };
  const code = await main(argv, io);
  return { code, out: out.join(""), err: err.join("") };
}
