/**
 * End to end on a real node: `netfate collect` inside a network namespace, then `netfate trace
 * --bundle` on what it gathered, compared with the kernel's own trace of the same packet.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KernelNode, kernelSkipReason, NODE_ETH0_CNI0, PROBE_TABLE } from "./harness.js";
import { kernelSteps } from "./compare.js";
import { readBundle } from "../../src/cli/bundle.js";
import { factsFromTexts } from "../../src/facts/parse.js";

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
    // The bundle holds the harness's TRACE rules in raw, and its probe table in nftables.json
    // (netfate runs it, as the kernel does); the kernel's trace leaves both out.
    expect(o.steps.some((s: { nft?: { table: string } }) => s.nft?.table === PROBE_TABLE)).toBe(true);
    const ours = o.steps.filter((s: { table: string }) => s.table !== "raw" && s.table !== "nft").map((s: { table: string; chain: string; rule: number | string; verdict: string }) =>
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

  it("gathers policy routing: ip rules of both families, every table, the routing sysctls of every interface; all read back", () => {
    const pr = new KernelNode(NODE_ETH0_CNI0);
    try {
      pr.load(RULES);
      const ipn = (...a: string[]) => {
        const r = spawnSync("ip", ["-n", pr.ns, ...a], { encoding: "utf8" });
        expect(r.status, `ip ${a.join(" ")}: ${r.stderr}`).toBe(0);
      };
      ipn("rule", "add", "pref", "100", "from", "10.244.0.0/24", "fwmark", "0x10/0xff", "lookup", "100");
      ipn("rule", "add", "pref", "101", "not", "iif", "cni0", "to", "10.0.0.0/8", "goto", "200");
      ipn("rule", "add", "pref", "200", "from", "1.2.3.4", "unreachable");
      ipn("-6", "rule", "add", "pref", "100", "from", "2001:db8::/32", "lookup", "100");
      ipn("route", "add", "default", "via", "192.168.0.2", "dev", "eth0", "table", "100");
      ipn("route", "add", "unreachable", "10.9.0.0/16", "table", "100");
      // An interface whose name has a dot: sysctl names its keys with a slash.
      ipn("link", "add", "flannel.1", "type", "veth", "peer", "name", "fp");
      const s = spawnSync("ip", ["netns", "exec", pr.ns, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.cni0.rp_filter=2", "net.ipv4.conf.eth0.route_localnet=1", "net.ipv4.conf.flannel/1.rp_filter=2"], { encoding: "utf8" });
      expect(s.status, s.stderr).toBe(0);
      const dir = join(mkdtempSync(join(tmpdir(), "netfate-rules-")), "bundle");
      const c = collect(dir, pr.ns);
      expect(c.status, c.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      for (const f of ["ip-rule.json", "ip6-rule.json", "ip-route.json", "ip6-route.json"]) expect(manifest.entries.find((e: { file?: string }) => e.file === f), f).toMatchObject({ exit: 0 });
      const b = readBundle(dir, (path) => readFileSync(path, "utf8"));
      const { facts, diagnostics } = factsFromTexts(b.node.map((t) => ({ file: t.file, text: t.text })));
      expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      // No rule read needed a guess at its family: the bundle's names say it.
      expect(diagnostics.filter((d) => d.message.includes("read as IPv4"))).toEqual([]);
      const v4 = facts.rules!.filter((r) => r.family === "ipv4");
      expect(v4.map((r) => r.priority)).toEqual([0, 100, 101, 200, 32766, 32767]);
      expect(v4[1]).toEqual({ family: "ipv4", priority: 100, action: "lookup", table: "100", from: { address: "10.244.0.0", prefixLength: 24 }, fwmark: 0x10, fwmask: 0xff });
      expect(v4[2]).toEqual({ family: "ipv4", priority: 101, not: true, action: "goto", goto: 200, iif: "cni0", to: { address: "10.0.0.0", prefixLength: 8 } });
      expect(v4[3]).toEqual({ family: "ipv4", priority: 200, action: "unreachable", from: { address: "1.2.3.4", prefixLength: 32 } });
      expect(facts.rules!.filter((r) => r.family === "ipv6").map((r) => [r.priority, r.table])).toEqual([[0, "local"], [100, "100"], [32766, "main"]]);
      expect(facts.routes).toContainEqual(expect.objectContaining({ family: "ipv4", table: "100", type: "unicast", dst: "0.0.0.0", prefixLength: 0, gateway: "192.168.0.2", dev: "eth0" }));
      expect(facts.routes).toContainEqual(expect.objectContaining({ family: "ipv4", table: "100", type: "unreachable", dst: "10.9.0.0", prefixLength: 16 }));
      expect(facts.routes).toContainEqual(expect.objectContaining({ family: "ipv4", table: "local", type: "broadcast", dst: "10.244.0.255" }));
      // Each route once: ip-route.json holds IPv4 only, ip6-route.json IPv6.
      const seen = facts.routes.map((r) => JSON.stringify(r));
      expect(new Set(seen).size).toBe(seen.length);
      // The harness node forwards (ip_forward=1 sets every interface's forwarding).
      expect(facts.sysctl).toMatchObject({
        "net.ipv4.conf.all.rp_filter": "1", "net.ipv4.conf.cni0.rp_filter": "2", "net.ipv4.conf.eth0.rp_filter": "0", "net.ipv4.conf.flannel/1.rp_filter": "2",
        "net.ipv4.conf.default.rp_filter": "0", "net.ipv4.conf.all.route_localnet": "0", "net.ipv4.conf.eth0.route_localnet": "1", "net.ipv4.conf.lo.route_localnet": "0",
        "net.ipv4.conf.cni0.accept_local": "0", "net.ipv4.conf.eth0.forwarding": "1", "net.ipv6.conf.all.forwarding": "0",
      });
    } finally {
      pr.close();
    }
  });

  it("a sysctl key missing on the node loses only that key: what sysctl printed is kept, the manifest says it failed", () => {
    // The real sysctl, asked one key this kernel does not have besides collect's own.
    const fake = mkdtempSync(join(tmpdir(), "netfate-fakebin-"));
    const real = spawnSync("sh", ["-c", "command -v sysctl"], { encoding: "utf8" }).stdout.trim();
    writeFileSync(join(fake, "sysctl"), `#!/bin/sh\nexec ${real} "$@" net.ipv4.netfate_no_such_key\n`);
    chmodSync(join(fake, "sysctl"), 0o755);
    const dir = join(mkdtempSync(join(tmpdir(), "netfate-partial-")), "bundle");
    const c = spawnSync("ip", ["netns", "exec", k.ns, process.execPath, bin, "collect", dir], { encoding: "utf8", env: { ...process.env, PATH: `${fake}:${process.env.PATH}` } });
    expect(c.status, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/sysctl\.txt: sysctl \(\d+ keys\), \d+ bytes \(exit \d+, kept what it printed: sysctl: cannot stat \/proc\/sys\/net\/ipv4\/netfate_no_such_key/);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    const entry = manifest.entries.find((e: { command: string[] }) => e.command[0] === "sysctl");
    expect(entry).toMatchObject({ file: "sysctl.txt", error: expect.stringContaining("netfate_no_such_key") });
    expect(entry.exit).not.toBe(0);
    const text = readFileSync(join(dir, "sysctl.txt"), "utf8");
    expect(text).toContain("net.ipv4.ip_forward = ");
    expect(text).toContain("net.ipv4.conf.eth0.rp_filter = ");
  });
});
