/**
 * Later packets of a NATed connection: the nat chains do not see them, conntrack applies the
 * NAT the connection's first packet got (one outcome per binding, weighted like the first
 * packet's statistic branches).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadNode, nodeFromTexts, packet } from "../../src/testing/index.js";
import { buildNode } from "../../src/netfilter/model.js";
import { filterRuleset, packetArb } from "../support/arbitraries.js";
import { simpleNode } from "../support/simple-node.js";

const dir = "samples/004-kube-proxy-nodeport";
const node = loadNode({ rules: `${dir}/rules-guarded.save`, node: `${dir}/node.json` });
const ENDPOINTS = ["172.17.0.2", "172.17.0.3", "172.17.0.4"];

describe("established packets of NATed connections", () => {
  it("a NodePort connection's later packet goes to the endpoint its first packet got, never through nat", () => {
    const e = node.evaluate(packet("tcp 203.0.113.9:40000 -> 192.168.0.11:32110 in eth0 established"));
    expect(e.outcomes.map((o) => o.final.dst).sort()).toEqual(ENDPOINTS);
    for (const o of e.outcomes) {
      expect(o.fate).toMatchObject({ kind: "forwarded", iface: "docker0" });
      expect(o.final).toMatchObject({ dport: 80, src: "172.17.0.1", sport: 40000 });
      expect(o.steps.filter((s) => s.table === "nat")).toEqual([]);
      // Accepted by the guard's DNAT rule: conntrack's ctstate and original tuple are the connection's.
      expect(o.steps.at(-1)).toMatchObject({ chain: "FORWARD", rule: 2, verdict: "ACCEPT" });
      expect(o.assumptions[0]).toMatch(/first packet got DNAT 192\.168\.0\.11:32110 → 172\.17\.0\.\d:80 and SNAT/);
      expect(o.probability).toBeCloseTo(1 / 3, 4);
    }
    expect(e.outcomes.reduce((s, o) => s + o.probability, 0)).toBeCloseTo(1, 12);
  });

  it("a locally opened ClusterIP connection is DNATed at OUTPUT and re-routed", () => {
    const e = node.evaluate(packet("tcp 192.168.0.11:43130 -> 10.254.198.92:80 local established"));
    expect(e.outcomes.map((o) => o.final.dst).sort()).toEqual(ENDPOINTS);
    for (const o of e.outcomes) expect(o.fate).toMatchObject({ kind: "sent", iface: "docker0" });
  });

  it("without NAT on the first packet, a later packet is traced as it is", () => {
    const e = node.evaluate(packet("tcp 203.0.113.9:40000 -> 172.17.0.2:80 in eth0 established"));
    expect(e.outcomes).toHaveLength(1);
    expect(e.outcomes[0]!.final.dst).toBe("172.17.0.2");
    expect(e.outcomes[0]!.assumptions.join(" ")).not.toMatch(/DNAT|SNAT/);
  });

  it("law: with no nat table, an established packet's outcomes are its own, untouched", () => {
    const view = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
    fc.assert(fc.property(filterRuleset, packetArb, (rs, p) => {
      const n = buildNode({ rulesets: [rs], node: view });
      for (const o of n.evaluate({ ...p, state: "established" }).outcomes) {
        expect(o.final.dst).toBe(p.dst);
        expect(o.assumptions.join(" ")).not.toMatch(/first packet got/);
      }
    }), { numRuns: 200 });
  });
});

describe("TCP packets whose connection state is not said", () => {
  const rules = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";
  const nodeWith = (sysctl: Record<string, number>) =>
    nodeFromTexts({ rules: [{ file: "r.save", text: rules }], node: [{ file: "node.json", text: JSON.stringify({ interfaces: [{ name: "eth0", addrs: ["192.168.0.11/24"] }], sysctl }) }] });
  const ack = packet("tcp 192.168.0.50:40000 -> 192.168.0.11:22 in eth0 flags A");

  it("a bare ACK is picked up as NEW by default, INVALID when nf_conntrack_tcp_loose is 0", () => {
    const byDefault = nodeWith({}).evaluate(ack).outcomes;
    expect(byDefault.map((o) => [o.fate.kind, o.final.ctstate])).toEqual([["delivered", "NEW"], ["delivered", "ESTABLISHED"]]);
    expect(byDefault[0]!.assumptions[0]).toMatch(/nf_conntrack_tcp_loose=1, the default/);
    const strict = nodeWith({ "net.netfilter.nf_conntrack_tcp_loose": 0 }).evaluate(ack).outcomes;
    expect(strict.map((o) => o.fate.kind)).toEqual(["dropped", "delivered"]);
    expect(strict[0]!.assumptions[0]).toMatch(/nf_conntrack_tcp_loose=0/);
  });

  it("a SYN is a first packet, with no alternative", () => {
    const o = nodeWith({}).evaluate(packet("tcp 192.168.0.50:40000 -> 192.168.0.11:22 in eth0")).outcomes;
    expect(o).toHaveLength(1);
    expect(o[0]!.assumptions).toEqual([]);
  });
});
