import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { simpleNode } from "../support/simple-node.js";

const node = simpleNode({
  addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }, { dst: "10.244.1.0/24", dev: "flannel.1", via: "10.244.1.0" }],
});

function rules(text: string) {
  const r = parseRules(text);
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.value;
}

const tcp = (over: Partial<PacketSpec>): PacketSpec => ({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 22, tcpFlags: 2, ...over });

describe("filter INPUT basics", () => {
  const rs = rules(`*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:SSH - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j SSH
-A SSH -s 192.168.0.0/24 -j ACCEPT
-A SSH -j RETURN
COMMIT
`);
  const n = buildNode({ rulesets: [rs], node });

  it("accepts ssh from the LAN through a user chain", () => {
    const { outcomes } = n.evaluate(tcp({}));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.fate).toEqual({ kind: "delivered", iface: "eth0" });
    expect(outcomes[0]!.steps.map((s) => `${s.table} ${s.chain} ${s.rule} ${s.verdict}`)).toEqual([
      "filter INPUT 2 JUMP SSH",
      "filter SSH 1 ACCEPT",
    ]);
  });

  it("drops ssh from elsewhere at the policy after RETURN", () => {
    const { outcomes } = n.evaluate(tcp({ src: "8.8.8.8" }));
    expect(outcomes[0]!.fate).toEqual({ kind: "dropped", table: "filter", chain: "INPUT", rule: "policy", hook: "INPUT" });
    expect(outcomes[0]!.steps.map((s) => `${s.chain} ${s.rule} ${s.verdict}`)).toEqual(["INPUT 2 JUMP SSH", "SSH 2 RETURN", "INPUT policy DROP"]);
  });

  it("verbose mode lists the rules that did not match with the failing condition", () => {
    const { outcomes } = n.evaluate(tcp({ dport: 80 }), { verbose: true });
    const tried = outcomes[0]!.steps.filter((s) => !s.matched).map((s) => `${s.rule} ${s.failed}`);
    expect(tried).toEqual(["1 -i lo", "2 -m tcp --dport 22"]);
  });
});

describe("kube-proxy ClusterIP with statistic branches", () => {
  const rs = rules(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-SEP-B - [0:0]
:KUBE-SEP-C - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-X - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.244.1.5:8080
-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 10.244.1.6:8080
-A KUBE-SEP-C -p tcp -m tcp -j DNAT --to-destination 10.244.1.7:8080
-A KUBE-SERVICES -d 10.96.45.12/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-X
-A KUBE-SVC-X ! -s 10.244.0.0/16 -d 10.96.45.12/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-X -m statistic --mode random --probability 0.33332999982 -j KUBE-SEP-A
-A KUBE-SVC-X -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-B
-A KUBE-SVC-X -j KUBE-SEP-C
COMMIT
`);
  const n = buildNode({ rulesets: [rs], node });

  it("gives three outcomes with the kernel's exact probabilities summing to 1", () => {
    const { outcomes } = n.evaluate(tcp({ from: "cni0", src: "10.244.0.9", dst: "10.96.45.12", dport: 80 }));
    expect(outcomes).toHaveLength(3);
    const byDst = Object.fromEntries(outcomes.map((o) => [o.final.dst, o.probability]));
    const p1 = Math.round(0.33332999982 * 2 ** 31) / 2 ** 31;
    expect(byDst["10.244.1.5"]).toBeCloseTo(p1, 12);
    expect(byDst["10.244.1.6"]).toBeCloseTo((1 - p1) * 0.5, 12);
    expect(byDst["10.244.1.7"]).toBeCloseTo((1 - p1) * 0.5, 12);
    expect(outcomes.reduce((s, o) => s + o.probability, 0)).toBeCloseTo(1, 12);
    for (const o of outcomes) expect(o.fate).toEqual({ kind: "forwarded", iface: "flannel.1", via: "10.244.1.0" });
  });

  it("marks traffic from outside the pod network for masquerade, and KUBE-POSTROUTING clears the mark again", () => {
    const { outcomes } = n.evaluate(tcp({ from: "eth0", src: "192.168.0.50", dst: "10.96.45.12", dport: 80 }));
    for (const o of outcomes) {
      const marks = o.steps.filter((s) => s.rewrites?.some((r) => r.startsWith("mark"))).map((s) => `${s.chain}: ${s.rewrites!.join(", ")}`);
      expect(marks).toEqual(["KUBE-MARK-MASQ: mark 0x0 → 0x4000", "KUBE-POSTROUTING: mark 0x4000 → 0x0"]);
      expect(o.final.mark).toBe("0x0");
    }
    const dnat = outcomes[0]!.steps.find((s) => s.verdict === "DNAT")!;
    expect(dnat.rewrites?.[0]).toMatch(/^DNAT 10\.96\.45\.12:80 → 10\.244\.1\.[567]:8080$/);
  });
});

describe("NAT and the reply direction", () => {
  const rs = rules(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 192.168.0.11/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.6:80
-A POSTROUTING -o flannel.1 -j MASQUERADE
COMMIT
`);
  const flannelNode = simpleNode({
    addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"], "flannel.1": ["10.244.0.0/32"] },
    routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }, { dst: "10.244.1.0/24", dev: "flannel.1", via: "10.244.1.0" }],
  });
  const n = buildNode({ rulesets: [rs], node: flannelNode });
  const syn = tcp({ src: "192.168.0.50", sport: 40000, dst: "192.168.0.11", dport: 8080 });

  it("DNATs in PREROUTING and masquerades to the output interface's address", () => {
    const { outcomes } = n.evaluate(syn);
    expect(outcomes).toHaveLength(1);
    const o = outcomes[0]!;
    expect(o.fate).toEqual({ kind: "forwarded", iface: "flannel.1", via: "10.244.1.0" });
    expect(o.steps.map((s) => `${s.table} ${s.chain} ${s.rule} ${s.verdict}`)).toEqual([
      "nat PREROUTING 1 DNAT", "nat POSTROUTING 1 MASQUERADE",
    ]);
    expect(o.steps[0]!.rewrites).toEqual(["DNAT 192.168.0.11:8080 → 10.244.1.6:80"]);
    expect(o.steps[1]!.rewrites).toEqual(["MASQUERADE source 192.168.0.50:40000 → 10.244.0.0:40000"]);
    expect(o.final.src).toBe("10.244.0.0");
  });

  it("MASQUERADE out of an interface without an address takes another interface's (inet_select_addr); with none at all it drops", () => {
    const bare = buildNode({ rulesets: [rs], node });
    const o = bare.evaluate(syn).outcomes[0]!;
    expect(o.fate).toMatchObject({ kind: "forwarded", iface: "flannel.1" });
    expect(o.final.src).toBe("192.168.0.11");
    const nothing = buildNode({ rulesets: [rs], node: { ...node, masqueradeAddress: () => undefined } });
    expect(nothing.evaluate(syn).outcomes[0]!.fate).toMatchObject({ kind: "dropped", table: "nat", chain: "POSTROUTING", rule: 1 });
  });

  it("the reply undoes the DNAT on its way back, and never visits nat", () => {
    const fwd = n.evaluate(syn).outcomes[0]!;
    const r = n.evaluateReply(syn, fwd);
    if (typeof r === "string") throw new Error(r);
    const o = r.outcomes[0]!;
    expect(o.steps.filter((s) => s.table === "nat")).toEqual([]);
    expect(o.fate).toEqual({ kind: "forwarded", iface: "eth0" });
    expect(o.final.src).toBe("192.168.0.11");
    expect(o.final.sport).toBe(8080);
    expect(o.final.dst).toBe("192.168.0.50");
  });
});
