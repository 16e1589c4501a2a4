/**
 * Generates a flannel VXLAN cluster as a `--cluster` directory: one sub-directory per node,
 * each holding what `netfate collect` would (iptables-save.txt, node.json, hostname.txt), and
 * pods.txt.
 *
 * Node i (1-based) has eth0 10.0.0.i/24, the bridge cni0 10.244.i.1/24 holding its pods'
 * subnet, and flannel.1 (VXLAN, port 8472) 10.244.i.0/32 with a peer for every other node and
 * a route `10.244.M.0/24 via 10.244.M.0 dev flannel.1 onlink` to each. Every node has the same
 * kube-proxy rules (iptables mode) for the same services, whose endpoints are spread over the
 * nodes' pod subnets; pods.txt declares them (a bridge's pods are not in the routes).
 *
 * Above 253 nodes the underlay is 10.0.0.0/16 and pod subnets go on past 10.244.255.0/24 into
 * 10.245.0.0/24 and so on. `mesh: false` leaves out the routes and peers to other nodes, so
 * that every node is the same size whatever the cluster's (for measuring how loading scales).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kubeProxyDump } from "./gen-kube-proxy.js";

export interface ClusterGenOptions {
  nodes: number;
  services: number;
  endpointsPerService?: number;
  /** Routes and VXLAN peers to every other node (default true). */
  mesh?: boolean;
}

/** Node i's name: node-01 … node-50 (zero-padded to the widest). */
export function nodeName(i: number, nodes: number): string {
  return `node-${String(i).padStart(Math.max(2, String(nodes).length), "0")}`;
}

/** Node i's underlay address, and the prefix length of the underlay. */
export function nodeAddress(i: number, nodes: number): { address: string; prefixLength: number } {
  return nodes <= 253 ? { address: `10.0.0.${i}`, prefixLength: 24 } : { address: `10.0.${i >> 8}.${i & 255}`, prefixLength: 16 };
}

/** The underlay's router: the last address of the underlay, which no node has. */
function router(nodes: number): string {
  return nodes <= 253 ? "10.0.0.254" : "10.0.255.254";
}

/** The first three octets of node i's pod subnet (a /24). */
export function podNet(i: number): string {
  return `10.${244 + (i >> 8)}.${i & 255}`;
}

function nodeJson(i: number, o: ClusterGenOptions): string {
  const n = o.nodes;
  const self = nodeAddress(i, n);
  const net = podNet(i);
  const peers: Record<string, string> = {};
  const routes = [
    `default via ${router(n)} dev eth0`,
    `${self.prefixLength === 24 ? "10.0.0.0/24" : "10.0.0.0/16"} dev eth0 proto kernel scope link src ${self.address}`,
    `${net}.0/24 dev cni0 proto kernel scope link src ${net}.1`,
  ];
  if (o.mesh !== false) {
    for (let m = 1; m <= n; m++) {
      if (m === i) continue;
      peers[`${podNet(m)}.0`] = nodeAddress(m, n).address;
      routes.push(`${podNet(m)}.0/24 via ${podNet(m)}.0 dev flannel.1 onlink`);
    }
  }
  return JSON.stringify({
    interfaces: [
      { name: "lo", addrs: ["127.0.0.1/8"] },
      { name: "eth0", addrs: [`${self.address}/${self.prefixLength}`] },
      { name: "cni0", addrs: [`${net}.1/24`], kind: "bridge" },
      { name: "flannel.1", addrs: [`${net}.0/32`], kind: "vxlan", vxlan: { port: 8472, peers } },
    ],
    routes,
    sysctl: { "net.ipv4.ip_forward": 1, "net.bridge.bridge-nf-call-iptables": 1 },
  }, null, 1) + "\n";
}

/** Writes the cluster into `dir` (which must not hold another one). */
export function writeCluster(dir: string, o: ClusterGenOptions): void {
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 10_000) throw new Error(`nodes: 1 to 10000, not ${o.nodes}`);
  const eps = o.endpointsPerService ?? 3;
  // Endpoint k is on node (k mod N) + 1, the pods of a node numbered from .2 (.1 is cni0).
  const rules = kubeProxyDump({
    services: o.services, endpointsPerService: eps,
    endpointAddress: (k) => `${podNet((k % o.nodes) + 1)}.${2 + (Math.floor(k / o.nodes) % 250)}`,
  });
  // The endpoints as pods: behind a bridge a pod is not in the routes, so it is declared.
  const perNode = Math.min(250, Math.ceil((o.services * eps) / o.nodes));
  const pods: string[] = [];
  for (let i = 1; i <= o.nodes; i++) {
    for (let h = 2; h < 2 + perNode; h++) pods.push(`pod web-${i}-${h} ${podNet(i)}.${h} on ${nodeName(i, o.nodes)} via cni0 gw ${podNet(i)}.1`);
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "pods.txt"), pods.join("\n") + "\n");
  for (let i = 1; i <= o.nodes; i++) {
    const name = nodeName(i, o.nodes);
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "iptables-save.txt"), rules);
    writeFileSync(join(d, "node.json"), nodeJson(i, o));
    writeFileSync(join(d, "hostname.txt"), `${name}\n`);
  }
}
