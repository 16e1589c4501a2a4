/**
 * The nft walker's shortcuts give what the general path gives: set lookups through exact-key
 * levels only, keys of values beyond 2^53, packet fields read as bigints made once, constants,
 * tests and verdicts worked out once per statement, and one walker reused walk after walk.
 */
import { describe, expect, it } from "vitest";
import { buildNode } from "../../src/netfilter/model.js";
import { compileSet, lookup } from "../../src/netfilter/nft/sets.js";
import { fieldBig } from "../../src/model/nft-values.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { NftChain } from "../../src/model/nft.js";
import { simpleNode } from "../support/simple-node.js";
import {
  accept, base, chain, concat, ctState, drop, el, goto, ip4, jump, k, match, meta, namedSet, nat, numgen, pl, port, prefix, proto, range, ref, rule,
  ruleset, setMark, table, vmap, vmapLit, mark, binop,
} from "../support/nft-build.js";

const node = simpleNode({
  addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }, { dst: "10.244.0.0/16", dev: "cni0" }],
});
const tcp = (over: Partial<PacketSpec> = {}): PacketSpec => ({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "10.96.0.10", proto: 6, sport: 40000, dport: 80, tcpFlags: 2, ...over });

describe("set lookups", () => {
  const key = (a: string, p: number) => concat(ip4(a), k("inet_proto", 6, "tcp"), port(p));

  it("through exact keys only: the first element in set order holding the value", () => {
    const s = compileSet("m", [el(key("10.0.0.1", 80)), el(key("10.0.0.2", 80)), el(key("10.0.0.1", 80))]);
    expect(lookup(s, [0x0a000001n, 6n, 80n])).toBe(0);
    expect(lookup(s, [0x0a000002n, 6n, 80n])).toBe(1);
    expect(lookup(s, [0x0a000002n, 6n, 81n])).toBeUndefined();
    // Fewer or more parts than the elements have: nothing.
    expect(lookup(s, [0x0a000001n, 6n])).toBeUndefined();
    expect(lookup(s, [0x0a000001n, 6n, 80n, 1n])).toBeUndefined();
  });

  it("a level with intervals below exact ones: every path is looked at, the first element wins", () => {
    // Element 0 holds the value through a range in its last part, element 1 through an exact key.
    const s = compileSet("m", [
      el(concat(ip4("10.0.0.1"), k("inet_proto", 6, "tcp"), range(port(1), port(100)))),
      el(key("10.0.0.1", 80)),
    ]);
    expect(lookup(s, [0x0a000001n, 6n, 80n])).toBe(0);
    const later = compileSet("m", [el(key("10.0.0.1", 80)), el(concat(prefix(ip4("10.0.0.0"), 24), k("inet_proto", 6, "tcp"), port(80)))]);
    expect(lookup(later, [0x0a000001n, 6n, 80n])).toBe(0);
    expect(lookup(later, [0x0a000009n, 6n, 80n])).toBe(1);
  });

  it("values beyond 2^53 keep their own keys (a number would round them together)", () => {
    const big = 2n ** 53n + 1n;
    const s = compileSet("s", [el(k("integer", big))]);
    expect(lookup(s, big)).toBe(0);
    expect(lookup(s, 2n ** 53n)).toBeUndefined();
    expect(lookup(s, -1n)).toBeUndefined();
  });

  it("one-part values in intervals: the first of overlapping elements", () => {
    const s = compileSet("s", [el(range(port(10), port(20))), el(port(15)), el(range(port(1), port(100)))]);
    expect(lookup(s, 15n)).toBe(0);
    expect(lookup(s, 50n)).toBe(2);
    expect(lookup(s, 101n)).toBeUndefined();
    expect(lookup(s, "15")).toBeUndefined();
  });
});

describe("packet fields as bigints", () => {
  it("the same value whether made once or on the spot", () => {
    for (const n of [0, 1, 80, 0x4000, 65535, 65536, 0xffffffff, 2 ** 40]) expect(fieldBig(n)).toBe(BigInt(n));
    expect(() => fieldBig(1.5)).toThrow();
  });
});

describe("statements worked out once give each packet its own answer", () => {
  const services = (): NftChain[] => [
    chain("pre", [rule(match(ctState("new"), ctState("new")), jump("services"))], base("nat", "prerouting", -100)),
    chain("services", [rule(vmap(concat(pl("ip", "daddr"), meta("l4proto"), pl("th", "dport")), ref("service-ips")))]),
    chain("svc", [
      rule(match(pl("ip", "saddr"), prefix(ip4("10.244.0.0"), 16), "!="), setMark(binop("|", meta("mark"), mark(0x4000)))),
      rule(vmap(numgen("random", 2), vmapLit([k("integer", 0), goto("ep1")], [k("integer", 1), goto("ep2")]))),
    ]),
    chain("ep1", [rule(match(meta("l4proto"), proto(6, "tcp")), nat("dnat", { addr: ip4("10.244.0.2"), port: port(8080) }))]),
    chain("ep2", [rule(match(meta("l4proto"), proto(6, "tcp")), nat("dnat", { addr: ip4("10.244.0.3"), port: port(8080) }))]),
    chain("fwd", [rule(match(pl("ip", "daddr"), ip4("10.244.0.3")), match(pl("th", "dport"), port(8080)), drop), rule(accept)], base("filter", "forward", 0)),
  ];
  const rs = () => ruleset(table("ip", "kube", services(), [
    namedSet("service-ips", ["ipv4_addr", "inet_proto", "inet_service"], [el(concat(ip4("10.96.0.10"), k("inet_proto", 6, "tcp"), port(80)), goto("svc"))], "map"),
  ]));

  it("the same packet twice, and packets in turn on two nodes, are answered alike", () => {
    const a = buildNode({ rulesets: [], nft: [rs()], node });
    const b = buildNode({ rulesets: [], nft: [rs()], node });
    const first = JSON.stringify(a.evaluate(tcp()));
    const udp = JSON.stringify(a.evaluate(tcp({ proto: 17 })));
    const other = JSON.stringify(a.evaluate(tcp({ dst: "10.96.0.11" })));
    for (let i = 0; i < 3; i++) {
      expect(JSON.stringify(b.evaluate(tcp()))).toBe(first);
      expect(JSON.stringify(a.evaluate(tcp()))).toBe(first);
      expect(JSON.stringify(b.evaluate(tcp({ proto: 17 })))).toBe(udp);
      expect(JSON.stringify(a.evaluate(tcp({ dst: "10.96.0.11" })))).toBe(other);
    }
    const outs = a.evaluate(tcp()).outcomes;
    // One endpoint's packet is dropped in FORWARD, the other's forwarded: each fork kept its own choice.
    expect(outs.map((o) => [o.probability, o.fate.kind, o.final.dst]).sort()).toEqual([[0.5, "dropped", "10.244.0.3"], [0.5, "forwarded", "10.244.0.2"]]);
    expect(outs.every((o) => o.final.mark === "0x4000")).toBe(true);
    expect(a.evaluate(tcp({ src: "10.244.5.5" })).outcomes.every((o) => o.final.mark === "0x0")).toBe(true);
  });
});
