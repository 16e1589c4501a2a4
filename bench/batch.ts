/**
 * `npm run bench -- batch`: `netfate batch` on the generated 10,000-service kube-proxy dump,
 * whole process, output to a file, side by side in one run: the full trace (the default), the
 * compact fields (`--fields fate,final,rule,probability`, text and JSON), and `parse --summary`
 * of the same dump (what loading it costs before any packet), each in this process (`--jobs 1`)
 * and, for the full trace and the compact fields, with two worker threads (`--jobs 2`). Packets
 * per second count the whole process; "per packet" takes the load away (batch time less parse
 * time, per packet). Then the steady state: the same packets answered twice in this process
 * with the dump loaded once (steadyBench).
 *
 * The packets are new connections spread over every service (a fixed pseudo-random mix):
 * 70% TCP from clients outside the cluster (eth0, 192.168.0.0/16) to a ClusterIP:80, 20% TCP
 * from pods (cni0, 10.244.0.0/16) to a ClusterIP:80, 5% TCP to a NodePort on the node's
 * address, 5% UDP from pods to a ClusterIP:53 (no such service port: passes untranslated).
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

type Row = (cells: (string | number)[]) => string;

/** A fixed mix of new connections over the dump's services (see the file's comment). */
export function packetMix(clusterIps: readonly string[], count: number): string {
  let x = 12345;
  const rnd = () => {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return x / 2 ** 32;
  };
  const pick = (n: number) => Math.floor(rnd() * n);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = rnd();
    const svc = clusterIps[pick(clusterIps.length)]!;
    const sport = 1024 + pick(64000);
    if (r < 0.7) lines.push(`tcp 192.168.${1 + pick(250)}.${1 + pick(250)}:${sport} -> ${svc}:80 in eth0`);
    else if (r < 0.9) lines.push(`tcp 10.244.${pick(250)}.${2 + pick(250)}:${sport} -> ${svc}:80 in cni0`);
    // Every fourth service has a NodePort, 30000 + (s % 2767).
    else if (r < 0.95) lines.push(`tcp 192.168.${1 + pick(250)}.${1 + pick(250)}:${sport} -> 192.168.0.11:${30000 + 4 * pick(690)} in eth0`);
    else lines.push(`udp 10.244.${pick(250)}.${2 + pick(250)}:${sport} -> ${svc}:53 in cni0`);
  }
  return lines.join("\n") + "\n";
}

/** Wall time of a command with its stdout to a file, best of `runs`, the output's size, and its peak RSS (MiB, largest of the runs; when /usr/bin/time is there to say). */
function timed(args: string[], outFile: string, runs: number): { ms: number; bytes: number; ok: boolean; rssMiB?: number } {
  let best = Infinity;
  let ok = true;
  let rssMiB: number | undefined;
  const time = existsSync("/usr/bin/time");
  for (let i = 0; i < runs; i++) {
    const fd = openSync(outFile, "w");
    const t0 = performance.now();
    const r = time
      ? spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, ...args], { stdio: ["ignore", fd, "pipe"], encoding: "utf8" })
      : spawnSync(process.execPath, args, { stdio: ["ignore", fd, "pipe"] });
    const ms = performance.now() - t0;
    closeSync(fd);
    if (r.status !== 0) ok = false;
    best = Math.min(best, ms);
    const kb = time ? Number(String(r.stderr).trim().split("\n").pop()) : NaN;
    if (Number.isFinite(kb)) rssMiB = Math.max(rssMiB ?? 0, kb / 1024);
  }
  return { ms: best, bytes: statSync(outFile).size, ok, ...(rssMiB !== undefined ? { rssMiB } : {}) };
}

export function batchBench(out: string, cli: string, dumpFile: string, row: Row, count = Number(process.env.BATCH_PACKETS ?? 100_000)): void {
  const ips = readFileSync(dumpFile, "utf8").split("\n").filter((l) => l.startsWith("-A KUBE-SERVICES -d")).map((l) => /-d (\S+)\/32/.exec(l)![1]!);
  const packets = join(out, `packets-mix-${count}.txt`);
  if (!existsSync(packets)) writeFileSync(packets, packetMix(ips, count));
  const inputs = ["--rules", dumpFile, "--iface", "eth0=192.168.0.11/24", "--iface", "cni0=10.244.0.1/16", "--route", "default via 192.168.0.1 dev eth0"];
  const runs = Number(process.env.BATCH_RUNS ?? 1);
  const parse = timed([cli, "parse", "--summary", "--quiet", dumpFile], join(out, "batch-parse.out"), runs);
  const cases: Array<[string, string[]]> = [
    ["full trace (default), --jobs 1", ["--jobs", "1"]],
    ["  the same, --jobs 2", ["--jobs", "2"]],
    ["--fields fate,final,rule,probability, --no-memo, --jobs 1", ["--jobs", "1", "--no-memo", "--fields", "fate,final,rule,probability"]],
    ["  the same, --no-memo, --jobs 2", ["--jobs", "2", "--no-memo", "--fields", "fate,final,rule,probability"]],
    ["  the same (memo, the default), --jobs 1", ["--jobs", "1", "--fields", "fate,final,rule,probability"]],
    ["  the same (memo, the default), --jobs 2", ["--jobs", "2", "--fields", "fate,final,rule,probability"]],
    ["  the same, --format json, --jobs 1", ["--jobs", "1", "--fields", "fate,final,rule,probability", "--format", "json"]],
    ["--fields fate, --jobs 1", ["--jobs", "1", "--fields", "fate"]],
  ];
  console.log(`batch: ${count.toLocaleString("en")} packets (new connections over 10k services), output to a file, whole process`);
  console.log(row(["", "s", "packets/s", "µs/packet*", "bytes/packet", "× as fast", "peak MiB"]));
  const rss = (r: { rssMiB?: number }) => (r.rssMiB === undefined ? "" : r.rssMiB.toFixed(0));
  console.log(row(["parse --summary (the load alone)", (parse.ms / 1000).toFixed(2), "", "", "", "", rss(parse)]));
  let full: number | undefined;
  for (const [name, extra] of cases) {
    const r = timed([cli, "batch", "--quiet", ...inputs, ...extra, "--packets", packets], join(out, "batch.out"), runs);
    full ??= r.ms;
    const perPacket = ((r.ms - parse.ms) * 1000) / count;
    console.log(row([name, r.ok ? (r.ms / 1000).toFixed(2) : "failed", (count / (r.ms / 1000)).toFixed(0), perPacket.toFixed(1), (r.bytes / count).toFixed(0), (full / r.ms).toFixed(2), rss(r)]));
  }
  console.log("* (batch time − parse time) / packets: what a packet costs once the dump is loaded\n");
  largeBatch(out, ips, inputs, cli, row, rss, parse.ms);
  // In a process of its own: loading the dump there leaves this one's memory as it was.
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), STEADY, cli, packets, ...inputs], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) console.log(`steady state: failed (exit ${r.status})\n`);
}

/**
 * A rate means most on a stream long enough that the load and the first visit of each
 * service's chains are a small part of it: the same mix, BATCH_LARGE packets (1,000,000 unless
 * given; 0 skips it), compact fields only (the full trace would be ~9 GB). A million packets
 * over 10k services repeat each memo key about 30 times, where the 100k above repeat it 3 times.
 */
function largeBatch(out: string, ips: string[], inputs: string[], cli: string, row: Row, rss: (r: { rssMiB?: number }) => string, parseMs: number): void {
  const count = Number(process.env.BATCH_LARGE ?? 1_000_000);
  if (!count) return;
  const packets = join(out, `packets-mix-${count}.txt`);
  if (!existsSync(packets)) writeFileSync(packets, packetMix(ips, count));
  const fields = ["--fields", "fate,final,rule,probability"];
  const cases: Array<[string, string[]]> = [
    ["--fields --no-memo, --jobs 1", ["--jobs", "1", "--no-memo", ...fields]],
    ["--fields --no-memo, --jobs 2", ["--jobs", "2", "--no-memo", ...fields]],
    ["--fields (memo, the default), --jobs 1", ["--jobs", "1", ...fields]],
    ["--fields (memo, the default), --jobs 2", ["--jobs", "2", ...fields]],
  ];
  console.log(`batch: ${count.toLocaleString("en")} packets (the same mix), output to a file, whole process`);
  console.log(row(["", "s", "packets/s", "µs/packet*", "bytes/packet", "", "peak MiB"]));
  for (const [name, extra] of cases) {
    const r = timed([cli, "batch", "--quiet", ...inputs, ...extra, "--packets", packets], join(out, "batch-large.out"), 1);
    console.log(row([name, r.ok ? (r.ms / 1000).toFixed(2) : "failed", (count / (r.ms / 1000)).toFixed(0), (((r.ms - parseMs) * 1000) / count).toFixed(1), (r.bytes / count).toFixed(0), "", rss(r)]));
  }
  console.log("");
}

const STEADY = "--steady-batch";

/**
 * The same packets answered in this process by the CLI's own line answerer, the dump loaded
 * once: the first pass (each service's chains compiled when a packet first reaches them) and
 * the second (every chain compiled: the steady state of a long batch). CPU time beside wall
 * time: on a shared machine the CPU time is the steadier figure.
 */
async function steadyBench(cli: string, packets: string, inputs: string[], row: Row): Promise<void> {
  // The modules as tsc wrote them, by their typed names (the shipped CLI is a bundle whose parts have none).
  const { parseArgs } = await import("../src/cli/args.js");
  const { BATCH_FLAGS } = await import("../src/cli/commands/batch-flags.js");
  const { lineAnswerer } = await import("../src/cli/commands/batch-answer.js");
  const { InputReader } = await import("../src/cli/load.js");
  const lines = readFileSync(packets, "utf8").split("\n").filter((l) => l !== "").map((text, i) => ({ line: i + 1, text }));
  const io = { out: () => {}, err: () => {}, readStdin: () => "", isTTY: false };
  console.log(`batch in one process, the dump loaded once: ${lines.length.toLocaleString("en")} packets, answered twice`);
  console.log(row(["", "pass", "wall s", "packets/s", "cpu µs/packet", "chars/packet", "RSS MiB"]));
  const fields = ["--fields", "fate,final,rule,probability"];
  for (const [name, extra] of [["full trace (default)", []], ["--fields fate,final,rule,probability, --no-memo", [...fields, "--no-memo"]], ["  the same (memo, the default)", fields]] as const) {
    const args = parseArgs([...inputs, ...extra, "--packets", packets], BATCH_FLAGS);
    const answer = lineAnswerer(args, io, new InputReader(io, args), true);
    for (const pass of ["first", "steady"]) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      let bytes = 0;
      for (const l of lines) bytes += answer(l)?.text.length ?? 0;
      const c = process.cpuUsage(c0);
      const s = (performance.now() - t0) / 1000;
      console.log(row([pass === "first" ? name : "", pass, s.toFixed(2), (lines.length / s).toFixed(0), ((c.user + c.system) / lines.length).toFixed(1), (bytes / lines.length).toFixed(0), (process.memoryUsage().rss / 2 ** 20).toFixed(0)]));
    }
    // The flow memo (--fields): how many packets it answered, over both passes.
    const m = answer.memo;
    if (m) console.log(`  flow memo: ${m.hits.toLocaleString("en")} of ${(m.hits + m.misses).toLocaleString("en")} packets answered from it (${((100 * m.hits) / (m.hits + m.misses)).toFixed(1)}%), ${m.unkept} evaluated answers not kept`);
  }
  console.log("");
}

if (process.argv[2] === STEADY) {
  const [cli, packets, ...inputs] = process.argv.slice(3);
  const row: Row = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(44) : String(c).padStart(13))).join("");
  await steadyBench(cli!, packets!, inputs, row);
}
