/**
 * Pod declarations: `pod NAME ADDRESS on NODE via IFACE [gw GATEWAY]` lines and cluster.json's
 * `pods` objects, every problem located at its word.
 */
import { describe, expect, it } from "vitest";
import { parsePodLines, readPodObjects } from "../../src/facts/pod-line.js";
import { readHostname } from "../../src/facts/cluster-name.js";
import { JsonInput } from "../../src/facts/json-input.js";
import { DiagnosticSink, formatDiagnostic } from "../../src/model/diagnostics.js";

const lines = (text: string) => parsePodLines(text, "pods.txt");
const errors = (text: string) => lines(text).diagnostics.map(formatDiagnostic);

describe("pod declaration lines", () => {
  it("reads the seed's pods, IPv4 and IPv6, with comments and blank lines", () => {
    const r = lines(`# seed 003
pod net-test1 10.200.226.132 on node-01 via cali073b411309a

  pod web 10.244.1.12 on k8s-node1 via cni0 gw 10.244.1.1   # flannel
pod v6 FD00:0:0::4 on node-01 via cali1 gw FE80::ECEE:EEFF:FEEE:EEEE
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.pods.map((p) => p.pod)).toEqual([
      { name: "net-test1", node: "node-01", family: "ipv4", address: "10.200.226.132", nodeIface: "cali073b411309a" },
      { name: "web", node: "k8s-node1", family: "ipv4", address: "10.244.1.12", nodeIface: "cni0", gateway: "10.244.1.1" },
      // Addresses in their canonical spelling, so a route and a declaration of one address agree.
      { name: "v6", node: "node-01", family: "ipv6", address: "fd00::4", nodeIface: "cali1", gateway: "fe80::ecee:eeff:feee:eeee" },
    ]);
    expect(r.pods[1]!.at).toEqual({
      name: { file: "pods.txt", line: 4, col: 7 }, address: { file: "pods.txt", line: 4, col: 11 }, node: { file: "pods.txt", line: 4, col: 26 },
      via: { file: "pods.txt", line: 4, col: 40 }, gw: { file: "pods.txt", line: 4, col: 48 },
    });
  });

  it("says where each line goes wrong, what it expected and what it found", () => {
    expect(errors("pods web 10.0.0.1 on n1 via eth0")).toEqual([
      'pods.txt:1:1: error: expected "pod" at the start of a declaration (expected pod NAME ADDRESS on NODE via IFACE [gw GATEWAY], found "pods")',
    ]);
    expect(errors("pod web 10.0.0.1 at n1 via eth0")).toEqual([
      'pods.txt:1:18: error: expected "on" before the node\'s name (expected pod NAME ADDRESS on NODE via IFACE [gw GATEWAY], found "at")',
    ]);
    expect(errors("pod web 10.0.0.1 on n1  ")).toEqual([
      'pods.txt:1:23: error: the line ends before "via" before the node\'s interface to the pod (expected pod NAME ADDRESS on NODE via IFACE [gw GATEWAY], found "the end of the line")',
    ]);
    expect(errors("pod web")).toEqual([
      'pods.txt:1:8: error: the line ends before the pod\'s address (expected pod NAME ADDRESS on NODE via IFACE [gw GATEWAY], found "the end of the line")',
    ]);
    expect(errors("pod web 10.0.0.1 on n1 via eth0 gateway 10.0.0.254")).toEqual([
      'pods.txt:1:33: error: expected "gw" before the pod\'s gateway, or the end of the line (expected pod NAME ADDRESS on NODE via IFACE [gw GATEWAY], found "gateway")',
    ]);
    expect(errors("pod web 10.0.0.1 on n1 via eth0 gw 10.0.0.254 metric 5")).toEqual([
      'pods.txt:1:47: error: unexpected "metric" after the gateway (expected the end of the line (or a # comment), found "metric")',
    ]);
  });

  it("refuses a bad address, a prefix, a bad interface, a gateway of the other family; the pod is left out", () => {
    const r = lines(`pod a 10.0.0.300 on n1 via eth0
pod b 10.0.0.2/32 on n1 via eth0
pod c 10.0.0.3 on n1 via averyveryverylongname
pod d 10.0.0.4 on n1 via eth0 gw fe80::1
pod e 10.0.0.5 on n1 via eth0
`);
    expect(r.pods.map((p) => p.pod.name)).toEqual(["e"]);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'pods.txt:1:7: error: bad pod address "10.0.0.300" (expected the pod\'s IPv4 or IPv6 address (no prefix length), found "10.0.0.300")',
      'pods.txt:2:7: error: bad pod address "10.0.0.2/32" (expected the pod\'s IPv4 or IPv6 address (no prefix length), found "10.0.0.2/32")',
      'pods.txt:3:26: error: interface name "averyveryverylongname" is 21 bytes long; the kernel allows at most 15 (IFNAMSIZ-1) (expected the node\'s end of the pod\'s link (its veth or bridge), found "averyveryverylongname")',
      'pods.txt:4:34: error: the gateway fe80::1 is IPv6 but the pod\'s address is IPv4 (expected an IPv4 address, found "fe80::1")',
    ]);
  });

  it("a byte order mark before the first line is not part of it: the line is read, columns counted without it", () => {
    expect(lines("\uFEFFpod web 10.0.0.1 on n1 via eth0").pods[0]!.at.address).toEqual({ file: "pods.txt", line: 1, col: 9 });
    expect(errors("\uFEFFpod web 10.0.0.1 on n1 via eth0 x")).toEqual([
      'pods.txt:1:33: error: expected "gw" before the pod\'s gateway, or the end of the line (expected pod NAME ADDRESS on NODE via IFACE [gw GATEWAY], found "x")',
    ]);
  });

  it("a name with a character a declaration cannot hold is refused at the name", () => {
    expect(errors("pod we#b 10.0.0.1 on n1 via eth0")).toEqual([
      'pods.txt:1:5: error: pod name "we#b" contains "#" (expected a pod name, found "we#b")',
    ]);
  });
});

describe("pod objects in cluster.json", () => {
  const read = (text: string) => {
    const sink = new DiagnosticSink("cluster.json");
    const j = new JsonInput(text, sink);
    const pods = readPodObjects(j.parse()!, j, "cluster.json", sink);
    return { pods, diagnostics: sink.items.map(formatDiagnostic) };
  };

  it("reads the same fields as the lines, located at each value", () => {
    const r = read(`[
  {"name": "web", "address": "10.244.1.12", "node": "k8s-node1", "via": "cni0", "gw": "10.244.1.1"}
]`);
    expect(r.diagnostics).toEqual([]);
    expect(r.pods[0]!.pod).toEqual({ name: "web", node: "k8s-node1", family: "ipv4", address: "10.244.1.12", nodeIface: "cni0", gateway: "10.244.1.1" });
    expect(r.pods[0]!.at.node).toEqual({ file: "cluster.json", line: 2, col: 54 });
  });

  it("a missing field, an unknown key, a value of the wrong kind: located errors, the pod left out", () => {
    const r = read(`[
  {"name": "a", "address": "10.0.0.1", "node": "n1"},
  {"name": "b", "address": "10.0.0.2", "node": "n1", "via": "eth0", "gateway": "10.0.0.254"},
  {"name": "c", "address": 10, "node": "n1", "via": "eth0"},
  {"name": "d", "address": "10.0.0.300", "node": "n1", "via": "eth0"}
]`);
    expect(r.pods).toEqual([]);
    expect(r.diagnostics).toEqual([
      'cluster.json:2:3: error: a pod without "via" (expected {"name": "web", "address": "10.244.1.12", "node": "k8s-node1", "via": "cni0"})',
      'cluster.json:3:69: error: unknown key "gateway" in a pod (expected name, address, node, via, gw)',
      'cluster.json:4:28: error: the pod\'s "address": found the number 10 (expected a string)',
      'cluster.json:5:29: error: bad pod address "10.0.0.300" (expected the pod\'s IPv4 or IPv6 address (no prefix length), found "10.0.0.300")',
    ]);
  });
});

describe("a bundle's hostname.txt", () => {
  const host = (text: string) => {
    const sink = new DiagnosticSink("hostname.txt");
    return { name: readHostname(text, sink), diagnostics: sink.items.map(formatDiagnostic) };
  };
  it("is uname -n's one line", () => {
    expect(host("node-01\n")).toEqual({ name: "node-01", diagnostics: [] });
  });
  it("anything else is a located error and no name", () => {
    expect(host("")).toEqual({ name: undefined, diagnostics: ['hostname.txt:1:1: error: a node name cannot be empty (expected the node\'s name (uname -n), found "")'] });
    expect(host("node-01\nnode-02\n").diagnostics).toEqual(['hostname.txt:2:1: error: more than one line in a hostname file (expected one line, the node\'s name (uname -n), found "node-02")']);
    expect(host("my node\n").diagnostics).toEqual(['hostname.txt:1:1: error: node name "my node" contains " " (expected the node\'s name (uname -n), found "my node")']);
  });
});
