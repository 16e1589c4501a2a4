/** A file that is not text (a binary given as --rules) is refused whole, with its name, wherever files are read. */
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { readTextFile } from "../../src/text-file.js";
import { loadNode } from "../../src/testing/load.js";

describe("a file that is not text is refused whole", () => {
  const dir = mkdtempSync(join(tmpdir(), "netfate-inputs-"));
  const binary = join(dir, "binary.save");
  writeFileSync(binary, Buffer.concat([Buffer.from("*filter\n:INPUT ACCEPT [0:0]\n"), Buffer.from([0x7f, 0x45, 0x00, 0x01]), Buffer.from("COMMIT\n")]));
  it("by readTextFile, naming the file and the offset", () => {
    expect(() => readTextFile(binary)).toThrow(`${binary} is not a text file (NUL byte at offset 30)`);
  });
  it("by the testing helpers", () => {
    expect(() => loadNode({ rules: binary })).toThrow(/is not a text file \(NUL byte at offset 30\)/);
  });
  it("by the CLI, in one line with exit 2", () => {
    const root = resolve(import.meta.dirname, "../..");
    const r = spawnSync(process.execPath, [resolve(root, "dist/src/cli/main.js"), "trace", "--rules", binary, "tcp 10.0.0.1:5 -> 10.0.0.2:80 in eth0"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/is not a text file \(NUL byte at offset 30\)/);
  });
});
