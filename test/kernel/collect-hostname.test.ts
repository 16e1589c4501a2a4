/**
 * `netfate collect` records the node's name (uname -n), and a directory of such bundles is a
 * cluster whose nodes are named by it, not by their directories.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KernelNode, kernelSkipReason, NODE_ETH0_CNI0 } from "./harness.js";
import { loadCluster } from "../../src/cli/cluster-load.js";

const why = kernelSkipReason();
const bin = resolve(import.meta.dirname, "../../dist/src/cli/main.js");

describe.skipIf(why !== undefined)(`collect names the node${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(NODE_ETH0_CNI0);
    k.load("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n");
  });
  afterAll(() => k?.close());

  it("hostname.txt holds uname -n, the manifest lists it, and --cluster names the node by it", () => {
    const cluster = mkdtempSync(join(tmpdir(), "netfate-cluster-collect-"));
    const dir = join(cluster, "first-bundle");
    // A UTS namespace of its own, so the host's name is neither used nor changed.
    const c = spawnSync("ip", ["netns", "exec", k.ns, "unshare", "--uts", "sh", "-c", `hostname worker-7 && exec "$0" "$@"`, process.execPath, bin, "collect", dir], { encoding: "utf8" });
    expect(c.status, c.stderr).toBe(0);
    expect(readFileSync(join(dir, "hostname.txt"), "utf8")).toBe("worker-7\n");
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    expect(manifest.entries.find((e: { file?: string }) => e.file === "hostname.txt")).toMatchObject({ command: ["uname", "-n"], exit: 0, bytes: 9 });
    const loaded = loadCluster(cluster);
    expect(loaded.inputs.nodes.map((n) => n.name)).toEqual(["worker-7"]);
    expect(loaded.nodes[0]!.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(loaded.nodes[0]!.hasRules).toBe(true);
  });
});
