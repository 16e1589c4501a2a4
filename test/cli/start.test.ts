/**
 * The binaries end the process as soon as the command returns (cli/start.ts), with the
 * command's exit code, rather than waiting for Node to tear the heap down; `serve` is left to
 * end as Node ends it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startCli } from "../../src/cli/start.js";

afterEach(() => {
  // startCli sets it for the process; the test runner's own must stay as it was.
  process.exitCode = undefined;
});

describe("startCli", () => {
  it("ends the process with the command's exit code once the command returns", async () => {
    const exits: number[] = [];
    // An unknown command: a usage error (one line on stderr), exit code 2, nothing else run.
    await startCli(["no-such-command"], (code) => void exits.push(code));
    expect(exits).toEqual([2]);
  });

  it("leaves serve to end as Node ends it, with its exit code set", async () => {
    const exits: number[] = [];
    await startCli(["serve", "an-argument-serve-refuses"], (code) => void exits.push(code));
    expect(exits).toEqual([]);
    expect(process.exitCode).toBe(2);
  });
});
