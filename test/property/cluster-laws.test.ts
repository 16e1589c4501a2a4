/**
 * Laws of the cluster walk, on random filter rules on both nodes of seed 003's layout (two
 * Calico nodes joined by IPIP, a pod on each): the walk never changes a node's answer, the
 * chances of its ways add up, and a reply fails only for a reason it names.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { buildNode } from "../../src/netfilter/model.js";
import { buildCluster, type ClusterMember } from "../../src/netfilter/cluster.js";
import { ANY_CONSTANTS, filterRulesetOf, type RuleConstants } from "../../src/testing/rulesets.js";
import type { Ruleset } from "../../src/model/ast.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Place, PodSpec } from "../../src/model/cluster.js";
import { loadCluster } from "../../src/cli/cluster-load.js";

const S003 = resolve(import.meta.dirname, "../../samples/003-calico-ipip-cross-node");

/** Rule constants from the layout, so rules meet the packets. */
const LAYOUT: RuleConstants = {
  ...ANY_CONSTANTS,
  net: fc.constantFrom(
    ...["10.200.226.132", "10.200.179.132", "192.168.247.94", "192.168.247.95"].map((address) => ({ address, prefixLength: 32, mask: null })),
    { address: "10.200.226.128", prefixLength: 26, mask: null },
    { address: "10.200.0.0", prefixLength: 16, mask: null },
    { address: "192.168.247.0", prefixLength: 24, mask: null },
  ),
  iface: fc.constantFrom("eth0", "tunl0", "cali073b411309a", "cali2b2e7c9e43e"),
  port: fc.constantFrom(80, 40000, 443),
  maybe: (a) => fc.option(a, { nil: undefined, freq: 2 }),
};

const PODS: PodSpec[] = [
  { name: "net-test1", node: "node-01", family: "ipv4", address: "10.200.226.132", nodeIface: "cali073b411309a", gateway: "169.254.1.1" },
  { name: "net-test2", node: "node-02", family: "ipv4", address: "10.200.179.132", nodeIface: "cali2b2e7c9e43e", gateway: "169.254.1.1" },
];

function member(name: string, rulesets: Ruleset[]): ClusterMember {
  const { facts } = factsFromTexts([{ text: readFileSync(resolve(S003, `${name}.json`), "utf8"), file: `${name}.json` }]);
  const view = nodeViewFromFacts(facts);
  return { name, node: buildNode({ rulesets, node: view }), facts };
}

const request = fc.record({
  forward: fc.boolean(),
  proto: fc.constantFrom(6, 17, 1),
  sport: fc.constantFrom(40000, 443),
  dport: fc.constantFrom(80, 443),
}).map((r): { packet: PacketSpec; pod: string } => {
  const [a, b] = r.forward ? [PODS[0]!, PODS[1]!] : [PODS[1]!, PODS[0]!];
  const p: PacketSpec = { family: "ipv4", from: "local", src: a.address, dst: b.address, proto: r.proto, state: "new" };
  if (r.proto === 1) p.icmpType = 8;
  else {
    p.sport = r.sport;
    p.dport = r.dport;
  }
  if (r.proto === 6) p.tcpFlags = 0x02;
  return { packet: p, pod: a.name };
});

const twoRulesets = fc.tuple(filterRulesetOf(LAYOUT), filterRulesetOf(LAYOUT));

describe("cluster laws", () => {
  it("every hop's outcome is the node's own answer for the packet it got", () => {
    fc.assert(fc.property(twoRulesets, request, ([r1, r2], { packet, pod }) => {
      const nodes = [member("node-01", [r1]), member("node-02", [r2])];
      const c = buildCluster({ nodes, pods: PODS });
      const start = PODS.find((p) => p.name === pod)!;
      for (const o of c.evaluate(packet, { node: start.node, pod }, { reply: true }).outcomes) {
        for (const h of [...o.hops, ...(o.reply ?? []).flatMap((r) => r.hops)]) {
          if (h.at.pod !== undefined || h.depth > 0) continue;
          const own = nodes.find((n) => n.name === h.at.node)!.node.evaluate(h.packet, {}).outcomes;
          const key = (x: { fate: unknown; final: unknown }) => JSON.stringify([x.fate, x.final]);
          // The reply's hops carry the connection the request left, so they are checked by fate only.
          if (h.outcome.conntrack?.status.includes("SEEN_REPLY")) continue;
          expect(own.map(key)).toContain(key(h.outcome));
        }
      }
    }), { numRuns: 150 });
  });

  it("the chances of the ways add up to 1 when no way rests on an undecided condition", () => {
    fc.assert(fc.property(twoRulesets, request, ([r1, r2], { packet, pod }) => {
      const c = buildCluster({ nodes: [member("node-01", [r1]), member("node-02", [r2])], pods: PODS });
      const start = PODS.find((p) => p.name === pod)!;
      const outs = c.evaluate(packet, { node: start.node, pod }).outcomes;
      expect(outs.length).toBeGreaterThan(0);
      if (outs.some((o) => o.given?.length)) return;
      expect(outs.reduce((s, o) => s + o.probability, 0)).toBeCloseTo(1, 9);
    }), { numRuns: 150 });
  });

  it("with no NAT anywhere, a delivered request's reply is delivered or lost to something that stopped it", () => {
    fc.assert(fc.property(twoRulesets, request, ([r1, r2], { packet, pod }) => {
      const c = buildCluster({ nodes: [member("node-01", [r1]), member("node-02", [r2])], pods: PODS });
      const start = PODS.find((p) => p.name === pod)!;
      for (const o of c.evaluate(packet, { node: start.node, pod }, { reply: true }).outcomes) {
        if (o.fate.kind !== "delivered") {
          expect(o.reply).toBeUndefined();
          continue;
        }
        for (const r of o.reply ?? []) {
          if (r.fate.kind === "reply-lost") expect(r.fate.cause, r.fate.reason).toBeDefined();
          else expect(["delivered", "indeterminate"]).toContain(r.fate.kind);
        }
      }
    }), { numRuns: 150 });
  });

  it("with no rules, every pod reaches the other, and the reply comes back", () => {
    fc.assert(fc.property(request, ({ packet, pod }) => {
      const c = buildCluster({ nodes: [member("node-01", []), member("node-02", [])], pods: PODS });
      const start = PODS.find((p) => p.name === pod)!;
      const outs = c.evaluate(packet, { node: start.node, pod }, { reply: true }).outcomes;
      expect(outs.map((o) => o.fate.kind)).toEqual(["delivered"]);
      expect(outs[0]!.reply!.map((r) => r.fate.kind)).toEqual(["delivered"]);
    }), { numRuns: 30 });
  });
});

describe("cluster walk on any packet", () => {
  const samples = ["000-calico-ipip-ipvs-policy", "001-flannel-udp-clusterip-from-node", "002-flannel-vxlan-pod-to-pod", "003-calico-ipip-cross-node"];
  const clusters = samples.map((s) => buildCluster(loadCluster(resolve(import.meta.dirname, "../../samples", s, "cluster.json")).inputs));
  const anyAddress = fc.oneof(
    fc.constantFrom("10.244.153.204", "10.244.146.205", "10.107.161.255", "172.18.22.111", "192.168.1.12", "10.0.0.103", "10.1.63.3", "10.244.1.12", "10.244.2.14", "10.200.226.132", "10.200.179.132", "192.168.247.95", "8.8.8.8", "127.0.0.1", "255.255.255.255", "224.0.0.5"),
    fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join(".")),
  );
  const anyPacket = fc.record({
    src: anyAddress, dst: anyAddress, proto: fc.constantFrom(6, 17, 1, 4, 132, 47),
    sport: fc.integer({ min: 1, max: 65535 }), dport: fc.oneof(fc.constantFrom(80, 8080, 8472, 8285, 30080, 53), fc.integer({ min: 1, max: 65535 })),
    flags: fc.constantFrom(0x02, 0x12, 0x10, 0x04, 0x01), icmpType: fc.constantFrom(8, 0, 3, 11), mark: fc.constantFrom(0, 0x4000, 0x10000),
    state: fc.constantFrom(undefined, "new", "established", "invalid", "related"), iface: fc.constantFrom("local", "eth0", "ens10", "tunl0", "flannel.1", "cni0", "nosuch"),
  });
  it("never throws, always answers, and every way's hops stay within the bounds", () => {
    fc.assert(fc.property(fc.nat(clusters.length - 1), anyPacket, fc.nat(20), (ci, r, placeIndex) => {
      const c = clusters[ci]!;
      const places: Place[] = [...[...c.members.keys()].map((node) => ({ node })), ...c.pods.map((p) => ({ node: p.node, pod: p.name }))];
      const start = places[placeIndex % places.length]!;
      const p: PacketSpec = { family: "ipv4", from: start.pod !== undefined ? "local" : r.iface, src: r.src, dst: r.dst, proto: r.proto, mark: r.mark };
      if (r.state !== undefined) p.state = r.state as "new";
      if (r.proto === 6 || r.proto === 17 || r.proto === 132) {
        p.sport = r.sport;
        p.dport = r.dport;
      }
      if (r.proto === 6) p.tcpFlags = r.flags;
      if (r.proto === 1) p.icmpType = r.icmpType;
      const ev = c.evaluate(p, start, { reply: true });
      expect(ev.outcomes.length).toBeGreaterThan(0);
      for (const o of ev.outcomes) {
        expect(o.hops.length).toBeLessThanOrEqual(256);
        expect(o.fate.kind === "error" && !/cut short|no node|no pod|say `local`/.test(o.fate.reason), JSON.stringify(o.fate)).toBe(false);
      }
    }), { numRuns: 300 });
  });
});
