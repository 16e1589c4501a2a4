/**
 * The bench's generated cluster (bench/gen-cluster.ts) is what it says it is, and loads as
 * `--cluster` reads it without a problem: a small one, built the same way as the bench's.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeCluster } from "../../bench/gen-cluster.js";
import { loadCluster } from "../../src/cli/cluster-load.js";
import { clusterDiagnostics } from "../../src/assemble-cluster.js";

const base = mkdtempSync(join(tmpdir(), "netfate-gen-cluster-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("the generated flannel cluster", () => {
  it("loads without a problem: nodes by hostname, flannel peers and routes to every other node, every endpoint a declared pod", () => {
    const dir = join(base, "c3");
    writeCluster(dir, { nodes: 3, services: 4 });
    const c = loadCluster(dir);
    expect(clusterDiagnostics(c).map((d) => d.diagnostic)).toEqual([]);
    expect(c.inputs.nodes.map((n) => n.name)).toEqual(["node-01", "node-02", "node-03"]);
    expect(c.nodes.every((n) => n.hasRules)).toBe(true);
    const f = c.inputs.nodes[0]!.facts;
    expect(f.interfaces.map((i) => [i.name, i.addrs.map((a) => `${a.address}/${a.prefixLength}`)])).toEqual([
      ["lo", ["127.0.0.1/8"]], ["eth0", ["10.0.0.1/24"]], ["cni0", ["10.244.1.1/24"]], ["flannel.1", ["10.244.1.0/32"]],
    ]);
    expect(f.interfaces[3]!.tunnel).toEqual({ kind: "vxlan", port: 8472, peers: { "10.244.2.0": "10.0.0.2", "10.244.3.0": "10.0.0.3" } });
    expect(f.routes.filter((r) => r.dev === "flannel.1").map((r) => `${r.dst}/${r.prefixLength} via ${r.gateway} onlink=${r.onlink}`)).toEqual([
      "10.244.2.0/24 via 10.244.2.0 onlink=true", "10.244.3.0/24 via 10.244.3.0 onlink=true",
    ]);
    // Every DNAT of the rules goes to a pod the cluster knows, on the node whose subnet holds it.
    const rules = readFileSync(join(dir, "node-01", "iptables-save.txt"), "utf8");
    const endpoints = [...rules.matchAll(/--to-destination (\S+):8080/g)].map((m) => m[1]!);
    expect(endpoints).toHaveLength(12);
    const pods = new Map(c.inputs.pods.map((p) => [p.address, p]));
    for (const e of endpoints) expect(pods.get(e)?.node, e).toBe(`node-0${e.split(".")[2]}`);
  });

  it("without the mesh, every node is the same size: no routes or peers to the others", () => {
    const dir = join(base, "flat");
    writeCluster(dir, { nodes: 300, services: 1, mesh: false });
    const c = loadCluster(dir);
    expect(clusterDiagnostics(c).map((d) => d.diagnostic)).toEqual([]);
    const last = c.inputs.nodes[299]!;
    expect(last.name).toBe("node-300");
    expect(last.facts.interfaces.find((i) => i.name === "eth0")!.addrs[0]).toMatchObject({ address: "10.0.1.44", prefixLength: 16 });
    expect(last.facts.interfaces.find((i) => i.name === "cni0")!.addrs[0]).toMatchObject({ address: "10.245.44.1" });
    expect(last.facts.routes).toHaveLength(3);
  });
});
