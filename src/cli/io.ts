/** What a command may touch of the outside world, so tests can run commands in-process. */
import { readFileSync } from "node:fs";

export interface CommandIO {
  out(s: string): void;
  err(s: string): void;
  readStdin(): string;
  isTTY: boolean;
}

let stdin: string | undefined;

export const processIO: CommandIO = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  // Read once: a command may be run again (see app.ts) and must see the same input.
  readStdin: () => (stdin ??= readFileSync(0, "utf8")),
  isTTY: Boolean(process.stdout.isTTY),
};
