/**
 * `batch` streams: each answer is written before the next packet is read, and memory does not
 * grow with the number of packets (a packets file larger than any input limit, under a small
 * heap, is answered whole).
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const bin = resolve(root, "dist/src/cli/main.js");
const fw = ["--rules", "samples/host-firewall/rules.save", "--node", "samples/host-firewall/node.json"];

describe("batch streams its packets", () => {
  it("answers a packet from stdin while stdin is still open", async () => {
    const child = spawn(process.execPath, [bin, "batch", "-q", ...fw, "--fields", "line,fate", "--packets", "-"], { cwd: root });
    let out = "";
    const first = new Promise<string>((done, fail) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) done(out);
      });
      child.on("exit", (code) => fail(new Error(`exited (${code}) before answering: ${out}`)));
    });
    child.stdin.write("tcp 203.0.113.7:51000 -> 192.168.0.11:22 in eth0\n");
    // Only answered now if it was not waiting for the end of its input.
    expect(await first).toBe("1\tdropped\n");
    child.stdin.end("tcp 10.1.2.3:5 -> 192.168.0.11:22 in eth0\n");
    const code = await new Promise<number | null>((done) => child.on("close", done));
    expect(code).toBe(0);
    expect(out).toBe("1\tdropped\n2\tdelivered\n");
  }, 60_000);

  it("a packets file of 100 MB, past the input size limit, answered under a 24 MB heap", () => {
    const dir = mkdtempSync(join(tmpdir(), "netfate-batch-stream-"));
    const file = join(dir, "packets.txt");
    const fd = openSync(file, "w");
    const padding = " ".repeat(2000);
    // 50,000 lines of 2 kB: one packet in ten, the rest blank lines (skipped, but read and held if read whole).
    for (let i = 0; i < 50_000; i++) writeSync(fd, (i % 10 === 0 ? `tcp 10.1.${(i >> 8) & 255}.${i & 255}:5 -> 192.168.0.11:22 in eth0` : "") + padding + "\n");
    closeSync(fd);
    const r = spawnSync(process.execPath, ["--max-old-space-size=24", bin, "batch", ...fw, "--fields", "line,fate", "--packets", file], { cwd: root, encoding: "utf8", maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(5_000);
    expect(lines[4_999]).toBe("49991\tdelivered");
    expect(r.stderr).toMatch(/5000 packets; outcomes: delivered 5000/);
  }, 300_000);

  it("a line longer than 64 KiB is one unreadable packet, and the lines after it are answered", () => {
    const input = `${"x".repeat(200_000)}\ntcp 10.1.2.3:5 -> 192.168.0.11:22 in eth0\n`;
    const r = spawnSync(process.execPath, [bin, "batch", "-q", ...fw, "--fields", "line,fate,detail", "--packets", "-"], { cwd: root, encoding: "utf8", input });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("1\tunreadable\tline longer than 64 KiB: not a packet\n2\tdelivered\tdelivered locally (arrived on eth0)\n");
  });

  it("a NUL byte makes its line unreadable, not the whole input", () => {
    const input = "tcp 10.1.2.3:5 -> 192.168.0.11:22\0 in eth0\ntcp 10.1.2.3:5 -> 192.168.0.11:22 in eth0";
    const r = spawnSync(process.execPath, [bin, "batch", "-q", ...fw, "--fields", "line,fate,detail", "--packets", "-"], { cwd: root, encoding: "utf8", input });
    expect(r.stdout).toBe("1\tunreadable\tthe line holds a NUL byte: not text\n2\tdelivered\tdelivered locally (arrived on eth0)\n");
  });
});
