/**
 * `--cache DIR` through the commands: every packet of every sample with iptables dumps gets
 * the same words, JSON and exit code with and without the cache, both when the cache is
 * written (first run) and when it is read (second run); a damaged entry is said on stderr and
 * changes nothing else; NETFATE_CACHE names the directory when --cache is not given.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../support/cli-in-process.js";

const root = resolve(import.meta.dirname, "../..");
const s = (...p: string[]) => resolve(root, "samples", ...p);

interface Entry {
  name: string;
  packet: string;
  rules?: string;
}

/** The samples whose rules are iptables dumps (the ones the cache keeps), as their README runs them. */
const INPUTS: Record<string, (e: Entry) => string[]> = {
  "000-calico-ipip-ipvs-policy": () => ["--rules", s("000-calico-ipip-ipvs-policy/filter.save"), "--rules", s("000-calico-ipip-ipvs-policy/nat.save"), "--ipsets", s("000-calico-ipip-ipvs-policy/ipsets.save"), "--node", s("000-calico-ipip-ipvs-policy/node.json"), "--ipvs", s("000-calico-ipip-ipvs-policy/ipvsadm.txt")],
  "001-flannel-udp-clusterip-from-node": (e) => ["--rules", s("001-flannel-udp-clusterip-from-node", e.rules!), "--node", s("001-flannel-udp-clusterip-from-node/worker-node.json"), "--node", s("001-flannel-udp-clusterip-from-node/worker-route-n.txt")],
  "004-kube-proxy-nodeport": () => ["--rules", s("004-kube-proxy-nodeport/rules.save"), "--node", s("004-kube-proxy-nodeport/node.json")],
  "005-aws-vpc-cni-policy-routing": () => ["--rules", s("005-aws-vpc-cni-policy-routing/rules.save"), "--node", s("005-aws-vpc-cni-policy-routing/node.json")],
  "009-iptables-nft-mixed": () => ["--rules", s("009-iptables-nft-mixed/iptables.save"), "--rules", s("009-iptables-nft-mixed/ruleset.nft"), "--node", s("009-iptables-nft-mixed/node.json")],
  "host-firewall": () => ["--rules", s("host-firewall/rules.save"), "--node", s("host-firewall/node.json")],
  "kube-proxy-basic": () => ["--rules", s("kube-proxy-basic/rules.save"), "--node", s("kube-proxy-basic/node.json")],
};

function entriesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(".entry"));
}

describe("answers are the same with and without the cache", () => {
  for (const [sample, inputs] of Object.entries(INPUTS)) {
    const entries: Entry[] = JSON.parse(readFileSync(s(sample, "packets.json"), "utf8"));
    it(sample, async () => {
      const dir = mkdtempSync(join(tmpdir(), "netfate-cli-cache-"));
      for (const e of entries) {
        for (const form of [["why-dropped"], ["trace"], ["trace", "--json"], ["why-dropped", "--format", "json"]]) {
          const argv = [...form, ...inputs(e), e.packet];
          const plain = await runCli(argv);
          const written = await runCli([...argv, "--cache", dir]);
          const read = await runCli([...argv, "--cache", dir]);
          for (const r of [written, read]) {
            expect(r.code, `${e.name} ${form.join(" ")}`).toBe(plain.code);
            expect(r.out).toBe(plain.out);
            expect(r.err).toBe(plain.err);
          }
        }
      }
      // Listings (.nvL) are parsed each time; iptables-save dumps are kept.
      const saves = entries.some((e) => inputs(e).some((a) => a.endsWith(".save")));
      expect(entriesIn(dir).length > 0).toBe(saves);
    });
  }
});

describe("a damaged entry", () => {
  it("is said on stderr, and the answer is the same", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netfate-cli-cache-"));
    const argv = ["why-dropped", "--rules", s("kube-proxy-basic/rules.save"), "--node", s("kube-proxy-basic/node.json"), "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0"];
    const plain = await runCli(argv);
    await runCli([...argv, "--cache", dir]);
    const [entry] = entriesIn(dir);
    const data = readFileSync(join(dir, entry!));
    writeFileSync(join(dir, entry!), data.subarray(0, data.length >> 1));
    const r = await runCli([...argv, "--cache", dir]);
    expect(r.code).toBe(plain.code);
    expect(r.out).toBe(plain.out);
    expect(r.err).toBe(`netfate: note: cache entry ${join(dir, entry!)} ignored: truncated (${(data.length >> 1) - data.indexOf(10, data.indexOf(10) + 1) - 1} of ${data.length - data.indexOf(10, data.indexOf(10) + 1) - 1} bytes); parsing again and rewriting it\n${plain.err}`);
    // Rewritten whole: read again without a word.
    expect(await runCli([...argv, "--cache", dir])).toEqual(plain);
  });
});

describe("NETFATE_CACHE", () => {
  const before = process.env.NETFATE_CACHE;
  afterEach(() => {
    if (before === undefined) delete process.env.NETFATE_CACHE;
    else process.env.NETFATE_CACHE = before;
  });

  it("names the directory when --cache is not given", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netfate-cli-cache-"));
    process.env.NETFATE_CACHE = dir;
    const argv = ["why-dropped", "--rules", s("host-firewall/rules.save"), "--node", s("host-firewall/node.json"), "tcp 203.0.113.9:40000 -> 192.168.0.11:22 in eth0"];
    const r = await runCli(argv);
    expect(entriesIn(dir)).toHaveLength(1);
    delete process.env.NETFATE_CACHE;
    expect(await runCli(argv)).toEqual(r);
  });
});

describe("parse --summary", () => {
  it("reads and writes the same entries, and says the same counts and diagnostics", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netfate-cli-cache-"));
    const argv = ["parse", "--summary", s("kube-proxy-basic/rules.save"), s("host-firewall/rules.save")];
    const plain = await runCli(argv);
    expect(await runCli([...argv, "--cache", dir])).toEqual(plain);
    expect(entriesIn(dir)).toHaveLength(2);
    expect(await runCli([...argv, "--cache", dir])).toEqual(plain);
    // What why-dropped wrote, parse reads (one entry per dump, whichever command made it).
    await runCli(["why-dropped", "--rules", s("kube-proxy-basic/rules.save"), "--cache", dir, "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0"]);
    expect(entriesIn(dir)).toHaveLength(2);
  });
});
