/**
 * The cluster part of `npm run bench`: loading a generated flannel VXLAN cluster of 50 nodes,
 * each with kube-proxy rules for the same 1,000 services (bench/gen-cluster.ts), as
 * `--cluster DIR` does; and how loading grows with the number of nodes (100 and 1,000 nodes of
 * one size each: linear is 10.0).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { nodeName, writeCluster, type ClusterGenOptions } from "./gen-cluster.js";

interface LoadResult {
  loadMs: number;
  nodes: number;
  pods: number;
  errors: number;
  peakRssMB: number;
  /** Set once the cluster evaluator is measured (bench/cluster-load.ts). */
  tracesPerSecond?: number;
}

function cluster(out: string, name: string, o: ClusterGenOptions): string {
  const dir = join(out, name);
  // Written whole once: the last node's last file says it is complete.
  if (!existsSync(join(dir, nodeName(o.nodes, o.nodes), "hostname.txt"))) writeCluster(dir, o);
  return dir;
}

function megabytes(dir: string): number {
  let bytes = 0;
  for (const n of readdirSync(dir, { recursive: true, withFileTypes: true })) if (n.isFile()) bytes += statSync(join(n.parentPath, n.name)).size;
  return bytes / 1e6;
}

/** Best of `runs` loads, each in its own process. */
function load(loader: string, dir: string, runs: number): LoadResult {
  let best: LoadResult | undefined;
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [loader, dir], { encoding: "utf8", maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`loading ${dir} failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout) as LoadResult;
    if (!best || res.loadMs < best.loadMs) best = res;
  }
  return best!;
}

export function clusterBench(out: string, distBench: string, row: (cells: (string | number)[]) => string): void {
  const loader = join(distBench, "cluster-load.js");
  console.log(row(["cluster load (in process)", "MB", "ms", "MB/s", "peak RSS MB", "nodes/pods"]));
  const big = cluster(out, "cluster-50x1000", { nodes: 50, services: 1000 });
  const mb = megabytes(big);
  const r = load(loader, big, 3);
  if (r.errors) throw new Error(`${big}: ${r.errors} errors`);
  console.log(row(["50 nodes × 1,000 services, flannel", mb.toFixed(1), r.loadMs.toFixed(0), (mb / (r.loadMs / 1000)).toFixed(1), r.peakRssMB.toFixed(0), `${r.nodes}/${r.pods}`]));
  const times: number[] = [];
  for (const nodes of [100, 1000]) {
    const dir = cluster(out, `cluster-${nodes}x20-nomesh`, { nodes, services: 20, mesh: false });
    const s = load(loader, dir, 3);
    const smb = megabytes(dir);
    times.push(s.loadMs);
    console.log(row([`${nodes} nodes × 20 services`, smb.toFixed(1), s.loadMs.toFixed(0), (smb / (s.loadMs / 1000)).toFixed(1), s.peakRssMB.toFixed(0), `${s.nodes}/${s.pods}`]));
  }
  console.log(`1000/100 nodes load time ratio: ${(times[1]! / times[0]!).toFixed(2)} (linear is 10.0)`);
  // TRACES PER SECOND through the cluster: bench/cluster-load.ts sets it once the evaluator is in.
  if (r.tracesPerSecond !== undefined) console.log(`cluster traces (50 nodes × 1,000 services): ${r.tracesPerSecond.toFixed(0)} traces/s`);
  else console.log("cluster traces per second: not measured yet (bench/cluster-load.ts, TRACES PER SECOND)");
}
