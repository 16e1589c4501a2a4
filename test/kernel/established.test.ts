/**
 * A later packet of a NATed connection, against the kernel: the connection is opened for
 * real (the client's SYN is DNATed to one of two endpoints by a statistic branch, the
 * endpoint's SYN-ACK comes back from cni0), and the client's next packet, an ACK, must take
 * one of the paths netfate gives an "established" packet: no nat chain, the connection's DNAT
 * applied by conntrack, out of cni0 to the endpoint the SYN got.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { KernelNode, kernelFate, kernelSkipReason, NODE_ETH0_CNI0, viewOfTopology } from "./harness.js";
import { fateAgrees, kernelSteps, netfatePaths, netfateSteps } from "./compare.js";

const why = kernelSkipReason();

const RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:SVC - [0:0]
-A PREROUTING -d 192.168.0.11/32 -p tcp -m tcp --dport 30080 -j SVC
-A SVC -p tcp -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.0.20:80
-A SVC -p tcp -j DNAT --to-destination 10.244.0.21:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -m conntrack --ctstate DNAT --ctorigdstport 30080 -j ACCEPT
COMMIT
`;

describe.skipIf(why !== undefined)(`established packets of NATed connections${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(NODE_ETH0_CNI0);
  });
  afterAll(() => k?.close());

  it("the client's ACK goes where its SYN went, through conntrack, never through nat", async () => {
    const parsed = parseRules(RULES);
    expect(parsed.diagnostics).toEqual([]);
    const rs = parsed.value;
    const n = buildNode({ rulesets: [rs], node: viewOfTopology(NODE_ETH0_CNI0) });
    const tables = new Set(rs.tables.map((t) => t.name));
    k.load(RULES);
    let compared = 0;
    for (let i = 0; i < 6; i++) {
      k.flushConntrack();
      const client = { family: "ipv4", from: "eth0", src: "203.0.113.7", sport: 41000 + i, proto: 6 } as const;
      const syn: PacketSpec = { ...client, dst: "192.168.0.11", dport: 30080, tcpFlags: 0x02 };
      const [s] = await k.trace([syn]);
      expect(s && s !== "send-failed", "the SYN's trace").toBeTruthy();
      const endpoint = (s as { lastDst?: string }).lastDst!;
      expect(["10.244.0.20", "10.244.0.21"]).toContain(endpoint);
      const synAck: PacketSpec = { family: "ipv4", from: "cni0", src: endpoint, sport: 80, dst: "203.0.113.7", dport: 41000 + i, proto: 6, tcpFlags: 0x12 };
      await k.trace([synAck], { stateful: true });
      const ack: PacketSpec = { ...syn, tcpFlags: 0x10, state: "established" };
      const [a] = await k.trace([ack], { stateful: true });
      expect(a && a !== "send-failed", "the ACK's trace").toBeTruthy();
      if (!a || a === "send-failed") continue;
      const kernel = kernelSteps(a.steps, tables);
      expect(kernel.some((s) => s.startsWith("nat "))).toBe(false);
      expect(a.lastDst).toBe(endpoint);
      const outs = n.evaluate(ack).outcomes;
      const match = outs.find((o) => netfatePaths(o).some((q) => q.join("\n") === kernel.join("\n")) && o.final.dst === endpoint && fateAgrees(kernelFate(a), o.fate));
      expect(match, `kernel: ${kernel.join(" / ")} to ${endpoint}; netfate: ${outs.map((o) => `${netfateSteps(o).join(" / ")} to ${o.final.dst}`).join(" | ")}`).toBeDefined();
      compared++;
    }
    expect(compared).toBe(6);
  }, 120_000);
});
