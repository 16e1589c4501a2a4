/**
 * `--assume`: state the dumps cannot show is taken as on a quiet node unless the user says
 * otherwise — a busy one (limit=exhausted, recent=listed, connlimit=over, quota=spent), or
 * either (both alternatives traced, each saying its side).
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildNode } from "../../src/netfilter/model.js";
import { parseRules } from "../../src/parse.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { StateAssumptions } from "../../src/model/evaluation.js";
import { simpleNode } from "../support/simple-node.js";

const node = simpleNode({ addrs: { eth0: ["10.0.0.1/24"] }, routes: [] });
const SSH: PacketSpec = { family: "ipv4", from: "eth0", src: "10.0.0.9", dst: "10.0.0.1", proto: 6, sport: 4000, dport: 22, tcpFlags: 2, length: 60 };

function fates(rule: string, assume?: StateAssumptions): string[] {
  const save = `*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT ${rule} -j ACCEPT\nCOMMIT\n`;
  const n = buildNode({ rulesets: [parseRules(save).value], node });
  return n.evaluate(SSH, assume ? { assume } : {}).outcomes.map((o) => `${o.fate.kind}${o.given?.length ? " if" : ""}`).sort();
}

describe("state assumed other than as on a quiet node", () => {
  const CASES: Array<[string, string, string[], string[]]> = [
    ["-m limit --limit 3/min", "limit", ["delivered"], ["dropped"]],
    ["-m hashlimit --hashlimit-upto 3/min --hashlimit-name h", "limit", ["delivered"], ["dropped"]],
    ["-m hashlimit --hashlimit-above 3/min --hashlimit-name h", "limit", ["dropped"], ["delivered"]],
    ["-m recent --rcheck --name bad", "recent", ["dropped"], ["delivered"]],
    ["-m connlimit --connlimit-upto 5", "connlimit", ["delivered"], ["dropped"]],
    ["-m quota --quota 1000", "quota", ["delivered"], ["dropped"]],
  ];
  for (const [rule, key, quiet, busy] of CASES) {
    it(`${rule}: quiet by default, busy with --assume ${key}=…, both with either`, () => {
      expect(fates(rule)).toEqual(quiet);
      expect(fates(rule, { [key]: "busy" })).toEqual(busy);
      expect(fates(rule, { [key]: "either" })).toEqual(["delivered if", "dropped if"]);
      // Another key leaves this match alone.
      expect(fates(rule, { nth: "either" })).toEqual(quiet);
    });
  }
  it("an nth counter has no busy side: either traces both", () => {
    expect(fates("-m statistic --mode nth --every 3 --packet 0")).toEqual(["delivered"]);
    expect(fates("-m statistic --mode nth --every 3 --packet 0", { nth: "either" })).toEqual(["delivered if", "dropped if"]);
  });
});

describe("netfate --assume", () => {
  const dir = mkdtempSync(join(tmpdir(), "netfate-assume-"));
  const rules = join(dir, "rules.save");
  writeFileSync(rules, "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -m limit --limit 3/min -j ACCEPT\nCOMMIT\n");
  const cli = resolve(import.meta.dirname, "../../dist/src/cli/main.js");
  const run = (...extra: string[]) => spawnSync(process.execPath, [cli, "why-dropped", "-q", "--rules", rules, "--iface", "eth0=10.0.0.1/24", ...extra, "tcp 10.0.0.9:4000 -> 10.0.0.1:22 in eth0"], { encoding: "utf8" });

  it("exhausted rate limits drop what a quiet node lets in, and say so", () => {
    expect(run().status).toBe(0);
    const r = run("--assume", "limit=exhausted");
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("rate limits have no tokens left (--assume limit=exhausted)");
  });
  it("stateful=either explores every kind", () => {
    const r = run("--assume", "stateful=either");
    expect(r.stdout).toContain("Dropped in 1 of 2 outcomes, depending on what is assumed.");
  });
  it("refuses a key or word it does not know, with a suggestion", () => {
    const a = run("--assume", "limt=exhausted");
    expect(a.status).toBe(2);
    expect(a.stderr).toContain("no such state; did you mean limit?");
    const b = run("--assume", "limit=empty");
    expect(b.status).toBe(2);
    expect(b.stderr).toContain("expected full, exhausted, either");
  });
});
