/**
 * Pods inferred from a node's routes: one host route per pod on its veth (Calico, Cilium, the
 * AWS VPC CNI); nothing made up behind a bridge; declarations win.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { factsFromTexts } from "../../src/facts/parse.js";
import { inferPods, mergePods } from "../../src/facts/pods.js";
import type { NodeFacts } from "../../src/facts/model.js";
import type { PodSpec } from "../../src/model/cluster.js";

const facts = (nodeJson: object): NodeFacts => {
  const r = factsFromTexts([{ file: "node.json", text: JSON.stringify(nodeJson) }]);
  expect(r.diagnostics).toEqual([]);
  return r.facts;
};
const sample = (path: string) => {
  const r = factsFromTexts([{ file: path, text: readFileSync(path, "utf8") }]);
  expect(r.diagnostics).toEqual([]);
  return r.facts;
};

describe("pods a node's routes show", () => {
  it("seed 000: the two local pods on their cali veths, Calico's gateway, and nothing for the remote block or the blackhole", () => {
    const r = inferPods("node-01", sample("samples/000-calico-ipip-ipvs-policy/node.json"));
    expect(r).toEqual({
      pods: [
        { name: "10.244.153.204", node: "node-01", family: "ipv4", address: "10.244.153.204", nodeIface: "calice0906292e2", gateway: "169.254.1.1", inferred: "route 10.244.153.204 dev calice0906292e2 scope link on node-01" },
        { name: "10.244.153.201", node: "node-01", family: "ipv4", address: "10.244.153.201", nodeIface: "calibd2348b4f67", gateway: "169.254.1.1", inferred: "route 10.244.153.201 dev calibd2348b4f67 scope link on node-01" },
      ],
      notes: [],
    });
  });

  it("seed 003: net-test1 on node-01, by its address", () => {
    const r = inferPods("k8s-calico-node-01", sample("samples/003-calico-ipip-cross-node/node-01.json"));
    expect(r.pods.map((p) => [p.name, p.nodeIface])).toEqual([["10.200.226.132", "cali073b411309a"]]);
  });

  it("seed 002 (flannel): a bridge's subnet holds no inferred pod", () => {
    const f = sample("samples/002-flannel-vxlan-pod-to-pod/node.json");
    const routes = factsFromTexts([{ file: "route-n.txt", text: readFileSync("samples/002-flannel-vxlan-pod-to-pod/route-n.txt", "utf8") }]).facts.routes;
    expect(inferPods("k8s-node1", { ...f, routes }).pods).toEqual([]);
  });

  it("IPv6 host routes (no scope: IPv6 routes have none) on a veth; no gateway is made up for them", () => {
    const r = inferPods("n1", facts({ routes: ["fd00::4 dev cali12 metric 1024 pref medium", "fd00::/64 dev eth0 proto kernel metric 256 pref medium"] }));
    expect(r.pods).toEqual([{ name: "fd00::4", node: "n1", family: "ipv6", address: "fd00::4", nodeIface: "cali12", inferred: "route fd00::4 dev cali12 on n1" }]);
  });

  it("Cilium's lxc and the AWS VPC CNI's eni veths are pods too, without Calico's gateway; a route in another table says so", () => {
    const r = inferPods("n1", facts({ routes: ["10.0.1.5 dev lxc1a2b scope link", "10.0.1.6 dev eni3f scope link table 2"] }));
    expect(r.pods.map((p) => [p.address, p.gateway, p.inferred])).toEqual([
      ["10.0.1.5", undefined, "route 10.0.1.5 dev lxc1a2b scope link on n1"],
      ["10.0.1.6", undefined, "route 10.0.1.6 dev eni3f scope link table 2 on n1"],
    ]);
  });

  it("not a pod: the node's own address, a route with a gateway, a /31, a global scope, a non-veth device, a blackhole", () => {
    const f = facts({
      interfaces: [
        { name: "cali1", addrs: ["10.0.0.7/32"] },
        // The facts say what the link is: that wins over its name.
        { name: "cali9", addrs: [], kind: "dummy" },
      ],
      routes: [
        "10.0.0.7 dev cali1 scope link",
        "10.0.0.8 via 10.0.0.1 dev cali2",
        "10.0.0.10/31 dev cali3 scope link",
        "10.0.0.11 dev cali4 scope global",
        "10.0.0.12 dev eth0 scope link",
        "10.0.0.13 dev cali9 scope link",
        "blackhole 10.0.0.14",
        "10.0.0.15 dev flannel.1 scope link",
      ],
    });
    expect(inferPods("n1", f).pods).toEqual([]);
  });

  it("a device whose kind the facts give as veth is one, whatever its name", () => {
    const f = facts({ interfaces: [{ name: "pod-a", addrs: [], kind: "veth" }], routes: ["10.0.0.9 dev pod-a scope link"] });
    expect(inferPods("n1", f).pods.map((p) => p.nodeIface)).toEqual(["pod-a"]);
  });

  it("one address routed to two veths of a node is no pod, and a note says why; the same route in two tables is one pod", () => {
    const r = inferPods("n1", facts({ routes: ["10.0.0.9 dev cali1 scope link", "10.0.0.9 dev cali2 scope link", "10.0.0.5 dev cali5 scope link", "10.0.0.5 dev cali5 scope link table 7"] }));
    expect(r.pods.map((p) => p.address)).toEqual(["10.0.0.5"]);
    expect(r.notes).toEqual(["n1 routes 10.0.0.9 to cali1 and cali2: no pod is taken from those routes (which device holds it is not known)"]);
  });
});

describe("declared and inferred pods together", () => {
  const inferred = (address: string, node: string, dev: string): PodSpec => ({ name: address, node, family: "ipv4", address, nodeIface: dev, inferred: `route ${address} dev ${dev} scope link on ${node}` });

  it("a declaration wins over the pod inferred at its address; a disagreement is noted", () => {
    const web: PodSpec = { name: "web", node: "n1", family: "ipv4", address: "10.0.0.9", nodeIface: "cali1" };
    const db: PodSpec = { name: "db", node: "n1", family: "ipv4", address: "10.0.0.10", nodeIface: "cali2" };
    const r = mergePods([web, db], [inferred("10.0.0.9", "n1", "cali1"), inferred("10.0.0.10", "n2", "cali7"), inferred("10.0.0.11", "n2", "cali8")]);
    expect(r.pods.map((p) => p.name)).toEqual(["web", "db", "10.0.0.11"]);
    expect(r.notes).toEqual(["pod db (10.0.0.10) is declared on n1 via cali2, which the routes do not say (route 10.0.0.10 dev cali7 scope link on n2): the declaration is used"]);
  });

  it("an address inferred on two nodes is no pod: which node holds it is not known", () => {
    const r = mergePods([], [inferred("10.0.0.9", "n1", "cali1"), inferred("10.0.0.9", "n2", "cali2")]);
    expect(r.pods).toEqual([]);
    expect(r.notes).toEqual(["10.0.0.9 is routed to a pod on n1 (dev cali1) and n2 (dev cali2): no pod is taken for it (which node holds it is not known; declare it)"]);
  });
});
