/**
 * `node dist/bench/cluster-load.js DIR`: loads a cluster directory as `--cluster DIR` does and
 * prints one JSON line: the load time (in process, without Node's start), the cluster's size,
 * and the process's peak RSS. Run by bench/cluster.ts, one process per cluster, so each peak
 * is that cluster's alone.
 */
import { loadCluster } from "../src/cli/cluster-load.js";
import { clusterDiagnostics } from "../src/assemble-cluster.js";
import { buildCluster } from "../src/netfilter/cluster.js";
import type { PacketSpec } from "../src/model/packet.js";
import { nodeName } from "./gen-cluster.js";

const dir = process.argv[2]!;
const t0 = performance.now();
const c = loadCluster(dir);
const loadMs = performance.now() - t0;
const result: Record<string, number> = {
  loadMs,
  nodes: c.inputs.nodes.length,
  pods: c.inputs.pods.length,
  errors: clusterDiagnostics(c).filter((d) => d.diagnostic.severity === "error").length,
};

// Traces per second, pod to service on other nodes with the reply followed: pod web-1-2
// (10.244.1.2, node-01's cni0; pods.txt declares web-N-H at 10.244.N.H) to service s's
// ClusterIP 10.96.((s+10) >> 8).((s+10) & 255):80, whose endpoints are on nodes 3s+1..3s+3 (mod
// 50). Warm first: the first packet into a node compiles its rules (the load-time part).
const cluster = buildCluster(c.inputs);
const start = { node: nodeName(1, c.inputs.nodes.length), pod: "web-1-2" };
const packetFor = (s: number): PacketSpec => ({
  family: "ipv4", from: "local", src: "10.244.1.2", dst: `10.96.${(s + 10) >> 8}.${(s + 10) & 255}`, proto: 6, sport: 40000, dport: 80, tcpFlags: 2,
});
const services = 1000;
const t1 = performance.now();
let delivered = 0;
for (let s = 0; s < services; s++) delivered += cluster.evaluate(packetFor(s), start, { reply: true }).outcomes.filter((o) => o.fate.kind === "delivered").length;
result.warmupMs = performance.now() - t1;
const N = 2000;
const t2 = performance.now();
for (let i = 0; i < N; i++) cluster.evaluate(packetFor((i * 7919) % services), start, { reply: true });
result.tracesPerSecond = N / ((performance.now() - t2) / 1000);
result.deliveredWarmup = delivered;

result.peakRssMB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(JSON.stringify(result) + "\n");
