/**
 * VXLAN both ways through the real kernel, in a pair of network namespaces joined by a veth:
 * node A (172.16.100.101) sends an inner packet out its flannel.1 (VNI 1, port 8472, per-peer
 * neighbour and FDB entries, as flannel sets them up); node B (172.16.100.102) has flannel.1
 * (VNI 1) and vx2 (VNI 2) on the same port. netfate's facts are read from each namespace's own
 * `ip -d -j link`, `ip -j addr`, `bridge -j fdb` and `ip -j neigh`, and must say what the kernel
 * does: the outer packet A sends (destination, port, VNI: counted in B by a u32 rule on the
 * VXLAN header), and the device the inner packet arrives on in B's PREROUTING (IN=), or that
 * none takes it (a VNI B has no device for: vxlan_rcv drops it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelSkipReason } from "./harness.js";
import { counted as countedIn, dropNamespaces, inNs, ipn, nodePair } from "./tunnel-netns.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import type { NodeView } from "../../src/model/evaluation.js";

const why = kernelSkipReason();
const A = `nftunA${process.pid}`;
const B = `nftunB${process.pid}`;


/** The namespace's facts, read the way a bundle's are. */
function viewOf(ns: string): NodeView {
  const files = [
    { file: "ip-addr.json", text: ipn(ns, "-j", "addr") },
    { file: "ip-link.json", text: ipn(ns, "-d", "-j", "link", "show") },
    { file: "bridge-fdb.json", text: inNs(ns, "bridge", "-j", "fdb", "show") },
    { file: "ip-neigh.json", text: ipn(ns, "-j", "neigh", "show") },
  ];
  const { facts, diagnostics } = factsFromTexts(files);
  expect(diagnostics).toEqual([]);
  return nodeViewFromFacts(facts);
}

/** Packets counted by B's raw PREROUTING rule number `n` (1-based). */
const counted = (n: number): number => countedIn(B, "raw", "PREROUTING", n);

/** A UDP datagram from A to `dst`:9999, through whatever device A routes it to. */
function send(dst: string): void {
  inNs(A, "python3", "-c", `import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("${dst}", 9999))`);
}

/** B's raw PREROUTING counting rules, in order (the numbers `counted` takes). */
const RULES: Array<[string, string[]]> = [
  // 1-3: the outer packet at B, by its VNI (VXLAN header bytes 4-6, after the UDP header).
  ["outer VNI 1", ["-i", "veth-b", "-s", "172.16.100.101", "-d", "172.16.100.102", "-p", "udp", "--dport", "8472", "-m", "u32", "--u32", "0>>22&0x3C@12>>8=1"]],
  ["outer VNI 2", ["-i", "veth-b", "-p", "udp", "--dport", "8472", "-m", "u32", "--u32", "0>>22&0x3C@12>>8=2"]],
  ["outer VNI 99", ["-i", "veth-b", "-p", "udp", "--dport", "8472", "-m", "u32", "--u32", "0>>22&0x3C@12>>8=99"]],
  // 4-6: the inner packet, by the device it arrives on.
  ["inner on flannel.1", ["-i", "flannel.1", "-p", "udp", "--dport", "9999"]],
  ["inner on vx2", ["-i", "vx2", "-p", "udp", "--dport", "9999"]],
  ["inner elsewhere", ["!", "-i", "veth-b", "-p", "udp", "--dport", "9999"]],
];

describe.skipIf(why !== undefined)(`VXLAN encapsulation and decapsulation in the kernel${why ? ` (skipped: ${why})` : ""}`, () => {
  let a: NodeView;
  let b: NodeView;
  beforeAll(() => {
    nodePair({ ns: A, dev: "veth-a", addr: "172.16.100.101/24" }, { ns: B, dev: "veth-b", addr: "172.16.100.102/24" });
    // A: one device per VNI it sends with, each routed and resolved as flannel does it.
    for (const [dev, vni, subnet, hop, mac] of [["flannel.1", "1", "10.244.2.0/24", "10.244.2.0", "b6:72:1b:43:5e:01"], ["vx2", "2", "10.245.2.0/24", "10.245.2.0", "b6:72:1b:43:5e:02"], ["vx99", "99", "10.99.2.0/24", "10.99.2.0", "b6:72:1b:43:5e:99"]] as const) {
      ipn(A, "link", "add", dev, "type", "vxlan", "id", vni, "local", "172.16.100.101", "dev", "veth-a", "dstport", "8472", "nolearning");
      ipn(A, "addr", "add", `${hop.replace(/\.2\.0$/, ".1.0")}/32`, "dev", dev);
      ipn(A, "link", "set", dev, "up");
      ipn(A, "route", "add", subnet, "via", hop, "dev", dev, "onlink");
      ipn(A, "neigh", "add", hop, "dev", dev, "lladdr", mac, "nud", "permanent");
      inNs(A, "bridge", "fdb", "append", mac, "dev", dev, "dst", "172.16.100.102", "self", "permanent");
    }
    // B: VNIs 1 and 2 on port 8472, no VNI 99.
    // Each with the MAC A's neighbour entry names, as flannel publishes it: an inner frame to
    // another MAC is PACKET_OTHERHOST on B's device, and ip_rcv drops it before PREROUTING.
    for (const [dev, vni, addr, mac] of [["flannel.1", "1", "10.244.2.0/32", "b6:72:1b:43:5e:01"], ["vx2", "2", "10.245.2.0/32", "b6:72:1b:43:5e:02"]] as const) {
      ipn(B, "link", "add", dev, "address", mac, "type", "vxlan", "id", vni, "local", "172.16.100.102", "dev", "veth-b", "dstport", "8472", "nolearning");
      ipn(B, "addr", "add", addr, "dev", dev);
      ipn(B, "link", "set", dev, "up");
    }
    for (const [, spec] of RULES) inNs(B, "iptables", "-t", "raw", "-A", "PREROUTING", ...spec);
    a = viewOf(A);
    b = viewOf(B);
  });
  afterAll(() => dropNamespaces(A, B));

  it("A's outer packet is what netfate says: B's address, port 8472, the device's VNI", () => {
    for (const [dev, hop, dst, vni, rule, innerMac] of [["flannel.1", "10.244.2.0", "10.244.2.7", 1, 1, "b6:72:1b:43:5e:01"], ["vx2", "10.245.2.0", "10.245.2.7", 2, 2, "b6:72:1b:43:5e:02"], ["vx99", "10.99.2.0", "10.99.2.7", 99, 3, "b6:72:1b:43:5e:99"]] as const) {
      const t = a.tunnel(dev)!;
      expect(t.outerPackets!(hop, dst)).toEqual([{ dst: "172.16.100.102", dport: 8472, vni, innerMac }]);
      expect(t.outerSrc).toBe("172.16.100.101");
      const before = counted(rule);
      send(dst);
      expect(counted(rule), `outer packet of ${dev} with VNI ${vni} at B`).toBe(before + 1);
    }
  });

  it("B takes each apart on the device of its VNI (IN= that device in PREROUTING), and drops a VNI it has no device for", () => {
    const cases = [["10.244.2.7", 1, "flannel.1", 4], ["10.245.2.7", 2, "vx2", 5], ["10.99.2.7", 99, undefined, 6]] as const;
    for (const [dst, vni, dev, rule] of cases) {
      expect(b.decapsulator!({ family: "ipv4", proto: 17, dst: "172.16.100.102", dport: 8472, vni })?.dev).toBe(dev);
      const before = [4, 5, 6].map(counted);
      send(dst);
      const after = [4, 5, 6].map(counted);
      const seen = after.map((n, k) => n - before[k]!);
      // The rule of the device netfate names counts it; a dropped one shows on no device.
      expect(seen, `inner packet with VNI ${vni}`).toEqual(dev === undefined ? [0, 0, 0] : [rule === 4 ? 1 : 0, rule === 5 ? 1 : 0, 1]);
    }
    // Not addressed to B: B does not take it apart (it would route it).
    expect(b.decapsulator!({ family: "ipv4", proto: 17, dst: "172.16.100.103", dport: 8472, vni: 1 })).toBeUndefined();
  });
});
