/**
 * The cluster walk on seed 003 (Calico IPIP between two nodes, no rules): the packet's way from
 * pod to pod, hop by hop, through the tunnel and back.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { buildNode } from "../../src/netfilter/model.js";
import { buildCluster, type ClusterMember } from "../../src/netfilter/cluster.js";
import { parseRules } from "../../src/parse.js";
import { parsePacketText } from "../../src/packet/parse.js";
import type { ClusterOutcome, PodSpec } from "../../src/model/cluster.js";
import type { PacketSpec } from "../../src/model/packet.js";

const S003 = resolve(import.meta.dirname, "../../samples/003-calico-ipip-cross-node");

function member(name: string, nodeJson: string, rules?: string): ClusterMember {
  return memberFrom(name, factsFromTexts([{ text: nodeJson, file: `${name}.json` }]).facts, rules);
}

function memberFrom(name: string, facts: ReturnType<typeof factsFromTexts>["facts"], rules?: string): ClusterMember {
  const rulesets = rules ? [parseRules(rules, { file: `${name}.save` }).value] : [];
  const view = nodeViewFromFacts(facts);
  return { name, node: buildNode({ rulesets, node: view }), facts };
}

function memberOf(name: string, facts: ReturnType<typeof factsFromTexts>["facts"]): ClusterMember {
  return memberFrom(name, facts, undefined);
}

function packet(text: string): PacketSpec {
  const p = parsePacketText(text);
  if (!p.ok) throw new Error(`bad packet ${text}: ${p.error}`);
  return p.packet;
}

const where = (o: ClusterOutcome) => o.hops.map((h) => `${h.at.pod ? `pod ${h.at.pod}` : h.at.node}${h.depth ? ` (outer)` : ""}: ${h.outcome.fate.kind}${"iface" in h.outcome.fate && h.outcome.fate.iface ? ` ${h.outcome.fate.iface}` : ""}`);

function seed003(rules01?: string, rules02?: string) {
  const pods: PodSpec[] = [
    { name: "net-test1", node: "node-01", family: "ipv4", address: "10.200.226.132", nodeIface: "cali073b411309a", gateway: "169.254.1.1" },
    { name: "net-test2", node: "node-02", family: "ipv4", address: "10.200.179.132", nodeIface: "cali2b2e7c9e43e", gateway: "169.254.1.1" },
  ];
  return buildCluster({
    nodes: [
      member("node-01", readFileSync(resolve(S003, "node-01.json"), "utf8"), rules01),
      member("node-02", readFileSync(resolve(S003, "node-02.json"), "utf8"), rules02),
    ],
    pods,
  });
}

describe("cluster walk: seed 003, Calico IPIP", () => {
  it("net-test1 curls net-test2: through node-01, IP-in-IP over eth0, decapsulated on node-02, delivered to the pod", () => {
    const c = seed003();
    const ev = c.evaluate(packet("tcp 10.200.226.132:40000 -> 10.200.179.132:80 local"), { node: "node-01", pod: "net-test1" });
    expect(ev.outcomes).toHaveLength(1);
    const o = ev.outcomes[0]!;
    expect(where(o)).toEqual([
      "pod net-test1: sent eth0",
      "node-01: forwarded tunl0",
      "node-01 (outer): sent eth0",
      "node-02 (outer): delivered eth0",
      "node-02: forwarded cali2b2e7c9e43e",
      "pod net-test2: delivered eth0",
    ]);
    expect(o.fate).toEqual({ kind: "delivered", iface: "eth0" });
    expect(o.at).toEqual({ node: "node-02", pod: "net-test2" });
    const outer = o.hops[2]!;
    expect(outer.packet).toMatchObject({ proto: 4, src: "192.168.247.94", dst: "192.168.247.95" });
    expect(o.hops[4]!.arrival).toMatchObject({ kind: "decapsulated", dev: "tunl0", outerSrc: "192.168.247.94" });
  });

  it("the reply comes back the same way and reaches net-test1 as its connection's reply", () => {
    const c = seed003();
    const ev = c.evaluate(packet("tcp 10.200.226.132:40000 -> 10.200.179.132:80 local"), { node: "node-01", pod: "net-test1" }, { reply: true });
    const reply = ev.outcomes[0]!.reply!;
    expect(reply).toHaveLength(1);
    expect(where(reply[0]!)).toEqual([
      "pod net-test2: sent eth0",
      "node-02: forwarded tunl0",
      "node-02 (outer): sent eth0",
      "node-01 (outer): delivered eth0",
      "node-01: forwarded cali073b411309a",
      "pod net-test1: delivered eth0",
    ]);
    expect(reply[0]!.fate.kind).toBe("delivered");
    expect(reply[0]!.hops[1]!.outcome.final.ctstate).toBe("ESTABLISHED");
  });

  it("a rule on node-02 dropping IPIP is the cause, and says so", () => {
    const c = seed003(undefined, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p ipencap -j DROP\nCOMMIT\n");
    const ev = c.evaluate(packet("icmp 10.200.226.132 -> 10.200.179.132 echo-request local"), { node: "node-01", pod: "net-test1" });
    const o = ev.outcomes[0]!;
    expect(o.at).toEqual({ node: "node-02" });
    expect(o.fate).toMatchObject({ kind: "dropped", table: "filter", chain: "INPUT", rule: 1 });
    expect(o.hops[o.hops.length - 1]!.depth).toBe(1);
  });

  it("a reply dropped on its way back is reply-lost, with the cause", () => {
    const c = seed003("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -s 10.200.179.132/32 -p tcp --sport 80 -j DROP\nCOMMIT\n");
    const ev = c.evaluate(packet("tcp 10.200.226.132:40000 -> 10.200.179.132:80 local"), { node: "node-01", pod: "net-test1" }, { reply: true });
    const o = ev.outcomes[0]!;
    expect(o.fate.kind).toBe("delivered");
    const r = o.reply![0]!;
    expect(r.fate).toMatchObject({ kind: "reply-lost", cause: { kind: "dropped", chain: "FORWARD", rule: 1 } });
    expect(r.at).toEqual({ node: "node-01" });
  });
});

const S002 = resolve(import.meta.dirname, "../../samples/002-flannel-vxlan-pod-to-pod");
const NODE2_002 = readFileSync(resolve(S002, "k8s-node2.json"), "utf8");

describe("cluster walk: seed 002, flannel VXLAN", () => {
  it("a pod on node1 pings a pod on node2: out flannel.1, VXLAN over ens192, taken apart by node2's flannel.1, into cni0", () => {
    const { facts: f1 } = factsFromTexts([
      { text: readFileSync(resolve(S002, "node.json"), "utf8"), file: "node.json" },
      { text: readFileSync(resolve(S002, "route-n.txt"), "utf8"), file: "route-n.txt" },
    ]);
    const n1 = memberOf("k8s-node1", f1);
    const n2 = member("k8s-node2", NODE2_002);
    const c = buildCluster({ nodes: [n1, n2], pods: [] });
    const ev = c.evaluate(packet("icmp 10.244.1.12 -> 10.244.2.14 echo-request in cni0"), { node: "k8s-node1" }, { reply: true });
    expect(ev.outcomes).toHaveLength(1);
    const o = ev.outcomes[0]!;
    expect(where(o)).toEqual([
      "k8s-node1: forwarded flannel.1",
      "k8s-node1 (outer): sent ens192",
      "k8s-node2 (outer): delivered ens192",
      "k8s-node2: forwarded cni0",
      "pod 10.244.2.14: delivered eth0",
    ]);
    expect(o.hops[1]!.packet).toMatchObject({ proto: 17, src: "172.16.100.101", dst: "172.16.100.102", dport: 8472 });
    expect(o.assumptions.some((a) => a.includes("cni0's subnet 10.244.2.1/24"))).toBe(true);
    // The reply of a packet that came in on cni0 goes back out cni0 on node1, to whatever sent it there.
    const r = o.reply![0]!;
    expect(where(r)).toEqual([
      "pod 10.244.2.14: sent eth0",
      "k8s-node2: forwarded flannel.1",
      "k8s-node2 (outer): sent ens192",
      "k8s-node1 (outer): delivered ens192",
      "k8s-node1: forwarded cni0",
      "pod 10.244.1.12: delivered eth0",
    ]);
    expect(r.fate).toEqual({ kind: "delivered", iface: "eth0" });
  });
});

describe("cluster walk: edges", () => {
  const nodeJson = (addr: string, peer: string) => JSON.stringify({
    interfaces: [{ name: "eth0", addrs: [`${addr}/24`] }],
    routes: [`default via ${peer} dev eth0`, `10.1.1.0/24 dev eth0 proto kernel scope link src ${addr}`],
    sysctl: { "net.ipv4.ip_forward": 1 },
  });

  it("two nodes routing a destination at each other: the TTL runs out, the way ends, said as a loop", () => {
    const c = buildCluster({ nodes: [member("a", nodeJson("10.1.1.1", "10.1.1.2")), member("b", nodeJson("10.1.1.2", "10.1.1.1"))], pods: [] });
    const ev = c.evaluate(packet("udp 192.0.2.1:5000 -> 8.8.8.8:53 in eth0"), { node: "a" });
    expect(ev.outcomes).toHaveLength(1);
    const o = ev.outcomes[0]!;
    expect(o.fate).toMatchObject({ kind: "unroutable", reason: expect.stringMatching(/TTL ran out .* loops between nodes/) });
    expect(o.hops.length).toBe(64);
  });

  it("a packet whose TTL is said runs out after that many routers", () => {
    const c = buildCluster({ nodes: [member("a", nodeJson("10.1.1.1", "10.1.1.2")), member("b", nodeJson("10.1.1.2", "10.1.1.1"))], pods: [] });
    const ev = c.evaluate({ ...packet("udp 192.0.2.1:5000 -> 8.8.8.8:53 in eth0"), ttl: 5 }, { node: "a" });
    expect(ev.outcomes[0]!.hops.length).toBe(5);
  });

  it("places are named by node, pod, NODE/pod or address; a wrong name says what exists", () => {
    const c = seed003();
    expect(c.placeNamed("node-01")).toEqual({ node: "node-01" });
    expect(c.placeNamed("net-test2")).toEqual({ node: "node-02", pod: "net-test2" });
    expect(c.placeNamed("node-02/net-test2")).toEqual({ node: "node-02", pod: "net-test2" });
    expect(c.placeNamed("10.200.226.132")).toEqual({ node: "node-01", pod: "net-test1" });
    expect(c.placeNamed("192.168.247.95")).toEqual({ node: "node-02" });
    expect(c.placeNamed("node-03")).toMatch(/no node or pod named node-03 \(nodes: node-01, node-02\)/);
    expect(c.placeNamed("node-01/net-test2")).toBe("no pod net-test2 on node node-01");
  });

  it("a start that cannot be is an error outcome, not a guess", () => {
    const c = seed003();
    expect(c.evaluate(packet("tcp 10.200.226.132:1 -> 10.200.179.132:80 in eth0"), { node: "node-01", pod: "net-test1" }).outcomes[0]!.fate)
      .toMatchObject({ kind: "error", reason: expect.stringMatching(/sent by the pod: say `local`/) });
    expect(c.evaluate(packet("tcp 10.200.226.132:1 -> 10.200.179.132:80 local"), { node: "node-9" }).outcomes[0]!.fate)
      .toMatchObject({ kind: "error", reason: expect.stringMatching(/no node node-9/) });
  });

  it("a request to an address outside the cluster leaves it; its reply comes back in where it left", () => {
    const c = seed003();
    const ev = c.evaluate(packet("udp 10.200.226.132:5000 -> 8.8.8.8:53 local"), { node: "node-01", pod: "net-test1" }, { reply: true });
    const o = ev.outcomes[0]!;
    expect(o.fate).toMatchObject({ kind: "forwarded", iface: "eth0", via: "192.168.247.2" });
    expect(o.leftCluster).toMatch(/left the cluster from node-01 by eth0 via 192.168.247.2/);
    const r = o.reply![0]!;
    expect(r.hops[0]!.packet).toMatchObject({ from: "eth0", src: "8.8.8.8", dst: "10.200.226.132", sport: 53, dport: 5000 });
    expect(r.fate).toEqual({ kind: "delivered", iface: "eth0" });
    expect(r.at).toEqual({ node: "node-01", pod: "net-test1" });
  });
});

describe("cluster walk: what the outer packet carries", () => {
  it("an IPIP outer packet keeps the inner packet's mark (the kernel sends the same skb on): a rule on it sees the mark", () => {
    const rules = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A FORWARD -j MARK --set-xmark 0x4000/0xffffffff\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p ipencap -m mark --mark 0x4000 -j DROP\nCOMMIT\n";
    const c = seed003(rules);
    const o = c.evaluate(packet("tcp 10.200.226.132:40000 -> 10.200.179.132:80 local"), { node: "node-01", pod: "net-test1" }).outcomes[0]!;
    expect(o.fate).toMatchObject({ kind: "dropped", chain: "OUTPUT", rule: 1 });
    expect(o.hops[o.hops.length - 1]!).toMatchObject({ depth: 1, at: { node: "node-01" } });
    expect(o.hops[o.hops.length - 1]!.outcome.final.mark).toBe("0x4000");
  });
});
