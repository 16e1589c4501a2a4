/** kube-proxy's nftables mode, shaped as pkg/proxy/nftables writes it: service map → numgen vmap → endpoint dnat → masquerade mark. */
import { describe, expect, it } from "vitest";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { simpleNode } from "../support/simple-node.js";
import {
  ADDRTYPE_LOCAL, base, binop, chain, concat, el, fib, goto, ip4, jump, k, mark, match, meta, namedSet, nat, numgen, pl, port, prefix, proto,
  ref, ret, rule, ruleset, setMark, table, vmap, vmapLit,
} from "../support/nft-build.js";

const node = simpleNode({
  addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }, { dst: "10.244.1.0/24", dev: "flannel.1", via: "10.244.1.0" }],
});

const MASQ = 0x4000;
const endpoints = ["10.244.0.2", "10.244.1.3", "10.244.1.4"];

function kubeProxy() {
  const svcKey = concat(pl("ip", "daddr"), meta("l4proto"), pl("th", "dport"));
  return table("ip", "kube-proxy", [
    chain("nat-prerouting", [rule(jump("services"))], base("nat", "prerouting", -100)),
    chain("nat-output", [rule(jump("services"))], base("nat", "output", -100)),
    chain("nat-postrouting", [rule(jump("masquerading"))], base("nat", "postrouting", 100)),
    chain("services", [
      rule(vmap(svcKey, ref("service-ips"))),
      rule(match(fib(["daddr"], "type"), ADDRTYPE_LOCAL), vmap(svcKey, ref("service-nodeports"))),
    ]),
    chain("masquerading", [
      rule(match(binop("&", meta("mark"), mark(MASQ)), mark(0), "=="), ret),
      rule(setMark(binop("^", meta("mark"), mark(MASQ)))),
      rule(nat("masquerade", { flags: ["fully-random"] })),
    ]),
    chain("mark-for-masquerade", [rule(setMark(binop("|", meta("mark"), mark(MASQ))))]),
    chain("service-ABC-ns/dns/tcp/dns", [
      rule(match(pl("ip", "daddr"), ip4("10.96.0.10")), match(pl("tcp", "dport"), port(53)), match(pl("ip", "saddr"), prefix(ip4("10.244.0.0"), 16), "!="), jump("mark-for-masquerade")),
      rule(vmap(numgen("random", 3), vmapLit(...endpoints.map((_, i) => [k("integer", i), goto(`endpoint-${i}`)] as [ReturnType<typeof k>, ReturnType<typeof goto>])))),
    ]),
    ...endpoints.map((ep, i) => chain(`endpoint-${i}`, [
      rule(match(pl("ip", "saddr"), ip4(ep)), jump("mark-for-masquerade")),
      rule(match(meta("l4proto"), proto(6, "tcp")), nat("dnat", { addr: ip4(ep), port: port(53) })),
    ])),
  ], [
    namedSet("service-ips", ["ipv4_addr", "inet_proto", "inet_service"], [el(concat(ip4("10.96.0.10"), proto(6, "tcp"), port(53)), goto("service-ABC-ns/dns/tcp/dns"))], "map"),
    namedSet("service-nodeports", ["inet_proto", "inet_service"], [], "map"),
  ]);
}

const dns = (over: Partial<PacketSpec> = {}): PacketSpec => ({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "10.96.0.10", proto: 6, sport: 40000, dport: 53, tcpFlags: 2, ...over });

describe("kube-proxy nftables mode", () => {
  const n = buildNode({ rulesets: [], nft: [ruleset(kubeProxy())], node });

  it("a ClusterIP packet from outside the pod network goes to each endpoint with chance exactly 1/3, masqueraded", () => {
    const outs = n.evaluate(dns()).outcomes;
    expect(outs).toHaveLength(3);
    expect(outs.map((o) => o.probability)).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(outs.reduce((s, o) => s + o.probability, 0)).toBeCloseTo(1, 12);
    expect(outs.map((o) => o.final.dst).sort()).toEqual([...endpoints].sort());
    for (const o of outs) {
      expect(o.given ?? []).toEqual([]);
      // Masqueraded: the mark bit was set on the way in and cleared by the masquerading chain.
      expect(o.final.mark).toBe("0x0");
      expect(o.conntrack?.status).toEqual(expect.arrayContaining(["DNAT", "SNAT"]));
      const vm = o.steps.find((s) => s.chain === "services");
      expect(vm?.nft?.element).toBe("10.96.0.10 . tcp . 53 : goto service-ABC-ns/dns/tcp/dns");
      expect(o.steps.some((s) => s.branch?.startsWith("numgen random mod 3: "))).toBe(true);
    }
    const local = outs.find((o) => o.final.dst === "10.244.0.2")!;
    expect(local.fate).toEqual({ kind: "forwarded", iface: "cni0" });
    expect(local.final.src).toBe("10.244.0.1");
  });

  it("a pod's own packet is not masqueraded", () => {
    const outs = n.evaluate(dns({ from: "cni0", src: "10.244.0.7" })).outcomes;
    for (const o of outs) expect(o.conntrack?.status).not.toContain("SNAT");
  });

  it("a later packet of the connection keeps its endpoint: the nat chains do not run", () => {
    const outs = n.evaluate(dns({ state: "established", tcpFlags: 0x10 })).outcomes;
    expect(outs.map((o) => o.probability).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (const o of outs) expect(o.steps.filter((s) => s.table === "nft")).toEqual([]);
  });

  it("numgen random with an offset, and numgen inc as alternatives, not chances", () => {
    const t = (mode: "random" | "inc") => table("ip", "t", [chain("pre", [rule(setMark(numgen(mode, 2, 5)))], base("filter", "prerouting", 0))]);
    const random = buildNode({ rulesets: [], nft: [ruleset(t("random"))], node }).evaluate(dns({ dst: "192.168.0.11" })).outcomes;
    expect(random.map((o) => [o.final.mark, o.probability])).toEqual([["0x5", 0.5], ["0x6", 0.5]]);
    const inc = buildNode({ rulesets: [], nft: [ruleset(t("inc"))], node }).evaluate(dns({ dst: "192.168.0.11" })).outcomes;
    expect(inc.map((o) => [o.final.mark, o.probability])).toEqual([["0x5", 1], ["0x6", 1]]);
    for (const o of inc) expect(o.given?.[0]).toMatch(/numgen inc mod 2 offset 5 gives \d/);
  });

  it("jhash is not computed: its values are alternatives", () => {
    const t = table("ip", "t", [chain("pre", [rule(vmap({ kind: "hash", mode: "jhash", expr: pl("ip", "saddr"), mod: 2, offset: 0 }, vmapLit([k("integer", 0), { kind: "verdict", verdict: "drop" }])))], base("filter", "prerouting", 0))]);
    const outs = buildNode({ rulesets: [], nft: [ruleset(t)], node }).evaluate(dns({ dst: "192.168.0.11" })).outcomes;
    expect(outs.map((o) => o.fate.kind).sort()).toEqual(["delivered", "dropped"]);
    expect(outs.every((o) => o.probability === 1 && o.given?.[0]?.includes("jhash"))).toBe(true);
  });

  it("limit: assumed to have tokens on a quiet node, said; --assume limit=either follows both", () => {
    const t = table("ip", "t", [chain("in", [rule({ kind: "limit", rate: 10, per: "second", over: true }, { kind: "verdict", verdict: "drop" })], base("filter", "input", 0))]);
    const nn = buildNode({ rulesets: [], nft: [ruleset(t)], node });
    const quiet = nn.evaluate(dns({ dst: "192.168.0.11" })).outcomes;
    expect(quiet.map((o) => o.fate.kind)).toEqual(["delivered"]);
    expect(quiet[0]!.assumptions.join()).toMatch(/rate limits have tokens left/);
    expect(nn.evaluate(dns({ dst: "192.168.0.11" }), { assume: { limit: "busy" } }).outcomes[0]!.fate.kind).toBe("dropped");
    expect(nn.evaluate(dns({ dst: "192.168.0.11" }), { assume: { limit: "either" } }).outcomes.map((o) => o.fate.kind).sort()).toEqual(["delivered", "dropped"]);
  });
});
