/**
 * `batch --jobs N`: worker threads answer the packets, and what the command writes is what it
 * writes alone (`--jobs 1`), byte for byte, in the input's order: the whole trace and every
 * compact field, on every sample and on a generated kube-proxy dump of the 10k dump's shape.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { SAMPLE_INPUTS, SAMPLES, SAMPLES_DIR } from "../browser/sample-packets.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";
import { packetMix } from "../../bench/batch.js";
import { AHEAD_BYTES, AHEAD_PER_WORKER, autoJobs, jobsOf, laneOf } from "../../src/cli/commands/batch-parallel.js";
import { parseArgs } from "../../src/cli/args.js";
import { BATCH_FLAGS } from "../../src/cli/commands/batch-flags.js";
import { processIO } from "../../src/cli/io.js";

const root = resolve(import.meta.dirname, "../..");
const bin = resolve(root, "dist/src/cli/main.js");
const dir = mkdtempSync(join(tmpdir(), "netfate-batch-parallel-"));
const ALL_FIELDS = "line,packet,outcome,fate,detail,rule,probability,final,nat,given,assumptions";

function batch(args: string[], input?: string) {
  // (A batch whose workers wait for each other forever fails here instead of holding the run.)
  const r = spawnSync(process.execPath, [bin, "batch", ...args], { cwd: root, encoding: "utf8", maxBuffer: 1 << 28, timeout: 240_000, ...(input !== undefined ? { input } : {}) });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The flags each sample's packets are traced with (packets naming other files are grouped by them). */
function sampleGroups(sample: string): Array<{ flags: string[]; packets: string[] }> {
  const sdir = resolve(SAMPLES_DIR, sample);
  const entries: Array<{ packet: string; rules?: string; node?: string; name: string }> = JSON.parse(readFileSync(resolve(sdir, "packets.json"), "utf8"));
  const groups = new Map<string, { flags: string[]; packets: string[] }>();
  for (const e of entries) {
    const files = SAMPLE_INPUTS[sample]!(e);
    const list = (f: string | readonly string[] | undefined) => (f === undefined ? [] : typeof f === "string" ? [f] : f).map((x) => resolve(sdir, x));
    const flags = [
      ...list(files.rules).flatMap((f) => ["--rules", f]),
      ...list(files.node).flatMap((f) => ["--node", f]),
      ...list(files.ipsets).flatMap((f) => ["--ipsets", f]),
      ...list(files.ipvs).flatMap((f) => ["--ipvs", f]),
    ];
    const key = flags.join(" ");
    const g = groups.get(key) ?? { flags, packets: [] };
    g.packets.push(e.packet);
    groups.set(key, g);
  }
  return [...groups.values()];
}

describe("batch --jobs N answers as --jobs 1 does", () => {
  it.each(SAMPLES)("%s: whole traces and every field, same bytes, same order, same summary", (sample) => {
    for (const [g, { flags, packets }] of sampleGroups(sample).entries()) {
      // Enough lines for several chunks per worker, with blank and unreadable lines among them.
      const lines: string[] = [];
      for (let i = 0; lines.length < 1200; i++) {
        lines.push(packets[i % packets.length]!);
        if (i % 97 === 0) lines.push("");
        if (i % 251 === 0) lines.push("not a packet");
      }
      const file = join(dir, `${sample}-${g}.txt`);
      writeFileSync(file, lines.join("\n") + "\n");
      for (const mode of [[], ["--fields", ALL_FIELDS], ["--fields", ALL_FIELDS, "--format", "json"]]) {
        const one = batch([...flags, ...mode, "--jobs", "1", "--packets", file]);
        const three = batch([...flags, ...mode, "--jobs", "3", "--packets", file]);
        expect(one.code).toBe(2);
        expect(three.code, three.err).toBe(one.code);
        expect(three.out === one.out, `${sample} ${mode.join(" ")}: outputs differ`).toBe(true);
        expect(three.err).toBe(one.err);
      }
    }
  }, 300_000);

  it("a kube-proxy dump of the 10k dump's shape (400 services), 3,000 new connections", () => {
    const dump = join(dir, "kube-proxy-400.save");
    writeFileSync(dump, kubeProxyDump({ services: 400 }));
    const ips = readFileSync(dump, "utf8").split("\n").filter((l) => l.startsWith("-A KUBE-SERVICES -d")).map((l) => /-d (\S+)\/32/.exec(l)![1]!);
    const packets = join(dir, "mix.txt");
    writeFileSync(packets, packetMix(ips, 3000));
    const inputs = ["-q", "--rules", dump, "--iface", "eth0=192.168.0.11/24", "--iface", "cni0=10.244.0.1/16", "--route", "default via 192.168.0.1 dev eth0"];
    for (const mode of [[], ["--fields", "fate,final,rule,probability"]]) {
      const one = batch([...inputs, ...mode, "--jobs", "1", "--packets", packets]);
      const two = batch([...inputs, ...mode, "--jobs", "2", "--packets", packets]);
      expect(one.code, one.err).toBe(0);
      expect(two.code, two.err).toBe(0);
      expect(two.out === one.out, `${mode.join(" ")}: outputs differ`).toBe(true);
      expect(two.out.split("\n").length).toBeGreaterThan(3000);
    }
  }, 300_000);
});

describe("batch --jobs: what is read ahead is bounded", () => {
  it("more lines than the workers may be ahead by, and more answer bytes than the bound: same bytes, same order", () => {
    const fw = ["-q", "--rules", "samples/host-firewall/rules.save", "--node", "samples/host-firewall/node.json"];
    // Past the bound in lines (AHEAD_PER_WORKER a worker) with two workers, one sent one line in
    // a hundred (its destination): when the bound is reached, lines it has been given wait in its
    // next chunk, the first not written among them. Unreadable lines among them.
    const [busy, rare] = ["192.168.0.11", "192.168.0.12"];
    expect(laneOf(`tcp 1.2.3.4:5 -> ${busy}:22`, 2)).not.toBe(laneOf(`tcp 1.2.3.4:5 -> ${rare}:22`, 2));
    const lines: string[] = [];
    for (let i = 0; lines.length < 2 * AHEAD_PER_WORKER + 12_000; i++) {
      lines.push(`tcp 203.0.113.${i % 250}:${1024 + (i % 60000)} -> ${i % 100 === 0 ? rare : busy}:${i % 5 === 0 ? 443 : 22} in eth0`);
      if (i % 1013 === 0) lines.push("not a packet");
    }
    const file = join(dir, "ahead.txt");
    writeFileSync(file, lines.join("\n") + "\n");
    for (const mode of [["--fields", "line,fate,rule"], ["--verbose"]]) {
      const one = batch([...fw, ...mode, "--jobs", "1", "--packets", file]);
      const two = batch([...fw, ...mode, "--jobs", "2", "--packets", file]);
      expect(two.code, two.err).toBe(one.code);
      expect(two.out === one.out, `${mode.join(" ")}: outputs differ`).toBe(true);
      // The whole traces (with the rules tried) are more than the bound in bytes: its wait was taken too.
      if (mode[0] === "--verbose") expect(one.out.length).toBeGreaterThan(AHEAD_BYTES);
    }
  }, 300_000);
});

describe("batch --jobs: what it refuses and how it fails", () => {
  const fw = ["--rules", "samples/host-firewall/rules.save", "--node", "samples/host-firewall/node.json"];
  const file = join(dir, "two.txt");
  writeFileSync(file, "tcp 203.0.113.7:51000 -> 192.168.0.11:22 in eth0\ntcp 10.1.2.3:5 -> 192.168.0.11:22 in eth0\n");

  it("a number of workers from 1 to 16, nothing else", () => {
    for (const bad of ["0", "17", "two", "-1", "1.5"]) {
      const r = batch([...fw, "--jobs", bad, "--packets", file]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/--jobs takes a number of workers from 1 to 16/);
    }
  });

  it("inputs on stdin, or packets through a pipe, are refused with more than one worker", () => {
    const rules = readFileSync(resolve(root, "samples/host-firewall/rules.save"), "utf8");
    const a = batch(["--rules", "-", "--jobs", "2", "--packets", file], rules);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/--jobs 2: each worker reads the inputs, and stdin can be read once/);
    const b = batch([...fw, "--jobs", "2", "--packets", "-"], "tcp 10.1.2.3:5 -> 192.168.0.11:22 in eth0\n");
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--jobs 2: the packets come through a pipe/);
  });

  it("an input a worker cannot read is the same usage error as without workers", () => {
    const one = batch(["--rules", join(dir, "missing.save"), "--jobs", "1", "--packets", file]);
    const two = batch(["--rules", join(dir, "missing.save"), "--jobs", "2", "--packets", file]);
    expect(one.code).toBe(2);
    expect(two.code).toBe(2);
    expect(two.err).toBe(one.err);
    expect(two.out).toBe("");
  });

  it("notes of loading are said once, not once per worker", () => {
    const r = batch([...fw, "--jobs", "2", "--packets", file]);
    expect(r.code).toBe(0);
    const one = batch([...fw, "--jobs", "1", "--packets", file]);
    expect(r.err).toBe(one.err);
  });
});

describe("laneOf", () => {
  it("sends a destination to one worker whatever its source, port or form", () => {
    const a = laneOf("tcp 192.168.1.2:4000 -> 10.96.0.10:80 in eth0", 7);
    expect(laneOf("tcp 10.244.3.3:5 -> 10.96.0.10:80 in cni0", 7)).toBe(a);
    expect(laneOf("udp 10.244.3.3:5 -> 10.96.0.10:53", 7)).toBe(a);
    expect(laneOf('{"src":"1.2.3.4","dst":"10.96.0.10","proto":"tcp","dport":80}', 7)).toBe(laneOf('{"src":"5.6.7.8","dst":"10.96.0.10","dport":443}', 7));
    expect(laneOf("garbage", 3)).toBe(0);
    // IPv6 destinations are told apart by the whole address, not its first group.
    const v6 = new Set(Array.from({ length: 16 }, (_, i) => laneOf(`tcp [2001:db8::1]:5 -> [2001:db8::${i + 1}]:80`, 4)));
    expect(v6.size).toBeGreaterThan(1);
  });
});

describe("batch without --jobs: how many workers", () => {
  const big = 4 << 20;
  it("two for a large batch, full trace or fields, with a processor to spare, else one", () => {
    expect(autoJobs({ bytes: big, cores: 2, load: 0.5 })).toBe(2);
    expect(autoJobs({ bytes: big, cores: 8, load: 0 })).toBe(2);
    expect(autoJobs({ bytes: big, cores: 2, load: 1.5 })).toBe(1);
    expect(autoJobs({ bytes: 1000, cores: 2, load: 0 })).toBe(1);
    expect(autoJobs({ bytes: big, cores: 1, load: 0 })).toBe(1);
  });
  it("a packets file of 1 MiB or less is answered in this process, full trace or fields", () => {
    const file = join(dir, "small-packets.txt");
    writeFileSync(file, "tcp 10.1.2.3:5 -> 192.168.0.11:22 in eth0\n".repeat(20_000));
    expect(jobsOf(parseArgs(["--packets", file], BATCH_FLAGS), file, processIO)).toBe(1);
    expect(jobsOf(parseArgs(["--packets", file, "--fields", "fate"], BATCH_FLAGS), file, processIO)).toBe(1);
  });
});
