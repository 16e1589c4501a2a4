/**
 * Where the nft differential test found netfate and the kernel apart, pinned without the kernel
 * (each checked in a netns: test/kernel/nft-semantics.test.ts). Equal priorities run the later
 * registered hook first; conntrack's and the NAT core's hooks are registered once per namespace,
 * by an earlier rule, so a ruleset's chain at their priority runs before them.
 */
import { describe, expect, it } from "vitest";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { simpleNode } from "../support/simple-node.js";
import { base, chain, counter, ct, ctState, ip4, mark, match, meta, nat, pl, port, rule, ruleset, setMark, table } from "../support/nft-build.js";

const node = simpleNode({
  addrs: { eth0: ["192.168.0.11/24"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }],
});

const udpIn: PacketSpec = { family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 17, sport: 40000, dport: 5000 };
const udpOut: PacketSpec = { family: "ipv4", from: "local", dst: "192.168.0.60", proto: 17, sport: 40000, dport: 5000 };
const ran = (o: Outcome) => o.steps.filter((s) => s.table === "nft" && s.matched && typeof s.rule === "number").map((s) => `${s.chain}#${s.rule}`);

describe("nft chains at the priority of conntrack's or the NAT core's hook", () => {
  it("a chain at -200 in output sees no conntrack entry (ct state invalid), and says why", () => {
    const t = table("inet", "t", [
      chain("route200", [rule(match(ct("state"), ctState("invalid")), counter), rule(match(ct("state"), ctState("new")), counter)], base("route", "output", -200)),
    ]);
    const [o] = buildNode({ rulesets: [], nft: [ruleset(t)], node }).evaluate(udpOut).outcomes;
    expect(ran(o!)).toEqual(["route200#1"]);
    expect(o!.assumptions.some((a) => a.includes("conntrack's priority (-200)"))).toBe(true);
  });

  it("a chain at -199 sees conntrack's entry, with nothing assumed", () => {
    const t = table("ip", "t", [
      chain("f199", [rule(match(ct("state"), ctState("invalid")), counter), rule(match(ct("state"), ctState("new")), counter)], base("filter", "prerouting", -199)),
    ]);
    const [o] = buildNode({ rulesets: [], nft: [ruleset(t)], node }).evaluate(udpIn).outcomes;
    expect(ran(o!)).toEqual(["f199#2"]);
    expect(o!.assumptions.some((a) => a.includes("conntrack's priority"))).toBe(false);
  });

  it("a filter chain at -100 in prerouting runs before a nat chain (the NAT core's hook at -100), and says why", () => {
    const t = table("ip", "t", [
      chain("f100", [rule(setMark(mark(1)))], base("filter", "prerouting", -100)),
      chain("n50", [rule(match(ct("state"), ctState("new")), match(meta("mark"), mark(1)), counter), rule(match(meta("mark"), mark(0)), counter)], base("nat", "prerouting", 50)),
    ]);
    const [o] = buildNode({ rulesets: [], nft: [ruleset(t)], node }).evaluate(udpIn).outcomes;
    expect(ran(o!)).toEqual(["f100#1", "n50#1"]);
    expect(o!.assumptions.some((a) => a.includes("NAT core's hook have the same priority (-100)"))).toBe(true);
  });

  it("a filter chain at srcnat (100) in postrouting runs before a nat chain at 86", () => {
    const t = table("ip", "t", [
      chain("n86", [rule(match(ct("state"), ctState("new")), nat("snat", { addr: ip4("192.168.0.11") }))], base("nat", "postrouting", 86)),
      chain("f100", [rule(match(pl("udp", "dport"), port(5000)), setMark(mark(7)), counter)], base("filter", "postrouting", 100)),
    ]);
    const [o] = buildNode({ rulesets: [], nft: [ruleset(t)], node }).evaluate(udpOut).outcomes;
    expect(ran(o!)).toEqual(["f100#1", "n86#1"]);
  });
});
