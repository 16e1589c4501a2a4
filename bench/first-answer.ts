/**
 * `npm run bench -- first-answer`: how long a user waits, whole process, on the 10k-service
 * kube-proxy dump, beside `iptables-restore --test` of the same dump in the same run: CLI
 * start-up (an empty dump), `parse --summary`, the first `why-dropped` (parse and evaluate; of
 * the first service and of one halfway down KUBE-SERVICES),
 * a further `why-dropped` and `parse --summary` with a warm `--cache`, and a further
 * `why-dropped` sent to a running `netfate serve` (NETFATE_SERVER). The commands run in
 * turn, round after round, so that the machine's load moves them alike; medians (and minimums)
 * of the rounds, and each median as a ratio to restore's.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Row = (cells: (string | number)[]) => string;

interface Command {
  name: string;
  cmd: string;
  args: string[];
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  /** Exit codes that mean it ran as it should. */
  ok: number[];
}

function time(c: Command): number | undefined {
  const t0 = performance.now();
  const r = spawnSync(c.cmd, c.args, { input: c.stdin ? readFileSync(c.stdin) : undefined, stdio: [c.stdin ? "pipe" : "ignore", "ignore", "ignore"], maxBuffer: 1 << 28, ...(c.env ? { env: c.env } : {}) });
  const ms = performance.now() - t0;
  return r.status !== null && c.ok.includes(r.status) ? ms : undefined;
}

/** The cluster IP of the service whose KUBE-SERVICES rule is halfway down the chain. */
function middleServiceAddress(dump: string): string {
  const ips = [...readFileSync(dump, "utf8").matchAll(/^-A KUBE-SERVICES -d (\S+)\/32 /gm)].map((m) => m[1]!);
  if (ips.length === 0) throw new Error(`${dump}: no KUBE-SERVICES rule with a cluster IP`);
  return ips[ips.length >> 1]!;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export async function firstAnswerBench(out: string, cli: string, dump: string, row: Row, rounds = 7): Promise<void> {
  const empty = join(out, "empty.save");
  if (!existsSync(empty)) writeFileSync(empty, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n");
  const cache = mkdtempSync(join(tmpdir(), "netfate-bench-cache-"));
  // A server for the further answers sent to it: started once, asked in every round.
  const socket = join(cache, "serve.sock");
  const server = spawn(process.execPath, [cli, "serve", "--socket", socket], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NETFATE_SERVER: "" } });
  await new Promise<void>((ok) => {
    server.stderr!.on("data", (b: Buffer) => {
      if (b.toString().includes("answering at")) ok();
    });
    server.once("exit", () => ok());
  });
  const node = process.execPath;
  const packet = "tcp 192.168.0.50:40000 -> 10.96.0.10:80 in eth0";
  // The first service's rule is near the top of KUBE-SERVICES; one halfway down is what a user
  // asks about as often, and its first answer binds the rules above it (and, past the first few
  // dozen, the whole chain): measured too, so that the figure is not only the easy case.
  const middle = `tcp 192.168.0.50:40000 -> ${middleServiceAddress(dump)}:80 in eth0`;
  const facts = ["--iface", "eth0=192.168.0.11/24", "--iface", "cni0=10.244.0.1/16"];
  // why-dropped exits 0 (all through), 1 (some lost) or 3 (some cannot be told): each is an answer.
  const answered = [0, 1, 3];
  const commands: Command[] = [
    { name: "CLI start-up (why-dropped, empty dump)", cmd: node, args: [cli, "why-dropped", "-q", "--rules", empty, ...facts, packet], ok: answered },
    { name: "parse --summary", cmd: node, args: [cli, "parse", "--summary", "--quiet", dump], ok: [0] },
    { name: "why-dropped, first answer", cmd: node, args: [cli, "why-dropped", "-q", "--rules", dump, ...facts, packet], ok: answered },
    { name: "why-dropped, first answer, a service halfway down", cmd: node, args: [cli, "why-dropped", "-q", "--rules", dump, ...facts, middle], ok: answered },
    { name: "why-dropped, warm --cache", cmd: node, args: [cli, "why-dropped", "-q", "--cache", cache, "--rules", dump, ...facts, packet], ok: answered },
    { name: "parse --summary, warm --cache", cmd: node, args: [cli, "parse", "--summary", "--quiet", "--cache", cache, dump], ok: [0] },
    { name: "why-dropped, through netfate serve", cmd: node, args: [cli, "why-dropped", "-q", "--rules", dump, ...facts, packet], env: { ...process.env, NETFATE_SERVER: socket }, ok: answered },
    { name: "Node itself (node -e 0)", cmd: node, args: ["-e", "0"], ok: [0] },
  ];
  // Its own namespace: another bench run on the machine adds and deletes its own.
  const ns = `netfate-bench-first-${process.pid}`;
  const root = process.getuid?.() === 0;
  if (root) {
    spawnSync("ip", ["netns", "add", ns]);
    commands.push({ name: "iptables-restore --test (netns)", cmd: "ip", args: ["netns", "exec", ns, "iptables-restore", "--test"], stdin: dump, ok: [0] });
  }
  try {
    // Warms the cache (and the file system's) before the rounds.
    for (const c of commands) time(c);
    const times = commands.map(() => [] as number[]);
    const failed = new Set<string>();
    for (let r = 0; r < rounds; r++) {
      commands.forEach((c, k) => {
        const ms = time(c);
        if (ms === undefined) failed.add(c.name);
        else times[k]!.push(ms);
      });
    }
    const restore = root && times[commands.length - 1]!.length ? median(times[commands.length - 1]!) : undefined;
    console.log(row(["first answer (whole process, 10k services)", "median ms", "min ms", "× restore"]));
    commands.forEach((c, k) => {
      const t = times[k]!;
      if (failed.has(c.name) || t.length === 0) return console.log(row([c.name, "failed", "", ""]));
      const m = median(t);
      console.log(row([c.name, m.toFixed(0), Math.min(...t).toFixed(0), restore ? (m / restore).toFixed(2) : root ? "?" : "not root"]));
    });
    console.log(`(${rounds} rounds, the commands in turn; the goal is at most 0.5× restore for the first answer and for parse)\n`);
  } finally {
    server.kill("SIGTERM");
    if (root) spawnSync("ip", ["netns", "del", ns]);
    rmSync(cache, { recursive: true, force: true });
  }
}
