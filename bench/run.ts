/**
 * `npm run bench`: parse speed and memory on generated kube-proxy dumps (10k and 30k
 * services) side by side with `iptables-restore --test`, per-packet evaluation cost for the
 * first, middle and last service, and batch throughput. Prints a table; numbers move with
 * the machine's load, so compare runs on the same machine.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { kubeProxyDump } from "./gen-kube-proxy.js";
import { clusterBench } from "./cluster.js";
import { nftBench } from "./nft.js";
import { firstAnswerBench } from "./first-answer.js";
import { batchBench } from "./batch.js";
import { diffBench } from "./diff.js";
import { parseRules } from "../src/parse.js";
import { buildNode } from "../src/netfilter/model.js";
import { listText } from "../src/print/listing.js";
import { tableSpecText } from "../src/print/save.js";
import { benchNode } from "./bench-node.js";
import type { PacketSpec } from "../src/model/packet.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const out = join(root, "bench", "out");
// The CLI as shipped (package.json `bin`, the bundle src/cli/build-cli.mjs writes).
const cli = join(root, "dist", "netfate.mjs");
const floor = join(root, "dist", "bench", "floor.js");

function dump(services: number): string {
  mkdirSync(out, { recursive: true });
  const f = join(out, `kube-proxy-${services}.save`);
  if (!existsSync(f)) writeFileSync(f, kubeProxyDump({ services }));
  return f;
}

/** Wall time and peak RSS of a command, best of `runs`. */
function measure(cmd: string, args: string[], runs: number, stdin?: string, discardOutput = false): { ms: number; rssMB?: number; ok: boolean } {
  let best = Infinity;
  let rss: number | undefined;
  let ok = true;
  const time = existsSync("/usr/bin/time");
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    // Large outputs (batch) go to /dev/null: only the time and the exit status matter here.
    const stdio = discardOutput ? (["pipe", "ignore", "pipe"] as const) : undefined;
    const opts = { input: stdin ? readFileSync(stdin) : undefined, encoding: "utf8" as const, maxBuffer: 1 << 28, ...(stdio ? { stdio: [...stdio] } : {}) };
    const r = time ? spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...args], opts) : spawnSync(cmd, args, opts);
    const ms = performance.now() - t0;
    if (r.status !== 0) ok = false;
    if (ms < best) best = ms;
    if (time) {
      const kb = Number((r.stderr ?? "").trim().split("\n").pop());
      if (Number.isFinite(kb)) rss = Math.max(rss ?? 0, kb / 1024);
    }
  }
  return { ms: best, ...(rss !== undefined ? { rssMB: rss } : {}), ok };
}

function iptablesRestoreTest(file: string): { ms: number } | string {
  if (process.getuid?.() !== 0) return "not root";
  const ns = "netfate-bench";
  spawnSync("ip", ["netns", "add", ns]);
  try {
    const r = measure("ip", ["netns", "exec", ns, "iptables-restore", "--test"], 3, file);
    return r.ok ? { ms: r.ms } : "iptables-restore failed";
  } finally {
    spawnSync("ip", ["netns", "del", ns]);
  }
}

function row(cells: (string | number)[]): string {
  return cells.map((c, i) => String(c).padStart(i === 0 ? 0 : 12).padEnd(i === 0 ? 34 : 0)).join("");
}

const node = benchNode;

async function main(): Promise<void> {
  console.log("netfate benchmarks\n");
  // `npm run bench -- cluster`: the cluster part alone.
  if (process.argv[2] === "cluster") return clusterBench(out, join(root, "dist", "bench"), row);
  if (process.argv[2] === "nft") return nftBench(out, cli, node, measure, row);
  if (process.argv[2] === "first-answer") return firstAnswerBench(out, cli, dump(10_000), row);
  if (process.argv[2] === "batch") return batchBench(out, cli, dump(10_000), row);
  if (process.argv[2] === "diff") return diffBench(out, cli, measure, row, iptablesRestoreTest);
  console.log(row(["parse (whole process, --summary)", "MB", "ms", "MB/s", "peak RSS MB", "restore ms"]));
  const times: Record<number, number> = {};
  for (const n of [10_000, 30_000]) {
    const f = dump(n);
    const mb = readFileSync(f).length / 1e6;
    const r = measure(process.execPath, [cli, "parse", "--summary", "--quiet", f], 3);
    times[n] = r.ms;
    const ipt = iptablesRestoreTest(f);
    console.log(row([`kube-proxy ${n} services`, mb.toFixed(1), r.ms.toFixed(0), (mb / (r.ms / 1000)).toFixed(1), r.rssMB?.toFixed(0) ?? "?", typeof ipt === "string" ? ipt : ipt.ms.toFixed(0)]));
    const fl = measure(process.execPath, [floor, f], 3);
    console.log(row([`  floor: node reads, splits words`, "", fl.ms.toFixed(0), (mb / (fl.ms / 1000)).toFixed(1), fl.rssMB?.toFixed(0) ?? "?", ""]));
  }
  console.log(`30k/10k time ratio: ${(times[30_000]! / times[10_000]!).toFixed(2)} (linear is 3.0)\n`);

  // ipsets: Calico and kube-proxy nodes carry sets of hundreds of thousands of members.
  console.log(row(["ipset save (whole process)", "MB", "ms", "MB/s", "peak RSS MB"]));
  const setTimes: number[] = [];
  for (const members of [200_000, 800_000]) {
    const sf = join(out, `ipset-${members}.save`);
    if (!existsSync(sf)) {
      const lines = [`create KUBE-MEMBERS hash:ip,port family inet hashsize 1024 maxelem ${members * 2}`];
      for (let i = 0; i < members; i++) lines.push(`add KUBE-MEMBERS 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255},tcp:${1024 + (i % 60000)}`);
      writeFileSync(sf, lines.join("\n") + "\n");
    }
    const smb = readFileSync(sf).length / 1e6;
    const r = measure(process.execPath, [cli, "parse", "--summary", "--quiet", sf], 3);
    setTimes.push(r.ms);
    console.log(row([`${members / 1000}k members`, smb.toFixed(1), r.ms.toFixed(0), (smb / (r.ms / 1000)).toFixed(1), r.rssMB?.toFixed(0) ?? "?"]));
  }
  console.log(`800k/200k time ratio: ${(setTimes[1]! / setTimes[0]!).toFixed(2)} (linear is 4.0)\n`);

  const f = dump(10_000);
  const text = readFileSync(f, "utf8");
  const rs = parseRules(text).value;

  // The listing formats, which users paste as often as dumps: print -nvL of the 10k dump, read it back.
  const t0 = performance.now();
  const listing = listText(rs, { numeric: true, verbose: true });
  const printMs = performance.now() - t0;
  const lf = join(out, "kube-proxy-10000.nvL");
  writeFileSync(lf, listing);
  const lmb = Buffer.byteLength(listing) / 1e6;
  const lr = measure(process.execPath, [cli, "parse", "--summary", "--quiet", "--format", "list", "--table", "nat", lf], 3);
  console.log(row(["listing -nvL (10k services)", "MB", "ms", "MB/s", "peak RSS MB"]));
  console.log(row(["print (in process)", lmb.toFixed(1), printMs.toFixed(0), (lmb / (printMs / 1000)).toFixed(1), ""]));
  console.log(row(["parse (whole process, --summary)", lmb.toFixed(1), lr.ms.toFixed(0), (lmb / (lr.ms / 1000)).toFixed(1), lr.rssMB?.toFixed(0) ?? "?"]));
  // And `iptables -t nat -S`, the other text users have at hand.
  const sf = join(out, "kube-proxy-10000.S");
  const spec = rs.tables.map((t) => tableSpecText(t, rs.family)).join("");
  writeFileSync(sf, spec);
  const smb = Buffer.byteLength(spec) / 1e6;
  const sr = measure(process.execPath, [cli, "parse", "--summary", "--quiet", "--format", "S", "--table", "nat", sf], 3);
  console.log(row(["-S (10k services), parse", smb.toFixed(1), sr.ms.toFixed(0), (smb / (sr.ms / 1000)).toFixed(1), sr.rssMB?.toFixed(0) ?? "?"]));
  console.log();
  const ips = text.split("\n").filter((l) => l.startsWith("-A KUBE-SERVICES -d")).map((l) => /-d (\S+)\/32/.exec(l)![1]!);
  const n = buildNode({ rulesets: [rs], node });
  console.log(row(["evaluate (10k services)", "µs/packet", "packets/s", "outcomes"]));
  for (const [name, ip] of [["first service", ips[0]!], ["middle service", ips[Math.floor(ips.length / 2)]!], ["last service", ips[ips.length - 1]!]] as const) {
    const p: PacketSpec = { family: "ipv4", from: "eth0", src: "192.168.0.50", dst: ip, proto: 6, sport: 40000, dport: 80, tcpFlags: 2 };
    // Warm up until the JIT has settled: the first thousand evaluations run slower code.
    for (let i = 0; i < 3000; i++) n.evaluate(p);
    const N = 5000;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) n.evaluate(p);
    const us = ((performance.now() - t0) * 1000) / N;
    console.log(row([name, us.toFixed(1), (1e6 / us).toFixed(0), n.evaluate(p).outcomes.length]));
  }

  console.log();
  batchBench(out, cli, f, row);
  await firstAnswerBench(out, cli, f, row);
  console.log();
  nftBench(out, cli, node, measure, row);
  clusterBench(out, join(root, "dist", "bench"), row);
  diffBench(out, cli, measure, row, iptablesRestoreTest);
}

await main();
