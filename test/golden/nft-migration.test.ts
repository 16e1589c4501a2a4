/**
 * The migration users are about to make: one node's services in kube-proxy's iptables mode and
 * in its nftables mode (the two bench generators lay out the same services, endpoints and
 * NodePorts). `netfate diff` between the two dumps: a packet to a service reaches the same
 * endpoints with the same chances in both, and the packets whose fate changed are listed
 * (nftables mode rejects a ClusterIP's unserved ports and drops unallocated ClusterIPs, which
 * the iptables-mode dump of this generator does not).
 */
import { describe, expect, it } from "vitest";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";
import { kubeNftDump } from "../../bench/gen-kube-nft.js";
import { assembleInputs, nodeInputsOf } from "../../src/assemble.js";
import { diffRulesets } from "../../src/diff/compare.js";
import { buildNode } from "../../src/netfilter/model.js";
import { parsePacketText } from "../../src/packet/parse.js";
import type { PacketSpec } from "../../src/model/packet.js";

const NODE = [{ file: "node.json", text: JSON.stringify({
  interfaces: [{ name: "eth0", addrs: ["192.168.0.11/24"] }, { name: "cni0", addrs: ["10.244.0.1/16"] }],
  routes: ["default via 192.168.0.1 dev eth0"],
  sysctl: { "net.ipv4.ip_forward": 1 },
}) }];

function side(file: string, text: string) {
  const a = assembleInputs({ rules: [{ file, text }], node: NODE });
  expect(a.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return a;
}

const iptables = side("iptables.save", kubeProxyDump({ services: 5 }));
const nft = side("nft.txt", kubeNftDump({ services: 5 }));

function packet(text: string): PacketSpec {
  const p = parsePacketText(text);
  if (!p.ok) throw new Error(p.error);
  return p.packet;
}

/** Each outcome as its fate, final destination and chance, sorted: what a user compares. */
function fates(inputs: typeof iptables, text: string): string[] {
  return buildNode(nodeInputsOf(inputs)).evaluate(packet(text)).outcomes
    .map((o) => `${o.fate.kind} ${o.final.dst}:${o.final.dport} p=${o.probability.toFixed(4)}`).sort();
}

describe("kube-proxy iptables mode → nftables mode, same services", () => {
  it("a pod to a ClusterIP reaches the same three endpoints, a third of the time each, in both modes", () => {
    const p = "tcp 10.244.0.50:40000 -> 10.96.0.10:80 in cni0";
    const before = fates(iptables, p);
    expect(before).toHaveLength(3);
    expect(fates(nft, p)).toEqual(before);
  });

  it("an outside client to a NodePort on the node's address is sent to the same endpoints in both", () => {
    const p = "tcp 198.51.100.7:40000 -> 192.168.0.11:30000 in eth0";
    const before = fates(iptables, p);
    expect(before.length).toBeGreaterThan(0);
    expect(fates(nft, p)).toEqual(before);
  });

  it("netfate diff lists the packets whose fate changed, and none of the services' own", () => {
    const r = diffRulesets(iptables, nft, { max: 2000, random: 200 });
    expect(r.differences.length).toBeGreaterThan(0);
    // A ClusterIP's port it does not serve: forwarded by iptables mode, rejected by nftables mode.
    const unserved = r.differences.find((d) => d.packet.dst === "10.96.0.10" && d.packet.dport !== 80);
    expect(unserved?.new.outcomes.map((o) => o.fate.kind)).toEqual(["rejected"]);
    // Not one difference is a packet to a served ClusterIP port or a NodePort from outside.
    const served = r.differences.filter((d) => /^10\.96\.0\.1[0-4]$/.test(d.packet.dst) && d.packet.dport === 80 && d.packet.proto === 6 && d.packet.state === undefined);
    expect(served.map((d) => d.kind)).toEqual([]);
  });
});
