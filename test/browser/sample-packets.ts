/**
 * Every packet of every sample, with the files its node is loaded from — the same inputs the
 * samples' READMEs (and test/cli/samples.test.ts) give the CLI, as loadNode takes them.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadNode, type NodeFiles } from "../../src/testing/load.js";
import type { NetfilterNode } from "../../src/netfilter/model.js";

export const SAMPLES_DIR = resolve(import.meta.dirname, "../../samples");

interface Entry {
  name: string;
  packet: string;
  rules?: string;
  node?: string;
}

type Inputs = Omit<NodeFiles, "rules"> & { rules: string | string[] };

export const SAMPLE_INPUTS: Record<string, (e: Entry) => Inputs> = {
  "000-calico-ipip-ipvs-policy": () => ({ rules: ["filter.save", "nat.save"], ipsets: "ipsets.save", node: "node.json", ipvs: "ipvsadm.txt" }),
  "001-flannel-udp-clusterip-from-node": (e) => ({ rules: e.rules!, node: ["worker-node.json", "worker-route-n.txt"] }),
  "002-flannel-vxlan-pod-to-pod": () => ({ rules: "../empty.save", node: ["node.json", "route-n.txt"] }),
  "003-calico-ipip-cross-node": (e) => ({ rules: "../empty.save", node: e.node! }),
  "004-kube-proxy-nodeport": () => ({ rules: "rules.save", node: "node.json" }),
  "005-aws-vpc-cni-policy-routing": () => ({ rules: "rules.save", node: "node.json" }),
  "006-kube-proxy-nftables": () => ({ rules: "ruleset.nft", node: "node.json" }),
  "007-firewalld": () => ({ rules: "ruleset.nft", node: "node.json" }),
  "008-docker-nftables": () => ({ rules: "ruleset.json", node: "node.json" }),
  "009-iptables-nft-mixed": () => ({ rules: ["iptables.save", "ruleset.nft"], node: "node.json" }),
  "host-firewall": () => ({ rules: "rules.save", node: "node.json" }),
  "kube-proxy-basic": () => ({ rules: "rules.save", node: "node.json" }),
};

/** The samples that have packets. */
export const SAMPLES = readdirSync(SAMPLES_DIR).filter((d) => existsSync(resolve(SAMPLES_DIR, d, "packets.json"))).sort();

export interface SamplePacket {
  sample: string;
  index: number;
  name: string;
  packet: string;
  node(): NetfilterNode;
}

export function samplePackets(sample: string): SamplePacket[] {
  const dir = resolve(SAMPLES_DIR, sample);
  const entries: Entry[] = JSON.parse(readFileSync(resolve(dir, "packets.json"), "utf8"));
  // Packets that name the same files share one loaded node.
  const loaded = new Map<string, NetfilterNode>();
  return entries.map((e, index) => ({
    sample,
    index,
    name: e.name,
    packet: e.packet,
    node() {
      const files = SAMPLE_INPUTS[sample]!(e);
      const key = JSON.stringify(files);
      const known = loaded.get(key);
      if (known) return known;
      const abs = (f: NodeFiles["rules"] | undefined) => (f === undefined ? undefined : (typeof f === "string" ? [f] : f).map((x) => resolve(dir, x)));
      const node = loadNode({
        rules: abs(files.rules)!,
        ...(files.node !== undefined ? { node: abs(files.node)! } : {}),
        ...(files.ipsets !== undefined ? { ipsets: abs(files.ipsets)! } : {}),
        ...(files.ipvs !== undefined ? { ipvs: abs(files.ipvs)! } : {}),
      });
      loaded.set(key, node);
      return node;
    },
  }));
}
