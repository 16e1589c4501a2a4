/**
 * IPVS on the netfilter path, where ip_vs_core.c ip_vs_ops4 registers ip_vs_in_hook: LOCAL_IN
 * at NF_IP_PRI_NAT_SRC - 1 (after filter and security INPUT, before nat INPUT) and LOCAL_OUT at
 * NF_IP_PRI_NAT_DST + 2 (after nat OUTPUT, before filter OUTPUT); what it sends on goes through
 * NF_HOOK(LOCAL_OUT) and POSTROUTING (ip_vs_xmit.c ip_vs_nat_send_or_cont). This kernel has no
 * IPVS: each case is hand-checked against those sources.
 */
import { describe, expect, it } from "vitest";
import { nodeFromTexts, packet } from "../../src/testing/load.js";
import type { Outcome } from "../../src/model/evaluation.js";

const RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x4000/0x4000
-A INPUT -j MARK --set-xmark 0x1/0x1
-A OUTPUT -d 10.96.0.10/32 -j MARK --set-xmark 0x2/0x2
-A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 203.0.113.66/32 -j DROP
-A OUTPUT -d 10.244.0.9/32 -j ACCEPT
COMMIT
`;

function node(ipvs: string, sysctl: Record<string, number> = { "net.ipv4.vs.conntrack": 1 }, rules = RULES) {
  const facts = {
    interfaces: [
      { name: "eth0", addrs: ["192.168.0.11/24"] },
      { name: "cni0", addrs: ["10.244.0.1/24"] },
      { name: "kube-ipvs0", addrs: ["10.96.0.10/32"], kind: "dummy" },
    ],
    routes: ["default via 192.168.0.1 dev eth0"],
    sysctl: { "net.ipv4.ip_forward": 1, ...sysctl },
  };
  return nodeFromTexts({ rules: [{ file: "rules.save", text: rules }], node: [{ file: "node.json", text: JSON.stringify(facts) }], ipvs: [{ file: "ipvsadm.txt", text: ipvs }] });
}

const RR = "-A -t 10.96.0.10:80 -s rr\n-a -t 10.96.0.10:80 -r 10.244.0.8:8080 -m -w 1\n-a -t 10.96.0.10:80 -r 10.244.0.9:8080 -m -w 1\n";
const FROM_OUTSIDE = packet("tcp 203.0.113.7:40000 -> 10.96.0.10:80 in eth0");

/** The chains the packet went through, in order (a chain's rule and policy steps once). */
const where = (o: Outcome) =>
  o.steps.filter((s) => s.matched).map((s) => `${s.hook} ${s.table} ${s.chain}`).filter((x, i, all) => x !== all[i - 1]);

describe("a remote client's packet to a virtual service (LOCAL_IN)", () => {
  const { outcomes } = node(RR).evaluate(FROM_OUTSIDE);
  it("rr: each real server with probability 1/2, DNATed by IPVS (Masq)", () => {
    expect(outcomes.map((o) => [o.probability, o.final.dst, o.final.dport])).toEqual([[0.5, "10.244.0.8", 8080], [0.5, "10.244.0.9", 8080]]);
    const step = outcomes[0]!.steps.find((s) => s.table === "ipvs")!;
    expect(step).toMatchObject({ hook: "INPUT", chain: "TCP 10.96.0.10:80", rule: 1, rewrites: ["IPVS Masq 10.96.0.10:80 → 10.244.0.8:8080"] });
    expect(step.ipvs).toMatchObject({ service: "TCP 10.96.0.10:80", scheduler: "rr", server: "10.244.0.8:8080", method: "masq" });
    expect(step.ipvs!.lines).toEqual(["-A -t 10.96.0.10:80 -s rr", "-a -t 10.96.0.10:80 -r 10.244.0.8:8080 -m -w 1"]);
    expect(outcomes[0]!.assumptions.some((a) => /rotation stands is not known/.test(a))).toBe(true);
  });

  it("hand-checked against ip_vs_core.c ip_vs_ops4: after filter INPUT, before nat INPUT (which never sees it); then OUTPUT and POSTROUTING (ip_vs_nat_send_or_cont → NF_HOOK LOCAL_OUT)", () => {
    const o = outcomes[1]!;
    expect(where(o)).toEqual([
      "PREROUTING nat PREROUTING", "INPUT filter INPUT", "INPUT ipvs TCP 10.96.0.10:80", "OUTPUT filter OUTPUT", "POSTROUTING nat POSTROUTING",
    ]);
    expect(o.final.mark).toBe("0x4000");
    // The packet IPVS sends on has no input device in OUTPUT and POSTROUTING (NF_HOOK(..., NULL, dst dev)).
    expect(o.final.inIface).toBeUndefined();
  });

  it("net.ipv4.vs.conntrack=1: conntrack keeps the connection, so nat POSTROUTING masquerades it (kube-proxy's KUBE-POSTROUTING)", () => {
    for (const o of outcomes) {
      expect(o.fate).toMatchObject({ kind: "forwarded", iface: "cni0" });
      expect(o.final.src).toBe("10.244.0.1");
      expect(o.final.ctstate).toBe("NEW");
      // ip_vs_update_conntrack: the reply comes from the real server.
      expect(o.conntrack!.reply.src).toBe(o.final.dst);
    }
  });

  it("net.ipv4.vs.conntrack not given: 0, the packet is untracked (ip_vs_notrack), nat POSTROUTING never sees it, and the outcome says so", () => {
    const r = node(RR, {}).evaluate(FROM_OUTSIDE).outcomes;
    for (const o of r) {
      expect(o.final.src).toBe("203.0.113.7");
      expect(o.final.ctstate).toBe("UNTRACKED");
      expect(o.assumptions.some((a) => a.startsWith("net.ipv4.vs.conntrack not given: 0"))).toBe(true);
      expect(where(o)).not.toContain("POSTROUTING nat POSTROUTING");
    }
  });

  it("filter INPUT comes first: a packet it drops never reaches IPVS", () => {
    const r = node(RR).evaluate(packet("tcp 203.0.113.66:40000 -> 10.96.0.10:80 in eth0")).outcomes;
    expect(r).toHaveLength(1);
    expect(r[0]!.fate).toMatchObject({ kind: "dropped", table: "filter", chain: "INPUT" });
  });

  it("hand-checked against ip_vs_proto_tcp.c tcp_conn_schedule: a TCP packet without SYN opens no IPVS connection; it goes on to nat INPUT and this node", () => {
    const r = node(RR).evaluate(packet("tcp 203.0.113.7:40000 -> 10.96.0.10:80 in eth0 new flags A")).outcomes;
    const d = r.find((o) => o.fate.kind === "delivered")!;
    expect(d.steps.some((s) => s.table === "ipvs")).toBe(false);
    expect(where(d)).toContain("INPUT nat INPUT");
    expect(d.assumptions.some((a) => /SYN without RST/.test(a))).toBe(true);
  });

  it("a port no service has: not IPVS's, delivered to this node", () => {
    const r = node(RR).evaluate(packet("tcp 203.0.113.7:40000 -> 10.96.0.10:443 in eth0")).outcomes;
    expect(r.map((o) => o.fate.kind)).toEqual(["delivered"]);
  });

  it("hand-checked against ip_vs_core.c ip_vs_leave: no real server with weight > 0 → ICMP port unreachable and NF_DROP", () => {
    const r = node("-A -t 10.96.0.10:80 -s wlc\n-a -t 10.96.0.10:80 -r 10.244.0.8:8080 -m -w 0\n").evaluate(FROM_OUTSIDE).outcomes;
    expect(r).toHaveLength(1);
    expect(r[0]!.fate).toEqual({ kind: "rejected", table: "ipvs", chain: "TCP 10.96.0.10:80", rule: 1, hook: "INPUT", with: "icmp-port-unreachable" });
  });

  it("hand-checked against ip_vs_xmit.c ip_vs_dr_xmit: direct routing keeps the destination and sends it to the real server's address", () => {
    const r = node("-A -t 10.96.0.10:80 -s rr\n-a -t 10.96.0.10:80 -r 10.244.0.8 -g -w 1\n").evaluate(FROM_OUTSIDE).outcomes;
    expect(r).toHaveLength(1);
    expect(r[0]!.fate).toEqual({ kind: "forwarded", iface: "cni0", via: "10.244.0.8" });
    expect(r[0]!.final).toMatchObject({ dst: "10.96.0.10", dport: 80 });
  });

  it("hand-checked against ip_vs_xmit.c ip_vs_tunnel_xmit: IP-in-IP to the real server, the outer packet sent by this node (its conntrack reset: a new packet)", () => {
    const r = node("-A -t 10.96.0.10:80 -s rr\n-a -t 10.96.0.10:80 -r 192.168.0.50 -i -w 1\n").evaluate(FROM_OUTSIDE).outcomes;
    expect(r).toHaveLength(1);
    expect(r[0]!.fate).toMatchObject({ kind: "forwarded", iface: "eth0" });
    const outer = r[0]!.encapsulated![0]!;
    expect(outer.fate).toMatchObject({ kind: "sent", iface: "eth0" });
    expect(outer.final).toMatchObject({ src: "192.168.0.11", dst: "192.168.0.50" });
    // The same skb is wrapped: the inner packet's mark (0x4000 from nat PREROUTING) stays on the outer one.
    expect(outer.final.mark).toBe("0x4000");
  });

  it("a real server on this node (ip_vs_nat_send_or_cont with local=1: NF_ACCEPT): rewritten, then nat INPUT, delivered here", () => {
    const r = node("-A -t 10.96.0.10:80 -s rr\n-a -t 10.96.0.10:80 -r 192.168.0.11:8080 -m -w 1\n").evaluate(FROM_OUTSIDE).outcomes;
    expect(r).toHaveLength(1);
    expect(r[0]!.fate.kind).toBe("delivered");
    expect(r[0]!.final).toMatchObject({ dst: "192.168.0.11", dport: 8080 });
    expect(where(r[0]!)).toEqual(["PREROUTING nat PREROUTING", "INPUT filter INPUT", "INPUT ipvs TCP 10.96.0.10:80", "INPUT nat INPUT"]);
  });

  it("a later packet of the connection goes to the real server its first packet went to", () => {
    const r = node(RR).evaluate(packet("tcp 203.0.113.7:40000 -> 10.96.0.10:80 in eth0 established")).outcomes;
    expect(r.map((o) => [o.probability, o.final.dst])).toEqual([[0.5, "10.244.0.8"], [0.5, "10.244.0.9"]]);
  });
});

describe("what is not modelled is said", () => {
  it("hand-checked against ip_vs_core.c ip_vs_ops4: the reply of a Masq connection gets its source back from IPVS (ip_vs_out_hook on FORWARD at 100, after filter FORWARD), not from conntrack", () => {
    // kube-proxy's KUBE-FORWARD accepts the connection's packets; without it this node's FORWARD DROP takes the reply first.
    const accepting = node(RR, undefined, RULES.replace(":FORWARD DROP [0:0]\n", ":FORWARD DROP [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"));
    const o = accepting.evaluate(FROM_OUTSIDE).outcomes[0]!;
    const r = accepting.evaluateReply(FROM_OUTSIDE, o);
    if (typeof r === "string") throw new Error(r);
    expect(r.outcomes).toHaveLength(1);
    const back = r.outcomes[0]!;
    expect(back.fate).toMatchObject({ kind: "forwarded", iface: "eth0" });
    expect([back.final.src, back.final.sport, back.final.dst]).toEqual(["10.96.0.10", 80, "203.0.113.7"]);
    const w = where(back);
    expect(w.indexOf("FORWARD filter FORWARD")).toBeLessThan(w.indexOf("FORWARD ipvs TCP 10.96.0.10:80"));
    expect(back.steps.find((st) => st.table === "ipvs")!.rewrites).toEqual([`IPVS Masq reply ${o.final.dst}:8080 → 10.96.0.10:80`]);
    // filter FORWARD runs first: its DROP policy takes the reply before IPVS sees it.
    const dropping = node(RR);
    const dropped = dropping.evaluateReply(FROM_OUTSIDE, dropping.evaluate(FROM_OUTSIDE).outcomes[0]!);
    if (typeof dropped === "string") throw new Error(dropped);
    expect(dropped.outcomes.map((x) => [x.fate.kind, x.final.src])).toEqual([["dropped", o.final.dst]]);
  });

  it("SCTP: IPVS schedules only on an INIT chunk (sctp_conn_schedule), which the packet cannot say: assumed, and said", () => {
    const r = node("-A --sctp-service 10.96.0.10:80 -s rr\n-a --sctp-service 10.96.0.10:80 -r 10.244.0.8:80 -m -w 1\n").evaluate(packet("sctp 203.0.113.7:40000 -> 10.96.0.10:80 in eth0")).outcomes;
    expect(r.map((o) => o.final.dst)).toEqual(["10.244.0.8"]);
    expect(r[0]!.assumptions.some((a) => a.startsWith("SCTP: assumed to carry an INIT chunk"))).toBe(true);
  });
});

describe("a local client's packet (LOCAL_OUT)", () => {
  it("hand-checked against ip_vs_core.c ip_vs_ops4: after nat OUTPUT, before filter OUTPUT; then OUTPUT again (raw, mangle, filter, security) and POSTROUTING", () => {
    const r = node(RR).evaluate(packet("tcp 192.168.0.11:40000 -> 10.96.0.10:80 local")).outcomes;
    expect(r.map((o) => [o.probability, o.fate.kind, o.final.dst])).toEqual([[0.5, "sent", "10.244.0.8"], [0.5, "sent", "10.244.0.9"]]);
    const w = where(r[1]!);
    expect(w.indexOf("OUTPUT nat OUTPUT")).toBeLessThan(w.indexOf("OUTPUT ipvs TCP 10.96.0.10:80"));
    expect(w.indexOf("OUTPUT ipvs TCP 10.96.0.10:80")).toBeLessThan(w.indexOf("OUTPUT filter OUTPUT"));
    expect(r[1]!.fate).toMatchObject({ iface: "cni0" });
  });
});

describe("IPv6", () => {
  it("a [fd00::10]:53 UDP service sends to its IPv6 real server", () => {
    const facts = { interfaces: [{ name: "eth0", addrs: ["fd00::1/64"] }, { name: "kube-ipvs0", addrs: ["fd00:10::10/128"] }], routes: [], sysctl: { "net.ipv6.conf.all.forwarding": 1, "net.ipv4.vs.conntrack": 1 } };
    const n = nodeFromTexts({
      rules: [{ file: "r.save", text: "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n" }],
      node: [{ file: "node.json", text: JSON.stringify(facts) }],
      ipvs: [{ file: "ipvs.txt", text: "-A -u [fd00:10::10]:53 -s rr\n-a -u [fd00:10::10]:53 -r [fd00::5]:53 -m -w 1\n" }],
    });
    const r = n.evaluate(packet("udp [fd00::99]:5000 -> [fd00:10::10]:53 in eth0")).outcomes;
    expect(r.map((o) => [o.fate.kind, o.final.dst])).toEqual([["forwarded", "fd00::5"]]);
  });
});
