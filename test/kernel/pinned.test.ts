/**
 * Kernel behaviours netfate models that surprised us, each pinned against the real kernel.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { KernelNode, kernelSkipReason, NODE_ETH0_CNI0, viewOfTopology } from "./harness.js";
import { kernelSteps, netfatePaths } from "./compare.js";

const why = kernelSkipReason();

const TOPO = NODE_ETH0_CNI0;
const view = viewOfTopology(TOPO);

const CASES: Array<{ name: string; rules: string; packets: PacketSpec[] }> = [
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
];

describe.skipIf(why !== undefined)(`pinned kernel behaviours${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(TOPO);
  });
  afterAll(() => k?.close());
  for (const c of CASES) {
    it(c.name, async () => {
      const rs = parseRules(c.rules).value;
      k.load(c.rules);
      const traces = await k.trace(c.packets);
      const n = buildNode({ rulesets: [rs], node: view });
      c.packets.forEach((p, i) => {
        const kt = traces[i];
        expect(kt && kt !== "send-failed", "kernel trace").toBeTruthy();
        if (!kt || kt === "send-failed") return;
        const kernel = kernelSteps(kt.steps, new Set(rs.tables.map((t) => t.name)));
        const ours = n.evaluate(p).outcomes.flatMap((o) => netfatePaths(o));
        expect(ours).toContainEqual(kernel);
      });
    });
  }
});
