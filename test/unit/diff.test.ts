/** `diffRulesets` and its candidate packets: what it must find, and what it must not report. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { factsFromTexts } from "../../src/facts/parse.js";
import { parseIpsets } from "../../src/ipset/index.js";
import { diffRulesets, kindsFirst, summarise } from "../../src/diff/compare.js";
import { candidatePackets } from "../../src/diff/candidates.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { filterRuleset } from "../support/arbitraries.js";
import { cleanRules, readRepo, repoRoot } from "../support/diff-inputs.js";

const root = repoRoot;
const read = readRepo;

const rules = cleanRules;

const facts = (file: string) => factsFromTexts([{ text: read(file), file }]).facts;

const fwText = read("samples/host-firewall/rules.save");
const fwFacts = facts("samples/host-firewall/node.json");
const kpFacts = facts("samples/kube-proxy-basic/node.json");
const kpOld = rules(read("samples/kube-proxy-basic/rules.save"));
const kpNew = rules(read("samples/kube-proxy-basic/rules-after-upgrade.save"));

const ssh = (src: string): PacketSpec => ({ family: "ipv4", from: "eth0", proto: 6, src, dst: "192.168.0.11", sport: 40000, dport: 22, tcpFlags: 2 });

describe("diffRulesets", () => {
  it("finds nothing between a dump and itself", () => {
    const r = diffRulesets([rules(fwText)], [rules(fwText)], { facts: fwFacts });
    expect(r.candidates).toBeGreaterThan(50);
    expect(r.differences).toEqual([]);
    expect(diffRulesets([kpOld], [kpOld], { facts: kpFacts }).differences).toEqual([]);
  });

  it("finds the packet a removed ACCEPT rule let in, with the policy that now drops it", () => {
    const removed = fwText.replace("-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT\n", "");
    expect(removed).not.toBe(fwText);
    const r = diffRulesets([rules(fwText)], [rules(removed)], { facts: fwFacts });
    const d = r.differences.find((x) => x.packet.src === "10.0.0.1" && x.packet.from === "eth0" && x.packet.proto === 6);
    expect(d?.packet).toEqual(ssh("10.0.0.1"));
    expect(d, "the packet the rule's own constants make").toBeDefined();
    expect(d!.oldSummary).toEqual([expect.objectContaining({ fate: "delivered (in eth0)", probability: 1 })]);
    expect(d!.newSummary).toEqual([expect.objectContaining({ fate: "dropped in filter INPUT (INPUT)", decidedBy: ":INPUT DROP" })]);
    // Every difference is an ssh packet from inside 10/8: the rule decided nothing else.
    for (const x of r.differences) {
      expect(x.packet.dport).toBe(22);
      expect(x.packet.src!.startsWith("10.")).toBe(true);
    }
  });

  it("finds the changed DNAT endpoint and the changed NodePort of a kube-proxy upgrade", () => {
    const r = diffRulesets([kpOld], [kpNew], { facts: kpFacts });
    const dns = r.differences.find((d) => d.packet.proto === 17 && d.packet.dst === "10.96.0.10" && d.packet.dport === 53 && d.packet.from === "cni0");
    expect(dns).toBeDefined();
    expect(dns!.oldSummary.map((s) => s.final).join()).toContain("-> 10.244.0.3:53");
    expect(dns!.newSummary.map((s) => s.final).join()).toContain("-> 10.244.0.4:53");
    expect(dns!.newSummary.map((s) => s.final).join()).not.toContain("10.244.0.3");
    const nodePort = (port: number) => r.differences.find((d) => d.packet.from === "eth0" && d.packet.dst === "192.168.0.11" && d.packet.dport === port && d.packet.proto === 6);
    expect(nodePort(30080)!.oldSummary[0]!.final).toContain("-> 10.244.");
    expect(nodePort(30080)!.newSummary).toEqual([expect.objectContaining({ fate: "delivered (in eth0)" })]);
    expect(nodePort(30081)!.newSummary[0]!.final).toContain(":8080");
    // The upgrade added a rule at the top of filter INPUT; renumbering alone is no difference.
    expect(r.differences.some((d) => d.packet.dport === 443 && d.packet.dst === "10.96.0.1")).toBe(false);
  });

  it("does not count renumbered rules as a difference", () => {
    const base = fwText.replace("COMMIT", "-A INPUT -p tcp -m tcp --dport 23 -j DROP\nCOMMIT");
    const shifted = base.replace("-A INPUT -i lo -j ACCEPT\n", "-A INPUT -i lo -j ACCEPT\n-A INPUT -p udp -m udp --dport 9 -j RETURN\n");
    expect(shifted).not.toBe(base);
    // The telnet DROP moves from #6 to #7 and still drops the same packets.
    const before = diffRulesets([rules(fwText)], [rules(base)], { facts: fwFacts });
    expect(before.differences.some((d) => d.newSummary[0]!.decidedBy === "-A INPUT -p tcp -m tcp --dport 23 -j DROP")).toBe(true);
    expect(diffRulesets([rules(base)], [rules(shifted)], { facts: fwFacts }).differences).toEqual([]);
  });

  it("tries ipset members, so a set replaced by a narrower rule shows its other members", () => {
    const head = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
    const viaSet = rules(`${head}-A INPUT -m set --match-set allow src -j ACCEPT\nCOMMIT\n`);
    const viaRule = rules(`${head}-A INPUT -s 10.1.2.3/32 -j ACCEPT\nCOMMIT\n`);
    const sets = parseIpsets("create allow hash:ip family inet\nadd allow 10.1.2.3\nadd allow 172.20.9.9\n").value;
    const r = diffRulesets([viaSet], [viaRule], { facts: fwFacts, sets, random: 0 });
    expect(r.differences.some((d) => d.packet.src === "172.20.9.9")).toBe(true);
    expect(r.differences.some((d) => d.packet.src === "10.1.2.3")).toBe(false);
  });

  it("property: no differences between a ruleset and itself", () => {
    fc.assert(fc.property(filterRuleset, (rs) => {
      expect(diffRulesets([rs], [rs], { facts: fwFacts, max: 300, random: 30 }).differences).toEqual([]);
    }), { numRuns: 40 });
  });

  it("property: diff(A, B) and diff(B, A) find the same number of packets", () => {
    fc.assert(fc.property(filterRuleset, filterRuleset, (a, b) => {
      const ab = diffRulesets([a], [b], { facts: fwFacts, max: 300, random: 30 });
      const ba = diffRulesets([b], [a], { facts: fwFacts, max: 300, random: 30 });
      expect(ab.differences.length).toBe(ba.differences.length);
      expect(ab.differences.map((d) => d.packet)).toEqual(ba.differences.map((d) => d.packet));
    }), { numRuns: 40 });
  });
});

describe("candidatePackets", () => {
  it("is deterministic for a seed, and the seed changes only the random part", () => {
    const a = candidatePackets([[kpOld], [kpNew]], { facts: kpFacts, seed: 7 });
    expect(candidatePackets([[kpOld], [kpNew]], { facts: kpFacts, seed: 7 })).toEqual(a);
    const b = candidatePackets([[kpOld], [kpNew]], { facts: kpFacts, seed: 8 });
    expect(b).not.toEqual(a);
    const fixed = candidatePackets([[kpOld], [kpNew]], { facts: kpFacts, random: 0 });
    expect(a.slice(0, fixed.length)).toEqual(fixed);
    expect(b.slice(0, fixed.length)).toEqual(fixed);
  });

  it("does not depend on which side is old", () => {
    expect(candidatePackets([[kpNew], [kpOld]], { facts: kpFacts })).toEqual(candidatePackets([[kpOld], [kpNew]], { facts: kpFacts }));
  });

  it("has no duplicates and keeps to --max", () => {
    const all = candidatePackets([[kpOld]], { facts: kpFacts, random: 200 });
    expect(new Set(all.map((p) => JSON.stringify(p))).size).toBe(all.length);
    expect(candidatePackets([[kpOld]], { facts: kpFacts, max: 25, random: 0 })).toHaveLength(25);
    expect(candidatePackets([[kpOld]], { facts: kpFacts, max: 25, random: 5 })).toHaveLength(30);
  });

  it("makes the boundary packets of an address and a port range", () => {
    const rs = rules("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 10.1.0.0/16 -p tcp -m tcp --dport 1000:2000 -j ACCEPT\nCOMMIT\n");
    const ps = candidatePackets([[rs]], { facts: fwFacts, random: 0 });
    const srcs = new Set(ps.map((p) => p.src));
    for (const a of ["10.1.0.0", "10.1.0.1", "10.1.255.255", "10.0.255.255", "10.2.0.0"]) expect(srcs.has(a), a).toBe(true);
    const ports = new Set(ps.filter((p) => p.proto === 6).map((p) => p.dport));
    for (const p of [999, 1000, 2000, 2001]) expect(ports.has(p), String(p)).toBe(true);
  });

  it("reaches a rule deep in a chain with what the jump to that chain needs", () => {
    // KUBE-SEP-…'s DNAT only sees packets for the service address the KUBE-SERVICES rule names.
    const ps = candidatePackets([[kpOld]], { facts: kpFacts, random: 0 });
    expect(ps.some((p) => p.dst === "10.96.45.12" && p.dport === 80 && p.src === "10.244.1.5")).toBe(true);
    // The NodePort rule is reached through `addrtype --dst-type LOCAL`: a node address, not a stranger.
    expect(ps.some((p) => p.dport === 30080 && p.dst === "192.168.0.11" && p.from === "eth0")).toBe(true);
  });
});

describe("summarise and kindsFirst", () => {
  it("leave rule numbers out and show one difference of each kind first", () => {
    const removed = fwText.replace("-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT\n", "");
    const r = diffRulesets([rules(fwText)], [rules(removed)], { facts: fwFacts });
    for (const d of r.differences) for (const s of [...d.oldSummary, ...d.newSummary]) expect(s.fate).not.toMatch(/#\d|rule \d/);
    const { ordered, kinds } = kindsFirst(r.differences);
    expect(ordered).toHaveLength(r.differences.length);
    expect(kinds).toBe(new Set(r.differences.map((d) => JSON.stringify([summarise(d.old).map((s) => s.fate), summarise(d.new).map((s) => s.fate)]))).size);
    expect(kinds).toBeGreaterThan(0);
  });
});
