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
//   a pod-to-service packet from a pod on node-01's cni0 (10.244.1.2) to a ClusterIP
//   (10.96.0.10 + s, port 80) whose endpoints are on other nodes: warm up, then time N calls of
//   cluster.evaluate(packet, { node: "node-01", pod: ... }, {}) and set
//   result.tracesPerSecond = N / seconds (bench/cluster.ts prints it when present).
// ---------------------------------------------------------------------------------------------

result.peakRssMB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(JSON.stringify(result) + "\n");
