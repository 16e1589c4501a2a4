/**
 * A cluster from files: a directory of node bundles (named by their hostname.txt, else by the
 * directory) with pods.txt, or a cluster.json; every problem located, kept with its node.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCluster } from "../../src/cli/cluster-load.js";
import { UsageError } from "../../src/cli/args.js";
import { assembleCluster, clusterDiagnostics } from "../../src/assemble-cluster.js";
import { formatDiagnostic } from "../../src/model/diagnostics.js";
import { readBundle } from "../../src/cli/bundle.js";

const base = mkdtempSync(join(tmpdir(), "netfate-cluster-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let serial = 0;

/** A directory tree from `{ "path/file": text }`. */
function tree(files: Record<string, string>): string {
  const dir = join(base, `c${serial++}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i cali+ -j ACCEPT
COMMIT
`;
const node01 = JSON.stringify({
  interfaces: [{ name: "eth0", addrs: ["192.168.247.94/24"] }, { name: "tunl0", addrs: ["10.200.226.128/32"], kind: "ipip" }, { name: "cali073b411309a", addrs: [] }],
  routes: ["default via 192.168.247.2 dev eth0", "10.200.179.128/26 via 192.168.247.95 dev tunl0 proto bird onlink", "10.200.226.132 dev cali073b411309a scope link", "10.200.226.140 dev cali0aa scope link"],
});
const node02 = JSON.stringify({
  interfaces: [{ name: "eth0", addrs: ["192.168.247.95/24"] }, { name: "cali2b2e7c9e43e", addrs: [] }],
  routes: ["10.200.179.132 dev cali2b2e7c9e43e scope link"],
});
const lines = (c: { diagnostics: Parameters<typeof formatDiagnostic>[0][] }) => c.diagnostics.map(formatDiagnostic);

describe("--cluster DIR: one sub-directory per node", () => {
  it("names nodes by hostname.txt, else the directory; a facts-only node is kept and said; declared pods win, the rest inferred", () => {
    const dir = tree({
      "a/iptables-save.txt": RULES, "a/node.json": node01, "a/hostname.txt": "k8s-calico-node-01\n",
      "node-02/node.json": node02,
      "pods.txt": "# the seed's pods\npod net-test1 10.200.226.132 on k8s-calico-node-01 via cali073b411309a gw 169.254.1.1\n",
    });
    const c = loadCluster(dir);
    expect(lines(c)).toEqual([]);
    expect(c.inputs.nodes.map((n) => n.name)).toEqual(["k8s-calico-node-01", "node-02"]);
    expect(c.nodes.map((n) => [n.name, n.hasRules, n.at.file])).toEqual([
      ["k8s-calico-node-01", true, join(dir, "a/hostname.txt")],
      ["node-02", false, join(dir, "node-02/")],
    ]);
    expect(c.nodes[1]!.notes).toContain("node node-02: no rules given, only node facts: its iptables tables are taken as empty (every packet accepted)");
    expect(c.nodes[1]!.notes).toContain(`${join(dir, "node-02")}: no iptables-save.txt in it`);
    // The facts each node was built from are the member's.
    expect(c.inputs.nodes[0]!.facts.interfaces.map((i) => i.name)).toEqual(["eth0", "tunl0", "cali073b411309a"]);
    expect(c.inputs.nodes[0]!.node.node.known).toBe(true);
    expect(c.inputs.pods.map((p) => [p.name, p.node, p.nodeIface, p.inferred ?? "declared"])).toEqual([
      ["net-test1", "k8s-calico-node-01", "cali073b411309a", "declared"],
      ["10.200.226.140", "k8s-calico-node-01", "cali0aa", "route 10.200.226.140 dev cali0aa scope link on k8s-calico-node-01"],
      ["10.200.179.132", "node-02", "cali2b2e7c9e43e", "route 10.200.179.132 dev cali2b2e7c9e43e scope link on node-02"],
    ]);
  });

  it("a node's diagnostics stay with its name", () => {
    const dir = tree({ "n1/iptables-save.txt": RULES, "n1/node.json": JSON.stringify({ routes: ["10.0.0.0/8 dev eth0 bogus"] }), "n2/iptables-save.txt": RULES });
    const c = loadCluster(dir);
    expect(c.diagnostics).toEqual([]);
    expect(clusterDiagnostics(c).map((d) => [d.node, formatDiagnostic(d.diagnostic)])).toEqual([
      ["n1", `${join(dir, "n1/node.json")}:1:33: error: unknown word "bogus" in a route`],
    ]);
    expect(c.nodes[1]!.notes.some((n) => n.startsWith("no node facts given"))).toBe(true);
  });

  it("two nodes of one name: the second is left out, with an error at its hostname.txt", () => {
    const dir = tree({ "a/iptables-save.txt": RULES, "a/hostname.txt": "node-01\n", "b/iptables-save.txt": RULES, "b/hostname.txt": "node-01\n" });
    const c = loadCluster(dir);
    expect(c.inputs.nodes.map((n) => n.name)).toEqual(["node-01"]);
    expect(lines(c)).toEqual([`${join(dir, "b/hostname.txt")}:1:1: error: a second node named node-01 (the first is given at ${join(dir, "a/hostname.txt")}:1:1): this one is left out (expected each node name once, found "node-01")`]);
  });

  it("a node directory with nothing to read is a located error; so is a pod on a node that is not there", () => {
    const dir = tree({ "n1/iptables-save.txt": RULES, "n2/README": "x", "pods.txt": "pod web 10.0.0.5 on n3 via cali1\npod db 10.0.0.6 on n1 via cali2\n" });
    const c = loadCluster(dir);
    expect(c.inputs.nodes.map((n) => n.name)).toEqual(["n1"]);
    expect(c.inputs.pods.map((p) => p.name)).toEqual(["db"]);
    expect(lines(c)).toEqual([
      `${join(dir, "n2/")}:1:1: error: node n2 has no rules and no node facts: it is left out (expected iptables-save output, node facts, or both)`,
      `${join(dir, "pods.txt")}:1:21: error: pod web is on node n3, which is not a node of the cluster: it is left out (expected a node of the cluster (n1), found "n3")`,
    ]);
  });

  it("a pod named twice, an address held twice: errors at the second, which is left out; a link the node lacks is a warning", () => {
    const dir = tree({
      "n1/iptables-save.txt": RULES, "n1/node.json": JSON.stringify({ interfaces: [{ name: "eth0", addrs: ["10.1.0.1/24"] }, { name: "cali1", addrs: [] }] }),
      "pods.txt": "pod web 10.0.0.5 on n1 via cali1\npod web 10.0.0.6 on n1 via cali1\npod db 10.0.0.5 on n1 via cali1\npod x 10.0.0.7 on n1 via cali7\n",
    });
    const c = loadCluster(dir);
    expect(c.inputs.pods.map((p) => p.name)).toEqual(["web", "x"]);
    const pods = join(dir, "pods.txt");
    expect(lines(c)).toEqual([
      `${pods}:2:5: error: pod web is declared twice (first at ${pods}:1:5): this one is left out (expected each pod name once, found "web")`,
      `${pods}:3:8: error: 10.0.0.5 is already the address of pod web (at ${pods}:1:9): pod db is left out (expected each address on one pod, found "10.0.0.5")`,
      `${pods}:4:26: warning: node n1 has no interface cali7 in its facts (expected one of the node's interfaces, found "cali7")`,
    ]);
  });

  it("hidden directories and stray files are not nodes, and a note says what was not read; no node at all is refused", () => {
    const dir = tree({ "n1/iptables-save.txt": RULES, ".n2.tmp-x/iptables-save.txt": RULES, "README.md": "hi" });
    const c = loadCluster(dir);
    expect(c.inputs.nodes.map((n) => n.name)).toEqual(["n1"]);
    expect(c.notes[0]).toBe(`--cluster ${dir}: not read: .n2.tmp-x, README.md (only sub-directories, one per node, and pods.txt are)`);
    const empty = tree({ "pods.txt": "" });
    expect(() => loadCluster(empty)).toThrow(new UsageError(`--cluster ${empty}: no node directories in it (expected one sub-directory per node, each a netfate collect bundle, or a cluster.json)`));
    expect(() => loadCluster(join(empty, "nope"))).toThrow(new UsageError(`--cluster ${join(empty, "nope")}: ENOENT`));
  });

  it("a node directory may be a link; a file in it may not (as in --bundle)", () => {
    const dir = tree({ "real/iptables-save.txt": RULES, "c/x": "" });
    const c = join(dir, "c");
    rmSync(join(c, "x"));
    symlinkSync(join(dir, "real"), join(c, "n1"));
    expect(loadCluster(c).inputs.nodes.map((n) => n.name)).toEqual(["n1"]);
    const d = tree({ "n1/node.json": node02 });
    symlinkSync(join(base, "elsewhere.save"), join(d, "n1/iptables-save.txt"));
    writeFileSync(join(base, "elsewhere.save"), RULES);
    expect(() => loadCluster(d)).toThrow(/it is a symbolic link/);
  });

  it("a collect bundle's manifest is followed, and its hostname.txt names the node", () => {
    const manifest = {
      format: "netfate-bundle", version: 1, collected: "2026-12-05T06:00:00Z",
      entries: [
        { command: ["iptables-save", "-c"], exit: 0, file: "iptables-save.txt", bytes: RULES.length },
        { command: ["uname", "-n"], exit: 0, file: "hostname.txt", bytes: 8 },
      ],
    };
    const dir = tree({ "b1/manifest.json": JSON.stringify(manifest), "b1/iptables-save.txt": RULES, "b1/hostname.txt": "worker1\n", "b1/node.json": "{ not read" });
    const c = loadCluster(dir);
    expect(lines(c)).toEqual([]);
    expect(c.inputs.nodes.map((n) => n.name)).toEqual(["worker1"]);
    expect(readBundle(join(dir, "b1"), (p) => readFileSync(p, "utf8")).hostname).toEqual({ file: join(dir, "b1/hostname.txt"), text: "worker1\n" });
    // A bad manifest names the node's directory and --cluster, not --bundle.
    const bad = tree({ "b1/manifest.json": "{", "b1/iptables-save.txt": RULES });
    expect(() => loadCluster(bad)).toThrow(/^--cluster .*: node b1\/: manifest.json is not JSON/);
  });

  it("a hostname.txt that does not name the node: located error, the directory's name is used and said", () => {
    const dir = tree({ "n1/iptables-save.txt": RULES, "n1/hostname.txt": "two words\n" });
    const c = loadCluster(dir);
    expect(c.inputs.nodes.map((n) => n.name)).toEqual(["n1"]);
    expect(c.nodes[0]!.diagnostics.map(formatDiagnostic)).toEqual([`${join(dir, "n1/hostname.txt")}:1:1: error: node name "two words" contains " " (expected the node's name (uname -n), found "two words")`]);
    expect(c.nodes[0]!.notes).toContain(`${join(dir, "n1/hostname.txt")} does not give a name: the node is named n1 after its directory`);
  });

  it("the cluster's files together are bounded", () => {
    const dir = tree({ "n1/iptables-save.txt": RULES, "n2/iptables-save.txt": RULES });
    expect(() => loadCluster(dir, { limit: 1000, totalLimit: RULES.length + 10 })).toThrow(`n2/iptables-save.txt: the cluster's files together are larger than ${RULES.length + 10} bytes`);
  });
});

describe("cluster.json", () => {
  it("nodes by directory or by files, paths relative to it, pods as objects; the key names the node", () => {
    const dir = tree({
      "b1/iptables-save.txt": RULES, "b1/node.json": node01, "b1/hostname.txt": "other-name\n",
      "dumps/n2.json": node02,
      "cluster.json": JSON.stringify({
        nodes: { "node-01": "b1", "node-02": { node: ["dumps/n2.json"] } },
        pods: [{ name: "net-test2", address: "10.200.179.132", node: "node-02", via: "cali2b2e7c9e43e", gw: "169.254.1.1" }],
      }, null, 2),
    });
    const c = loadCluster(join(dir, "cluster.json"));
    expect(lines(c)).toEqual([]);
    expect(c.inputs.nodes.map((n) => n.name)).toEqual(["node-01", "node-02"]);
    expect(c.nodes[0]!.at).toEqual({ file: join(dir, "cluster.json"), line: 3, col: 5 });
    expect(c.nodes[0]!.notes).toContain(`${join(dir, "b1/hostname.txt")} says the node is other-name; it is named node-01, as given`);
    expect(c.inputs.pods.map((p) => p.name)).toEqual(["net-test2", "10.200.226.132", "10.200.226.140"]);
    // A directory holding cluster.json is read as it says.
    const same = loadCluster(dir);
    expect(same.inputs.nodes.map((n) => n.name)).toEqual(["node-01", "node-02"]);
    expect(same.notes[0]).toBe(`--cluster ${dir}: read as its cluster.json says (its sub-directories are nodes only where cluster.json names them)`);
    writeFileSync(join(dir, "pods.txt"), "pod x 10.9.9.9 on node-01 via cali1\n");
    const withPods = loadCluster(dir);
    expect(withPods.notes[0]).toContain(`and its pods.txt is not read (cluster.json's "pods" are the pods)`);
    expect(withPods.inputs.pods.map((p) => p.name)).not.toContain("x");
  });

  it("every problem located: an unknown key, a path of the wrong kind, a node given twice, an empty node, a pod on no node", () => {
    const text = `{
  "nodes": {
    "n1": { "rules": ["r.save"], "facts": [] },
    "n2": { "rules": "r.save" },
    "n3": 7,
    "n4": {},
    "n1": "x",
    "bad name": "x"
  },
  "pods": [{"name": "p", "address": "10.0.0.1", "node": "n9", "via": "cali1"}]
}`;
    const dir = tree({ "r.save": RULES, "cluster.json": text });
    const c = loadCluster(join(dir, "cluster.json"));
    const f = join(dir, "cluster.json");
    expect(lines(c)).toEqual([
      `${f}:7:5: error: "n1" given twice in "nodes" (expected each key once)`,
      `${f}:3:34: error: unknown key "facts" in node n1 (expected rules, ipsets, node, ipvs)`,
      `${f}:4:22: error: the rules files of node n2: found the string "r.save" (expected a list of paths)`,
      `${f}:5:11: error: node n3: found the number 7 (expected its directory (a string) or its files by kind (an object))`,
      `${f}:8:5: error: node name "bad name" contains " " (expected a node name)`,
      `${f}:4:5: error: node n2 has no rules and no node facts: it is left out (expected iptables-save output, node facts, or both)`,
      `${f}:6:5: error: node n4 has no rules and no node facts: it is left out (expected iptables-save output, node facts, or both)`,
      `${f}:10:58: error: pod p is on node n9, which is not a node of the cluster: it is left out (expected a node of the cluster (n1), found "n9")`,
    ]);
    expect(c.inputs.nodes.map((n) => n.name)).toEqual(["n1"]);
  });

  it("a file that cannot be read is refused where cluster.json names it", () => {
    const dir = tree({ "cluster.json": '{"nodes": {\n  "n1": {"rules": ["missing.save"]}}}' });
    expect(() => loadCluster(join(dir, "cluster.json"))).toThrow(new UsageError(`${join(dir, "cluster.json")}:2:20: cannot read ${join(dir, "missing.save")}: ENOENT`));
    const d2 = tree({ "cluster.json": '{"nodes": {"n1": "nowhere/"}}' });
    expect(() => loadCluster(join(d2, "cluster.json"))).toThrow(new UsageError(`${join(d2, "cluster.json")}:1:18: node n1: ${join(d2, "nowhere/")}: not a directory`));
  });

  it("a rules file with no rules in it cannot be used: refused, naming the node", () => {
    const dir = tree({ "junk.txt": "hello\n", "cluster.json": '{"nodes": {"n1": {"rules": ["junk.txt"]}}}' });
    expect(() => loadCluster(join(dir, "cluster.json"))).toThrow(/^node n1: .*junk\.txt: no iptables or nftables rules found in it/);
  });

  it("a byte order mark before it is skipped, as by every reader", () => {
    const dir = tree({ "r.save": RULES, "cluster.json": '\uFEFF{"nodes": {"n1": {"rules": ["r.save"]}}}' });
    const c = loadCluster(join(dir, "cluster.json"));
    expect(lines(c)).toEqual([]);
    expect(c.nodes[0]!.at).toEqual({ file: join(dir, "cluster.json"), line: 1, col: 12 });
  });

  it("not JSON: a located error and no nodes", () => {
    const dir = tree({ "cluster.json": '{"nodes": {"n1": }' });
    const c = loadCluster(join(dir, "cluster.json"));
    expect(c.inputs.nodes).toEqual([]);
    expect(lines(c)).toEqual([`${join(dir, "cluster.json")}:1:18: error: not valid JSON: expected a JSON value, found "}"`]);
  });
});

describe("seed 003 as a cluster (no rule dumps: routes only)", () => {
  it("two facts-only nodes, each pod found by its route", () => {
    const s = "samples/003-calico-ipip-cross-node";
    const c = assembleCluster({
      nodes: ["node-01", "node-02"].map((n, i) => ({
        name: n, named: "given" as const, at: { file: "cluster.json", line: i + 1, col: 1 },
        rules: [], node: [{ file: `${s}/${n}.json`, text: readFileSync(`${s}/${n}.json`, "utf8") }],
      })),
      pods: { files: [{ file: "pods.txt", text: "pod net-test2 10.200.179.132 on node-02 via cali2b2e7c9e43e gw 169.254.1.1\n" }] },
    });
    expect(clusterDiagnostics(c)).toEqual([]);
    expect(c.nodes.map((n) => n.hasRules)).toEqual([false, false]);
    expect(c.inputs.pods).toEqual([
      { name: "net-test2", node: "node-02", family: "ipv4", address: "10.200.179.132", nodeIface: "cali2b2e7c9e43e", gateway: "169.254.1.1" },
      { name: "10.200.226.132", node: "node-01", family: "ipv4", address: "10.200.226.132", nodeIface: "cali073b411309a", gateway: "169.254.1.1", inferred: "route 10.200.226.132 dev cali073b411309a scope link on node-01" },
    ]);
    expect(c.inputs.nodes[0]!.facts.interfaces.find((i) => i.name === "tunl0")?.tunnel).toEqual({ kind: "ipip" });
  });
});

describe("size", () => {
  it("a thousand nodes load, each with its pod", () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) {
      const a = `10.${(i >> 8) & 255}.${i & 255}`;
      files[`n${i}/node.json`] = JSON.stringify({ interfaces: [{ name: "eth0", addrs: [`${a}.1/24`] }], routes: [`${a}.2 dev cali${i} scope link`] });
      if (i % 10 === 0) files[`n${i}/iptables-save.txt`] = RULES;
    }
    const c = loadCluster(tree(files));
    expect(clusterDiagnostics(c)).toEqual([]);
    expect(c.inputs.nodes).toHaveLength(1000);
    expect(c.inputs.pods).toHaveLength(1000);
    expect(c.nodes.filter((n) => n.hasRules)).toHaveLength(100);
  });
});
