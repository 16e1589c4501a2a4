/**
 * What the README shows is what netfate does: every command in a console block is run and
 * its output compared with the block, and the regression-test example is the test file
 * test/readme/nodeport-only.test.ts, which runs with the suite.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { consoleCommands } from "./console-blocks.js";

const root = resolve(import.meta.dirname, "../..");
const readme = readFileSync(resolve(root, "README.md"), "utf8");
const bin = resolve(root, "dist/src/cli/main.js");

describe("README", () => {
  const commands = consoleCommands(readme);

  it("shows the commands of every seed scenario", () => {
    for (const seed of ["000", "001", "002", "003", "004"]) expect(commands.some((c) => c.cwd.includes(`samples/${seed}-`))).toBe(true);
  });

  for (const c of commands) {
    it(`line ${c.line}: netfate ${c.args.join(" ").slice(0, 70)}`, () => {
      const r = spawnSync(process.execPath, [bin, ...c.args], { cwd: resolve(root, c.cwd), encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
      expect(r.status, r.stderr).toBeLessThan(2);
      if (c.truncated) expect(r.stdout.startsWith(c.shown), `README shows:\n${c.shown}\nnetfate prints:\n${r.stdout}`).toBe(true);
      else expect(r.stdout).toBe(c.shown);
    });
  }

  it("shows the regression-test example exactly as the test file that runs", () => {
    const example = readFileSync(resolve(import.meta.dirname, "nodeport-only.test.ts"), "utf8");
    expect(readme).toContain("```ts\n" + example + "```\n");
  });
});
