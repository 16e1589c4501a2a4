/**
 * ipvsadm output as an input: found among --rules files, given with --ipvs, read from a collect
 * bundle (whose manifest says whether it is in the kernel's order), and through the CLI.
 */
import { describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { assembleInputs } from "../../src/assemble.js";
import { readBundle } from "../../src/cli/bundle.js";
import { runCli as run } from "../support/cli-in-process.js";
import { COLLECTED } from "../../src/cli/commands/collect.js";
import { loadCluster } from "../../src/cli/cluster-load.js";
import { packet } from "../../src/testing/load.js";

const RULES = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
const IPVS = "-A -t 10.96.0.10:80 -s wlc\n-a -t 10.96.0.10:80 -r 10.244.0.8:8080 -m -w 1\n-a -t 10.96.0.10:80 -r 10.244.0.9:8080 -m -w 1\n";

describe("assembling the inputs", () => {
  it("ipvsadm text given among the --rules files is recognised and read as IPVS", () => {
    const a = assembleInputs({ rules: [{ file: "rules.save", text: RULES }, { file: "ipvsadm.txt", text: IPVS }] });
    expect(a.rulesets).toHaveLength(1);
    expect(a.ipvs?.services).toHaveLength(1);
    expect(a.notes).toContain("ipvsadm.txt: format ipvsadm (detected: line 1: ipvsadm-save line)");
    expect(() => assembleInputs({ rules: [{ file: "ipvsadm.txt", text: IPVS }] })).toThrow(/no iptables or nftables rules given: only ipvsadm output/);
  });

  it("--ipvs input: what is wrong in it is located", () => {
    const a = assembleInputs({ rules: [{ file: "rules.save", text: RULES }], ipvs: [{ file: "bad.txt", text: "-A -t 10.96.0.10:80 -s rr\n-a -t 10.96.0.10:80 -r nowhere -m\n" }] });
    expect(a.diagnostics).toContainEqual(expect.objectContaining({ severity: "error", file: "bad.txt", line: 2, col: 24, message: "the real server address is not readable" }));
  });

  it("the same service in two ipvsadm inputs: the later one is used, and a warning says so", () => {
    const a = assembleInputs({ rules: [{ file: "r", text: RULES }], ipvs: [{ file: "a.txt", text: IPVS }, { file: "b.txt", text: IPVS.replace("wlc", "rr") }] });
    expect(a.ipvs!.services.map((s) => s.scheduler)).toEqual(["rr"]);
    expect(a.diagnostics).toContainEqual(expect.objectContaining({ severity: "warning", file: "b.txt", line: 1 }));
  });

  it("a bundle's ipvsadm.txt collected with --nosort is in the kernel's order; one without a manifest is not known to be", () => {
    const dir = mkdtempSync(join(tmpdir(), "netfate-ipvs-bundle-"));
    writeFileSync(join(dir, "iptables-save.txt"), RULES);
    writeFileSync(join(dir, "ipvsadm.txt"), IPVS);
    const withoutManifest = readBundle(dir, (p) => readFileSync(p, "utf8"));
    expect(withoutManifest.ipvs.map((t) => t.file)).toEqual([join(dir, "ipvsadm.txt")]);
    expect(assembleInputs({ rules: withoutManifest.rules, ipvs: withoutManifest.ipvs }).ipvs!.kernelOrder).toBeUndefined();
    const manifest = {
      format: "netfate-bundle", version: 1, collected: "2026-01-01T00:00:00Z",
      entries: [
        { command: ["iptables-save", "-c"], exit: 0, file: "iptables-save.txt", bytes: RULES.length },
        { command: ["ipvsadm", "-S", "-n", "--nosort"], exit: 0, file: "ipvsadm.txt", bytes: IPVS.length },
      ],
    };
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
    const b = readBundle(dir, (p) => readFileSync(p, "utf8"));
    expect(assembleInputs({ rules: b.rules, ipvs: b.ipvs }).ipvs!.kernelOrder).toBe(true);
  });

  it("a cluster node's bundle with ipvsadm.txt: that node's evaluator runs IPVS", () => {
    const dir = mkdtempSync(join(tmpdir(), "netfate-ipvs-cluster-"));
    mkdirSync(join(dir, "node-a"));
    writeFileSync(join(dir, "node-a", "iptables-save.txt"), RULES);
    writeFileSync(join(dir, "node-a", "node.json"), JSON.stringify({ interfaces: [{ name: "eth0", addrs: ["192.168.0.11/24"] }, { name: "cni0", addrs: ["10.244.0.1/24"] }, { name: "kube-ipvs0", addrs: ["10.96.0.10/32"] }], routes: [] }));
    writeFileSync(join(dir, "node-a", "ipvsadm.txt"), IPVS);
    const c = loadCluster(dir);
    const { outcomes } = c.inputs.nodes[0]!.node.evaluate(packet("tcp 203.0.113.7:40000 -> 10.96.0.10:80 in eth0"));
    expect(outcomes.map((o) => o.steps.find((st) => st.table === "ipvs")?.ipvs?.server)).toContain("10.244.0.8:8080");
  });

  it("collect gathers the virtual servers in the kernel's order, and IPVS's sysctls apart (they exist only with ip_vs loaded)", () => {
    expect(COLLECTED).toContainEqual({ file: "ipvsadm.txt", command: ["ipvsadm", "-S", "-n", "--nosort"], required: false });
    expect(COLLECTED.find((c) => c.file === "sysctl-ipvs.txt")).toMatchObject({ command: ["sysctl", "net.ipv4.vs.conntrack", "net.ipv4.vs.sloppy_tcp"], required: false });
  });
});

describe("through the CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "netfate-ipvs-cli-"));
  const rules = join(dir, "rules.save");
  const ipvs = join(dir, "ipvsadm.txt");
  writeFileSync(rules, RULES);
  writeFileSync(ipvs, IPVS);
  const NODE = ["--iface", "eth0=192.168.0.11/24", "--iface", "cni0=10.244.0.1/24", "--local-addr", "10.96.0.10"];

  it("trace --ipvs: the IPVS step in text and JSON (the schema's `ipvs`)", async () => {
    const t = await run(["trace", "-q", "--rules", rules, "--ipvs", ipvs, ...NODE, "tcp 203.0.113.7:40000 -> 10.96.0.10:80 in eth0"]);
    expect(t.code).toBe(0);
    expect(t.out).toContain("INPUT       ipvs     TCP 10.96.0.10:80 #1  IPVS wlc → 10.244.0.8:8080 (Masq)");
    expect(t.out).toContain("      -a -t 10.96.0.10:80 -r 10.244.0.8:8080 -m -w 1");
    expect(t.out).toContain("how: wlc on a quiet node: no connections: the first server with weight > 0 in the list: assumed to be 10.244.0.8:8080");
    const j = JSON.parse((await run(["trace", "-q", "--json", "--rules", rules, "--ipvs", ipvs, ...NODE, "tcp 203.0.113.7:40000 -> 10.96.0.10:80 in eth0"])).out);
    const step = j.outcomes[0].steps.find((s: { table: string }) => s.table === "ipvs");
    expect(step).toMatchObject({ hook: "INPUT", chain: "TCP 10.96.0.10:80", text: "-A -t 10.96.0.10:80 -s wlc\n-a -t 10.96.0.10:80 -r 10.244.0.8:8080 -m -w 1" });
    expect(step.ipvs).toMatchObject({ service: "TCP 10.96.0.10:80", scheduler: "wlc", server: "10.244.0.8:8080", method: "masq" });
  });

  it("parse prints ipvsadm output back in ipvsadm-save -n form", async () => {
    const listing = join(dir, "listing.txt");
    writeFileSync(listing, "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  10.96.0.10:80 rr\n  -> 10.244.0.8:8080              Masq    1      0          0\n");
    const p = await run(["parse", listing]);
    expect(p.code).toBe(0);
    expect(p.out).toBe("-A -t 10.96.0.10:80 -s rr\n-a -t 10.96.0.10:80 -r 10.244.0.8:8080 -m -w 1\n");
  });

  it("the trace JSON schema allows the IPVS step", () => {
    const schema = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../src/explain/trace.schema.json"), "utf8"));
    const step = schema.$defs.outcome.properties.steps.items;
    expect(step.properties.table.enum).toContain("ipvs");
    expect(Object.keys(step.properties.ipvs.properties)).toEqual(["service", "scheduler", "server", "method", "choice", "lines"]);
  });
});
