/**
 * `netfate collect` on a node with a flannel-style VXLAN device: the bundle holds its settings
 * (ip -d -j link), its FDB (bridge -j fdb) and its neighbours (ip -j neigh), and wg's dump when
 * wg is installed; read back, the node view says where the device's outer packet goes, and
 * `trace --bundle` follows it there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { kernelSkipReason } from "./harness.js";
import { run } from "./tunnel-netns.js";
import { readBundle } from "../../src/cli/bundle.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";

const why = kernelSkipReason();
const bin = resolve(import.meta.dirname, "../../dist/src/cli/main.js");
const NS = `nftunC${process.pid}`;

const ipn = (...a: string[]) => run(["ip", "-n", NS, ...a]);

describe.skipIf(why !== undefined)(`collect gathers the tunnels${why ? ` (skipped: ${why})` : ""}`, () => {
  beforeAll(() => {
    run(["ip", "netns", "add", NS]);
    ipn("link", "set", "lo", "up");
    ipn("link", "add", "eth0", "type", "veth", "peer", "name", "p0");
    ipn("addr", "add", "172.16.100.101/24", "dev", "eth0");
    ipn("link", "add", "cni0", "type", "veth", "peer", "name", "c0");
    ipn("addr", "add", "10.244.1.1/24", "dev", "cni0");
    for (const l of ["eth0", "p0", "cni0", "c0"]) ipn("link", "set", l, "up");
    ipn("link", "add", "flannel.1", "type", "vxlan", "id", "1", "local", "172.16.100.101", "dev", "eth0", "dstport", "8472", "nolearning");
    ipn("addr", "add", "10.244.1.0/32", "dev", "flannel.1");
    ipn("link", "set", "flannel.1", "up");
    ipn("route", "add", "10.244.2.0/24", "via", "10.244.2.0", "dev", "flannel.1", "onlink");
    ipn("neigh", "add", "10.244.2.0", "dev", "flannel.1", "lladdr", "b6:72:1b:43:5e:01", "nud", "permanent");
    run(["ip", "netns", "exec", NS, "bridge", "fdb", "append", "b6:72:1b:43:5e:01", "dev", "flannel.1", "dst", "172.16.100.102", "self", "permanent"]);
    run(["ip", "netns", "exec", NS, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    run(["ip", "netns", "exec", NS, "iptables", "-A", "FORWARD", "-j", "ACCEPT"]);
  });
  afterAll(() => {
    spawnSync("ip", ["netns", "del", NS]);
  });

  it("the bundle holds the VXLAN device, its FDB and neighbours; read back they say where its outer packet goes", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "netfate-tunnels-")), "bundle");
    const c = spawnSync("ip", ["netns", "exec", NS, process.execPath, bin, "collect", dir], { encoding: "utf8" });
    expect(c.status, c.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    for (const [file, command] of [["ip-link.json", "ip -d -j link show"], ["bridge-fdb.json", "bridge -j fdb show"], ["ip-neigh.json", "ip -j neigh show"]]) {
      expect(manifest.entries.find((e: { file?: string }) => e.file === file), file).toMatchObject({ exit: 0, command: command!.split(" ") });
    }
    // wg is optional: without it the manifest says why there is no dump.
    const wg = manifest.entries.find((e: { command: string[] }) => e.command[0] === "wg");
    expect(wg.file === "wg-dump.txt" || typeof wg.error === "string").toBe(true);
    const b = readBundle(dir, (path) => readFileSync(path, "utf8"));
    const { facts, diagnostics } = factsFromTexts(b.node);
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(facts.interfaces.find((i) => i.name === "flannel.1")!.tunnel).toEqual({ kind: "vxlan", vni: 1, port: 8472, local: "172.16.100.101", dev: "eth0" });
    const v = nodeViewFromFacts(facts);
    expect(v.tunnel("flannel.1")!.outerPackets!("10.244.2.0", "10.244.2.7")).toEqual([{ dst: "172.16.100.102", dport: 8472, vni: 1, innerMac: "b6:72:1b:43:5e:01" }]);
    expect(v.decapsulator!({ family: "ipv4", proto: 17, dst: "172.16.100.101", dport: 8472, vni: 1 })).toEqual({ dev: "flannel.1", kind: "vxlan" });

    // End to end: a pod's packet forwarded into flannel.1 becomes an outer packet to the peer.
    const t = spawnSync(process.execPath, [bin, "trace", "--json", "--bundle", dir, "udp 10.244.1.5:4000 -> 10.244.2.7:53 in cni0"], { encoding: "utf8" });
    expect(t.status, t.stderr).toBe(0);
    const out = JSON.parse(t.stdout);
    const o = out.outcomes[0];
    expect(o.fate).toMatchObject({ kind: "forwarded", iface: "flannel.1" });
    expect(o.encapsulated[0].final).toMatchObject({ dst: "172.16.100.102", dport: 8472 });
  });
});
