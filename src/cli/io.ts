/** What a command may touch of the outside world, so tests can run commands in-process. */
import { readTextFile } from "../text-file.js";

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
  readStdin: () => (stdin ??= readTextFile(0)),
  isTTY: Boolean(process.stdout.isTTY),
};
