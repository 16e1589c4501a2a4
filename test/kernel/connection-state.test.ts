/**
 * Connection state against the kernel: what a connection carries to its later packets (the
 * ctmark its first packet saved, restored and matched later; SEEN_REPLY and ASSURED as
 * `--ctstatus` sees them on the reply and on the next packet), and what conntrack makes of
 * packets said `new` that open no connection (SYN-ACK, FIN, RST, an echo reply: INVALID, never
 * through nat).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { KernelNode, kernelFate, kernelSkipReason, NODE_ETH0_CNI0, viewOfTopology, type KernelTrace, type Topology } from "./harness.js";
import { fateAgrees, kernelSteps, netfatePaths, netfateSteps } from "./compare.js";

const why = kernelSkipReason();

const CONNMARK_RULES = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -p tcp -m conntrack --ctstate NEW -m tcp --dport 80 -j MARK --set-xmark 0x7/0xffffffff
-A PREROUTING -m conntrack --ctstate NEW -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff
-A PREROUTING -m conntrack --ctstate ESTABLISHED -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -i cni0 -m conntrack --ctstatus ASSURED -j DROP
-A FORWARD -i cni0 -m connmark --mark 0x7 -m conntrack --ctstatus SEEN_REPLY -j ACCEPT
-A FORWARD -i eth0 -m mark --mark 0x7 -m connmark --mark 0x7 -m conntrack --ctstatus ASSURED -j ACCEPT
-A FORWARD -m conntrack --ctstate INVALID -j DROP
COMMIT
`;

const NO_CONNECTION_RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -d 192.168.0.11/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.0.30:80
-A PREROUTING -i eth0 -d 192.168.0.11/32 -p icmp -j DNAT --to-destination 10.244.0.30
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -m conntrack --ctstate NEW
-A FORWARD -m conntrack --ctstate NEW
COMMIT
`;

/** The outcome whose path and fate are the kernel's, or undefined (with what both said, for the message). */
function agreeing(outs: Outcome[], t: KernelTrace, tables: Set<string>): { match?: Outcome; text: string } {
  const kernel = kernelSteps(t.steps, tables);
  const match = outs.find((o) => netfatePaths(o).some((q) => q.join("\n") === kernel.join("\n")) && fateAgrees(kernelFate(t), o.fate));
  return { ...(match ? { match } : {}), text: `kernel: ${kernel.join(" / ")} (${JSON.stringify(kernelFate(t))}); netfate: ${outs.map((o) => `${netfateSteps(o).join(" / ")} (${o.fate.kind})`).join(" | ")}` };
}

/** Parses `rules`, loads them into the kernel node (forgetting its connections) and builds netfate's node from them. */
function loaded(k: KernelNode, rules: string, topo: Topology): { n: ReturnType<typeof buildNode>; tables: Set<string> } {
  const parsed = parseRules(rules, { family: topo.family ?? "ipv4" });
  expect(parsed.diagnostics).toEqual([]);
  const rs = parsed.value;
  k.load(rules);
  k.flushConntrack();
  return { n: buildNode({ rulesets: [rs], node: viewOfTopology(topo) }), tables: new Set(rs.tables.map((t) => t.name)) };
}

describe.skipIf(why !== undefined)(`connection state${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(NODE_ETH0_CNI0);
  });
  afterAll(() => k?.close());

  it("a later packet finds the ctmark its connection's first packet saved; the reply is SEEN_REPLY but not ASSURED, the next packet ASSURED", async () => {
    const { n, tables } = loaded(k, CONNMARK_RULES, NODE_ETH0_CNI0);
    // Port 80: the first packet's mark 7 is saved; port 81: it saves 0, and the later packet is dropped.
    for (const [i, dport] of [80, 81].entries()) {
      k.flushConntrack();
      const syn: PacketSpec = { family: "ipv4", from: "eth0", src: "203.0.113.7", sport: 43000 + i, dst: "10.244.0.20", dport, proto: 6, tcpFlags: 0x02 };
      const [s] = await k.trace([syn]);
      expect(s && s !== "send-failed", "the SYN's trace").toBeTruthy();
      if (!s || s === "send-failed") return;
      const first = n.evaluate(syn).outcomes;
      const a = agreeing(first, s, tables);
      expect(a.match, a.text).toBeDefined();

      const synAck: PacketSpec = { family: "ipv4", from: "cni0", src: "10.244.0.20", sport: dport, dst: "203.0.113.7", dport: 43000 + i, proto: 6, tcpFlags: 0x12 };
      const [r] = await k.trace([synAck], { stateful: true });
      expect(r && r !== "send-failed", "the SYN-ACK's trace").toBeTruthy();
      if (!r || r === "send-failed") return;
      const reply = n.evaluateReply(syn, a.match!);
      expect(typeof reply, String(reply)).toBe("object");
      if (typeof reply === "string") return;
      const b = agreeing(reply.outcomes, r, tables);
      expect(b.match, b.text).toBeDefined();
      expect(kernelFate(r).kind).toBe(dport === 80 ? "out" : "stopped");

      const ack: PacketSpec = { ...syn, tcpFlags: 0x10, state: "established" };
      const [l] = await k.trace([ack], { stateful: true });
      expect(l && l !== "send-failed", "the ACK's trace").toBeTruthy();
      if (!l || l === "send-failed") return;
      const later = n.evaluate(ack).outcomes;
      const c = agreeing(later, l, tables);
      expect(c.match, c.text).toBeDefined();
      expect(kernelFate(l).kind).toBe(dport === 80 ? "out" : "stopped");
      expect(later).toHaveLength(1);
      expect(later[0]!.final.ctmark).toBe(dport === 80 ? "0x7" : "0x0");
    }
  }, 120_000);

  it("a UDP connection is not ASSURED on the packet after its first reply (current kernels wait 2 seconds): netfate leaves it open", async () => {
    const rules = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -m conntrack --ctstatus ASSURED -j DROP
COMMIT
`;
    const { n, tables } = loaded(k, rules, NODE_ETH0_CNI0);
    const first: PacketSpec = { family: "ipv4", from: "eth0", src: "203.0.113.9", sport: 45000, dst: "10.244.0.20", dport: 53, proto: 17 };
    await k.trace([first]);
    await k.trace([{ family: "ipv4", from: "cni0", src: "10.244.0.20", sport: 53, dst: "203.0.113.9", dport: 45000, proto: 17 }], { stateful: true });
    const later: PacketSpec = { ...first, state: "established" };
    const [t] = await k.trace([later], { stateful: true });
    expect(t && t !== "send-failed", "the later packet's trace").toBeTruthy();
    if (!t || t === "send-failed") return;
    expect(kernelFate(t).kind).toBe("out");
    const outs = n.evaluate(later).outcomes;
    expect(outs.map((o) => o.fate.kind).sort()).toEqual(["dropped", "forwarded"]);
    const a = agreeing(outs, t, tables);
    expect(a.match, a.text).toBeDefined();
  }, 60_000);

  it("packets said new that open no connection are INVALID and skip nat, as the kernel has them; a SYN, a bare ACK and an echo request are NEW", async () => {
    const { n, tables } = loaded(k, NO_CONNECTION_RULES, NODE_ETH0_CNI0);
    const tcp = (tcpFlags: number, i: number): PacketSpec => ({ family: "ipv4", from: "eth0", src: "203.0.113.8", sport: 44000 + i, dst: "192.168.0.11", dport: 8080, proto: 6, tcpFlags, state: "new" });
    const icmp = (icmpType: number): PacketSpec => ({ family: "ipv4", from: "eth0", src: "203.0.113.8", dst: "192.168.0.11", proto: 1, icmpType, icmpCode: 0, state: "new" });
    const invalid = [...[0x12, 0x01, 0x04, 0x11, 0x14].map(tcp), icmp(0)];
    const opening = [tcp(0x02, 10), tcp(0x10, 11), icmp(8)];
    const packets = [...invalid, ...opening];
    const traces = await k.trace(packets);
    packets.forEach((p, i) => {
      const t = traces[i];
      expect(t && t !== "send-failed", `kernel trace of packet ${i}`).toBeTruthy();
      if (!t || t === "send-failed") return;
      const outs = n.evaluate(p).outcomes;
      expect(outs, `one outcome for packet ${i}`).toHaveLength(1);
      const a = agreeing(outs, t, tables);
      expect(a.match, `packet ${i}: ${a.text}`).toBeDefined();
      const kernelNat = kernelSteps(t.steps, tables).some((s) => s.startsWith("nat "));
      if (i < invalid.length) {
        expect(kernelNat, `packet ${i} went through nat in the kernel`).toBe(false);
        expect(outs[0]!.final.ctstate).toBe("INVALID");
        expect(outs[0]!.assumptions[0]).toMatch(/^said `new`, but conntrack/);
      } else {
        expect(kernelNat).toBe(true);
        expect(outs[0]!.final.ctstate).toBe("NEW");
        expect(outs[0]!.final.dst).toBe("10.244.0.30");
      }
    });
  }, 120_000);
});

const V6: Topology = { family: "ipv6", ifaces: [{ name: "eth0", addr: "fd00:1::11/64" }], routes: ["default via fd00:1::1 dev eth0"] };

const ICMPV6_RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p ipv6-icmp -m conntrack --ctstate UNTRACKED
-A INPUT -p ipv6-icmp -m conntrack --ctstate NEW
-A INPUT -p ipv6-icmp -m conntrack --ctstate INVALID
COMMIT
`;

describe.skipIf(why !== undefined)(`ICMPv6 connection state${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(V6);
  });
  afterAll(() => k?.close());

  it("neighbour solicitation and multicast router discovery are UNTRACKED, an echo reply said new INVALID, an echo request NEW", async () => {
    const { n, tables } = loaded(k, ICMPV6_RULES, V6);
    const icmp = (icmpType: number): PacketSpec => ({ family: "ipv6", from: "eth0", src: "fd00:1::50", dst: "fd00:1::11", proto: 58, icmpType, icmpCode: 0, state: "new" });
    const packets = [icmp(135), icmp(129), icmp(128), icmp(151), icmp(152)];
    const want = ["UNTRACKED", "INVALID", "NEW", "UNTRACKED", "UNTRACKED"];
    const traces = await k.trace(packets);
    packets.forEach((p, i) => {
      const t = traces[i];
      expect(t && t !== "send-failed", `kernel trace of packet ${i}`).toBeTruthy();
      if (!t || t === "send-failed") return;
      const outs = n.evaluate(p).outcomes;
      expect(outs).toHaveLength(1);
      const a = agreeing(outs, t, tables);
      expect(a.match, `packet ${i}: ${a.text}`).toBeDefined();
      expect(outs[0]!.final.ctstate).toBe(want[i]);
    });
  }, 60_000);
});
