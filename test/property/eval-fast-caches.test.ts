/**
 * What the evaluator keeps between packets to go fast (a jump's target and step word on its
 * rule or statement, map elements' printed text, addresses as numbers, the walk's one
 * extension environment) never changes an answer: a packet traced on a node that has already
 * traced others gets exactly the outcomes it gets on a fresh node, steps and all.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildNode } from "../../src/netfilter/model.js";
import { parseNftText } from "../../src/nft/text/index.js";
import { filterRuleset, packetArb } from "../support/arbitraries.js";
import { simpleNode } from "../support/simple-node.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";
import { kubeNftDump } from "../../bench/gen-kube-nft.js";
import { parseRules } from "../../src/parse.js";
import type { PacketSpec } from "../../src/model/packet.js";

const node = simpleNode({
  addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/16"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }],
});

const json = (x: unknown) => JSON.stringify(x);

describe("the evaluator's caches change no answer", () => {
  it("random rulesets: each packet after the others traces as on a fresh node", () => {
    fc.assert(fc.property(filterRuleset, fc.array(packetArb, { minLength: 2, maxLength: 6 }), (rs, packets) => {
      const warm = buildNode({ rulesets: [rs], node });
      const before = packets.map((p) => json(warm.evaluate(p, { verbose: true }).outcomes));
      // Again in reverse order on the same node, and each alone on a new node.
      const again = [...packets].reverse().map((p) => json(warm.evaluate(p, { verbose: true }).outcomes)).reverse();
      const fresh = packets.map((p) => json(buildNode({ rulesets: [rs], node }).evaluate(p, { verbose: true }).outcomes));
      expect(again).toEqual(fresh);
      expect(before).toEqual(fresh);
    }), { numRuns: 150 });
  });

  it("kube-proxy in iptables and nftables modes: packets to many services, in any order, trace as on a fresh node", () => {
    const ipt = parseRules(kubeProxyDump({ services: 40 })).value;
    const nft = parseNftText(kubeNftDump({ services: 40 }), "kube.nft").ruleset;
    const packet = (s: number, fromPod: boolean, sport: number): PacketSpec => ({
      family: "ipv4", from: fromPod ? "cni0" : "eth0", src: fromPod ? "10.244.3.7" : "192.168.0.50",
      dst: `10.96.${((s + 10) >> 8) & 255}.${(s + 10) & 255}`, proto: 6, sport, dport: 80, tcpFlags: 2,
    });
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 39 }), fc.boolean(), fc.integer({ min: 1024, max: 65535 })), { minLength: 1, maxLength: 8 }), (list) => {
      for (const inputs of [{ rulesets: [ipt] }, { rulesets: [], nft: [nft] }]) {
        const warm = buildNode({ ...inputs, node });
        for (const [s, pod, sport] of list) {
          const p = packet(s, pod, sport);
          expect(json(warm.evaluate(p).outcomes)).toBe(json(buildNode({ ...inputs, node }).evaluate(p).outcomes));
        }
      }
    }), { numRuns: 40 });
  });
});
