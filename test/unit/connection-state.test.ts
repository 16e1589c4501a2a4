/**
 * Connection state: what conntrack makes of a packet said `new` that opens no connection
 * (INVALID, or UNTRACKED for ICMPv6 neighbour discovery), and what a connection carries to its
 * later packets and replies (ctmark, zone, helper, status bits).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildNode } from "../../src/netfilter/model.js";
import { filterRuleset, packetArb } from "../support/arbitraries.js";
import { simpleNode } from "../support/simple-node.js";
import { nodeFromTexts, packet } from "../../src/testing/index.js";
import type { Outcome } from "../../src/model/evaluation.js";
import type { PacketSpec } from "../../src/model/packet.js";

const NODE = JSON.stringify({
  interfaces: [{ name: "eth0", addrs: ["192.168.0.11/24"] }, { name: "cni0", addrs: ["10.244.0.1/24"] }],
  routes: ["default via 192.168.0.1 dev eth0"],
  sysctl: { "net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 1 },
});
const nodeWith = (rules: string, node = NODE) => nodeFromTexts({ rules: [{ file: "r.save", text: rules }], node: [{ file: "node.json", text: node }] });
const natSteps = (o: Outcome) => o.steps.filter((s) => s.table === "nat");

const INVALID_DROPPED = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -j DNAT --to-destination 10.244.0.9
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A FORWARD -m conntrack --ctstate INVALID -j DROP
COMMIT
`;

describe("a packet said `new` that conntrack opens no connection for", () => {
  const n = nodeWith(INVALID_DROPPED);
  for (const flags of ["SA", "F", "R", "FA", "RA"]) {
    it(`TCP flags ${flags}: INVALID, never through nat, with a note saying so`, () => {
      const outs = n.evaluate(packet(`tcp 203.0.113.7:40000 -> 192.168.0.11:22 in eth0 flags ${flags} new`)).outcomes;
      expect(outs).toHaveLength(1);
      const o = outs[0]!;
      expect(o.final.ctstate).toBe("INVALID");
      expect(o.fate).toMatchObject({ kind: "dropped", table: "filter", chain: "INPUT", rule: 1 });
      expect(natSteps(o)).toEqual([]);
      expect(o.assumptions[0]).toMatch(/said `new`, but conntrack finds these TCP flags INVALID.*say `established`/);
      expect(o.given ?? []).toEqual([]);
    });
  }

  it("a SYN or a bare ACK stays NEW and is DNATed, with nothing to note", () => {
    for (const flags of ["S", "A", "PA"]) {
      const o = n.evaluate(packet(`tcp 203.0.113.7:40000 -> 192.168.0.11:22 in eth0 flags ${flags} new`)).outcomes;
      expect(o.map((x) => [x.final.ctstate, x.final.dst, x.assumptions])).toEqual([["NEW", "10.244.0.9", []]]);
    }
  });

  it("a bare ACK is INVALID when nf_conntrack_tcp_loose is 0", () => {
    const strict = nodeWith(INVALID_DROPPED, JSON.stringify({ ...JSON.parse(NODE), sysctl: { "net.ipv4.ip_forward": 1, "net.netfilter.nf_conntrack_tcp_loose": 0 } }));
    const [o, ...rest] = strict.evaluate(packet("tcp 203.0.113.7:40000 -> 192.168.0.11:22 in eth0 flags A new")).outcomes;
    expect(rest).toEqual([]);
    expect(o!.final.ctstate).toBe("INVALID");
    expect(o!.assumptions[0]).toMatch(/nf_conntrack_tcp_loose=0/);
  });

  it("an ICMP echo reply is INVALID (say `established`), an ICMP error is INVALID (say `related`), an echo request is NEW", () => {
    const reply = n.evaluate(packet("icmp 203.0.113.7 -> 192.168.0.11 in eth0 echo-reply new")).outcomes;
    expect(reply.map((o) => o.final.ctstate)).toEqual(["INVALID"]);
    expect(reply[0]!.assumptions[0]).toMatch(/echo reply.*INVALID.*say `established`/);
    const error = n.evaluate(packet("icmp 203.0.113.7 -> 192.168.0.11 in eth0 port-unreachable new")).outcomes;
    expect(error.map((o) => o.final.ctstate)).toEqual(["INVALID"]);
    expect(error[0]!.assumptions[0]).toMatch(/ICMP error.*say `related`/);
    const request = n.evaluate(packet("icmp 203.0.113.7 -> 192.168.0.11 in eth0 echo-request new")).outcomes;
    expect(request.map((o) => [o.final.ctstate, o.final.dst, o.assumptions])).toEqual([["NEW", "10.244.0.9", []]]);
  });

  it("with the state unsaid, an ICMP echo reply or error is traced with and without its connection", () => {
    const reply = n.evaluate(packet("icmp 203.0.113.7 -> 192.168.0.11 in eth0 echo-reply")).outcomes;
    expect(reply.map((o) => o.final.ctstate)).toEqual(["INVALID", "ESTABLISHED"]);
    for (const o of reply) expect(o.given).toHaveLength(1);
    const error = n.evaluate(packet("icmp 203.0.113.7 -> 192.168.0.11 in eth0 port-unreachable")).outcomes;
    expect(error.map((o) => o.final.ctstate)).toEqual(["INVALID", "RELATED"]);
    expect(error[1]!.assumptions[0]).toMatch(/RELATED/);
  });
});

describe("ICMPv6 neighbour discovery", () => {
  const rules = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -j DNAT --to-destination fd00::9
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT
COMMIT
`;
  const node6 = JSON.stringify({ interfaces: [{ name: "eth0", addrs: ["fd00::11/64"] }], sysctl: { "net.ipv6.conf.all.forwarding": 1 } });
  const n = nodeFromTexts({ rules: [{ file: "r.save", text: rules }], node: [{ file: "node.json", text: node6 }] });
  const ns = (state: string): PacketSpec => ({ ...packet(`icmpv6 fd00::7 -> fd00::11 in eth0 neighbour-solicitation ${state}`.trim()) });

  it("is UNTRACKED whatever state is said, and never sees nat", () => {
    for (const state of ["", "new", "established"]) {
      const outs = n.evaluate(ns(state)).outcomes;
      expect(outs.map((o) => [o.final.ctstate, o.fate.kind])).toEqual([["UNTRACKED", "delivered"]]);
      expect(natSteps(outs[0]!)).toEqual([]);
      if (state) expect(outs[0]!.assumptions[0]).toMatch(/untracked/);
      else expect(outs[0]!.assumptions).toEqual([]);
    }
  });
});

const CONNMARK_RULES = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -m conntrack --ctstate NEW -p tcp --dport 22 -j MARK --set-mark 0x7
-A PREROUTING -m conntrack --ctstate NEW -j CONNMARK --save-mark
-A PREROUTING -m conntrack --ctstate ESTABLISHED -j CONNMARK --restore-mark
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate NEW -j ACCEPT
-A INPUT -m mark --mark 0x7 -m connmark --mark 0x7 -j ACCEPT
-A FORWARD -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -i cni0 -m connmark --mark 0x7 -j ACCEPT
COMMIT
`;

describe("what a connection carries to its later packets", () => {
  it("the ctmark its first packet saved: restored and matched on a later packet", () => {
    const n = nodeWith(CONNMARK_RULES);
    const outs = n.evaluate(packet("tcp 203.0.113.7:40000 -> 192.168.0.11:22 in eth0 flags A established")).outcomes;
    expect(outs.map((o) => [o.fate.kind, o.final.mark, o.final.ctmark])).toEqual([["delivered", "0x7", "0x7"]]);
    expect(outs[0]!.steps.at(-1)).toMatchObject({ table: "filter", chain: "INPUT", rule: 2 });
    expect(outs[0]!.assumptions[0]).toMatch(/first packet left it ctmark 0x7/);
    // Another port: the first packet saved mark 0, the later packet finds nothing and is dropped.
    const other = n.evaluate(packet("tcp 203.0.113.7:40000 -> 192.168.0.11:23 in eth0 flags A established")).outcomes;
    expect(other.map((o) => [o.fate.kind, o.final.ctmark, o.assumptions])).toEqual([["dropped", "0x0", []]]);
  });

  it("one later outcome per ctmark the first packet may leave, weighted as the first packet's chances", () => {
    const rules = CONNMARK_RULES.replace(
      "-A PREROUTING -m conntrack --ctstate NEW -p tcp --dport 22 -j MARK --set-mark 0x7",
      "-A PREROUTING -m conntrack --ctstate NEW -p tcp --dport 22 -m statistic --mode random --probability 0.25 -j MARK --set-mark 0x7",
    );
    const outs = nodeWith(rules).evaluate(packet("tcp 203.0.113.7:40000 -> 192.168.0.11:22 in eth0 flags A established")).outcomes;
    expect(outs.map((o) => [o.fate.kind, o.final.ctmark, o.probability])).toEqual([["delivered", "0x7", 0.25], ["dropped", "0x0", 0.75]]);
    expect(outs[1]!.assumptions[0]).toMatch(/left it ctmark 0x0/);
  });

  it("alternatives the input does not decide stay apart: each ctmark under its own given side, probability 1 each", () => {
    const rules = CONNMARK_RULES.replace("--dport 22 -j MARK", "--dport 22 -m conntrack --ctexpire 10:20 -j MARK");
    const outs = nodeWith(rules).evaluate(packet("tcp 203.0.113.7:40000 -> 192.168.0.11:22 in eth0 flags A established")).outcomes;
    expect(outs.map((o) => [o.final.ctmark, o.probability, o.given?.length]).sort()).toEqual([["0x0", 1, 1], ["0x7", 1, 1]]);
    expect(outs[0]!.given![0]).not.toBe(outs[1]!.given![0]);
  });

  it("a reply finds the ctmark the original left", () => {
    const n = nodeWith(CONNMARK_RULES);
    const spec = packet("tcp 203.0.113.7:40000 -> 10.244.0.9:22 in eth0");
    const [o] = n.evaluate(spec).outcomes;
    expect(o!.fate).toMatchObject({ kind: "forwarded", iface: "cni0" });
    expect(o!.conntrack?.mark).toBe(7);
    const r = n.evaluateReply(spec, o!);
    if (typeof r === "string") throw new Error(r);
    expect(r.outcomes.map((x) => [x.fate.kind, x.final.ctmark])).toEqual([["forwarded", "0x7"]]);
    expect(r.outcomes[0]!.steps.filter((s) => s.table === "filter").at(-1)).toMatchObject({ chain: "FORWARD", rule: 2 });
  });

  it("the conntrack zone and helper a raw CT rule gave the first packet are named", () => {
    const rules = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp --dport 21 -j CT --zone 5 --helper ftp
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
`;
    const outs = nodeWith(rules).evaluate(packet("tcp 203.0.113.7:40000 -> 192.168.0.11:21 in eth0 flags A established")).outcomes;
    expect(outs).toHaveLength(1);
    expect(outs[0]!.assumptions[0]).toMatch(/conntrack zone 5, helper ftp/);
  });
});

describe("--ctstatus of a later packet", () => {
  const rules = (extra = "") => `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstatus ASSURED -j ACCEPT
-A INPUT -m conntrack --ctstatus SEEN_REPLY -j REJECT
${extra}COMMIT
`;
  const n = nodeWith(rules());

  it("a TCP packet after the handshake is ASSURED", () => {
    const outs = n.evaluate(packet("tcp 203.0.113.7:40000 -> 192.168.0.11:22 in eth0 flags A established")).outcomes;
    expect(outs.map((o) => [o.fate.kind, o.steps.at(-1)?.rule])).toEqual([["delivered", 1]]);
  });

  it("the first packet has no status bit; the SYN-ACK reply has SEEN_REPLY but not ASSURED", () => {
    const local = nodeWith(rules().replace(":INPUT DROP", ":INPUT ACCEPT").replace(/-A INPUT/g, "-A OUTPUT"));
    const spec = packet("tcp 192.168.0.11:22 -> 203.0.113.7:40000 local flags SA established reply");
    expect(local.evaluate(spec).outcomes.map((o) => o.fate.kind)).toEqual(["rejected"]);
    const syn = n.evaluate(packet("tcp 203.0.113.7:40000 -> 192.168.0.11:22 in eth0"));
    expect(syn.outcomes.map((o) => [o.fate.kind, o.steps.at(-1)?.rule])).toEqual([["dropped", "policy"]]);
  });

  it("a UDP packet's ASSURED is not known: both sides are traced", () => {
    const outs = n.evaluate(packet("udp 203.0.113.7:40000 -> 192.168.0.11:53 in eth0 established")).outcomes;
    expect(outs.map((o) => o.fate.kind).sort()).toEqual(["delivered", "rejected"]);
    for (const o of outs) expect(o.given?.[0]).toMatch(/ASSURED.*UDP/);
  });

  it("an ICMP connection is never ASSURED", () => {
    const outs = n.evaluate(packet("icmp 203.0.113.7 -> 192.168.0.11 in eth0 echo-request established")).outcomes;
    expect(outs.map((o) => o.fate.kind)).toEqual(["rejected"]);
  });

  it("a UDP reply to a first packet is not ASSURED yet", () => {
    const fwd = nodeWith(`*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i cni0 -m conntrack --ctstatus ASSURED -j DROP
COMMIT
`);
    const spec = packet("udp 203.0.113.7:40000 -> 10.244.0.9:53 in eth0");
    const [o] = fwd.evaluate(spec).outcomes;
    const r = fwd.evaluateReply(spec, o!);
    if (typeof r === "string") throw new Error(r);
    expect(r.outcomes.map((x) => [x.fate.kind, x.given])).toEqual([["forwarded", undefined]]);
  });
});

describe("law: a packet said `new` that opens no connection", () => {
  const view = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
  it("is traced exactly as the same packet said `invalid`, with one note first", () => {
    fc.assert(fc.property(filterRuleset, packetArb, fc.constantFrom(0x12, 0x11, 0x04, 0x14, 0x01, 0x00), (rs, p, flags) => {
      const n = buildNode({ rulesets: [rs], node: view });
      const tcp: PacketSpec = { ...p, proto: 6, sport: p.sport ?? 1, dport: p.dport ?? 1, tcpFlags: flags };
      delete tcp.icmpType;
      delete tcp.reply;
      const said = n.evaluate({ ...tcp, state: "new" }).outcomes;
      const invalid = n.evaluate({ ...tcp, state: "invalid" }).outcomes;
      expect(said.map((o) => ({ ...o, assumptions: o.assumptions.slice(1) }))).toEqual(invalid);
      for (const o of said) expect(o.assumptions[0]).toMatch(/^said `new`, but conntrack/);
    }), { numRuns: 200 });
  });
});
