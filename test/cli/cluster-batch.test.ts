/** `batch --cluster`: one cluster answer per packet line, each starting at --at or where its source is. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const bin = resolve(root, "dist/src/cli/main.js");
const sample = resolve(root, "samples/001-flannel-udp-clusterip-from-node");

function batch(lines: string[], extra: string[]) {
  const f = join(mkdtempSync(join(tmpdir(), "netfate-cbatch-")), "packets.txt");
  writeFileSync(f, lines.join("\n") + "\n");
  const r = spawnSync(process.execPath, [bin, "batch", "--cluster", "cluster.json", ...extra, "--packets", f], { cwd: sample, encoding: "utf8" });
  return { code: r.status, lines: r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>), err: r.stderr };
}

describe("batch --cluster", () => {
  it("answers each packet across the cluster, with its reply when asked; a packet whose start cannot be told is an error line", () => {
    const r = batch(["tcp 192.168.1.12:50712 -> 10.0.0.103:80 local", "tcp 10.1.9.2:40000 -> 10.0.0.103:80 in docker0"], ["--reply"]);
    expect(r.code, r.err).toBe(2);
    expect(r.lines[0]).toMatchObject({ kind: "cluster", line: 1, start: { node: "worker" } });
    const ways = r.lines[0]!.outcomes as Array<{ fate: { kind: string }; reply: Array<{ fate: { kind: string } }> }>;
    expect(ways.map((w) => [w.fate.kind, w.reply.map((x) => x.fate.kind)])).toEqual([["delivered", ["reply-lost"]]]);
    expect(r.lines[1]).toEqual({ version: 1, line: 2, error: "say which node the packet arrives at on docker0 (--at NODE)" });
    expect(r.err).toMatch(/2 packets, 1 unreadable; outcomes: delivered 1, reply-lost 1/);
  });

  it("--at gives every packet its start", () => {
    const r = batch(["tcp 10.1.9.2:40000 -> 10.0.0.103:80 in docker0"], ["--at", "worker", "-q"]);
    expect(r.code, r.err).toBe(0);
    expect(r.lines[0]).toMatchObject({ kind: "cluster", line: 1, start: { node: "worker" } });
    expect((r.lines[0]!.outcomes as Array<{ fate: { kind: string }; at: { node: string; pod?: string } }>).map((w) => [w.fate.kind, w.at])).toEqual([["delivered", { node: "master", pod: "g4" }]]);
  });
});
