/**
 * The README's ```console blocks as commands and the output each shows: `$ cd DIR` changes
 * directory (relative to the repository), `$ netfate ...` runs the binary, a trailing `\`
 * continues a command, and a last line `...` means the block shows only the beginning.
 */
export interface ConsoleCommand {
  cwd: string;
  args: string[];
  /** The output shown under the command. */
  shown: string;
  /** True when the block cuts the output short with `...`. */
  truncated: boolean;
  /** Where the command is in the README (1-based line), for failure messages. */
  line: number;
}

export function consoleCommands(readme: string): ConsoleCommand[] {
  const out: ConsoleCommand[] = [];
  const lines = readme.split("\n");
  let inBlock = false;
  let cwd = ".";
  let current: (ConsoleCommand & { outLines: string[] }) | undefined;
  const finish = () => {
    if (!current) return;
    const shownLines = current.outLines;
    current.truncated = shownLines[shownLines.length - 1] === "...";
    if (current.truncated) shownLines.pop();
    current.shown = shownLines.map((l) => l + "\n").join("");
    const { outLines: _, ...cmd } = current;
    out.push(cmd);
    current = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!inBlock) {
      if (l === "```console") {
        inBlock = true;
        cwd = ".";
      }
      continue;
    }
    if (l === "```") {
      finish();
      inBlock = false;
      continue;
    }
    if (!l.startsWith("$ ")) {
      current?.outLines.push(l);
      continue;
    }
    finish();
    const start = i;
    let cmd = l.slice(2);
    while (cmd.endsWith("\\")) cmd = cmd.slice(0, -1).trimEnd() + " " + lines[++i]!.trim();
    const words = (cmd.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^(["'])(.*)\1$/, "$2"));
    if (words[0] === "cd") {
      cwd = words[1]!;
      continue;
    }
    if (words[0] !== "netfate") throw new Error(`README line ${start + 1}: only cd and netfate commands are checked, found ${words[0]}`);
    current = { cwd, args: words.slice(1), shown: "", truncated: false, line: start + 1, outLines: [] };
  }
  return out;
}
