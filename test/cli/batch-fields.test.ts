/** `batch --fields`: one short line per outcome, saying what the full trace says. */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const bin = resolve(root, "dist/src/cli/main.js");
const kp = ["--rules", "samples/kube-proxy-basic/rules.save", "--node", "samples/kube-proxy-basic/node.json"];
const fw = ["--rules", "samples/host-firewall/rules.save", "--node", "samples/host-firewall/node.json"];

function run(args: string[], input: string) {
  const r = spawnSync(process.execPath, [bin, "batch", "-q", ...args, "--packets", "-"], { cwd: root, encoding: "utf8", input });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const PACKETS = [
  "tcp 203.0.113.7:51000 -> 192.168.0.11:22 in eth0",
  "tcp 10.1.2.3:5 -> 192.168.0.11:22 in eth0",
  "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0",
  "udp 10.244.0.9:53000 -> 10.96.0.10:53 in cni0",
].join("\n");

describe("batch --fields", () => {
  it("text: one tab-separated line per outcome, in the order asked", () => {
    const r = run([...fw, "--fields", "line,fate,detail,rule,probability,final"], PACKETS.split("\n").slice(0, 2).join("\n"));
    expect(r.code, r.err).toBe(0);
    expect(r.out.split("\n")).toEqual([
      "1\tdropped\tDROPPED by filter INPUT policy (hook INPUT)\tfilter INPUT policy: :INPUT DROP\t1\t203.0.113.7:51000 -> 192.168.0.11:22",
      "2\tdelivered\tdelivered locally (arrived on eth0)\tfilter INPUT rule 3: -A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT\t1\t10.1.2.3:5 -> 192.168.0.11:22",
      "",
    ]);
  });

  it("each outcome's fields say what the full trace of the packet says", () => {
    const full = run(kp, PACKETS).out.trim().split("\n").map((l) => JSON.parse(l));
    const compact = run([...kp, "--fields", "line,outcome,fate,probability,final,nat,given,assumptions", "--format", "json"], PACKETS).out.trim().split("\n").map((l) => JSON.parse(l));
    const expected = full.flatMap((f) => f.outcomes.map((o: Record<string, unknown>, i: number) => ({ line: f.line, outcome: i + 1, fate: (o.fate as { kind: string }).kind, probability: o.probability, final: o.final, given: o.given, assumptions: o.assumptions })));
    expect(compact.map(({ nat: _, ...rest }) => rest)).toEqual(expected);
    // kube-proxy's ClusterIP: three endpoints, each its own DNAT.
    const svc = compact.filter((c) => c.line === 3);
    expect(svc).toHaveLength(3);
    expect(svc.map((c) => c.nat)).toEqual(svc.map((c) => expect.stringMatching(/^DNAT 10\.96\.45\.12:80 → 10\.244\.\d+\.\d+:\d+/)));
  });

  it("an unreadable packet is a line too: JSON line and error, or text with fate unreadable and why in detail", () => {
    const input = "hello\ntcp 10.1.2.3:5 -> 192.168.0.11:22 in eth0";
    const t = run([...fw, "--fields", "line,fate,detail,final"], input);
    expect(t.code).toBe(2);
    expect(t.out.split("\n")[0]).toMatch(/^1\tunreadable\tunknown protocol "hello" .*\t-$/);
    const j = run([...fw, "--fields", "fate", "--format", "json"], input);
    expect(j.out.trim().split("\n").map((l) => JSON.parse(l))).toEqual([{ line: 1, error: expect.stringContaining("unknown protocol") }, { fate: "delivered" }]);
  });

  it("refuses an unknown field, a format without fields, and fields on a cluster", () => {
    const bad = run([...fw, "--fields", "fate,colour"], "");
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown field "colour" in --fields \(known: line, packet, outcome, fate, detail, rule, probability, final, nat, given, assumptions\)/);
    expect(run([...fw, "--format", "json"], "").err).toMatch(/--format goes with --fields/);
    expect(run([...fw, "--fields", "fate", "--format", "xml"], "").err).toMatch(/unknown --format xml; one of text, json/);
    expect(run(["--cluster", "x", "--fields", "fate"], "").err).toMatch(/--fields is for one node's packets/);
  });

  it("--help lists every field with what it says", () => {
    const r = spawnSync(process.execPath, [bin, "batch", "--help"], { cwd: root, encoding: "utf8" });
    for (const f of ["line", "packet", "outcome", "fate", "detail", "rule", "probability", "final", "nat", "given", "assumptions"]) expect(r.stdout).toMatch(new RegExp(`^  ${f} +\\S`, "m"));
  });
});
