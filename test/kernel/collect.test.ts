/**
 * End to end on a real node: `netfate collect` inside a network namespace, then `netfate trace
 * --bundle` on what it gathered, compared with the kernel's own trace of the same packet.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KernelNode, kernelSkipReason, NODE_ETH0_CNI0 } from "./harness.js";
import { kernelSteps } from "./compare.js";

const why = kernelSkipReason();
const bin = resolve(import.meta.dirname, "../../dist/src/cli/main.js");

const RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-X - [0:0]
:KUBE-SEP-A - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -o eth0 -j MASQUERADE
-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-X
-A KUBE-SVC-X -j KUBE-SEP-A
-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 192.168.0.50:8080
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate NEW -p tcp -m tcp --dport 8080 -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
`;

describe.skipIf(why !== undefined)(`collect on a node, trace from the bundle${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(NODE_ETH0_CNI0);
    k.load(RULES);
  });
  afterAll(() => k?.close());

  it("netfate's answer from the collected bundle is the kernel's path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netfate-bundle-"));
    const c = spawnSync("ip", ["netns", "exec", k.ns, process.execPath, bin, "collect", dir], { encoding: "utf8" });
    expect(c.status, c.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(["iptables-save.txt", "ip-addr.json", "ip-route.json", "sysctl.txt", "manifest.json"]));
    // The result is one line; the kubectl recipe is in --help, not in every run.
    expect(c.stdout.trim().split("\n")).toHaveLength(1);
    expect(c.stdout).not.toContain("kubectl");
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    expect(manifest).toMatchObject({ format: "netfate-bundle", version: 1 });
    const save = manifest.entries.find((e: { file?: string }) => e.file === "iptables-save.txt");
    expect(save).toMatchObject({ command: ["iptables-save", "-c"], exit: 0, bytes: readFileSync(join(dir, "iptables-save.txt")).length });
    // A file the manifest does not name is never read, even under a bundle file's name pattern.
    writeFileSync(join(dir, "node.json.orig"), "{ broken");
    const packet = { family: "ipv4" as const, from: "cni0", src: "10.244.0.9", dst: "10.96.0.10", proto: 6, sport: 41000, dport: 80, tcpFlags: 2 };
    const [kt] = await k.trace([packet]);
    expect(kt && kt !== "send-failed").toBe(true);
    const t = spawnSync(process.execPath, [bin, "trace", "--json", "-q", "--bundle", dir, "tcp 10.244.0.9:41000 -> 10.96.0.10:80 in cni0"], { encoding: "utf8" });
    expect(t.status, t.stderr).toBe(0);
    const j = JSON.parse(t.stdout);
    expect(j.outcomes).toHaveLength(1);
    const o = j.outcomes[0];
    expect(o.fate, JSON.stringify(o.fate)).toMatchObject({ kind: "forwarded", iface: "eth0" });
    // The bundle holds the harness's TRACE rules in raw; the kernel's trace leaves them out.
    const ours = o.steps.filter((s: { table: string }) => s.table !== "raw").map((s: { table: string; chain: string; rule: number | string; verdict: string }) =>
      `${s.table} ${s.chain} ${s.rule} ${["DNAT", "MASQUERADE", "SNAT"].includes(s.verdict) ? "ACCEPT" : s.verdict}`);
    if (kt && kt !== "send-failed") expect(ours.join("\n")).toBe(kernelSteps(kt.steps, new Set(["nat", "filter"])).join("\n"));
    expect(o.final).toMatchObject({ src: "192.168.0.11", dst: "192.168.0.50", dport: 8080 });
  });

  const collect = (dir: string, ns = k.ns) => spawnSync("ip", ["netns", "exec", ns, process.execPath, bin, "collect", dir], { encoding: "utf8" });

  it("never writes through a link already in the directory, and refuses a non-empty one", () => {
    const base = mkdtempSync(join(tmpdir(), "netfate-collect-"));
    writeFileSync(join(base, "victim"), "precious\n");
    const dir = join(base, "bundle");
    mkdirSync(dir);
    symlinkSync("../victim", join(dir, "README.txt"));
    symlinkSync("../victim", join(dir, "iptables-save.txt"));
    const c = collect(dir);
    expect(c.status).toBe(2);
    expect(c.stderr).toBe(`netfate: ${dir} is not empty; give a new or empty directory (files of an earlier run would be mixed with this one's)\n`);
    expect(readFileSync(join(base, "victim"), "utf8")).toBe("precious\n");
    // The directory itself a link: refused too.
    symlinkSync(join(base, "elsewhere"), join(base, "linked"));
    expect(collect(join(base, "linked")).stderr).toContain("is a symbolic link");
    expect(existsSync(join(base, "elsewhere"))).toBe(false);
    // A second run into the first run's bundle: refused, not mixed.
    const first = join(base, "first");
    expect(collect(first).status).toBe(0);
    expect(collect(first).status).toBe(2);
    // Nothing is left beside it: the temporary directory was renamed or removed.
    expect(readdirSync(base).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("a node with no rules: an empty iptables-save is recorded, not a failure, and --bundle says what it means", () => {
    const bare = new KernelNode(NODE_ETH0_CNI0);
    try {
      const dir = join(mkdtempSync(join(tmpdir(), "netfate-bare-")), "bundle");
      const c = collect(dir, bare.ns);
      expect(c.status, c.stderr).toBe(0);
      expect(c.stderr).not.toContain("error");
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      expect(manifest.entries.find((e: { command: string[] }) => e.command[0] === "iptables-save")).toMatchObject({ exit: 0, file: "iptables-save.txt", bytes: 0 });
      const t = spawnSync(process.execPath, [bin, "trace", "--bundle", dir, "tcp 10.244.0.9:41000 -> 10.96.0.10:80 in cni0"], { encoding: "utf8" });
      expect(t.status).toBe(2);
      expect(t.stderr).toContain("the node had no iptables rules when collected");
    } finally {
      bare.close();
    }
  });
});
