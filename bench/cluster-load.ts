/**
 * `node dist/bench/cluster-load.js DIR`: loads a cluster directory as `--cluster DIR` does and
 * prints one JSON line: the load time (in process, without Node's start), the cluster's size,
 * and the process's peak RSS. Run by bench/cluster.ts, one process per cluster, so each peak
 * is that cluster's alone.
 */
import { loadCluster } from "../src/cli/cluster-load.js";
import { clusterDiagnostics } from "../src/assemble-cluster.js";

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

// ---------------------------------------------------------------------------------------------
// TRACES PER SECOND (to add once buildCluster is in, src/netfilter/cluster.ts):
//   const cluster = buildCluster(c.inputs);
//   a pod-to-service packet from pod web-1-2 (10.244.1.2, on node-01's cni0; pods.txt declares
//   web-N-H at 10.244.N.H) to service s's ClusterIP 10.96.(s+10 >> 8).(s+10 & 255), port 80,
//   whose three endpoints are on nodes 3s+1..3s+3 (mod 50):
//     { family: "ipv4", from: "local", src: "10.244.1.2", dst, proto: 6, sport: 40000, dport: 80, tcpFlags: 2 }
//   warm up (the first packet into a node compiles its rules), then time N calls of
//   cluster.evaluate(packet, { node: "node-01", pod: "web-1-2" }, {}) and set
//   result.tracesPerSecond = N / seconds (bench/cluster.ts prints it when present).
// ---------------------------------------------------------------------------------------------

result.peakRssMB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(JSON.stringify(result) + "\n");
