/**
 * The schema describes every line `netfate batch` writes, the lines for input it could not
 * trace included (`{"version":1,"line":N,"error":...}`): a consumer validating batch output
 * against it used to reject those.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const schema = JSON.parse(readFileSync(resolve(root, "src/explain/trace.schema.json"), "utf8"));
const validate = new Ajv2020.default({ allErrors: true, strict: false }).compile(schema);

describe("batch output and the trace schema", () => {
  it("every line of a real batch run validates, error lines included", () => {
    const packets = [
      "tcp 203.0.113.7:5 -> 192.168.0.11:22 in eth0",
      "icmp 10.0.0.1:5 -> 10.0.0.2 in eth0",
      JSON.stringify({ from: "eth0", src: "10.1.2.3", dst: "192.168.0.11", proto: "tcp", sport: 5, dport: 22 }),
      "",
      "hello",
      "tcp [2001:db8::1]:5 -> [2001:db8::2]:22 in eth0",
    ].join("\n");
    const r = spawnSync(process.execPath, [resolve(root, "dist/src/cli/main.js"), "batch", "-q", "--rules", "samples/host-firewall/rules.save", "--node", "samples/host-firewall/node.json", "--packets", "-"], { cwd: root, input: packets, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.line, "error" in l])).toEqual([[1, false], [2, true], [3, false], [5, true], [6, true]]);
    for (const l of lines) {
      const ok = validate(l);
      expect(validate.errors ?? [], JSON.stringify(l)).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  it("an error line is exactly version, line and error", () => {
    expect(validate({ version: 1, line: 2, error: "protocol 1 has no ports" })).toBe(true);
    for (const bad of [
      { version: 1, line: 2 },
      { version: 1, error: "x" },
      { version: 2, line: 2, error: "x" },
      { version: 1, line: 0, error: "x" },
      { version: 1, line: 2, error: 5 },
      { version: 1, line: 2, error: "x", packet: {} },
      { version: 1, line: 2, error: "x", outcomes: [], problems: [], packet: { family: "ipv4", from: "eth0", dst: "1.2.3.4", proto: 6, mark: "0x0", state: "new" } },
    ]) expect(validate(bad), JSON.stringify(bad)).toBe(false);
  });
});
