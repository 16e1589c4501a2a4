/** `netfate diff` as users run it: exit codes 0/1/2, the side-by-side text, the JSON shape. */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const bin = resolve(root, "dist/src/cli/main.js");

function run(args: string[]) {
  const r = spawnSync(process.execPath, [bin, "diff", ...args], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const kpOld = "samples/kube-proxy-basic/rules.save";
const kpNew = "samples/kube-proxy-basic/rules-after-upgrade.save";
const kpNode = ["--node", "samples/kube-proxy-basic/node.json"];

describe("netfate diff", () => {
  it("exits 0 and says so when the dumps agree", () => {
    const r = run(["-q", kpOld, kpOld, ...kpNode]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^No differences: \d+ packets tried/);
    expect(r.err).toBe("");
  });

  it("exits 1 and shows the packet, both fates and both traces side by side", () => {
    const r = run(["-q", kpOld, kpNew, ...kpNode, "--limit", "3"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("Difference 1 of ");
    expect(r.out).toContain("udp 10.244.0.254:40000 -> 10.96.0.10:53 in cni0");
    expect(r.out).toMatch(/old: forwarded out cni0 \(p=0\.5000\)\n +then \S+ -> 10\.244\.0\.3:53 out cni0\n/);
    expect(r.out).toMatch(/new: forwarded out cni0 \(p=0\.5000\)\n +then \S+ -> 10\.244\.0\.4:53 out cni0\n/);
    // Both traces on the same lines, the new DNAT beside the old one.
    const row = r.out.split("\n").find((l) => l.includes("→ DNAT 10.96.0.10:53 → 10.244.0.3:53"));
    expect(row).toMatch(/│ +→ DNAT 10\.96\.0\.10:53 → 10\.244\.0\.4:53$/);
    const rows = r.out.split("\n").filter((l) => l.includes("│"));
    expect(rows.length).toBeGreaterThan(50);
    for (const l of rows) expect([...l].length).toBeLessThanOrEqual(160);
    expect(r.out).toMatch(/\d+ of \d+ packets tried end differently \(\d+ kinds of difference\); 3 shown \(--limit\)\.\n$/);
    expect(r.out.match(/^Difference \d+ of/gm)).toHaveLength(3);
  });

  it("--stacked prints old above new", () => {
    const r = run(["-q", "--stacked", "--limit", "1", kpOld, kpNew, ...kpNode]);
    expect(r.code).toBe(1);
    expect(r.out).not.toContain("│");
    expect(r.out.indexOf(`old (${kpOld}):`)).toBeGreaterThan(0);
    expect(r.out.indexOf(`new (${kpNew}):`)).toBeGreaterThan(r.out.indexOf(`old (${kpOld}):`));
  });

  it("--json gives one versioned object with every difference and its evaluations", () => {
    const r = run(["-q", "--json", "--random", "0", "--limit", "0", kpOld, kpNew, ...kpNode]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ version: 1, old: kpOld, new: kpNew });
    expect(j.candidates).toBeGreaterThan(100);
    expect(j.differences.length).toBe(j.total);
    expect(j.differences.length).toBeGreaterThan(10);
    const d = j.differences.find((x: { packet: string }) => x.packet === "tcp 192.168.0.254:40000 -> 192.168.0.11:30080 in eth0");
    expect(d).toBeDefined();
    expect(d.new.summary).toEqual([expect.objectContaining({ fate: "delivered (in eth0)", probability: 1 })]);
    expect(d.old.evaluation.outcomes).toHaveLength(3);
    expect(d.spec).toMatchObject({ family: "ipv4", from: "eth0", proto: 6, dport: 30080 });
  });

  it("finds a changed port in dumps written to a temporary directory, and the same with the sides swapped", () => {
    const dir = mkdtempSync(join(tmpdir(), "netfate-diff-"));
    const old = readFileSync(resolve(root, "samples/host-firewall/rules.save"), "utf8");
    writeFileSync(join(dir, "old.save"), old);
    writeFileSync(join(dir, "new.save"), old.replace("--dports 80,443", "--dports 80,8443"));
    const args = ["-q", "--json", "--limit", "0", "--iface", "eth0=192.168.0.11/24"];
    const ab = JSON.parse(run([...args, join(dir, "old.save"), join(dir, "new.save")]).out);
    const ba = JSON.parse(run([...args, join(dir, "new.save"), join(dir, "old.save")]).out);
    const ports = (j: { differences: Array<{ spec: { dport?: number } }> }) => new Set(j.differences.map((d) => d.spec.dport));
    expect(ports(ab)).toEqual(new Set([443, 8443]));
    expect(ba.differences.length).toBe(ab.differences.length);
    const limited = JSON.parse(run(["-q", "--json", "--iface", "eth0=192.168.0.11/24", "--limit", "1", join(dir, "old.save"), join(dir, "new.save")]).out);
    expect(limited.differences).toHaveLength(1);
    expect(limited.total).toBe(ab.total);
  });

  it("exits 2 on bad usage, with a suggestion for a misspelt flag", () => {
    const typo = run([kpOld, kpNew, "--stackd"]);
    expect(typo.code).toBe(2);
    expect(typo.err).toBe("netfate: unknown option --stackd; did you mean --stacked?\n");
    expect(run([kpOld]).code).toBe(2);
    expect(run([kpOld, kpNew, "--max", "lots"]).err).toContain("--max takes a whole number");
    const missing = run([kpOld, "samples/nope.save"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("cannot read samples/nope.save: ENOENT");
    expect(run([kpOld, kpNew, "--rules", kpOld]).err).toContain("unknown option --rules");
  });
});
