/**
 * The flow memo (src/netfilter/flow-memo.ts) answers a packet like an earlier one without
 * evaluating it: its answers must be exactly the evaluated ones. Every `--fields` field, text
 * and JSON, is compared packet by packet for sequences of packets through one memo — on every
 * sample's node, on random packets made from them (other sources and ports, so the memo
 * answers them), on a ruleset of statistic, recent, set matches and SET, marks, NAT with
 * ports and extensions netfate does not know, on random rulesets, and on a kube-proxy dump of
 * the 10k bench dump's shape.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { samplePackets, SAMPLES } from "../browser/sample-packets.js";
import { nodeFromTexts, packet as parsePacket } from "../../src/testing/load.js";
import { compactLines, FIELD_NAMES, parseFields } from "../../src/cli/commands/batch-fields.js";
import { buildNode, type NetfilterNode } from "../../src/netfilter/model.js";
import { FlowMemo } from "../../src/netfilter/flow-memo.js";
import { memoAnswer } from "../../src/cli/commands/batch-answer.js";
import type { LinesTemplate } from "../../src/cli/commands/batch-fields.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { filterRuleset, ipv4, packetArb } from "../support/arbitraries.js";
import { simpleNode } from "../support/simple-node.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";
import { packetMix } from "../../bench/batch.js";
import { parseRules } from "../../src/parse.js";
import { parsePacketText } from "../../src/packet/parse.js";

const ALL = parseFields(FIELD_NAMES.join(","));
/** Without `nat`: a memo told so keeps no connection. */
const NO_NAT = parseFields(FIELD_NAMES.filter((f) => f !== "nat").join(","));

function lines(e: ReturnType<NetfilterNode["evaluate"]>, connection: boolean): string {
  const fields = connection ? ALL : NO_NAT;
  return compactLines(fields, false, 1, e) + compactLines(fields, true, 1, e);
}

/**
 * Packets through one memo, each answer compared with the packet's own evaluation: the memo's
 * evaluations, and the lines `batch --fields` writes through a memo keeping them (text and
 * JSON); the hits of the memo of lines.
 */
function sameAnswers(node: NetfilterNode, packets: readonly PacketSpec[], connection = true): number {
  const memo = new FlowMemo(node, { lean: true }, undefined, connection);
  const fields = connection ? ALL : NO_NAT;
  const text = new FlowMemo<LinesTemplate>(node, { lean: true });
  const json = new FlowMemo<LinesTemplate>(node, { lean: true });
  const viaText = memoAnswer(text, { chosen: fields, json: false });
  const viaJson = memoAnswer(json, { chosen: fields, json: true });
  const linesOf = (a: ReturnType<typeof viaText>) => ("error" in a ? a.error : a.lines);
  for (const [i, p] of packets.entries()) {
    if (!node.hasRules(p.family)) continue;
    const plain = node.evaluate(p, { lean: true });
    expect(lines(memo.evaluate(p), connection), JSON.stringify(p)).toBe(lines(plain, connection));
    expect(linesOf(viaText(p, i + 1)), JSON.stringify(p)).toBe(compactLines(fields, false, i + 1, plain));
    expect(linesOf(viaJson(p, i + 1)), JSON.stringify(p)).toBe(compactLines(fields, true, i + 1, plain));
  }
  expect(text.stats.hits).toBe(json.stats.hits);
  return text.stats.hits;
}

/** Addresses near `a` (same /24, /16, /8) and a few fixed ones: sources a rule's networks split. */
function nearby(addrs: readonly string[]): fc.Arbitrary<string> {
  const v4 = addrs.filter((a) => !a.includes(":"));
  const near = v4.length
    ? fc.tuple(fc.constantFrom(...v4), fc.integer({ min: 1, max: 3 }), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 3, maxLength: 3 })).map(([a, keep, r]) => {
      const o = a.split(".");
      for (let i = keep; i < 4; i++) o[i] = String(r[i - 1]);
      return o.join(".");
    })
    : ipv4;
  return fc.oneof(fc.constantFrom(...addrs), near, ipv4);
}

/** Sequences of packets like `packets`, mostly differing only in source address and port (what the memo answers). */
function variants(packets: readonly PacketSpec[], most = 30): fc.Arbitrary<PacketSpec[]> {
  const addrs = [...new Set(packets.flatMap((p) => [p.src, p.dst]).filter((a): a is string => a !== undefined))];
  const one = fc.record({
    base: fc.constantFrom(...packets),
    src: nearby(addrs.length ? addrs : ["10.0.0.1"]),
    sport: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(80, 53, 8080, 1000, 2000, 3000)),
    state: fc.constantFrom(undefined, undefined, "new", "established", "invalid"),
    reply: fc.constantFrom(false, false, false, false, true),
  }).map((r) => {
    const p: PacketSpec = { ...r.base };
    if (r.reply) p.reply = true;
    if (p.src !== undefined && p.from !== "local" && r.src.includes(":") === (p.family === "ipv6")) p.src = r.src;
    if (p.sport !== undefined) p.sport = r.sport;
    if (r.state !== undefined) p.state = r.state;
    return p;
  });
  return fc.array(one, { minLength: 2, maxLength: most });
}

const samples = SAMPLES.map((s) => ({ sample: s, packets: samplePackets(s) }));

describe("batch's flow memo answers as the evaluation does", () => {
  it.each(samples.map((s) => [s.sample, s.packets] as const))("%s: its packets, twice, and sequences like them", (_, packets) => {
    const byNode = new Map<NetfilterNode, PacketSpec[]>();
    for (const sp of packets) {
      const n = sp.node();
      byNode.set(n, [...(byNode.get(n) ?? []), parsePacket(sp.packet)]);
    }
    for (const [node, specs] of byNode) {
      sameAnswers(node, [...specs, ...specs]);
      fc.assert(fc.property(variants(specs), fc.boolean(), (seq, nat) => void sameAnswers(node, seq, nat)), { numRuns: 40 });
    }
  }, 240_000);

  it("statistic, recent, set matches and SET, marks, NAT with ports, unknown extensions", () => {
    const rules = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:CHECK - [0:0]
-A FORWARD -p udp -m set --match-set blocked src -j DROP
-A FORWARD -s 10.0.0.0/8 -m statistic --mode random --probability 0.25 -j MARK --set-xmark 0x1/0xffffffff
-A FORWARD -p udp -m recent --name seen --rcheck --seconds 60 -j DROP
-A FORWARD -d 10.244.1.6/32 -p tcp -m tcp --sport 1000:2000 -j CHECK
-A FORWARD -d 8.8.8.8/32 -p tcp -m multiport --ports 3000,4000 -j ACCEPT
-A FORWARD -s 192.168.0.0/17 -d 10.244.1.7/32 -p udp -j SET --add-set blocked src
-A FORWARD -d 10.244.1.6/32 -m iprange --src-range 192.168.200.1-192.168.200.100 -j ACCEPT
-A FORWARD -m mark --mark 0x1 -j ACCEPT
-A FORWARD -p tcp -m foo --bar 1 -j ACCEPT
-A FORWARD -p tcp --dport 22 -j IDLETIMER --timeout 5 --label x
-A FORWARD -p udp -m conntrack --ctorigsrc 172.16.0.0/12 -j ACCEPT
-A FORWARD -p udp -m u32 --u32 "0>>22&0x3C@0>>16=0x50" -j ACCEPT
-A FORWARD -s 172.16.0.0/12 -p udp -j HMARK --hmark-tuple src --hmark-mod 10 --hmark-rnd 0x1
-A FORWARD -d 10.244.0.0/16 -j ACCEPT
-A CHECK -s 192.168.0.0/24 -j RETURN
-A CHECK -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.1.5:8080
-A PREROUTING -d 10.96.0.11/32 -p tcp -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.244.1.6:1500
-A PREROUTING -d 10.96.0.11/32 -p tcp -j DNAT --to-destination 192.168.0.50
-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE
-A POSTROUTING -s 192.168.128.0/17 -p tcp -j SNAT --to-source 192.168.0.11:2000-3000
-A POSTROUTING -s 192.168.64.0/18 -p tcp -j MASQUERADE --to-ports 1200-1300
COMMIT
`;
    const node = nodeFromTexts(
      { rules: [{ file: "rules.save", text: rules }], ipsets: [{ file: "sets.save", text: "create blocked hash:ip family inet hashsize 1024 maxelem 65536\nadd blocked 192.168.1.1\n" }] },
      { ifaces: ["eth0=192.168.0.11/24", "cni0=10.244.0.1/16"], routes: ["default via 192.168.0.1 dev eth0"] },
    );
    const bases = [
      "tcp 192.168.3.4:1500 -> 10.96.0.10:80 in eth0",
      "tcp 192.168.200.4:1500 -> 10.96.0.11:80 in eth0",
      "udp 192.168.3.4:1500 -> 10.244.1.5:53 in eth0",
      "tcp 10.244.3.4:3000 -> 8.8.8.8:443 in cni0",
      "tcp 172.16.3.4:1100 -> 10.244.1.5:22 in eth0",
      "tcp 192.168.130.4:1100 -> 8.8.8.8:22 in cni0",
      "tcp 192.168.70.4:1100 -> 8.8.8.8:22 in cni0",
      "tcp 10.244.1.5:8080 -> 10.96.0.10:80 in cni0",
      "udp 172.16.3.4:1100 -> 10.244.1.5:53 in eth0",
      "udp 192.168.1.1:1100 -> 10.244.1.5:53 in eth0",
      "udp 192.168.1.2:1100 -> 10.244.1.7:53 in eth0",
    ].map(parsePacket);
    fc.assert(fc.property(variants(bases, 80), (seq) => void sameAnswers(node, seq)), { numRuns: 200 });
    // Each base packet from other hosts of its /24 and other ports: the memo answers most of
    // them (those its tests, NAT ports and sets leave free), so the comparison is not of evaluations alone.
    const hosts = bases.flatMap((b) => Array.from({ length: 20 }, (_, i) => ({ ...b, src: b.src!.replace(/\.\d+$/, `.${10 + i}`), sport: 40000 + i })));
    expect(sameAnswers(node, hosts)).toBeGreaterThan(40);
  }, 240_000);

  it("two networks of the source tested in order: a later source that the first one splits from the kept answer's is evaluated", () => {
    const nets = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "192.168.0.0/16", "192.168.1.0/24", "172.16.0.0/12"];
    const sources = ["10.1.2.3", "10.1.2.9", "10.1.9.9", "10.9.9.9", "192.168.1.5", "192.168.7.5", "172.16.4.4", "8.8.4.4"];
    const verdicts = ["-j DROP", "-j ACCEPT", "-j REJECT", "-j MARK --set-xmark 0x1/0xffffffff", "-j RETURN"];
    const rule = fc.record({ neg: fc.boolean(), net: fc.constantFrom(...nets), verdict: fc.constantFrom(...verdicts) })
      .map((r) => `${r.neg ? "! " : ""}-s ${r.net} ${r.verdict}`);
    // In PREROUTING (before routing tests the source) or FORWARD (after), then what a mark decides.
    const ruleset = fc.record({ first: rule, second: rule, mangle: fc.boolean() }).map(({ first, second, mangle }) => {
      const chain = mangle ? "PREROUTING" : "FORWARD";
      const tested = `-A ${chain} ${first}\n-A ${chain} ${second}\n`.replace(/-j REJECT/g, mangle ? "-j DROP" : "-j REJECT");
      return `*mangle\n:PREROUTING ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n${mangle ? tested : ""}COMMIT\n` +
        `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${mangle ? "" : tested}-A FORWARD -m mark --mark 0x1 -j DROP\nCOMMIT\n`;
    });
    const seq = fc.array(fc.constantFrom(...sources), { minLength: 2, maxLength: 12 });
    fc.assert(fc.property(ruleset, seq, (rules, srcs) => {
      const node = nodeFromTexts({ rules: [{ file: "r.save", text: rules }] }, { ifaces: ["eth0=192.168.0.11/24", "eth1=10.0.0.1/24"], routes: ["default via 192.168.0.1 dev eth0"] });
      sameAnswers(node, srcs.map((src, i) => parsePacket(`tcp ${src}:${1000 + i} -> 8.8.8.8:443 in eth1`)));
    }), { numRuns: 300 });
  }, 240_000);

  it("ports NAT wrote and the destination port: a later packet from one of them is evaluated", () => {
    const ports = [80, 443, 1500, 2000, 8080];
    const nat = fc.constantFrom(
      "-A PREROUTING -p tcp -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.244.1.6:1500",
      "-A PREROUTING -p tcp -j DNAT --to-destination 10.244.1.6:2000",
      "-A PREROUTING -p tcp -j REDIRECT --to-ports 8080",
      "-A POSTROUTING -p tcp -m statistic --mode random --probability 0.5 -j SNAT --to-source 192.168.0.11:2000",
      "-A POSTROUTING -p tcp -j SNAT --to-source 192.168.0.11:1500",
      "-A POSTROUTING -p tcp -m statistic --mode random --probability 0.5 -j MASQUERADE --to-ports 443",
      "-A POSTROUTING -p tcp -j MASQUERADE --to-ports 80",
      "-A OUTPUT -p tcp -m statistic --mode random --probability 0.5 -j DNAT --to-destination 192.168.0.11:443",
    );
    const rules = fc.array(nat, { minLength: 1, maxLength: 3 }).map((rs) =>
      `*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n${rs.join("\n")}\nCOMMIT\n`);
    const one = fc.record({
      src: fc.constantFrom("10.0.0.5", "10.0.0.6", "192.168.0.11", "192.168.0.50", "10.244.1.6"),
      sport: fc.oneof(fc.constantFrom(...ports), fc.integer({ min: 1024, max: 65535 })),
      dport: fc.constantFrom(...ports),
      dst: fc.constantFrom("8.8.8.8", "192.168.0.11", "10.244.1.6"),
      from: fc.constantFrom("eth1", "eth0", "local"),
    }).map((r) => parsePacket(`tcp ${r.src}:${r.sport} -> ${r.dst}:${r.dport} ${r.from === "local" ? "local" : `in ${r.from}`}`));
    // Packets of few keys (their sources and ports the variety), so that most are answered from the memo.
    const seq = fc.tuple(fc.array(one, { minLength: 1, maxLength: 3 }), fc.array(fc.record({ k: fc.nat(), src: fc.constantFrom("10.0.0.5", "10.0.0.6", "192.168.0.11", "192.168.0.50"), sport: fc.constantFrom(...ports, 40000, 40001) }), { minLength: 2, maxLength: 20 }))
      .map(([bases, vs]) => vs.map((v) => {
        const b = bases[v.k % bases.length]!;
        return { ...b, ...(b.from === "local" ? {} : { src: v.src }), sport: v.sport };
      }));
    fc.assert(fc.property(rules, seq, (text, packets) => {
      const node = nodeFromTexts({ rules: [{ file: "r.save", text }] }, { ifaces: ["eth0=192.168.0.11/24", "eth1=10.0.0.1/24", "cni0=10.244.0.1/16"], routes: ["default via 192.168.0.1 dev eth0"] });
      sameAnswers(node, packets);
    }), { numRuns: 400 });
  }, 240_000);

  it("random filter rulesets and packets", () => {
    const facts = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/16"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
    const seq = fc.array(packetArb, { minLength: 1, maxLength: 6 }).chain((ps) => variants(ps));
    fc.assert(fc.property(filterRuleset, seq, (rs, packets) => void sameAnswers(buildNode({ rulesets: [rs], node: facts }), packets)), { numRuns: 150 });
  }, 240_000);

  it("a kube-proxy dump of the 10k bench dump's shape: the bench's mix, hairpin and node sources among it", () => {
    const text = kubeProxyDump({ services: 300 });
    const rs = parseRules(text).value;
    const node = buildNode({ rulesets: [rs], node: simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/16"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] }) });
    const ips = text.split("\n").filter((l) => l.startsWith("-A KUBE-SERVICES -d")).map((l) => /-d (\S+)\/32/.exec(l)![1]!);
    const pods = text.split("\n").filter((l) => /^-A KUBE-SEP-\S+ -s /.test(l)).map((l) => /-s (\S+)\/32/.exec(l)![1]!);
    const packets = packetMix(ips, 3000).trim().split("\n").map((line, i) => {
      const r = parsePacketText(line);
      if (!r.ok) throw new Error(r.error);
      const p = r.packet;
      // Every tenth from one of the endpoints (a pod reaching its own service: hairpin masquerade), and some from the node's own address.
      if (i % 10 === 3 && p.from === "cni0") p.src = pods[i % pods.length]!;
      if (i % 50 === 7) p.src = "192.168.0.11";
      return p;
    });
    const hits = sameAnswers(node, packets, false);
    expect(hits).toBeGreaterThan(1000);
  }, 240_000);
});
