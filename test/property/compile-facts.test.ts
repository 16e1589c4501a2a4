/**
 * What the cache keeps beside a parsed dump (cli/cache-format.ts: each table's jump check and
 * conntrack, each long chain's index and which line each rule comes from) is what compiling the
 * dump finds; and a warm answer (the dump read back from its entry, its chains and rules made
 * when read) is the cold answer, word for word, on the samples, the corpus, kube-proxy dumps of
 * the 10k dump's shape, and random long chains whose lines give none, one or several rules.
 * The dump as first parsed, with the facts attached while it was stored, answers the same too,
 * and so does the dump as `netfate serve` keeps it (cli/resident-inputs.ts attaches the facts).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeResult, encodeResult } from "../../src/cli/cache-format.js";
import { readInput, rulesetsOf, type InputResult } from "../../src/inputs.js";
import type { Family, Ruleset } from "../../src/model/ast.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { chainIndex, compileRulesets, tableFacts, type CompiledRuleset } from "../../src/netfilter/compile.js";
import { knownChainFacts, knownTable } from "../../src/netfilter/compile-facts.js";
import { LONG_CHAIN } from "../../src/cli/cache-long-chains.js";
import { attachCompileFacts } from "../../src/cli/resident-inputs.js";
import { buildNode } from "../../src/netfilter/model.js";
import { nodeFromInputs } from "../../src/assemble.js";
import { evaluationJson } from "../../src/explain/json.js";
import { mergeRulesets } from "../../src/syntax/merge.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";
import { sharedPath } from "../support/shared.js";
import { simpleNode } from "../support/simple-node.js";

const root = resolve(import.meta.dirname, "../..");

/**
 * The dump read four ways: parsed alone (cold), parsed and stored (facts attached while storing),
 * read back from what was stored (warm), and parsed and kept by a server (resident).
 */
function threeWays(text: string, file: string): { cold: InputResult; stored: InputResult; warm: InputResult; resident: InputResult } | undefined {
  const cold = readInput(text, { file });
  const stored = readInput(text, { file });
  const enc = encodeResult(text, stored);
  if (!enc) return undefined;
  const resident = readInput(text, { file });
  attachCompileFacts(resident);
  return { cold, stored, warm: decodeResult(enc.body, enc.json, text, file), resident };
}

const families = (r: InputResult): Family[] => [...new Set(rulesetsOf(r.input).map((rs) => rs.family))];

/** A compiled ruleset as data: every table, chain (in order), rule and index, and what the load-time checks found. */
function compiledData(c: CompiledRuleset): unknown {
  return {
    problems: c.problems, loops: [...c.loops], conntrack: c.conntrackActive, complete: c.complete,
    legacy: c.legacy ? compiledData(c.legacy) : undefined,
    tables: [...c.tables.values()].map((t) => ({
      name: t.name, complete: t.complete, size: t.chains.size,
      chains: [...t.chains.values()].map((ch) => ({
        name: ch.name, builtin: ch.builtin, policy: ch.policy, policyUnknown: ch.policyUnknown, declared: ch.declared, digest: ch.digest,
        index: ch.index,
        rules: ch.rules.map((r) => ({ ...r, matches: r.matches.map((m) => (m.kind === "extension" ? m.node : m)), target: r.target.kind === "extension" ? { name: r.target.name, data: r.target.data } : r.target })),
      })),
    })),
  };
}

function expectSameCompiled(a: readonly Ruleset[], b: readonly Ruleset[], fam: Family, what: string): void {
  expect(compiledData(compileRulesets(b, fam)), what).toEqual(compiledData(compileRulesets(a, fam)));
}

/** The facts attached to the warm tables are those found again from the cold ones. */
function expectFactsRecomputed(cold: InputResult, warm: InputResult, what: string): void {
  const coldSets = rulesetsOf(cold.input);
  rulesetsOf(warm.input).forEach((rs, i) => {
    rs.tables.forEach((t, ti) => {
      const c = coldSets[i]!.tables[ti]!;
      expect(knownTable(t)?.facts, `${what} ${t.name}`).toEqual(tableFacts(c, rs.flavour === "nft"));
      t.chains.forEach((ch, k) => {
        const long = knownChainFacts(ch.rules);
        expect(long !== undefined, `${what} ${t.name} ${ch.name} is long`).toBe(ch.rules.count >= LONG_CHAIN);
        if (!long) return;
        const rules = c.chains[k]!.rules.load();
        expect(long.index, `${what} ${ch.name} index`).toEqual(chainIndex(rules, rs.family));
        for (let r = 0; r < rules.length; r++) expect(long.rule(r)).toEqual(rules[r]);
      });
    });
  });
}

/** The iptables-save and -S dumps of the samples and the corpus, by a name relative to the checkout's parent. */
function dumpFiles(): string[] {
  const mine = readdirSync(join(root, "samples"), { recursive: true, encoding: "utf8" }).filter((f) => /\.(save|S)$/.test(f)).map((f) => join(root, "samples", f));
  const corpus = sharedPath("corpus");
  const theirs = existsSync(corpus) ? readdirSync(corpus, { recursive: true, encoding: "utf8" }).filter((f) => /\.(save|S)\.txt$/.test(f)).map((f) => join(corpus, f)) : [];
  return [...mine, ...theirs].map((f) => relative(join(root, ".."), f));
}

describe("the facts a cache keeps are what compiling finds", () => {
  it.each(dumpFiles())("%s", (name) => {
    const ways = threeWays(readFileSync(join(root, "..", name), "utf8"), name);
    if (!ways) return;
    expectFactsRecomputed(ways.cold, ways.warm, name);
    expectFactsRecomputed(ways.cold, ways.resident, `${name} resident`);
    for (const fam of families(ways.cold)) {
      expectSameCompiled(rulesetsOf(ways.cold.input), rulesetsOf(ways.warm.input), fam, `${name} warm`);
      expectSameCompiled(rulesetsOf(ways.cold.input), rulesetsOf(ways.stored.input), fam, `${name} stored`);
      expectSameCompiled(rulesetsOf(ways.cold.input), rulesetsOf(ways.resident.input), fam, `${name} resident`);
    }
  });

  it("on kube-proxy dumps of the 10k dump's shape (KUBE-SERVICES and KUBE-NODEPORTS long)", () => {
    const text = kubeProxyDump({ services: 1200 });
    const ways = threeWays(text, "kube.save")!;
    const nat = rulesetsOf(ways.warm.input)[0]!.tables.find((t) => t.name === "nat")!;
    expect(nat.chains.filter((c) => knownChainFacts(c.rules)).map((c) => c.name).sort()).toEqual(["KUBE-NODEPORTS", "KUBE-SERVICES"]);
    expectFactsRecomputed(ways.cold, ways.warm, "kube");
    expectFactsRecomputed(ways.cold, ways.resident, "kube resident");
    expectSameCompiled(rulesetsOf(ways.cold.input), rulesetsOf(ways.warm.input), "ipv4", "kube warm");
    expectSameCompiled(rulesetsOf(ways.cold.input), rulesetsOf(ways.resident.input), "ipv4", "kube resident");
  });
});

const KUBE_NODE = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/16"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });

/** Each packet's evaluation as the JSON `trace --json` prints, and with every rule tried (verbose). */
function answers(r: InputResult, packets: PacketSpec[]): unknown[] {
  const node = buildNode({ rulesets: rulesetsOf(r.input), node: KUBE_NODE });
  return packets.flatMap((p) => [evaluationJson(node.evaluate(p)), evaluationJson(node.evaluate(p, { verbose: true }))]);
}

function expectSameAnswers(text: string, packets: PacketSpec[], what: string): void {
  const ways = threeWays(text, "dump.save")!;
  expect(ways, what).toBeDefined();
  const want = answers(ways.cold, packets);
  expect(answers(ways.warm, packets), `${what} warm`).toEqual(want);
  expect(answers(ways.stored, packets), `${what} stored`).toEqual(want);
  expect(answers(ways.resident, packets), `${what} resident`).toEqual(want);
  // Asked again of the same objects (a server answers many questions from one dump).
  expect(answers(ways.resident, packets), `${what} resident again`).toEqual(want);
}

const packet = (from: string, src: string, dst: string, proto: number, dport: number): PacketSpec => ({
  family: "ipv4", from, ...(from === "local" ? {} : { src }), dst, proto, sport: 40000, dport, ...(proto === 6 ? { tcpFlags: 0x02 } : {}),
});

describe("a warm answer is the cold answer", () => {
  it("on a kube-proxy dump of the 10k dump's shape: ClusterIPs, NodePorts, others", () => {
    const text = kubeProxyDump({ services: 600 });
    const packets = [
      packet("eth0", "192.168.0.50", "10.96.0.10", 6, 80),
      packet("eth0", "192.168.0.50", "10.96.2.77", 6, 80),
      packet("cni0", "10.244.0.9", "10.96.1.3", 6, 80),
      packet("local", "", "10.96.0.200", 6, 80),
      packet("eth0", "203.0.113.7", "192.168.0.11", 6, 30004),
      packet("eth0", "203.0.113.7", "192.168.0.11", 6, 31999),
      packet("eth0", "192.168.0.50", "10.96.0.10", 17, 53),
      packet("eth0", "192.168.0.50", "8.8.8.8", 6, 443),
    ];
    expectSameAnswers(text, packets, "kube");
  });

  /** Lines of a long chain: each gives one rule, several (`-s a,b`), or none (a line the reader refuses). */
  const line = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom(80, 443, 53)).map(([h, p]) => `-A BIG -d 10.1.0.${h}/32 -p tcp -m tcp --dport ${p} -j ACCEPT`),
    fc.integer({ min: 0, max: 40 }).map((h) => `-A BIG -s 192.168.0.50,203.0.113.7 -d 10.1.0.${h}/32 -j DROP`),
    fc.constantFrom(53, 80, 8080).map((p) => `-A BIG -p udp -m udp --dport ${p} -j RETURN`),
    fc.constantFrom("-A BIG -i eth0 -m comment --comment \"always\" -j LOG --log-prefix \"big \"", "-A BIG -d 10.1.0.0/24 -j MARK --set-xmark 0x1/0xff", "-A BIG -m mark --mark 0x1/0xff -j RETURN"),
    fc.integer({ min: 0, max: 40 }).map((h) => `-A BIG -d 10.1.0.${h}/32 -p tcp -m tcp --dport 99999 -j ACCEPT`),
    fc.integer({ min: 0, max: 40 }).map((h) => `-A BIG -d 10.1.0.${h}/32 -j SMALL`),
  );
  const longChain = fc.array(line, { minLength: LONG_CHAIN, maxLength: LONG_CHAIN + 40 }).map((lines) => [
    "*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]", ":BIG - [0:0]", ":SMALL - [0:0]",
    "-A FORWARD -j BIG", "-A FORWARD -d 10.1.0.7/32 -j ACCEPT", ...lines, "-A SMALL -p tcp -j ACCEPT", "COMMIT", "",
  ].join("\n"));
  const packets = fc.array(
    fc.record({ src: fc.constantFrom("192.168.0.50", "203.0.113.7"), h: fc.integer({ min: 0, max: 42 }), proto: fc.constantFrom(6, 17), dport: fc.constantFrom(53, 80, 443, 8080, 22) })
      .map((p) => packet("eth0", p.src, `10.1.0.${p.h}`, p.proto, p.dport)),
    { minLength: 1, maxLength: 4 },
  );

  it("on a long IPv6 chain (its index keyed by address text)", () => {
    const text = [
      "# Generated by ip6tables-save v1.8.9", "*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]", ":BIG - [0:0]", "-A INPUT -j BIG", "-A FORWARD -j BIG",
      ...Array.from({ length: LONG_CHAIN + 10 }, (_, i) => `-A BIG -d 2001:db8::${i.toString(16)}/128 -p tcp -m tcp --dport ${i % 3 ? 80 : 443} -j ACCEPT`),
      "-A BIG -p udp -m udp --dport 53 -j ACCEPT", "COMMIT", "",
    ].join("\n");
    const v6 = (dst: string, proto: number, dport: number): PacketSpec => ({ family: "ipv6", from: "eth0", src: "2001:db8:1::5", dst, proto, sport: 40000, dport, ...(proto === 6 ? { tcpFlags: 0x02 } : {}) });
    const ways = threeWays(text, "big6.save")!;
    expect(knownChainFacts(rulesetsOf(ways.warm.input)[0]!.tables[0]!.chains[3]!.rules)).toBeDefined();
    expectFactsRecomputed(ways.cold, ways.warm, "big6");
    const { view } = nodeFromInputs([], { ifaces: ["eth0=2001:db8:1::1/64", "eth1=2001:db8::1/64"], localAddrs: [], routes: [] });
    const ask = (r: InputResult) => {
      const n = buildNode({ rulesets: rulesetsOf(r.input), node: view! });
      return [v6("2001:db8::7", 6, 80), v6("2001:db8::9", 6, 443), v6("2001:db8::c", 6, 443), v6("2001:db8::ffff", 17, 53)].map((p) => evaluationJson(n.evaluate(p)));
    };
    const cold = ask(ways.cold);
    expect(JSON.stringify(cold)).toMatch(/BIG/);
    expect(ask(ways.warm)).toEqual(cold);
  });

  it("on long chains whose lines give none, one or several rules", () => {
    fc.assert(fc.property(longChain, packets, (text, ps) => {
      const ways = threeWays(text, "big.save")!;
      expectFactsRecomputed(ways.cold, ways.warm, "big");
      expectSameAnswers(text, ps, "big");
    }), { numRuns: 25 });
  });
});

describe("facts are used only for the tables they were found for", () => {
  it("a cached table merged with another dump's is checked again", () => {
    const loop = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\nCOMMIT\n";
    // The second dump closes a loop (B → A) and jumps to a chain that is nowhere.
    const more = "*filter\n:B - [0:0]\n-A B -j A\n-A B -j GONE\nCOMMIT\n";
    const ways = threeWays(loop, "one.save")!;
    const other = readInput(more, { file: "two.save" });
    const merged = (r: InputResult) => mergeRulesets([{ ruleset: rulesetsOf(r.input)[0]!, file: "one.save" }, { ruleset: rulesetsOf(other.input)[0]!, file: "two.save" }]).rulesets;
    const cold = compileRulesets(merged(ways.cold), "ipv4");
    expect(cold.problems.map((p) => p.message)).toEqual(expect.arrayContaining([expect.stringMatching(/jump loop/), expect.stringMatching(/GONE/)]));
    expect(compiledData(compileRulesets(merged(ways.warm), "ipv4"))).toEqual(compiledData(cold));
    expect(compiledData(compileRulesets(merged(ways.stored), "ipv4"))).toEqual(compiledData(cold));
  });

  it("a table whose chains were changed after its facts were found is checked again", () => {
    const text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n-A INPUT -j A\nCOMMIT\n";
    const ways = threeWays(text, "one.save")!;
    const table = rulesetsOf(ways.stored.input)[0]!.tables[0]!;
    expect(knownTable(table)).toBeDefined();
    // A chain replaced in place by one that jumps back: a loop the stored facts do not know.
    const a = table.chains.findIndex((c) => c.name === "A");
    const looping = rulesetsOf(readInput(text.replace("-A INPUT -j A", "-A A -j A"), { file: "two.save" }).input)[0]!.tables[0]!.chains.find((c) => c.name === "A")!;
    table.chains[a] = looping;
    expect(knownTable(table)).toBeUndefined();
    expect(compileRulesets(rulesetsOf(ways.stored.input), "ipv4").problems.map((p) => p.message)).toEqual(["jump loop: A → A"]);
    // A table read back from the cache cannot be changed so.
    const warm = rulesetsOf(ways.warm.input)[0]!.tables[0]!;
    expect(() => {
      warm.chains[a] = looping;
    }).toThrow(TypeError);
  });
});
