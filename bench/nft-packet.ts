/**
 * What a packet costs in kube-proxy's nftables mode against its iptables mode (10k services),
 * alone and repeatable: `node dist/bench/nft-packet.js [rounds]` prints one line per round,
 * the modes measured in turn within each round so that the machine's load falls on both;
 * `--nft-only` (`--iptables-only`) runs that mode alone; `--profile FILE` writes a CPU profile (Chrome's
 * .cpuprofile format) of the measured rounds only, without the loading before them, and
 * `--alloc-profile FILE` a sampled allocation profile (.heapprofile) of them. The full
 * `npm run bench -- nft` part also measures parsing; this is its per-packet table, quicker to
 * repeat.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { file, packetNodes, SERVICES } from "./nft.js";
import { kubeNftDump } from "./gen-kube-nft.js";
import { benchNode } from "./bench-node.js";
import type { PacketSpec } from "../src/model/packet.js";
import type { NetfilterNode } from "../src/netfilter/model.js";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(resolve(here, "../.."), "bench", "out");

const node = benchNode;

const args = process.argv.slice(2);
const only = args.includes("--nft-only") ? "nft" : args.includes("--iptables-only") ? "iptables with filter" : undefined;
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 5);
const profileAt = args.indexOf("--profile");
const profileFile = profileAt >= 0 ? args[profileAt + 1] : undefined;
const allocAt = args.indexOf("--alloc-profile");
const allocFile = allocAt >= 0 ? args[allocAt + 1] : undefined;
const text = file(out, `kube-nft-${SERVICES}.nft`, () => kubeNftDump({ services: SERVICES }));
const nodes = packetNodes(text, node);
const ratios: number[] = [];
const packet = (dst: string): PacketSpec => ({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst, proto: 6, sport: 40000, dport: 80, tcpFlags: 2 });
const targets = [nodes.dsts[0]!, nodes.dsts[Math.floor(nodes.dsts.length / 2)]!, nodes.dsts[nodes.dsts.length - 1]!].map(packet);
const modes = ([["nft", nodes.nft], ["iptables with filter", nodes.iptFull]] as Array<[string, NetfilterNode]>).filter(([name]) => only === undefined || name === only);
// The first packet compiles the ruleset, and the JIT settles over the first thousands: warmed before any round, so the rounds (and the profile) see warm nodes only.
for (let w = 0; w < 10; w++) for (const [, n] of modes) for (let i = 0; i < 1500; i++) n.evaluate(targets[i % 3]!);
const session = profileFile || allocFile ? new Session() : undefined;
if (session) {
  session.connect();
  if (profileFile) {
    await session.post("Profiler.enable");
    // Finer than the default 1 ms: a packet costs some 20 µs, and a short run should still give a steady picture.
    await session.post("Profiler.setSamplingInterval", { interval: 50 });
    await session.post("Profiler.start");
  }
  // Every allocation sampled, those the young generation collects included: what makes the garbage.
  if (allocFile) await session.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
}
/**
 * CPU µs per packet of each mode in one round: the modes take turns in short slices (the three
 * services' packets in each), and each mode's figure is its quickest slice, so a burst of load
 * from other processes on the shared machine falls on a slice or two, not on one mode.
 */
function round(): number[] {
  const best = modes.map(() => Infinity);
  const PER_SLICE = 600;
  for (let slice = 0; slice < 20; slice++) {
    modes.forEach(([, n], m) => {
      // CPU time, not wall time: on the shared machine a slice is often waiting for a core.
      const t0 = process.cpuUsage();
      for (let i = 0; i < PER_SLICE; i++) n.evaluate(targets[i % 3]!);
      const t = process.cpuUsage(t0);
      best[m] = Math.min(best[m]!, (t.user + t.system) / PER_SLICE);
    });
  }
  return best;
}
for (let r = 0; r < rounds; r++) {
  const t = round();
  const line = modes.map(([name], m) => `${name} ${t[m]!.toFixed(1)} µs`).join("; ");
  if (t.length === 2) ratios.push(t[0]! / t[1]!);
  console.log(`round ${r + 1}: ${line}${t.length === 2 ? `; × ${(t[0]! / t[1]!).toFixed(2)}` : ""}`);
}
if (session) {
  if (profileFile) writeFileSync(profileFile, JSON.stringify((await session.post("Profiler.stop")).profile));
  if (allocFile) writeFileSync(allocFile, JSON.stringify((await session.post("HeapProfiler.stopSampling")).profile));
  session.disconnect();
}
if (ratios.length) {
  const sorted = [...ratios].sort((x, y) => x - y);
  console.log(`× iptables: min ${sorted[0]!.toFixed(2)}, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}, max ${sorted[sorted.length - 1]!.toFixed(2)}`);
}
