/**
 * diff's shortcuts keep its findings: a packet whose old path met no change is not asked of the
 * new dump (unchanged-path.ts), chains are compared rule by rule without their spans and
 * counters (chain-changes.ts), and the candidate packets are made only as far as the cap needs
 * (wish-packets.ts). Each is checked against doing the work in full.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseRules } from "../../src/parse.js";
import { parseListing } from "../../src/syntax/listing.js";
import { DiagnosticSink } from "../../src/model/diagnostics.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { diffRulesets } from "../../src/diff/compare.js";
import { candidatePackets } from "../../src/diff/candidates.js";
import { nodeAddrs, Wishes } from "../../src/diff/wish-packets.js";
import type { Want } from "../../src/diff/probes.js";
import { chainChange, sameRule, MAX_CHANGED_RULES } from "../../src/diff/chain-changes.js";
import { ruleRefuses } from "../../src/diff/unchanged-path.js";
import { ipToNum } from "../../src/model/address.js";
import { boundRules } from "../../src/model/chain-rules.js";
import type { Rule, Ruleset } from "../../src/model/ast.js";
import { DIFF_NODE, kubeProxyPair } from "../../bench/diff.js";
import { filterRuleset } from "../support/arbitraries.js";
import { cleanRules, readRepo, repoRoot } from "../support/diff-inputs.js";

const root = repoRoot;
const read = readRepo;

const rules = cleanRules;

const chainRules = (rs: Ruleset, chain: string) => rs.tables.flatMap((t) => t.chains).find((c) => c.name === chain)!.rules.load();

const FW = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -d 192.168.0.11/32 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT
COMMIT
`;

describe("chain changes", () => {
  it("rules compare by what they say: not by where they were, nor by their counters", () => {
    const a = chainRules(rules(FW), "INPUT");
    const b = chainRules(rules(`# moved down a line\n${FW.replaceAll("-A INPUT", "[12:3400] -A INPUT")}`), "INPUT");
    expect(b[0]!.counters).toBeDefined();
    expect(b[0]!.span.line).not.toBe(a[0]!.span.line);
    expect(a.every((r, i) => sameRule(r, b[i]!))).toBe(true);
    expect(chainChange(a, b)).toBe("same");
    expect(sameRule(a[1]!, chainRules(rules(FW.replace("--dport 22", "--dport 2222")), "INPUT")[1]!)).toBe(false);
  });

  it("a rule added, one removed and two swapped are the rules of the change; the others are in both, in order", () => {
    const a = chainRules(rules(FW), "INPUT");
    const added = FW.replace("-A INPUT -i lo -j ACCEPT\n", "-A INPUT -i lo -j ACCEPT\n-A INPUT -s 10.0.0.0/8 -j DROP\n");
    const c1 = chainChange(a, chainRules(rules(added), "INPUT"));
    expect(c1).toMatchObject({ old: [], new: [expect.objectContaining({ source: expect.objectContaining({ address: "10.0.0.0" }) })] });
    const removed = chainChange(a, chainRules(rules(FW.replace("-A INPUT -i lo -j ACCEPT\n", "")), "INPUT"));
    expect(removed).toMatchObject({ old: [a[0]], new: [] });
    const lines = FW.split("\n");
    [lines[4], lines[5]] = [lines[5]!, lines[4]!];
    const swapped = chainChange(a, chainRules(rules(lines.join("\n")), "INPUT"));
    expect(typeof swapped === "object" && swapped.old.length === 1 && swapped.new.length === 1).toBe(true);
  });

  it("a chain changed in more rules than are worth telling apart is opaque", () => {
    const many = (port: number) => rules(`*filter\n:INPUT ACCEPT [0:0]\n${Array.from({ length: MAX_CHANGED_RULES + 10 }, (_, i) => `-A INPUT -p tcp -m tcp --dport ${port + i} -j DROP`).join("\n")}\nCOMMIT\n`);
    expect(chainChange(chainRules(many(1000), "INPUT"), chainRules(many(20000), "INPUT"))).toBe("opaque");
  });
});

describe("a rule that refuses a packet's header", () => {
  const input = chainRules(rules(FW), "INPUT");
  const h = (dst: string, proto: number, dport?: number, src?: string) => ({
    dst: ipToNum(dst, "ipv4"), proto, ...(dport !== undefined ? { dport } : {}), ...(src ? { src: ipToNum(src, "ipv4") } : {}),
  });

  it("by its destination, its protocol or the one port it requires", () => {
    expect(ruleRefuses(input[1]!, h("192.168.0.12", 6, 22), "ipv4")).toBe(true);
    expect(ruleRefuses(input[1]!, h("192.168.0.11", 17, 22), "ipv4")).toBe(true);
    expect(ruleRefuses(input[1]!, h("192.168.0.11", 6, 23), "ipv4")).toBe(true);
    expect(ruleRefuses(input[1]!, h("192.168.0.11", 6, 22), "ipv4")).toBe(false);
  });

  it("not by what it cannot decide outright: an interface, a match without one port", () => {
    expect(ruleRefuses(input[0]!, h("192.168.0.11", 6, 22), "ipv4")).toBe(false);
    expect(ruleRefuses(input[2]!, h("192.168.0.11", 6, 22), "ipv4")).toBe(false);
  });

  it("never when testing it notes an assumption (a listing without -v hides interfaces)", () => {
    const listing = parseListing("Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\nACCEPT     tcp  --  0.0.0.0/0            10.0.0.1             tcp dpt:22\n", new DiagnosticSink("-L"), { table: "filter" });
    const r = chainRules(listing, "INPUT")[0]!;
    expect(r.inInterface).toMatchObject({ unknown: true });
    expect(ruleRefuses(r, h("10.0.0.2", 6, 22), "ipv4")).toBe(false);
  });
});

/** The same findings with and without the shortcut, and no packet taken as unchanged that changed (checkUnchanged throws then). */
function sameWithCheck(a: readonly Ruleset[] | Parameters<typeof diffRulesets>[0], b: Parameters<typeof diffRulesets>[1], o: Parameters<typeof diffRulesets>[2]) {
  const fast = diffRulesets(a, b, o);
  const full = diffRulesets(a, b, { ...o, checkUnchanged: true });
  const view = (r: typeof fast) => ({ candidates: r.candidates, notCompared: r.notCompared, example: r.notComparedExample, packets: r.differences.map((d) => [d.packet, d.kind, d.oldSummary, d.newSummary]) });
  expect(view(fast)).toEqual(view(full));
  return fast;
}

describe("packets whose old path met no change are not asked of the new dump", () => {
  const nodeFacts = factsFromTexts([{ file: "node.json", text: DIFF_NODE }]).facts;

  it("a generated kube-proxy pair: the services added, removed, moved and reordered are found, the rest never asked twice", () => {
    const pair = kubeProxyPair(60);
    const r = sameWithCheck([rules(pair.old)], [rules(pair.new)], { facts: nodeFacts, max: 4000, random: 300 });
    expect(r.differences.length).toBeGreaterThan(10);
  });

  it("the samples' pairs, with listings, tunnels and counters", () => {
    const kp = (f: string) => rules(read(`samples/kube-proxy-basic/${f}`));
    const kpFacts = factsFromTexts([{ file: "node.json", text: read("samples/kube-proxy-basic/node.json") }]).facts;
    sameWithCheck([kp("rules.save")], [kp("rules-after-upgrade.save")], { facts: kpFacts, random: 200 });
    const dir = "samples/001-flannel-udp-clusterip-from-node/";
    const nvL = (f: string) => parseRules(read(dir + f), { table: "nat" }).value;
    const flannelFacts = factsFromTexts([{ file: "worker-node.json", text: read(dir + "worker-node.json") }]).facts;
    sameWithCheck([nvL("worker-nat.nvL")], [nvL("worker-nat-fixed.nvL")], { facts: flannelFacts, random: 200 });
    const fw = read("samples/host-firewall/rules.save");
    const fwFacts = factsFromTexts([{ file: "node.json", text: read("samples/host-firewall/node.json") }]).facts;
    sameWithCheck([rules(fw)], [rules(fw.replaceAll("-A INPUT", "[5:300] -A INPUT").replace("--dports 80,443", "--dports 80,8443"))], { facts: fwFacts, random: 200 });
  });

  /** `rs` with one rule of one chain left out, or `extra` put in its place. */
  function edited(rs: Ruleset, pick: number, extra?: Rule): Ruleset {
    const chains = rs.tables.flatMap((t, ti) => t.chains.map((c, ci) => [ti, ci, c.rules.load()] as const)).filter(([, , r]) => r.length);
    if (!chains.length) return rs;
    const [ti, ci, list] = chains[pick % chains.length]!;
    const at = Math.floor(pick / chains.length) % list.length;
    const next = [...list.slice(0, at), ...(extra ? [extra] : []), ...list.slice(at + 1)];
    return { ...rs, tables: rs.tables.map((t, i) => (i !== ti ? t : { ...t, chains: t.chains.map((c, j) => (j !== ci ? c : { ...c, rules: boundRules(next) })) })) };
  }

  it("property: a ruleset against itself with one rule left out or replaced by another's", () => {
    const fwFacts = factsFromTexts([{ file: "node.json", text: read("samples/host-firewall/node.json") }]).facts;
    fc.assert(fc.property(filterRuleset, filterRuleset, fc.nat(1000), fc.boolean(), (a, b, pick, replace) => {
      const other = b.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.load()))[pick % 7];
      sameWithCheck([a], [edited(a, pick, replace ? other : undefined)], { facts: fwFacts, max: 300, random: 30 });
    }), { numRuns: 60 });
  });
});

describe("candidate packets made as far as the cap needs", () => {
  it("are those made in full, whatever the cap, seed and established packets", () => {
    const pair = kubeProxyPair(40);
    const sides = [[rules(pair.old)], [rules(pair.new)]];
    const facts = factsFromTexts([{ file: "node.json", text: DIFF_NODE }]).facts;
    for (const o of [{ max: 100, random: 400, seed: 3 }, { max: 1000, random: 1000, seed: 5, established: true }, { max: 0, random: 50 }]) {
      expect(candidatePackets(sides, { facts, ...o })).toEqual(candidatePackets(sides, { facts, ...o, makeAll: true }));
    }
  });

  it("take a wish added again at once (the same object) as the wishes made one by one", () => {
    const making = {
      ctx: { family: "ipv4" as const, ifaces: ["eth0", "cni0"], sets: new Map(), pool: { addrs: new Set<string>(), ports: new Set<number>(), marks: new Set<number>() } },
      node: nodeAddrs(factsFromTexts([{ file: "node.json", text: DIFF_NODE }]).facts, "ipv4"),
    };
    // Each packet once, with the best tier any wish gives it, in the order of their texts.
    const packets = (ws: readonly Wishes[]) => {
      const tier = new Map<string, number>();
      for (const w of ws) w.each((p, t) => tier.set(JSON.stringify(p), Math.min(t, tier.get(JSON.stringify(p)) ?? t)));
      return [...tier].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    };
    const a: Want = { dst: "10.96.0.1", dport: 443, proto: 6 };
    const b: Want = { from: "cni0", src: "10.244.0.5" };
    const c: Want = { dst: "10.96.0.1", dport: 443, proto: 6 };
    const adds: Array<[Want, Want[]]> = [[a, [{ dport: 444 }]], [a, []], [b, []], [b, [{ src: "10.244.0.6" }]], [a, []], [c, []], [{}, []], [{}, [{ mark: 1 }]]];
    const together = new Wishes(making);
    for (const [want, variants] of adds) together.add(want, variants);
    const alone = adds.map(([want, variants]) => {
      const w = new Wishes(making);
      w.add(want, variants);
      return w;
    });
    expect(packets([together])).toEqual(packets(alone));
  });
});
