/**
 * Kernel behaviours netfate models that surprised us, each pinned against the real kernel.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { factsOfTopology, KernelNode, kernelSkipReason, NODE_ETH0_CNI0, viewOfTopology, type Topology } from "./harness.js";
import { kernelSteps, netfatePaths } from "./compare.js";

const why = kernelSkipReason();

const TOPO = NODE_ETH0_CNI0;
const view = viewOfTopology(TOPO);

/**
 * eth0 holds 10.50.0.5/24 first and 192.168.0.11/24 second; the default route goes via
 * 192.168.0.1 and prefers the source 10.50.0.5. MASQUERADE ignores the route's preferred
 * source and takes eth0's address in the next hop's subnet (inet_select_addr).
 */
const TWO_ADDR_ETH0: Topology = {
  ifaces: [{ name: "eth0", addr: "10.50.0.5/24", extraAddrs: ["192.168.0.11/24"] }, { name: "cni0", addr: "10.244.0.1/24" }],
  routes: ["default via 192.168.0.1 dev eth0 src 10.50.0.5"],
};

interface PinnedCase {
  name: string;
  rules: string;
  packets: PacketSpec[];
  /** Another node than NODE_ETH0_CNI0, given to netfate as node facts. */
  topology?: Topology;
  /** Also compare the source address the packet leaves with (the kernel's last trace line). */
  finalSource?: boolean;
}

const CASES: PinnedCase[] = [
  {
    // A subnet's broadcast address is in the local table (`broadcast 10.244.0.255 dev cni0`):
    // an arriving packet to it goes to INPUT, never FORWARD.
    name: "an arriving packet to a subnet's broadcast address is delivered, not forwarded",
    rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i cni0
-A FORWARD -i cni0
COMMIT
`,
    packets: [{ family: "ipv4", from: "cni0", src: "10.244.0.9", dst: "10.244.0.255", proto: 17, sport: 40000, dport: 5353 }],
    // The real node-facts reader (the test node's simple view has no broadcast addresses).
    topology: NODE_ETH0_CNI0,
  },
  {
    // After nat OUTPUT rewrites the destination the kernel re-routes, but the rest of the
    // OUTPUT hook still sees the device it was called with; POSTROUTING sees the new one.
    name: "OUTPUT keeps its output device after a DNAT re-route",
    rules: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A OUTPUT -d 192.168.0.77/32 -p tcp -j DNAT --to-destination 10.244.0.9:80
-A POSTROUTING -o eth0
-A POSTROUTING -o cni0
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -o eth0
-A OUTPUT -o cni0
COMMIT
`,
    packets: [{ family: "ipv4", from: "local", dst: "192.168.0.77", proto: 6, sport: 40001, dport: 8080, tcpFlags: 2 }],
  },
  {
    // Conntrack is enabled in a namespace only by a rule that needs it; a nat table without
    // any NAT target never sees a packet (measured with xtables-monitor, kernel 6.18).
    name: "without a rule that needs conntrack, the nat chains are never consulted",
    rules: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp
-A INPUT -p tcp
-A OUTPUT -p tcp
-A POSTROUTING -p tcp
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -p tcp
-A OUTPUT -o lo -p tcp
COMMIT
`,
    packets: [{ family: "ipv4", from: "local", dst: "10.244.0.1", proto: 6, sport: 40002, dport: 22, tcpFlags: 2 }],
  },
  {
    // With no connection, conntrack's tcp_new picks a bare ACK up mid-stream as NEW
    // (nf_conntrack_tcp_loose=1) and finds SYN-ACK, FIN and RST INVALID; netfate traces
    // that alternative next to "part of an existing connection" when the state is unsaid.
    name: "TCP flags without a connection: a bare ACK is NEW, SYN-ACK, FIN and RST are INVALID",
    rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p tcp -m conntrack --ctstate NEW
-A INPUT -p tcp -m conntrack --ctstate ESTABLISHED
COMMIT
`,
    packets: [0x10, 0x18, 0x12, 0x11, 0x04].map((tcpFlags, i) => ({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 6, sport: 42000 + i, dport: 22, tcpFlags }) as PacketSpec),
  },
  {
    // A chain entered by -g returns, at its end (or at RETURN), to where the chain that made
    // the goto was called from: straight from a built-in chain, that is its policy, never its
    // next rule; from a user chain called by -j, the rule after that -j.
    name: "a chain reached by goto ends in the built-in chain's policy, or after the caller's jump",
    rules: `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:CALLER - [0:0]
:GONE-TO - [0:0]
-A INPUT -p udp -g GONE-TO
-A INPUT -p udp -j DROP
-A INPUT -p tcp -j CALLER
-A INPUT -p tcp -j DROP
-A INPUT -p icmp -g GONE-TO
-A INPUT -p icmp -j DROP
-A CALLER -g GONE-TO
-A CALLER -j ACCEPT
-A GONE-TO -p udp
-A GONE-TO -p icmp -j RETURN
COMMIT
`,
    packets: [
      { family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 17, sport: 42010, dport: 53 },
      { family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 6, sport: 42011, dport: 22, tcpFlags: 2 },
      { family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 1, icmpType: 8 },
    ],
  },
  {
    // masquerade_tg takes inet_select_addr(out, nexthop): the output interface's address in
    // the next hop's subnet, not the route's preferred source nor the interface's first
    // address; a local packet that left with the route's source is rewritten too.
    name: "MASQUERADE takes the output interface's address in the next hop's subnet",
    topology: TWO_ADDR_ETH0,
    finalSource: true,
    rules: `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
`,
    packets: [
      { family: "ipv4", from: "cni0", src: "10.244.0.9", dst: "8.8.8.8", proto: 17, sport: 42020, dport: 53 },
      { family: "ipv4", from: "local", dst: "8.8.4.4", proto: 17, sport: 42021, dport: 53 },
    ],
  },
];

describe.skipIf(why !== undefined)(`pinned kernel behaviours${why ? ` (skipped: ${why})` : ""}`, () => {
  const nodes = new Map<Topology, KernelNode>();
  const nodeFor = (t: Topology) => nodes.get(t) ?? nodes.set(t, new KernelNode(t)).get(t)!;
  beforeAll(() => {
    nodeFor(TOPO);
  });
  afterAll(() => {
    for (const k of nodes.values()) k.close();
  });
  for (const c of CASES) {
    it(c.name, async () => {
      const rs = parseRules(c.rules).value;
      const k = nodeFor(c.topology ?? TOPO);
      k.load(c.rules);
      k.flushConntrack();
      const traces = await k.trace(c.packets);
      const n = buildNode({ rulesets: [rs], node: c.topology ? nodeViewFromFacts(factsOfTopology(c.topology)) : view });
      c.packets.forEach((p, i) => {
        const kt = traces[i];
        expect(kt && kt !== "send-failed", "kernel trace").toBeTruthy();
        if (!kt || kt === "send-failed") return;
        const kernel = kernelSteps(kt.steps, new Set(rs.tables.map((t) => t.name)));
        const outcomes = n.evaluate(p).outcomes;
        expect(outcomes.flatMap((o) => netfatePaths(o))).toContainEqual(kernel);
        if (c.finalSource) {
          expect(kt.lastSrc, "the kernel's trace shows the source the packet left with").toBeDefined();
          expect(outcomes.map((o) => o.final.src)).toContain(kt.lastSrc);
        }
      });
    });
  }
});
