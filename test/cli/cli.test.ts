/** The real binary, spawned as users run it: exit codes, output shapes, one-line errors. */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const bin = resolve(root, "dist/src/cli/main.js");
const wd = resolve(root, "dist/src/cli/why-dropped.js");

function run(args: string[], input?: string, file = bin) {
  const r = spawnSync(process.execPath, [file, ...args], { cwd: root, encoding: "utf8", input, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const kp = ["--rules", "samples/kube-proxy-basic/rules.save", "--node", "samples/kube-proxy-basic/node.json"];
const fw = ["--rules", "samples/host-firewall/rules.save", "--node", "samples/host-firewall/node.json"];

describe("netfate CLI", () => {
  it("why-dropped exits 1 and names the rule when the packet is dropped", () => {
    const r = run(["why-dropped", "-q", ...fw, "tcp 203.0.113.7:51000 -> 192.168.0.11:22 in eth0"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("DROPPED by filter INPUT policy (hook INPUT)");
    expect(r.out).toContain("failed: -s 10.0.0.0/8");
  });
  it("why-dropped exits 0 when nothing drops it, also as its own binary", () => {
    const r = run(["-q", ...fw, "tcp 10.1.2.3:51000 -> 192.168.0.11:22 in eth0"], undefined, wd);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Not dropped.");
  });
  it("trace --json has the documented shape, probabilities summing to 1", () => {
    const r = run(["trace", "-q", "--json", ...kp, "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.version).toBe(1);
    expect(j.outcomes).toHaveLength(3);
    expect(j.outcomes.reduce((s: number, o: { probability: number }) => s + o.probability, 0)).toBeCloseTo(1, 9);
    for (const o of j.outcomes) {
      expect(o.fate).toMatchObject({ kind: "forwarded", iface: "flannel.1" });
      expect(o.steps[0]).toMatchObject({ hook: "PREROUTING", table: "nat", chain: "PREROUTING", rule: 1, verdict: "JUMP KUBE-SERVICES" });
      expect(o.steps[0].text).toBe('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
      expect(o.encapsulated[0].fate).toMatchObject({ kind: "sent", iface: "eth0" });
    }
  });
  it("trace text output (snapshot of the sample)", () => {
    const r = run(["trace", "-q", ...kp, "udp 10.244.0.9:53000 -> 10.96.0.10:53 in cni0"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatchSnapshot();
  });
  it("html, mermaid and dot", () => {
    const args = ["trace", "-q", ...kp, "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0"];
    expect(run([...args, "--format", "html"]).out).toMatch(/^<!doctype html>[\s\S]*<svg[\s\S]*KUBE-SVC-WEBAPPXXXXXXXXXX/);
    expect(run([...args, "--format", "mermaid"]).out).toMatch(/^flowchart TD\n/);
    expect(run([...args, "--format", "dot"]).out).toMatch(/^digraph netfate \{/);
  });
  it("batch: one JSON line per packet and counts on stderr", () => {
    const pk = [
      JSON.stringify({ from: "eth0", src: "203.0.113.7", dst: "192.168.0.11", proto: "tcp", sport: 5, dport: 22 }),
      "tcp 10.1.2.3:5 -> 192.168.0.11:22 in eth0",
      "icmp 10.0.0.1:5 -> 10.0.0.2 in eth0",
    ].join("\n");
    const r = run(["batch", ...fw, "--packets", "-"], pk);
    const lines = r.out.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0].outcomes[0].fate.kind).toBe("dropped");
    expect(lines[1].outcomes[0].fate.kind).toBe("delivered");
    expect(lines[2]).toMatchObject({ line: 3, error: "protocol 1 has no ports" });
    expect(r.err).toMatch(/3 packets, 1 unreadable; outcomes: delivered 1, dropped 1/);
    expect(r.code).toBe(2);
  });
  it("bad input: one clear line, exit 2, never a stack trace", () => {
    for (const args of [
      ["trace", "--rulez", "x", "tcp 1.2.3.4:1 -> 5.6.7.8:2 in eth0"],
      ["trace", "--rules", "/nonexistent", "tcp 1.2.3.4:1 -> 5.6.7.8:2 in eth0"],
      ["trace", ...fw, "icmp 1.2.3.4:1 -> 5.6.7.8 in eth0"],
      ["trace", ...fw, "tcp 1.2.3.4:1 -> 2001:db8::1 in eth0"],
      ["frobnicate"],
    ]) {
      const r = run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).not.toMatch(/at .*\.js:\d+/);
    }
    expect(run(["trace", "--rulez", "x", "p"]).err).toContain("did you mean --rules?");
  });
  it("parse --summary counts what it read", () => {
    const r = run(["parse", "--summary", "-q", "samples/kube-proxy-basic/rules.save"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/save, 2 tables, \d+ chains, \d+ rules, 0 sets, 0 unknown extensions, 0 errors, 0 warnings/);
  });
  it("a line only the grammar decides loads it on demand: read once from stdin, printed once", () => {
    const dump = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "a\\"b" -j ACCEPT\nCOMMIT\n';
    const r = run(["parse", "-q", "samples/host-firewall/rules.save", "-"], dump);
    expect(r.code).toBe(0);
    expect(r.out.split("*filter").length - 1).toBe(2);
    expect(r.out.endsWith(dump)).toBe(true);
  });
  it("IPv6: an ip6tables dump and an IPv6 packet, the rule shown as ip6tables lists it", () => {
    const dump = "# Generated by ip6tables-save v1.8.9 (nf_tables)\n*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s fd00:99::/64 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 3 -j REJECT --reject-with icmp6-adm-prohibited\nCOMMIT\n";
    const r = run(["why-dropped", "-q", "--rules", "-", "--iface", "eth0=fd00:1::11/64", "tcp [2001:db8::7]:40000 -> [fd00:1::11]:3 in eth0"], dump);
    expect(r.code).toBe(1);
    expect(r.out).toContain("REJECTED (icmp6-adm-prohibited) by filter INPUT rule 2 (hook INPUT)");
    expect(r.out).toContain("as `ip6tables -t filter -nvL INPUT --line-numbers` shows it:");
    const ok = run(["why-dropped", "-q", "--rules", "-", "--iface", "eth0=fd00:1::11/64", "tcp [fd00:99::5]:40000 -> [fd00:1::11]:3 in eth0"], dump);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("delivered locally");
  });
});
