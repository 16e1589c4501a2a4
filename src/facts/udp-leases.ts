/**
 * flannel's UDP backend learns the other nodes' subnet leases from its subnet manager (etcd or
 * the Kubernetes API), not from anything on the node. A loader given several nodes' facts can
 * fill them in: each node's own `lease` and public address (`local`) is a peer of every other
 * node's udp device. What a node's facts already give is kept.
 */
import type { FactTunnel, NodeFacts } from "./model.js";

function udpTunnels(facts: NodeFacts): FactTunnel[] {
  return facts.interfaces.flatMap((i) => (i.tunnel?.kind === "udp" ? [i.tunnel] : []));
}

/** Adds to each node's udp devices the leases of the other nodes: what it writes is nodes × leases, and so is the time. */
export function fillUdpPeers(nodes: readonly NodeFacts[]): void {
  const leases = new Map<string, { local: string; node: NodeFacts }>();
  for (const n of nodes) {
    for (const t of udpTunnels(n)) if (t.lease !== undefined && t.local !== undefined && !leases.has(t.lease)) leases.set(t.lease, { local: t.local, node: n });
  }
  for (const n of nodes) {
    for (const t of udpTunnels(n)) {
      for (const [lease, owner] of leases) {
        if (owner.node === n) continue;
        const peers = (t.peers ??= {});
        peers[lease] ??= owner.local;
      }
    }
  }
}
