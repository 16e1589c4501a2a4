/** nft expressions and statements one by one: fib, meta, ct, families, NAT forms, reject types, queue, notrack, untranslated iptables parts. */
import { describe, expect, it } from "vitest";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { simpleNode } from "../support/simple-node.js";
import {
  ADDRTYPE_LOCAL, accept, base, binop, chain, concat, counter, ct, ctState, drop, el, fib, ip4, ip6, k, mapOf, mark, match, meta, nat, pl, port, proto, ref,
  rule, ruleset, setMark, table, namedSet,
} from "../support/nft-build.js";
import type { NftChain, NftStmt } from "../../src/model/nft.js";

const node = simpleNode({
  addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }],
});
const tcp = (over: Partial<PacketSpec> = {}): PacketSpec => ({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 22, tcpFlags: 2, ...over });
const inet = (...chains: NftChain[]) => buildNode({ rulesets: [], nft: [ruleset(table("inet", "t", chains))], node });
const at = (hook: "prerouting" | "input" | "forward" | "postrouting", ...stmts: NftStmt[][]) => chain(hook, stmts.map((s) => rule(...s)), base(hook === "postrouting" || hook === "prerouting" ? "nat" : "filter", hook, hook === "postrouting" ? 100 : hook === "prerouting" ? -100 : 0));

describe("fib", () => {
  it("daddr type local", () => {
    const n = inet(chain("pre", [rule(match(fib(["daddr"], "type"), ADDRTYPE_LOCAL), setMark(mark(1)))], base("filter", "prerouting", 0)));
    expect(n.evaluate(tcp()).outcomes[0]!.final.mark).toBe("0x1");
    expect(n.evaluate(tcp({ dst: "8.8.8.8" })).outcomes[0]!.final.mark).toBe("0x0");
  });

  it("saddr . iif oif missing: the reverse path (strict) drops a source routed back elsewhere", () => {
    const n = inet(chain("pre", [rule(match(fib(["saddr", "iif"], "oif"), k("boolean", 0, "missing")), drop)], base("filter", "prerouting", -150)));
    expect(n.evaluate(tcp()).outcomes[0]!.fate.kind).toBe("delivered");
    expect(n.evaluate(tcp({ src: "10.244.0.5" })).outcomes[0]!.fate).toMatchObject({ kind: "dropped", table: "nft" });
  });

  it("without node facts fib is indeterminate: both sides are followed", () => {
    const n = buildNode({ rulesets: [], nft: [ruleset(table("inet", "t", [chain("pre", [rule(match(fib(["daddr"], "type"), ADDRTYPE_LOCAL), drop)], base("filter", "prerouting", 0))]))] });
    const outs = n.evaluate(tcp()).outcomes;
    // (routing itself is indeterminate without facts, hence the other fate)
    expect(outs.map((o) => o.fate.kind).sort()).toEqual(["dropped", "indeterminate"]);
    expect(outs.find((o) => o.fate.kind === "dropped")!.given?.[0]).toMatch(/fib daddr type.*no node facts/);
  });
});

describe("raw payload", () => {
  it("@th,16,16 is the destination port, @nh,96,32 the IPv4 source; other offsets are indeterminate", () => {
    const raw = (base: "nh" | "th", offset: number, len: number) => ({ kind: "payload" as const, base, offset, len });
    const n = inet(at("input", [match(raw("th", 16, 16), port(22)), match(raw("nh", 96, 32), ip4("192.168.0.50")), drop]));
    expect(n.evaluate(tcp()).outcomes.map((o) => o.fate.kind)).toEqual(["dropped"]);
    expect(n.evaluate(tcp({ dport: 23 })).outcomes.map((o) => o.fate.kind)).toEqual(["delivered"]);
    const odd = inet(at("input", [match(raw("nh", 8, 8), k("integer", 0)), drop]));
    expect(odd.evaluate(tcp()).outcomes.map((o) => o.fate.kind).sort()).toEqual(["delivered", "dropped"]);
  });
});

describe("meta and ct keys", () => {
  it("nfproto, l4proto, pkttype, iiftype of lo, oifname before routing is empty", () => {
    const n = inet(chain("pre", [
      rule(match(meta("nfproto"), k("nf_proto", 2, "ipv4")), match(meta("l4proto"), proto(6, "tcp")), match(meta("pkttype"), k("pkt_type", 0, "host")), match(meta("oifname"), k("ifname", "")), setMark(mark(1))),
    ], base("filter", "prerouting", 0)));
    expect(n.evaluate(tcp()).outcomes[0]!.final.mark).toBe("0x1");
    expect(n.evaluate(tcp({ dst: "224.0.0.5" })).outcomes[0]!.final.mark).toBe("0x0");
  });

  it("skuid of an arriving packet is absent; of a sent one, indeterminate", () => {
    const uid = [match(meta("skuid"), k("uid", 0, "root")), drop];
    const n = inet(at("input", uid), chain("out", [rule(...uid)], base("filter", "output", 0)));
    expect(n.evaluate(tcp()).outcomes.map((o) => o.fate.kind)).toEqual(["delivered"]);
    expect(n.evaluate(tcp({ from: "local", src: undefined, dst: "192.168.0.50" })).outcomes.map((o) => o.fate.kind).sort()).toEqual(["dropped", "sent"]);
  });

  it("ct direction, original daddr and proto-dst, status after DNAT", () => {
    const n = inet(
      at("prerouting", [match(pl("tcp", "dport"), port(80)), nat("dnat", { addr: ip4("10.244.0.9"), port: port(8080) })]),
      chain("fwd", [
        rule(match(ct("direction"), k("ct_dir", 0, "original")), match(ct("daddr", "original"), ip4("192.168.0.11")), match(ct("proto-dst", "original"), port(80)), match(ct("status"), k("ct_status", 0x20, "dnat")), accept),
        rule(drop),
      ], base("filter", "forward", 0)),
    );
    const [o] = n.evaluate(tcp({ dport: 80 })).outcomes;
    expect(o!.fate).toEqual({ kind: "forwarded", iface: "cni0" });
    expect(o!.final.dst).toBe("10.244.0.9");
  });

  it("the reply of a DNAT connection: established in forward, the nat chains not run", () => {
    const n = inet(
      at("prerouting", [match(pl("tcp", "dport"), port(80)), nat("dnat", { addr: ip4("10.244.0.9"), port: port(8080) })]),
      chain("fwd", [rule(match(ct("state"), ctState("established", "related")), accept), rule(match(ct("state"), ctState("new")), accept), rule(drop)], base("filter", "forward", 0, "drop")),
    );
    const spec = tcp({ dport: 80 });
    const [o] = n.evaluate(spec).outcomes;
    const reply = n.evaluateReply(spec, o!);
    if (typeof reply === "string") throw new Error(reply);
    expect(reply.outcomes[0]!.fate).toMatchObject({ kind: "forwarded", iface: "eth0" });
    expect(reply.outcomes[0]!.steps.filter((s) => s.table === "nft").map((s) => `${s.chain} ${s.rule}`)).toEqual(["fwd 1"]);
  });
});

describe("families in an inet table", () => {
  it("ip6 saddr sees IPv6 packets, ip saddr does not; dnat ip to leaves IPv6 alone", () => {
    const n = buildNode({ rulesets: [], nft: [ruleset(table("inet", "t", [
      chain("pre", [rule(match(pl("ip", "saddr"), ip4("192.168.0.50")), drop), rule(match(pl("ip6", "saddr"), ip6("2001:db8::5")), setMark(mark(6)))], base("filter", "prerouting", -150)),
      chain("nat", [rule(nat("dnat", { family: "ip", addr: ip4("10.244.0.9") }))], base("nat", "prerouting", -100)),
    ]))] });
    const v6: PacketSpec = { family: "ipv6", from: "eth0", src: "2001:db8::5", dst: "2001:db8::1", proto: 6, sport: 40000, dport: 22, tcpFlags: 2 };
    const [o] = n.evaluate(v6).outcomes;
    expect(o!.final.mark).toBe("0x6");
    expect(o!.final.dst).toBe("2001:db8::1");
    expect(n.evaluate(tcp()).outcomes[0]!.fate).toMatchObject({ kind: "dropped", table: "nft" });
  });
});

describe("statements", () => {
  it("dnat from a concatenated map value (address . port)", () => {
    const m = namedSet("eps", ["ipv4_addr", "inet_service"], [el(concat(ip4("192.168.0.11"), port(80)), concat(ip4("10.244.0.7"), port(8080)))], "map");
    const n = buildNode({ rulesets: [], nft: [ruleset(table("ip", "t", [
      at("prerouting", [nat("dnat", { addr: mapOf(concat(pl("ip", "daddr"), pl("tcp", "dport")), ref("eps")), addrPort: true })]),
    ], [m]))], node });
    const [o] = n.evaluate(tcp({ dport: 80 })).outcomes;
    expect(`${o!.final.dst}:${o!.final.dport}`).toBe("10.244.0.7:8080");
    expect(o!.steps.find((s) => s.table === "nft")?.verdict).toBe("DNAT");
  });

  it("masquerade and redirect through the iptables targets' address choice", () => {
    const n = inet(at("postrouting", [match(meta("oifname"), k("ifname", "eth0")), nat("masquerade")]));
    const [o] = n.evaluate(tcp({ from: "cni0", src: "10.244.0.5", dst: "8.8.8.8" })).outcomes;
    expect(o!.final.src).toBe("192.168.0.11");
    const r = inet(at("prerouting", [match(pl("tcp", "dport"), port(80)), nat("redirect", { port: port(3128) })]));
    const [p] = r.evaluate(tcp({ dport: 80, dst: "8.8.8.8" })).outcomes;
    expect(`${p!.final.dst}:${p!.final.dport}`).toBe("192.168.0.11:3128");
    expect(p!.fate.kind).toBe("delivered");
  });

  it("reject icmpx in inet, queue, and an xt target or unknown statement as alternatives", () => {
    expect(inet(at("input", [{ kind: "reject" }])).evaluate(tcp()).outcomes[0]!.fate).toMatchObject({ kind: "rejected", with: "icmpx port-unreachable" });
    expect(inet(at("input", [{ kind: "queue", num: "3" }])).evaluate(tcp()).outcomes[0]!.fate).toMatchObject({ kind: "queued", queue: "num 3" });
    const xt = inet(at("input", [{ kind: "xt", type: "target", name: "TPROXY" }])).evaluate(tcp()).outcomes;
    expect(xt.map((o) => o.fate.kind).sort()).toEqual(["delivered", "indeterminate"]);
    expect(xt.find((o) => o.fate.kind === "indeterminate")!.fate).toMatchObject({ reason: expect.stringContaining("xt target TPROXY") });
  });

  it("notrack before conntrack makes the packet untracked; after it, it changes nothing", () => {
    const raw = (prio: number) => inet(chain("raw", [rule({ kind: "notrack" })], base("filter", "prerouting", prio)), at("input", [match(ct("state"), ctState("untracked")), setMark(mark(1))], [counter]));
    expect(raw(-300).evaluate(tcp()).outcomes[0]!.final.mark).toBe("0x1");
    expect(raw(-300).evaluate(tcp()).outcomes[0]!.final.ctstate).toBe("UNTRACKED");
    expect(raw(0).evaluate(tcp()).outcomes[0]!.final.mark).toBe("0x0");
  });

  it("flow offload, dup and secmark give no verdict: noted, the rule goes on", () => {
    const n = inet(at("input", [{ kind: "other", name: "flow", text: "flow add @ft" }, { kind: "objref", type: "secmark", name: k("string", "s") }, setMark(mark(4))]));
    const [o] = n.evaluate(tcp()).outcomes;
    expect(o!.final.mark).toBe("0x4");
    expect(o!.steps[0]!.rewrites?.join()).toMatch(/flow add @ft/);
    const tproxy = inet(at("input", [{ kind: "other", name: "tproxy", text: "tproxy to :3128" }]));
    expect(tproxy.evaluate(tcp()).outcomes.map((x) => x.fate.kind).sort()).toEqual(["delivered", "indeterminate"]);
  });

  it("quota shows as spent when the listing says so; objref counter and quota", () => {
    const spent = inet(at("input", [{ kind: "quota", bytes: 100, used: 100, over: true }, drop]));
    const [o] = spent.evaluate(tcp()).outcomes;
    expect(o!.fate.kind).toBe("dropped");
    expect(o!.assumptions.join()).toMatch(/was spent when the ruleset was listed/);
    const objs = inet(at("input", [{ kind: "objref", type: "counter", name: k("string", "c") }, { kind: "objref", type: "quota", name: k("string", "q") }, drop]));
    const [p] = objs.evaluate(tcp()).outcomes;
    expect(p!.fate.kind).toBe("dropped");
    expect(p!.assumptions.join()).toMatch(/quotas have all their bytes left/);
  });
});

describe("ct status with bits the input does not decide", () => {
  it("a later UDP packet's ASSURED is unknown, but a test of its DNAT bit is decided", () => {
    const n = inet(
      at("prerouting", [match(pl("udp", "dport"), port(53)), nat("dnat", { addr: ip4("10.244.0.9") })]),
      chain("fwd", [
        rule(match(ct("status"), k("ct_status", 0x20, "dnat")), setMark(mark(1))),
        rule(match(binop("&", ct("status"), k("ct_status", 0x24)), k("ct_status", 0x24), "=="), setMark(mark(2))),
      ], base("filter", "forward", 0)),
    );
    const outs = n.evaluate({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 17, sport: 40000, dport: 53, state: "established" }).outcomes;
    // The DNAT bit alone is known: every history has mark 1 at least; the ASSURED test is an alternative.
    expect(outs.every((o) => o.final.mark === "0x1" || o.final.mark === "0x2")).toBe(true);
    expect(outs.map((o) => o.final.mark).sort()).toEqual(["0x1", "0x2"]);
    expect(outs.every((o) => (o.given ?? []).every((g) => g.includes("ASSURED")))).toBe(true);
  });
});

describe("interfaces by index", () => {
  it("iif by name is compared; iif by number is indeterminate, never simply false", () => {
    expect(inet(at("input", [match(meta("iif"), k("iface_index", "eth0")), drop])).evaluate(tcp()).outcomes.map((o) => o.fate.kind)).toEqual(["dropped"]);
    const byIndex = inet(at("input", [match(meta("iif"), k("iface_index", 2)), drop])).evaluate(tcp()).outcomes;
    expect(byIndex.map((o) => o.fate.kind).sort()).toEqual(["delivered", "dropped"]);
  });
});
