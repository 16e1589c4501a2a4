/**
 * An IPv6 multicast packet arriving at the node (ip6_mc_input): delivered to INPUT when its
 * device is in the group by the kernel's own doing (all-nodes, the solicited-node group of one
 * of the device's addresses, all-routers while forwarding), dropped after PREROUTING otherwise.
 * Each packet's kernel path against netfate's (src/netfilter/multicast-groups.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PacketSpec } from "../../src/model/packet.js";
import { spawnSync } from "node:child_process";
import { KernelNode, kernelSkipReason, viewOfTopology, type Topology } from "./harness.js";
import { compareRound, newTally } from "./batch-compare.js";

const why = kernelSkipReason();

const TOPO: Topology = {
  family: "ipv6",
  ifaces: [{ name: "eth0", addr: "fd00:1::11/64" }, { name: "cni0", addr: "fd00:244::1/64" }],
  routes: ["default via fd00:1::1 dev eth0"],
  forwarding: true,
};

const RULES = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 5353
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i eth0 -p udp -m udp --dport 5353
-A INPUT -i cni0 -p udp -m udp --dport 5353
-A FORWARD -p udp -m udp --dport 5353
COMMIT
`;

const udp = (from: string, src: string, dst: string): PacketSpec => ({ family: "ipv6", from, src, dst, proto: 17, sport: 40000, dport: 5353 });

const PACKETS: PacketSpec[] = [
  udp("eth0", "fd00:1::50", "ff02::1"), // all-nodes: delivered
  udp("eth0", "fd00:1::50", "ff02::1:ff00:11"), // eth0's solicited-node group: delivered
  udp("cni0", "fd00:244::9", "ff02::1:ff00:11"), // eth0's group arriving on cni0 (cni0's is ff02::1:ff00:1): dropped
  udp("cni0", "fd00:244::9", "ff02::1:ff00:1"), // cni0's own: delivered
  udp("eth0", "fd00:1::50", "ff02::2"), // all-routers, the node forwards: delivered
  udp("eth0", "fd00:1::50", "ff02::fb"), // mDNS: no program joined it here: dropped
  udp("eth0", "fd00:1::50", "ff05::1:3"), // site-local, not joined: dropped, not forwarded
];

describe.skipIf(why !== undefined)(`IPv6 multicast arriving at the node${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(async () => {
    k = new KernelNode(TOPO);
    // A neighbour sends to a multicast group from its link-local address, usable only once
    // duplicate address detection has passed (else the send fails: EADDRNOTAVAIL).
    const peers = TOPO.ifaces.map((_, i) => `${k.ns}p${i}`);
    const ready = (p: string) => {
      const out = spawnSync("ip", ["-n", p, "-6", "addr", "show", "dev", "peer", "scope", "link"], { encoding: "utf8" }).stdout;
      return out.includes("fe80::") && !out.includes("tentative");
    };
    for (let i = 0; i < 100 && !peers.every(ready); i++) await new Promise((r) => setTimeout(r, 100));
  }, 30_000);
  afterAll(() => k?.close());

  it("delivered for the groups the kernel joins itself, dropped after PREROUTING for others", async () => {
    const t = newTally();
    await compareRound(k, RULES, PACKETS, viewOfTopology(TOPO), "ipv6", t);
    expect(t.disagreements.join("\n\n=====\n\n")).toBe("");
    expect(t.compared).toBe(PACKETS.length);
  }, 120_000);
});
