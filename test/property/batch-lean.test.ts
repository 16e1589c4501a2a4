/**
 * `batch --fields` evaluates without describing the steps (EvaluateOptions.lean): its lines
 * must be exactly those the full trace gives. Every field, text and JSON, compared on every
 * sample's packets, on random packets made from them (other addresses, ports, states, marks,
 * flags), on random rulesets, and on a kube-proxy dump of the 10k bench dump's shape.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { samplePackets, SAMPLES } from "../browser/sample-packets.js";
import { packet as parsePacket } from "../../src/testing/load.js";
import { compactLines, FIELD_NAMES, parseFields } from "../../src/cli/commands/batch-fields.js";
import type { NetfilterNode } from "../../src/netfilter/model.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { filterRuleset, packetArb } from "../support/arbitraries.js";
import { simpleNode } from "../support/simple-node.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";
import { packetMix } from "../../bench/batch.js";
import { parseRules } from "../../src/parse.js";
import { parsePacketText } from "../../src/packet/parse.js";

const ALL = parseFields(FIELD_NAMES.join(","));

/** The compact lines of a packet, text and JSON, with the steps described or not. */
function lines(node: NetfilterNode, p: PacketSpec, lean: boolean, verbose = false): string {
  const e = node.evaluate(p, { lean, verbose });
  return compactLines(ALL, false, 1, e) + compactLines(ALL, true, 1, e);
}

function sameLines(node: NetfilterNode, p: PacketSpec, verbose = false): void {
  const full = lines(node, p, false, verbose);
  const lean = lines(node, p, true, verbose);
  expect(lean, JSON.stringify(p)).toBe(full);
}

const samples = SAMPLES.map((s) => ({ sample: s, packets: samplePackets(s) }));

/** Random packets shaped like a sample's: its addresses, ports and interfaces, recombined, with other states, marks and flags. */
function derived(packets: readonly PacketSpec[]): fc.Arbitrary<PacketSpec> {
  const addrs = [...new Set(packets.flatMap((p) => [p.src, p.dst]).filter((a): a is string => a !== undefined))];
  const ports = [...new Set(packets.flatMap((p) => [p.sport, p.dport]).filter((x): x is number => x !== undefined)), 22, 53, 80, 443, 8080];
  const froms = [...new Set([...packets.map((p) => p.from), "local", "lo"])];
  return fc.record({
    base: fc.constantFrom(...packets),
    src: fc.option(fc.constantFrom(...addrs), { nil: undefined }),
    dst: fc.option(fc.constantFrom(...addrs), { nil: undefined }),
    sport: fc.oneof(fc.constantFrom(...ports), fc.integer({ min: 1, max: 65535 })),
    dport: fc.oneof(fc.constantFrom(...ports), fc.integer({ min: 1, max: 65535 })),
    from: fc.constantFrom(...froms),
    state: fc.constantFrom(undefined, "new", "established", "related", "invalid"),
    mark: fc.constantFrom(undefined, 0, 0x4000, 0x1, 0x8000, 0xffffffff),
    flags: fc.constantFrom(undefined, 0x02, 0x10, 0x12, 0x01, 0x04),
  }).map((r) => {
    const p: PacketSpec = { ...r.base };
    const family = (a: string) => (a.includes(":") ? "ipv6" : "ipv4");
    // Addresses only of the base packet's family: a packet has one.
    if (r.src !== undefined && family(r.src) === p.family && r.from !== "local") p.src = r.src;
    if (r.dst !== undefined && family(r.dst) === p.family) p.dst = r.dst;
    p.from = r.from;
    if (r.from === "local") delete p.src;
    if (p.sport !== undefined || p.dport !== undefined) {
      p.sport = r.sport;
      p.dport = r.dport;
    }
    if (r.state === undefined) delete p.state;
    else p.state = r.state;
    if (r.mark === undefined) delete p.mark;
    else p.mark = r.mark;
    if (p.proto === 6 && r.flags !== undefined) p.tcpFlags = r.flags;
    return p;
  });
}

describe("batch --fields: the lines without described steps are the full trace's", () => {
  it.each(samples.map((s) => [s.sample, s.packets] as const))("%s: every packet, every field", (_, packets) => {
    for (const sp of packets) {
      const node = sp.node();
      const p = parsePacket(sp.packet);
      sameLines(node, p);
      sameLines(node, p, true);
    }
  });

  it.each(samples.map((s) => [s.sample, s.packets] as const))("%s: random packets shaped like its own", (_, packets) => {
    // Packets of one sample that share a node are varied together.
    const byNode = new Map<NetfilterNode, PacketSpec[]>();
    for (const sp of packets) {
      const n = sp.node();
      byNode.set(n, [...(byNode.get(n) ?? []), parsePacket(sp.packet)]);
    }
    for (const [node, specs] of byNode) {
      fc.assert(fc.property(derived(specs), fc.boolean(), (p, verbose) => sameLines(node, p, verbose)), { numRuns: 60 });
    }
  }, 120_000);

  it("random filter rulesets and packets", () => {
    const facts = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/16"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
    fc.assert(fc.property(filterRuleset, packetArb, (rs, p) => sameLines(buildNode({ rulesets: [rs], node: facts }), p)), { numRuns: 200 });
  });

  it("a kube-proxy dump of the 10k bench dump's shape: 1,000 new connections of the bench's mix", () => {
    const text = kubeProxyDump({ services: 300 });
    const rs = parseRules(text).value;
    const node = buildNode({ rulesets: [rs], node: simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/16"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] }) });
    const ips = text.split("\n").filter((l) => l.startsWith("-A KUBE-SERVICES -d")).map((l) => /-d (\S+)\/32/.exec(l)![1]!);
    const mix = packetMix(ips, 1000).trim().split("\n");
    for (const line of mix) {
      const r = parsePacketText(line);
      if (!r.ok) throw new Error(r.error);
      sameLines(node, r.packet);
      // A later packet of the same connection (its outcomes merge by their whole steps).
      sameLines(node, { ...r.packet, state: "established", tcpFlags: 0x10 });
    }
  }, 120_000);
});

