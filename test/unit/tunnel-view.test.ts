/**
 * The node view of tunnels, both ways: the outer packets an inner one leaving a tunnel device
 * becomes (TunnelInfo), and which device takes an arriving outer packet apart (decapsulator).
 * VXLAN from the real iproute2 fixtures (test/fixtures/tunnels); the rest from node.json and
 * hand-written dumps, named as such.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { unknownNode } from "../../src/netfilter/unknown-facts.js";
import { fillUdpPeers } from "../../src/facts/udp-leases.js";
import { WG_DUMP } from "../support/tunnel-fixtures.js";

const fx = (f: string) => ({ file: f, text: readFileSync(resolve(import.meta.dirname, "../fixtures/tunnels", f), "utf8") });

/** The fixture namespace's addresses (ip -d link has none), plus devices this kernel cannot make. */
const NODE = {
  interfaces: [
    { name: "eth0", addrs: ["172.16.100.101/24", "192.168.1.12/24", "2001:db8::11/64"] },
    { name: "flannel.1", addrs: ["10.244.1.0/32"] },
    { name: "flannel0", kind: "tun", addrs: ["10.1.9.0/16"], udp: { local: "192.168.1.12", peers: { "10.1.63.0/24": "192.168.1.11", "10.1.0.0/16": "192.168.1.99" } } },
    { name: "tunl0", kind: "ipip", addrs: ["10.244.153.192/32"] },
    { name: "ipip1", ipip: { local: "172.16.100.101", remote: "172.16.100.120" } },
  ],
};
/** Hand-written: a neighbour on vxlan.calico whose MAC has no FDB entry of its own (Calico's per-peer entries left out). */
const CALICO_NEIGH = "10.65.0.1 dev vxlan.calico lladdr 66:00:00:00:00:01 PERMANENT\n2001:db8:1::1 dev vx6 lladdr 66:00:00:00:00:06 PERMANENT\n";

const { facts, diagnostics } = factsFromTexts([
  fx("ip-d-link.json"), fx("bridge-fdb.json"), fx("ip-neigh.json"),
  { file: "calico-neigh.txt", text: CALICO_NEIGH },
  { file: "node.json", text: JSON.stringify(NODE) },
  { file: "wg-dump.txt", text: WG_DUMP },
]);
// The fixture's TUN has no flanneld holding it open, so it is down; on a node flanneld keeps it up.
const flannel0 = facts.interfaces.find((i) => i.name === "flannel0")!;
expect(flannel0.up).toBe(false);
const v = nodeViewFromFacts({ ...facts, interfaces: facts.interfaces.map((i) => (i === flannel0 ? { ...i, up: true } : i)) });

describe("outer packets", () => {
  it("reads its inputs cleanly", () => expect(diagnostics).toEqual([]));

  it("VXLAN: next hop → neighbour MAC → FDB remote, as vxlan_xmit", () => {
    const t = v.tunnel("flannel.1")!;
    expect(t).toMatchObject({ kind: "vxlan", outerProto: 17, outerDport: 8472, vni: 1, outerSrc: "172.16.100.101" });
    expect(t.outerSport).toBeUndefined();
    expect(t.outerDestination("10.244.2.0", "10.244.2.14")).toBe("172.16.100.102");
    expect(t.outerDestination("10.244.0.0", "10.244.0.7")).toBe("172.16.100.100");
    expect(t.outerPackets!("10.244.2.0", "10.244.2.14")).toEqual([{ dst: "172.16.100.102", dport: 8472, vni: 1, innerMac: "b6:72:1b:43:5e:01" }]);
    // A route without a gateway: the neighbour is the destination itself.
    expect(t.outerDestination(undefined, "10.244.2.0")).toBe("172.16.100.102");
  });
  it("VXLAN: a neighbour whose MAC has no entry goes to the all-zero entries, a copy each, with their own port and VNI", () => {
    const t = v.tunnel("vxlan.calico")!;
    expect(t.outerPackets!("10.65.0.1", "10.65.0.9")).toEqual([
      { dst: "172.16.100.103", dport: 4789, vni: 4096, innerMac: "66:00:00:00:00:01" },
      { dst: "172.16.100.104", dport: 4789, vni: 4096, innerMac: "66:00:00:00:00:01" },
      { dst: "172.16.100.105", dport: 4790, vni: 5, innerMac: "66:00:00:00:00:01" },
    ]);
    // Several remotes: no single outer destination.
    expect(t.outerDestination("10.65.0.1", "10.65.0.9")).toBeUndefined();
  });
  it("VXLAN over IPv6, with the next hop spelled otherwise than the table holds it", () => {
    expect(v.tunnel("vx6")!.outerPackets!("2001:DB8:1:0:0:0:0:1", "2001:db8:1::9")).toEqual([{ dst: "2001:db8::12", dport: 4789, vni: 10, innerMac: "66:00:00:00:00:06" }]);
  });
  it("VXLAN: no FDB entry and no default entry is a drop; no neighbour entry is ARP first, which the facts cannot answer", () => {
    const t = v.tunnel("flannel.1")!;
    expect(t.outerPackets!("10.244.3.0", "10.244.3.5")).toEqual({ dropped: expect.stringContaining("no FDB entry for 02:00:00:00:00:03") });
    expect(t.outerPackets!("10.244.9.0", "10.244.9.5")).toEqual({ indeterminate: expect.stringContaining("flannel.1 has no neighbour entry for 10.244.9.0") });
    expect(v.tunnel("cilium_vxlan")!.outerPackets!(undefined, "10.0.0.1")).toEqual({ indeterminate: expect.stringContaining("collect-metadata") });
  });
  it("VXLAN without neighbour or FDB tables says which is missing", () => {
    const only = nodeViewFromFacts(factsFromTexts([fx("ip-d-link.json")]).facts);
    expect(only.tunnel("flannel.1")!.outerPackets!("10.244.2.0", "10.244.2.14")).toEqual({ indeterminate: expect.stringContaining("no neighbour table (ip -j neigh show)") });
    const noFdb = nodeViewFromFacts(factsFromTexts([fx("ip-d-link.json"), fx("ip-neigh.json")]).facts);
    expect(noFdb.tunnel("flannel.1")!.outerPackets!("10.244.2.0", "10.244.2.14")).toEqual({ indeterminate: expect.stringContaining("no forwarding database (bridge -j fdb show)") });
    // `remote X` without an FDB dump: the default entry the kernel adds for it (hand-written neighbour).
    const remote = nodeViewFromFacts(factsFromTexts([fx("ip-d-link.json"), { file: "n", text: "10.7.0.1 dev vxr lladdr 66:00:00:00:00:07 PERMANENT\n" }]).facts);
    expect(remote.tunnel("vxr")!.outerPackets!("10.7.0.1", "10.7.0.9")).toEqual([{ dst: "172.16.100.106", dport: 8472, vni: 7, innerMac: "66:00:00:00:00:07" }]);
  });
  it("IPIP: a fixed remote, else the route's next hop, else the destination (rt_nexthop)", () => {
    expect(v.tunnel("tunl0")!.outerDestination("192.168.100.112", "10.244.146.205")).toBe("192.168.100.112");
    expect(v.tunnel("tunl0")!.outerDestination(undefined, "10.244.146.205")).toBe("10.244.146.205");
    expect(v.tunnel("ipip1")).toMatchObject({ kind: "ipip", outerProto: 4, outerSrc: "172.16.100.101" });
    expect(v.tunnel("ipip1")!.outerDestination("1.2.3.4", "10.0.0.1")).toBe("172.16.100.120");
  });
  it("flannel udp: the longest subnet lease holding the destination, port 8285 both ways", () => {
    const t = v.tunnel("flannel0")!;
    expect(t).toMatchObject({ kind: "udp", outerProto: 17, outerDport: 8285, outerSport: 8285, outerSrc: "192.168.1.12" });
    expect(t.outerDestination(undefined, "10.1.63.4")).toBe("192.168.1.11");
    expect(t.outerDestination(undefined, "10.1.64.4")).toBe("192.168.1.99");
    expect(t.outerPackets!(undefined, "10.2.0.1")).toEqual({ dropped: expect.stringContaining("no subnet lease holds 10.2.0.1") });
  });
  it("WireGuard: the peer whose allowed IPs hold the destination, its endpoint, from the listen port, with the fwmark", () => {
    const t = v.tunnel("wg0")!;
    expect(t).toMatchObject({ kind: "wireguard", outerProto: 17, outerSport: 51820, outerMark: 0xca6c });
    // The peers' endpoint ports differ: no single outerDport, each outer packet says its own.
    expect(t.outerDport).toBeUndefined();
    expect(t.outerPackets!(undefined, "10.244.2.9")).toEqual([{ dst: "192.168.1.11", dport: 51820, sport: 51820 }]);
    expect(t.outerPackets!(undefined, "fd00::3")).toEqual([{ dst: "2001:db8::13", dport: 51821, sport: 51820 }]);
    expect(t.outerPackets!(undefined, "10.9.9.9")).toEqual({ dropped: expect.stringContaining("no peer's allowed IPs hold 10.9.9.9") });
    expect(v.tunnel("wg1")!.outerPackets!(undefined, "10.0.0.1")).toEqual({ dropped: expect.stringContaining("no peer's allowed IPs") });
  });
  it("WireGuard on receive: the inner source must be in the sending peer's allowed IPs", () => {
    const t = v.tunnel("wg0")!;
    expect(t.acceptsInner!("10.244.2.9", "192.168.1.11")).toBe(true);
    expect(t.acceptsInner!("10.0.0.3", "192.168.1.11")).toBe(false);
    expect(t.acceptsInner!("10.0.0.3", "2001:db8::13")).toBe(true);
    expect(t.acceptsInner!("10.0.0.3", "192.168.1.50")).toEqual({ indeterminate: expect.stringContaining("no peer has endpoint 192.168.1.50") });
    expect(v.tunnel("flannel.1")!.acceptsInner).toBeUndefined();
  });
});

describe("decapsulator", () => {
  const udp = (dst: string, dport: number, vni?: number, family: "ipv4" | "ipv6" = "ipv4") => v.decapsulator!({ family, proto: 17, dst, dport, ...(vni === undefined ? {} : { vni }) });
  it("VXLAN: the device of the port and VNI (vxlan_rcv → vxlan_vs_find_vni)", () => {
    expect(udp("172.16.100.101", 8472, 1)).toEqual({ dev: "flannel.1", kind: "vxlan" });
    expect(udp("172.16.100.101", 8472, 2)).toEqual({ dev: "vx2", kind: "vxlan" });
    // No device has VNI 99 on the port: vxlan_rcv drops it.
    expect(udp("172.16.100.101", 8472, 99)).toBeUndefined();
    // The socket is bound to every address: any of the node's.
    expect(udp("192.168.1.12", 4789, 4096)).toEqual({ dev: "vxlan.calico", kind: "vxlan" });
    expect(udp("2001:db8::11", 4789, 10, "ipv6")).toEqual({ dev: "vx6", kind: "vxlan" });
    expect(udp("172.16.100.101", 8473, 12345)).toEqual({ dev: "cilium_vxlan", kind: "vxlan" });
  });
  it("a device that is down takes nothing apart (its socket is closed)", () => {
    expect(facts.interfaces.find((i) => i.name === "vxr")?.up).toBe(false);
    expect(udp("172.16.100.101", 8472, 7)).toBeUndefined();
  });
  it("VXLAN without the VNI, when devices share the port: the assumption is said", () => {
    expect(udp("172.16.100.101", 8472)).toEqual({ dev: "flannel.1", kind: "vxlan", assumption: expect.stringContaining("flannel.1, vx2 share port 8472") });
    expect(udp("172.16.100.101", 4789)).toEqual({ dev: "vxlan.calico", kind: "vxlan" });
  });
  it("nothing is taken apart that is not for this node", () => {
    expect(udp("172.16.100.102", 8472, 1)).toBeUndefined();
    expect(v.decapsulator!({ family: "ipv4", proto: 4, dst: "10.9.9.9" })).toBeUndefined();
    expect(udp("172.16.100.101", 9999)).toBeUndefined();
    expect(v.decapsulator!({ family: "ipv4", proto: 6, dst: "172.16.100.101", dport: 8472 })).toBeUndefined();
    expect(unknownNode.decapsulator!({ family: "ipv4", proto: 4, dst: "172.16.100.101" })).toBeUndefined();
  });
  it("IPIP: a device with the packet's ends, else tunl0 (ip_tunnel_lookup)", () => {
    expect(v.decapsulator!({ family: "ipv4", proto: 4, dst: "172.16.100.101", src: "172.16.100.120" })).toEqual({ dev: "ipip1", kind: "ipip" });
    expect(v.decapsulator!({ family: "ipv4", proto: 4, dst: "172.16.100.101", src: "172.16.100.7" })).toEqual({ dev: "tunl0", kind: "ipip" });
    expect(v.decapsulator!({ family: "ipv4", proto: 4, dst: "172.16.100.101" })).toEqual({ dev: "tunl0", kind: "ipip", assumption: expect.stringContaining("ipip1's remote 172.16.100.120") });
  });
  it("IPIP: another device with no ends comes before the fallback tunl0, a device with the local address before both", () => {
    const node = (extra: object[]) => nodeViewFromFacts(factsFromTexts([{ file: "node.json", text: JSON.stringify({ interfaces: [{ name: "eth0", addrs: ["172.16.100.101/24"] }, { name: "tunl0", ipip: true }, ...extra] }) }]).facts);
    const outer = { family: "ipv4" as const, proto: 4, dst: "172.16.100.101", src: "172.16.100.9" };
    expect(node([]).decapsulator!(outer)).toEqual({ dev: "tunl0", kind: "ipip" });
    expect(node([{ name: "tunl1", ipip: true }]).decapsulator!(outer)).toEqual({ dev: "tunl1", kind: "ipip" });
    expect(node([{ name: "tunl1", ipip: true }, { name: "tunl2", ipip: { local: "172.16.100.101" } }]).decapsulator!(outer)).toEqual({ dev: "tunl2", kind: "ipip" });
    // A device with another local address is not one for this packet.
    expect(node([{ name: "tunl2", ipip: { local: "172.16.100.55" } }]).decapsulator!(outer)).toEqual({ dev: "tunl0", kind: "ipip" });
  });
  it("flannel udp: its port at the address flanneld binds", () => {
    expect(udp("192.168.1.12", 8285)).toEqual({ dev: "flannel0", kind: "udp" });
    expect(udp("172.16.100.101", 8285)).toBeUndefined();
    // A TUN device that is down takes no packet from flanneld: its write fails with EIO (test/kernel/tunnel-tun.test.ts).
    expect(nodeViewFromFacts(facts).decapsulator!({ family: "ipv4", proto: 17, dst: "192.168.1.12", dport: 8285 })).toBeUndefined();
  });
  it("WireGuard: its listen port, any local address", () => {
    expect(udp("172.16.100.101", 51820)).toEqual({ dev: "wg0", kind: "wireguard" });
    expect(udp("2001:db8::11", 51820, undefined, "ipv6")).toEqual({ dev: "wg0", kind: "wireguard" });
  });
});

describe("flannel udp leases from the other nodes", () => {
  it("each node's lease and public address become a peer of the others; what a node gives is kept", () => {
    const node = (addr: string, lease: string, peers?: Record<string, string>) => factsFromTexts([{ file: "node.json", text: JSON.stringify({ interfaces: [
      { name: "eth0", addrs: [`${addr}/24`] },
      { name: "flannel0", kind: "tun", addrs: ["10.1.0.0/16"], udp: { local: addr, lease, ...(peers ? { peers } : {}) } },
    ] }) }]);
    const [a, b, c] = [node("192.168.1.11", "10.1.63.0/24"), node("192.168.1.12", "10.1.9.0/24"), node("192.168.1.13", "10.1.20.0/24", { "10.1.9.0/24": "192.168.1.99" })];
    for (const x of [a, b, c]) expect(x.diagnostics).toEqual([]);
    fillUdpPeers([a.facts, b.facts, c.facts]);
    const peers = (x: typeof a) => x.facts.interfaces[1]!.tunnel!.peers;
    expect(peers(a)).toEqual({ "10.1.9.0/24": "192.168.1.12", "10.1.20.0/24": "192.168.1.13" });
    expect(peers(b)).toEqual({ "10.1.63.0/24": "192.168.1.11", "10.1.20.0/24": "192.168.1.13" });
    expect(peers(c)).toEqual({ "10.1.9.0/24": "192.168.1.99", "10.1.63.0/24": "192.168.1.11" });
    expect(nodeViewFromFacts(a.facts).tunnel("flannel0")!.outerDestination(undefined, "10.1.9.7")).toBe("192.168.1.12");
  });
});
