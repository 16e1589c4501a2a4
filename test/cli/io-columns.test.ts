/**
 * Commands write only through their CommandIO and take the terminal's width from it
 * (io.columns), so a command run in-process lays out as it would on that terminal.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { main } from "../../src/cli/app.js";
import type { CommandIO } from "../../src/cli/io.js";

const root = resolve(import.meta.dirname, "../..");
const kpOld = resolve(root, "samples/kube-proxy-basic/rules.save");
const kpNew = resolve(root, "samples/kube-proxy-basic/rules-after-upgrade.save");
const kpNode = resolve(root, "samples/kube-proxy-basic/node.json");
// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

async function onTerminal(argv: string[], columns: number) {
  const out: string[] = [];
  const io: CommandIO = { out: (s) => void out.push(s), err: () => {}, readStdin: () => "", isTTY: true, columns };
  const code = await main(argv, io);
  return { code, lines: plain(out.join("")).split("\n") };
}

describe("the terminal's width comes from the command's IO", () => {
  it("trace wraps at io.columns", async () => {
    const argv = ["trace", "-q", "--rules", kpOld, "--node", kpNode, "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0"];
    const narrow = await onTerminal(argv, 60);
    const wide = await onTerminal(argv, 200);
    expect(narrow.code).toBe(0);
    // Long rules are broken to fit: more lines on the narrow terminal, longer ones on the wide.
    expect(narrow.lines.length).toBeGreaterThan(wide.lines.length);
    expect(Math.max(...wide.lines.map((l) => [...l].length))).toBeGreaterThan(Math.max(...narrow.lines.map((l) => [...l].length)));
  });

  it("diff is side by side on a wide terminal and stacked on a narrow one", async () => {
    const argv = ["diff", "-q", "--limit", "1", "--random", "0", kpOld, kpNew, "--node", kpNode];
    const wide = await onTerminal(argv, 200);
    expect(wide.code).toBe(1);
    expect(wide.lines.some((l) => l.includes("│"))).toBe(true);
    expect(Math.max(...wide.lines.map((l) => [...l].length))).toBeLessThanOrEqual(200);
    const narrow = await onTerminal(argv, 100);
    expect(narrow.lines.some((l) => l.includes("│"))).toBe(false);
    expect(narrow.lines).toContain(`old (${kpOld}):`);
  });

  it("no command touches the process's stdout or stderr but through io.ts", () => {
    const dir = resolve(root, "src/cli");
    const files = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? files(join(d, n)) : [join(d, n)]));
    const offenders = files(dir).filter((f) => f.endsWith(".ts") && !f.endsWith("/io.ts"))
      .filter((f) => /process\.std(out|err)|console\.(log|error|warn|info)/.test(readFileSync(f, "utf8")));
    expect(offenders).toEqual([]);
  });
});
