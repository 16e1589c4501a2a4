/**
 * Cluster evaluations for the renderers. Seeds 001 and 002 are hand-built from real single-node
 * outcomes (each hop is what buildNode's evaluator says for that node and packet); seed 003 is
 * the cluster evaluator's own answer. Facts not in the seed posts are marked "derived".
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { ClusterHop, ClusterOutcome, Place, Arrival } from "../../src/model/cluster.js";
import type { Outcome } from "../../src/model/evaluation.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { buildCluster, type ClusterEvaluation, type ClusterMember } from "../../src/netfilter/cluster.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { buildNode } from "../../src/netfilter/model.js";
import { parseRules } from "../../src/parse.js";
import type { NetfilterNode } from "../../src/netfilter/model.js";
import { nodeFromTexts, packet } from "../../src/testing/load.js";

const samples = resolve(import.meta.dirname, "../../samples");
const read = (seed: string, f: string) => readFileSync(resolve(samples, seed, f), "utf8");

/** No rules of their own: every chain accepts (seed 002's post shows none). */
const OPEN = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
const open = (file: string) => [{ file, text: OPEN }];

/** The one outcome of a packet on a node (the fixtures' hops are all decided). */
function only(node: NetfilterNode, p: PacketSpec): Outcome {
  const { outcomes } = node.evaluate(p);
  if (outcomes.length !== 1) throw new Error(`expected one outcome for ${JSON.stringify(p)}, got ${outcomes.length}`);
  return outcomes[0]!;
}

function hop(node: NetfilterNode, at: Place, arrival: Arrival, text: string, depth = 0): ClusterHop {
  const p = packet(text);
  return { at, depth, packet: p, arrival, outcome: only(node, p) };
}

/** A hop whose outcome is the encapsulated leg of the hop before (the outer packet the node sends). */
function outerHop(inner: ClusterHop, dev: string, tunnel: string, text: string): ClusterHop {
  const enc = inner.outcome.encapsulated?.[0];
  if (!enc) throw new Error(`no encapsulated leg on ${inner.at.node}`);
  return { at: { node: inner.at.node }, depth: inner.depth + 1, packet: packet(text), arrival: { kind: "encapsulated", dev, tunnel }, outcome: enc };
}

const podNode = (addr: string, gw: string) =>
  nodeFromTexts({ rules: open("pod.save") }, { ifaces: [`eth0=${addr}/24`], routes: [`default via ${gw} dev eth0`] });

/** A way as the cluster evaluator makes one: its assumptions are its hops', each said with its node. */
function way(hops: ClusterHop[], fate: ClusterOutcome["fate"], at: Place, extra: Partial<ClusterOutcome> = {}): ClusterOutcome {
  const assumptions = [...new Set(hops.flatMap((h) => h.outcome.assumptions.map((a) => `${h.at.node}: ${a}`)))];
  return { probability: 1, assumptions, hops, fate, at, ...extra };
}

/**
 * Seed 002: pod net-test1 (10.244.1.12, k8s-node1) pings net-test2 (10.244.2.14, k8s-node2)
 * through flannel's VXLAN, and the echo reply comes back the same way. k8s-node2's facts
 * mirror k8s-node1's (derived: the post shows only node1's).
 */
export function seed002(): ClusterEvaluation {
  return flannelVxlan(OPEN);
}

/**
 * Seed 002 with a rule on k8s-node2 that drops ICMP to net-test2 (derived, not in the post):
 * the request ends on node2, after decapsulation, and there is no reply to follow.
 */
export function seed002Dropped(): ClusterEvaluation {
  return flannelVxlan("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -d 10.244.2.14/32 -p icmp -j DROP\nCOMMIT\n");
}

/** Both of the above as alternatives resting on a condition the input does not decide (a combination made for the renderers). */
export function twoWays(): ClusterEvaluation {
  const through = seed002(), dropped = seed002Dropped();
  const given = (w: ClusterOutcome, g: string): ClusterOutcome => ({ ...w, given: [g], assumptions: [...w.assumptions, g] });
  return { ...through, outcomes: [given(through.outcomes[0]!, "node2 lets ICMP to net-test2 through"), given(dropped.outcomes[0]!, "node2 drops ICMP to net-test2")] };
}

function flannelVxlan(node2Rules: string): ClusterEvaluation {
  const node1 = nodeFromTexts({ rules: open("node1.save"), node: [{ file: "node.json", text: read("002-flannel-vxlan-pod-to-pod", "node.json") }, { file: "route-n.txt", text: read("002-flannel-vxlan-pod-to-pod", "route-n.txt") }] });
  const node2Json = JSON.stringify({
    interfaces: [
      { name: "ens192", addrs: ["172.16.100.102/24"] },
      { name: "cni0", addrs: ["10.244.2.1/24"] },
      { name: "flannel.1", addrs: ["10.244.2.0/32"], kind: "vxlan", vxlan: { port: 8472, peers: { "10.244.1.0": "172.16.100.101", "10.244.0.0": "172.16.100.100" } } },
    ],
    routes: ["default via 172.16.100.254 dev ens192", "10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink", "10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink"],
    sysctl: { "net.ipv4.ip_forward": 1 },
  });
  const node2 = nodeFromTexts({ rules: [{ file: "node2.save", text: node2Rules }], node: [{ file: "node2.json", text: node2Json }] });
  const pod1 = podNode("10.244.1.12", "10.244.1.1");
  const pod2 = podNode("10.244.2.14", "10.244.2.1");
  const P1: Place = { node: "k8s-node1", pod: "net-test1" }, N1: Place = { node: "k8s-node1" };
  const P2: Place = { node: "k8s-node2", pod: "net-test2" }, N2: Place = { node: "k8s-node2" };
  const inner1 = hop(node1, N1, { kind: "link", from: P1, fromIface: "eth0", iface: "cni0" }, "icmp 10.244.1.12 -> 10.244.2.14 echo-request in cni0");
  const request: ClusterHop[] = [
    hop(pod1, P1, { kind: "start" }, "icmp 10.244.1.12 -> 10.244.2.14 echo-request local"),
    inner1,
    outerHop(inner1, "flannel.1", "vxlan", "udp 172.16.100.101 -> 172.16.100.102:8472 local"),
    hop(node2, N2, { kind: "link", from: N1, fromIface: "ens192", iface: "ens192" }, "udp 172.16.100.101 -> 172.16.100.102:8472 in ens192", 1),
    hop(node2, N2, { kind: "decapsulated", dev: "flannel.1", tunnel: "vxlan", outerSrc: "172.16.100.101", outerDst: "172.16.100.102" }, "icmp 10.244.1.12 -> 10.244.2.14 echo-request in flannel.1"),
  ];
  const last = request.at(-1)!;
  if (last.outcome.fate.kind !== "forwarded") return { packet: request[0]!.packet, start: P1, outcomes: [way(request, last.outcome.fate, last.at)], problems: [] };
  request.push(hop(pod2, P2, { kind: "link", from: N2, fromIface: "cni0", iface: "eth0" }, "icmp 10.244.1.12 -> 10.244.2.14 echo-request in eth0"));
  const inner2 = hop(node2, N2, { kind: "link", from: P2, fromIface: "eth0", iface: "cni0" }, "icmp 10.244.2.14 -> 10.244.1.12 echo-reply in cni0 established reply");
  const reply = [
    hop(pod2, P2, { kind: "start" }, "icmp 10.244.2.14 -> 10.244.1.12 echo-reply local established reply"),
    inner2,
    outerHop(inner2, "flannel.1", "vxlan", "udp 172.16.100.102 -> 172.16.100.101:8472 local"),
    hop(node1, N1, { kind: "link", from: N2, fromIface: "ens192", iface: "ens192" }, "udp 172.16.100.102 -> 172.16.100.101:8472 in ens192", 1),
    hop(node1, N1, { kind: "decapsulated", dev: "flannel.1", tunnel: "vxlan", outerSrc: "172.16.100.102", outerDst: "172.16.100.101" }, "icmp 10.244.2.14 -> 10.244.1.12 echo-reply in flannel.1 established reply"),
    hop(pod1, P1, { kind: "link", from: N1, fromIface: "cni0", iface: "eth0" }, "icmp 10.244.2.14 -> 10.244.1.12 echo-reply in eth0 established reply"),
  ];
  const replyWay = way(reply, { kind: "delivered", iface: "eth0" }, P1);
  return {
    packet: request[0]!.packet,
    start: P1,
    outcomes: [way(request, request.at(-1)!.outcome.fate, P2, { reply: [replyWay] })],
    problems: [],
  };
}

/**
 * Seed 001: `curl 10.0.0.103` on the worker host. nat OUTPUT DNATs it to 10.1.63.3:80 and it
 * leaves flannel0 (flanneld wraps it in UDP to the pod's node) with the source eth0 gave it,
 * 192.168.1.12. The pod's node sends the reply straight to 192.168.1.12 on the LAN; it arrives
 * on the worker's eth0 from 10.1.63.3, whose route is flannel0, and strict reverse-path
 * filtering drops it. The pod's node (node-b, 192.168.1.13) and its facts are derived; the
 * worker's rp_filter=1 is assumed (the post does not list sysctls).
 */
export function seed001(): ClusterEvaluation {
  const seed = "001-flannel-udp-clusterip-from-node";
  const workerFacts = JSON.parse(read(seed, "worker-node.json")) as { sysctl: Record<string, number> };
  workerFacts.sysctl["net.ipv4.conf.all.rp_filter"] = 1;
  const worker = nodeFromTexts({
    rules: [{ file: "worker-nat.nvL", text: read(seed, "worker-nat.nvL") }],
    node: [{ file: "worker-node.json", text: JSON.stringify(workerFacts) }, { file: "worker-route-n.txt", text: read(seed, "worker-route-n.txt") }],
  });
  const nodeB = nodeFromTexts({ rules: open("node-b.save"), node: [{ file: "node-b.json", text: JSON.stringify({
    interfaces: [{ name: "eth0", addrs: ["192.168.1.13/24"] }, { name: "docker0", addrs: ["10.1.63.1/24"] }, { name: "flannel0", addrs: ["10.1.63.0/16"], kind: "tun" }],
    routes: ["default via 192.168.1.1 dev eth0"],
    sysctl: { "net.ipv4.ip_forward": 1 },
  }) }] });
  const pod = podNode("10.1.63.3", "10.1.63.1");
  const W: Place = { node: "worker" }, B: Place = { node: "node-b" }, P: Place = { node: "node-b", pod: "g4-backend" };
  const request = [
    hop(worker, W, { kind: "start" }, "tcp 192.168.1.12:50712 -> 10.0.0.103:80 local"),
    hop(worker, W, { kind: "encapsulated", dev: "flannel0", tunnel: "udp (flanneld)" }, "udp 192.168.1.12:8285 -> 192.168.1.13:8285 local", 1),
    hop(nodeB, B, { kind: "link", from: W, fromIface: "eth0", iface: "eth0" }, "udp 192.168.1.12:8285 -> 192.168.1.13:8285 in eth0", 1),
    hop(nodeB, B, { kind: "decapsulated", dev: "flannel0", tunnel: "udp (flanneld)", outerSrc: "192.168.1.12", outerDst: "192.168.1.13" }, "tcp 192.168.1.12:50712 -> 10.1.63.3:80 in flannel0"),
    hop(pod, P, { kind: "link", from: B, fromIface: "docker0", iface: "eth0" }, "tcp 192.168.1.12:50712 -> 10.1.63.3:80 in eth0"),
  ];
  const reply = [
    hop(pod, P, { kind: "start" }, "tcp 10.1.63.3:80 -> 192.168.1.12:50712 local established reply flags SA"),
    hop(nodeB, B, { kind: "link", from: P, fromIface: "eth0", iface: "docker0" }, "tcp 10.1.63.3:80 -> 192.168.1.12:50712 in docker0 established reply flags SA"),
    hop(worker, W, { kind: "link", from: B, fromIface: "eth0", iface: "eth0" }, "tcp 10.1.63.3:80 -> 192.168.1.12:50712 in eth0 established reply flags SA"),
  ];
  const lost = reply.at(-1)!.outcome.fate;
  const replyWay = way(reply, {
    kind: "reply-lost",
    reason: "the reply reaches worker on eth0 and is dropped there",
    parted: "the request left worker by flannel0; node-b sends the reply to 192.168.1.12 directly, so it comes back on eth0",
    cause: lost,
  }, W);
  return {
    packet: request[0]!.packet,
    start: W,
    outcomes: [way(request, request.at(-1)!.outcome.fate, P, { reply: [replyWay] })],
    problems: [],
  };
}

/** A member of seed 003's cluster, built as the CLI builds a node: its facts, and rules when given. */
function seed003Member(name: string, rules?: string): ClusterMember {
  const { facts } = factsFromTexts([{ text: read("003-calico-ipip-cross-node", `${name}.json`), file: `${name}.json` }]);
  const view = nodeViewFromFacts(facts);
  return { name, node: buildNode({ rulesets: rules ? [parseRules(rules, { file: `${name}.save` }).value] : [], node: view }), facts };
}

/**
 * Seed 003 evaluated by the cluster evaluator itself (not hand-built): net-test1 curls
 * net-test2 across Calico's IPIP tunnel, reply followed; `rules01` are node-01's rules.
 */
export function seed003(rules01?: string, sent = "tcp 10.200.226.132:40000 -> 10.200.179.132:80 local"): ClusterEvaluation {
  const c = buildCluster({
    nodes: [seed003Member("node-01", rules01), seed003Member("node-02")],
    pods: [
      { name: "net-test1", node: "node-01", family: "ipv4", address: "10.200.226.132", nodeIface: "cali073b411309a", gateway: "169.254.1.1" },
      { name: "net-test2", node: "node-02", family: "ipv4", address: "10.200.179.132", nodeIface: "cali2b2e7c9e43e", gateway: "169.254.1.1" },
    ],
  });
  return c.evaluate(packet(sent), { node: "node-01", pod: "net-test1" }, { reply: true });
}

/** Seed 003 with node-01 dropping what comes out of tunl0 from port 80: the request gets there, its reply does not. */
export function seed003ReplyDropped(): ClusterEvaluation {
  return seed003("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -i tunl0 -p tcp --sport 80 -j DROP\nCOMMIT\n");
}
