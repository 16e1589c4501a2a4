/** `batch --fields` answers repeated flows from its flow memo (the default; --memo still accepted); with --no-memo every packet is evaluated, and the lines are the same. */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const bin = resolve(root, "dist/src/cli/main.js");
const kp = ["--rules", "samples/kube-proxy-basic/rules.save", "--node", "samples/kube-proxy-basic/node.json"];

function run(args: string[], input: string) {
  const r = spawnSync(process.execPath, [bin, "batch", "-q", ...args, "--packets", "-"], { cwd: root, encoding: "utf8", input });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Clients of one service from many sources and ports, a pod of it reaching it (hairpin), and a DNS query. */
const PACKETS = [
  ...Array.from({ length: 30 }, (_, i) => `tcp 192.168.0.${50 + i}:${40000 + i} -> 10.96.45.12:80 in eth0`),
  ...Array.from({ length: 10 }, (_, i) => `tcp 10.244.${i}.9:${50000 + i} -> 10.96.45.12:80 in cni0`),
  "udp 10.244.0.9:53000 -> 10.96.0.10:53 in cni0",
  "udp 10.244.0.10:53001 -> 10.96.0.10:53 in cni0",
].join("\n");

describe("batch --fields with and without the flow memo", () => {
  it.each([["text"], ["json"]])("every field, %s: the same lines", (format) => {
    const fields = ["--fields", "line,packet,outcome,fate,detail,rule,probability,final,nat,given,assumptions", "--format", format];
    const byDefault = run([...kp, ...fields], PACKETS);
    const memo = run([...kp, ...fields, "--memo"], PACKETS);
    const plain = run([...kp, ...fields, "--no-memo"], PACKETS);
    for (const r of [byDefault, memo, plain]) expect(r.code, r.err).toBe(0);
    expect(byDefault.out).toBe(plain.out);
    expect(memo.out).toBe(plain.out);
    expect(plain.out.split("\n").length).toBeGreaterThan(42);
  });

  it("--memo and --no-memo together are refused", () => {
    const r = run([...kp, "--fields", "fate", "--memo", "--no-memo"], PACKETS);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--memo and --no-memo/);
  });

  it("--help says what the memo is, and how to turn it off", () => {
    const r = spawnSync(process.execPath, [bin, "batch", "--help"], { cwd: root, encoding: "utf8" });
    expect(r.stdout).toContain("--no-memo");
    expect(r.stdout).toMatch(/earlier packet/);
  });
});
