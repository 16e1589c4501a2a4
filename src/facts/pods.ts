/**
 * The pods a node's routes show, for a cluster whose pods the user did not declare.
 *
 * CNIs that give each pod its own veth without a bridge (Calico, Cilium, the AWS VPC CNI)
 * install one host route per pod on its veth: `10.244.153.204 dev calice0906292e2 scope link`
 * (IPv6: `fd00::4 dev cali... metric 1024`, which has no scope: IPv6 routes have none). Such a
 * route is a pod, named by its address, with `inferred` saying which route on which node.
 *
 * Bridge CNIs (flannel, kubenet, docker0) route a whole subnet to the bridge: which addresses
 * in it are pods is not in the routes, and none is made up here (the evaluator asks about an
 * address behind a bridge when a packet goes there).
 */
import type { PodSpec } from "../model/cluster.js";
import type { FactInterface, FactRoute, NodeFacts } from "./model.js";

/**
 * Name prefixes of the host ends of pod veths: Calico (cali), Cilium (lxc), the AWS VPC CNI
 * (eni), GKE (gke), Azure CNI (azv), and plain veths. Used only when the facts do not give the
 * link's kind (`ip -j -d addr` does: "veth").
 */
const VETH_PREFIXES = ["cali", "veth", "lxc", "eni", "gke", "azv"];

/** Calico gives every IPv4 pod this gateway, answered by proxy ARP on the cali veth. */
export const CALICO_GATEWAY = "169.254.1.1";

function vethLike(dev: string, iface: FactInterface | undefined): boolean {
  if (iface?.kind !== undefined) return iface.kind === "veth";
  return VETH_PREFIXES.some((p) => dev.startsWith(p));
}

/**
 * A host route to one address on a device, with no gateway: `scope link` for IPv4 (what ip
 * prints for every such route; a hand-written one may leave the scope out), none for IPv6.
 */
function isPodRoute(r: FactRoute): r is FactRoute & { dev: string } {
  if (r.type !== "unicast" || r.dev === undefined || r.gateway !== undefined) return false;
  if (r.family === "ipv4") return r.prefixLength === 32 && (r.scope === undefined || r.scope === "link");
  return r.prefixLength === 128;
}

/** The route as `ip route` prints it, as far as it says where the pod is. */
function routeText(r: FactRoute & { dev: string }): string {
  return `${r.dst} dev ${r.dev}${r.scope ? ` scope ${r.scope}` : ""}${r.table !== "main" ? ` table ${r.table}` : ""}`;
}

export interface InferredPods {
  pods: PodSpec[];
  /** Routes that look like pods but cannot be one (one address on two devices): why each was not taken. */
  notes: string[];
}

/** The pods `node`'s routes show. Linear in the node's routes and addresses. */
export function inferPods(node: string, facts: NodeFacts): InferredPods {
  const ifaces = new Map<string, FactInterface>();
  const own = new Set<string>();
  for (const i of facts.interfaces) {
    ifaces.set(i.name, i);
    for (const a of i.addrs) own.add(a.address);
  }
  const byAddress = new Map<string, PodSpec | "ambiguous">();
  const devices = new Map<string, Set<string>>();
  for (const r of facts.routes) {
    if (!isPodRoute(r) || own.has(r.dst) || !vethLike(r.dev, ifaces.get(r.dev))) continue;
    const before = byAddress.get(r.dst);
    if (before === undefined) {
      const pod: PodSpec = { name: r.dst, node, family: r.family, address: r.dst, nodeIface: r.dev, inferred: `route ${routeText(r)} on ${node}` };
      if (r.family === "ipv4" && r.dev.startsWith("cali")) pod.gateway = CALICO_GATEWAY;
      byAddress.set(r.dst, pod);
      devices.set(r.dst, new Set([r.dev]));
    } else if (!devices.get(r.dst)!.has(r.dev)) {
      // The same address in two tables on one device is one pod; on two devices, which is it?
      devices.get(r.dst)!.add(r.dev);
      byAddress.set(r.dst, "ambiguous");
    }
  }
  const pods: PodSpec[] = [];
  const notes: string[] = [];
  for (const [address, p] of byAddress) {
    if (p !== "ambiguous") pods.push(p);
    else notes.push(`${node} routes ${address} to ${[...devices.get(address)!].join(" and ")}: no pod is taken from those routes (which device holds it is not known)`);
  }
  return { pods, notes };
}

/**
 * A cluster's pods: the declared ones, then those inferred that no declaration holds the
 * address of. An address inferred on two nodes is no pod (which node has it is not known);
 * a declaration that disagrees with a route is kept, with a note.
 */
export function mergePods(declared: readonly PodSpec[], inferred: readonly PodSpec[]): InferredPods {
  const notes: string[] = [];
  const declaredAt = new Map<string, PodSpec>();
  for (const p of declared) declaredAt.set(p.address, p);
  const found = new Map<string, PodSpec[]>();
  for (const p of inferred) {
    const list = found.get(p.address);
    if (list) list.push(p);
    else found.set(p.address, [p]);
  }
  const pods: PodSpec[] = [...declared];
  for (const [address, list] of found) {
    const d = declaredAt.get(address);
    if (d) {
      const other = list.find((p) => p.node !== d.node || p.nodeIface !== d.nodeIface);
      if (other) notes.push(`pod ${d.name} (${address}) is declared on ${d.node} via ${d.nodeIface}, which the routes do not say (${other.inferred}): the declaration is used`);
      continue;
    }
    if (list.length === 1) pods.push(list[0]!);
    else notes.push(`${address} is routed to a pod on ${list.map((p) => `${p.node} (dev ${p.nodeIface})`).join(" and ")}: no pod is taken for it (which node holds it is not known; declare it)`);
  }
  return { pods, notes };
}
