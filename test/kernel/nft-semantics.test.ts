/**
 * nftables behaviours the evaluator rests on, asked of the real kernel: each case's ruleset is
 * built once as an AST, printed into an `nft -f` script for a network namespace and evaluated
 * by netfate; a UDP packet is sent from a peer namespace and the rules whose counters moved are
 * compared with the rules netfate says ran. Every rule ends in (or passes) a counter, so a
 * counter that moved is a rule the packet reached the end of.
 *
 * What the kernel showed (nftables 1.0.6, this machine's kernel):
 * - a chain below conntrack (-250 in prerouting) sees `ct state invalid`, not untracked or new;
 *   so does one at -200 registered after conntrack was enabled (the later registered runs first);
 * - nat chains run from the NAT core's hook at -100: a nat chain at -50 saw the mark a filter
 *   chain at -90 had not set yet, and a nat chain after one that set DNAT up did not run;
 * - a filter chain at the NAT core's priority (-100 in prerouting) registered after the NAT
 *   core's hook (an earlier ruleset's nat chain registered it) runs before the nat chains;
 * - nat chains holding no ct expression or nat statement never run (conntrack is off);
 * - an accept ends only its own base chain: a later base chain of the hook still runs;
 * - a verdict map with no element stops its rule (a counter after it stays at 0) and the next
 *   rule runs;
 * - `numgen inc mod 3 offset 5` gives a fresh rule's first packet 5;
 * - a nat chain at priority -200 or below is refused (`Operation not supported`);
 * - `numgen random mod 3` sends packets to each of three chains as often as netfate's 1/3
 *   chances say (chi-square at significance 0.001).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { NftChain, NftRule, NftTable } from "../../src/model/nft.js";
import { stmtText } from "../../src/netfilter/nft/rule-text.js";
import { simpleNode } from "../support/simple-node.js";
import { chiSquare } from "../support/chi-square.js";
import { kernelSkipReason, run } from "./harness.js";
import {
  accept, base, chain, counter, ct, ctState, drop, ip4, k, mark, match, meta, nat, numgen, pl, port, proto, rule, ruleset, setMark, table, vmap, vmapLit,
} from "../support/nft-build.js";

const why = kernelSkipReason();

const NODE_NS = `nftsem-a-${process.pid}`;
const PEER_NS = `nftsem-b-${process.pid}`;
const NODE_ADDR = "10.9.0.1";
const PEER_ADDR = "10.9.0.2";
const view = simpleNode({ addrs: { va: [`${NODE_ADDR}/24`] }, routes: [] });

/** The table as an `nft -f` script (statements as the rule-text summary prints them, which nft reads back). */
function script(t: NftTable): string {
  const chainText = (c: NftChain) => {
    const head = c.base ? `    type ${c.base.type} hook ${c.base.hook} priority ${c.base.priority}; policy ${c.base.policy ?? "accept"};\n` : "";
    return `  chain ${c.name} {\n${head}${c.rules.map((r: NftRule) => `    ${r.stmts.map(stmtText).join(" ")}\n`).join("")}  }\n`;
  };
  return `flush ruleset\ntable ${t.family} ${t.name} {\n${t.chains.map(chainText).join("")}}\n`;
}

/** Rules (`chain#position`) whose counters moved. */
function kernelHits(): string[] {
  const j = JSON.parse(run(["ip", "netns", "exec", NODE_NS, "nft", "-j", "list", "ruleset"])) as { nftables: Array<Record<string, any>> };
  const pos = new Map<string, number>();
  const hits: string[] = [];
  for (const x of j.nftables) {
    const r = x.rule as { chain: string; expr: Array<Record<string, any>> } | undefined;
    if (!r) continue;
    const n = (pos.get(r.chain) ?? 0) + 1;
    pos.set(r.chain, n);
    if (r.expr.some((e) => e.counter && e.counter.packets > 0)) hits.push(`${r.chain}#${n}`);
  }
  return hits.sort();
}

let sport = 41000;

/** Loads the table, sends one UDP packet from the peer, and returns the kernel's hits and the packet netfate should trace. */
function sendThrough(t: NftTable): { hits: string[]; packet: PacketSpec } {
  run(["ip", "netns", "exec", NODE_NS, "nft", "-f", "-"], script(t));
  const sp = sport++;
  run(["ip", "netns", "exec", PEER_NS, "python3", "-c",
    `import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("${PEER_ADDR}",${sp})); s.sendto(b"x",("${NODE_ADDR}",5000))`]);
  // The packet is handled synchronously on receive; a short wait lets the sender's namespace flush it.
  spawnSync("sleep", ["0.2"]);
  return { hits: kernelHits(), packet: { family: "ipv4", from: "va", src: PEER_ADDR, dst: NODE_ADDR, proto: 17, sport: sp, dport: 5000, length: 29 } };
}

/** Rules netfate says the packet went through to their end, per outcome. */
function netfateHits(t: NftTable, packet: PacketSpec): string[][] {
  const n = buildNode({ rulesets: [], nft: [ruleset(t)], node: view });
  return n.evaluate(packet).outcomes.map((o) => o.steps.filter((s) => s.table === "nft" && s.matched && typeof s.rule === "number").map((s) => `${s.chain}#${s.rule}`).sort());
}

const udp = match(pl("ip", "protocol"), proto(17, "udp"));

describe.skipIf(why)("nft semantics against the kernel", () => {
  beforeAll(() => {
    run(["ip", "netns", "add", NODE_NS]);
    run(["ip", "netns", "add", PEER_NS]);
    run(["ip", "link", "add", "va", "netns", NODE_NS, "type", "veth", "peer", "name", "vb", "netns", PEER_NS]);
    run(["ip", "-n", NODE_NS, "addr", "add", `${NODE_ADDR}/24`, "dev", "va"]);
    run(["ip", "-n", PEER_NS, "addr", "add", `${PEER_ADDR}/24`, "dev", "vb"]);
    for (const [ns, dev] of [[NODE_NS, "va"], [PEER_NS, "vb"], [NODE_NS, "lo"]] as const) run(["ip", "-n", ns, "link", "set", dev, "up"]);
  });
  afterAll(() => {
    spawnSync("ip", ["netns", "del", NODE_NS]);
    spawnSync("ip", ["netns", "del", PEER_NS]);
  });

  it("a chain below conntrack sees ct state invalid; one above it sees new", () => {
    const t = table("ip", "t", [
      chain("early", [
        rule(udp, match(ct("state"), ctState("invalid")), counter),
        rule(udp, match(ct("state"), ctState("untracked")), counter),
        rule(udp, match(ct("state"), ctState("new")), counter),
      ], base("filter", "prerouting", -250)),
      chain("late", [rule(udp, match(ct("state"), ctState("new")), counter)], base("filter", "prerouting", -150)),
    ]);
    const { hits, packet } = sendThrough(t);
    expect(hits).toEqual(["early#1", "late#1"]);
    expect(netfateHits(t, packet)).toEqual([hits]);
  });

  it("a chain at conntrack's own priority, registered after conntrack was enabled, runs before it (ct state invalid)", () => {
    // Conntrack enabled by an earlier ruleset, as on a node: the chain at -200 registered later runs first.
    // (Loaded in one batch with the only rule that enables conntrack, conntrack would be the later, and run first.)
    run(["ip", "netns", "exec", NODE_NS, "nft", "-f", "-"], script(table("ip", "keep", [chain("c", [rule(match(ct("state"), ctState("new")), counter)], base("filter", "input", 0))])));
    const t = table("ip", "t", [
      chain("at200", [
        rule(udp, match(ct("state"), ctState("invalid")), counter),
        rule(udp, match(ct("state"), ctState("new")), counter),
      ], base("filter", "prerouting", -200)),
    ]);
    const { hits, packet } = sendThrough(t);
    expect(hits).toEqual(["at200#1"]);
    expect(netfateHits(t, packet)).toEqual([hits]);
  });

  it("nat chains run at the NAT core's -100, in priority order, and stop after the first that sets NAT up", () => {
    const t = table("ip", "t", [
      chain("f90", [rule(udp, setMark(mark(1)), counter)], base("filter", "prerouting", -90)),
      chain("n50", [rule(udp, match(meta("mark"), mark(1)), counter), rule(udp, match(meta("mark"), mark(0)), counter)], base("nat", "prerouting", -50)),
      chain("n40", [rule(udp, counter, nat("dnat", { addr: ip4(NODE_ADDR), port: port(9999) }))], base("nat", "prerouting", -40)),
      chain("n30", [rule(udp, counter)], base("nat", "prerouting", -30)),
    ]);
    const { hits, packet } = sendThrough(t);
    expect(hits).toEqual(["f90#1", "n40#1", "n50#2"]);
    expect(netfateHits(t, packet)).toEqual([hits]);
  });

  it("a chain at the NAT core's priority, registered after the NAT core's hook, runs before the nat chains", () => {
    // The NAT core's hook is registered by the namespace's first nat chain, here an earlier ruleset's, as on a node.
    run(["ip", "netns", "exec", NODE_NS, "nft", "-f", "-"], script(table("ip", "keep", [chain("n", [rule(match(ct("state"), ctState("new")), counter)], base("nat", "postrouting", 100))])));
    const t = table("ip", "t", [
      chain("f100", [rule(udp, setMark(mark(1)), counter)], base("filter", "prerouting", -100)),
      // (ct state: a nat chain runs only where conntrack is on)
      chain("n50", [rule(udp, match(ct("state"), ctState("new")), match(meta("mark"), mark(1)), counter), rule(udp, match(meta("mark"), mark(0)), counter)], base("nat", "prerouting", 50)),
    ]);
    const { hits, packet } = sendThrough(t);
    expect(hits).toEqual(["f100#1", "n50#1"]);
    expect(netfateHits(t, packet)).toEqual([hits]);
  });

  it("nat chains never run when no rule enables conntrack", () => {
    const t = table("ip", "t", [chain("n", [rule(udp, counter)], base("nat", "prerouting", -100))]);
    const { hits, packet } = sendThrough(t);
    expect(hits).toEqual([]);
    expect(netfateHits(t, packet)).toEqual([hits]);
  });

  it("an accept ends only its own base chain; a vmap miss stops its rule and the next rule runs", () => {
    const t = table("ip", "t", [
      chain("in0", [rule(udp, counter, accept)], base("filter", "input", 0)),
      chain("in10", [
        rule(vmap(pl("udp", "dport"), vmapLit([port(1), drop])), counter),
        rule(udp, counter),
      ], base("filter", "input", 10)),
    ]);
    const { hits, packet } = sendThrough(t);
    expect(hits).toEqual(["in0#1", "in10#2"]);
    expect(netfateHits(t, packet)).toEqual([hits]);
  });

  it("numgen inc: a fresh rule's first packet gets the offset; netfate lists each value as an alternative", () => {
    const t = table("ip", "t", [
      chain("in", [
        rule(udp, setMark(numgen("inc", 3, 5)), counter),
        rule(udp, match(meta("mark"), mark(5)), counter),
        rule(udp, match(meta("mark"), mark(6)), counter),
        rule(udp, match(meta("mark"), mark(7)), counter),
      ], base("filter", "input", 0)),
    ]);
    const { hits, packet } = sendThrough(t);
    expect(hits).toEqual(["in#1", "in#2"]);
    const n = buildNode({ rulesets: [], nft: [ruleset(t)], node: view });
    const outs = n.evaluate(packet).outcomes;
    expect(outs).toHaveLength(3);
    const first = outs.find((o) => o.given?.some((g) => g.includes("gives 5")))!;
    expect(first.steps.filter((s) => s.matched && typeof s.rule === "number").map((s) => `${s.chain}#${s.rule}`).sort()).toEqual(hits);
  });

  it("numgen random mod 2 and its vmap: every value the kernel takes is one netfate lists", () => {
    const t = table("ip", "t", [
      chain("in", [
        rule(udp, vmap(numgen("random", 2), vmapLit([k("integer", 0), { kind: "verdict", verdict: "jump", chain: "a" }], [k("integer", 1), { kind: "verdict", verdict: "jump", chain: "b" }]))),
      ], base("filter", "input", 0)),
      chain("a", [rule(counter)]),
      chain("b", [rule(counter)]),
    ]);
    const { hits, packet } = sendThrough(t);
    expect(hits.length).toBe(1);
    const outs = netfateHits(t, packet);
    expect(outs.some((o) => hits.every((h) => o.includes(h)))).toBe(true);
  });

  it("numgen random mod 3: the kernel's frequencies fit netfate's chances", () => {
    const SAMPLES = 300;
    const t = table("ip", "t", [
      chain("in", [rule(udp, vmap(numgen("random", 3), vmapLit(...[0, 1, 2].map((i) => [k("integer", i), { kind: "verdict" as const, verdict: "jump" as const, chain: `c${i}` }] as [ReturnType<typeof k>, { kind: "verdict"; verdict: "jump"; chain: string }]))))], base("filter", "input", 0)),
      // Each chain leaves its own mark, so netfate's histories stay apart (alike ones merge at the join).
      ...[0, 1, 2].map((i) => chain(`c${i}`, [rule(setMark(mark(i + 1)), counter)])),
    ]);
    run(["ip", "netns", "exec", NODE_NS, "nft", "-f", "-"], script(t));
    run(["ip", "netns", "exec", PEER_NS, "python3", "-c",
      `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(${SAMPLES}): s.sendto(b"x",("${NODE_ADDR}",5000))`]);
    spawnSync("sleep", ["0.5"]);
    const j = JSON.parse(run(["ip", "netns", "exec", NODE_NS, "nft", "-j", "list", "ruleset"])) as { nftables: Array<Record<string, any>> };
    const counts = [0, 1, 2].map((i) => {
      const r = j.nftables.find((x) => x.rule?.chain === `c${i}`)!.rule as { expr: Array<Record<string, any>> };
      return r.expr.find((e) => e.counter)!.counter.packets as number;
    });
    expect(counts.reduce((a, b) => a + b, 0)).toBe(SAMPLES);
    const packet: PacketSpec = { family: "ipv4", from: "va", src: PEER_ADDR, dst: NODE_ADDR, proto: 17, sport: 40999, dport: 5000 };
    const outcomes = buildNode({ rulesets: [], nft: [ruleset(t)], node: view }).evaluate(packet).outcomes;
    const chances = [0, 1, 2].map((i) => outcomes.filter((o) => o.steps.some((s) => s.chain === `c${i}`)).reduce((a, o) => a + o.probability, 0));
    expect(chances).toEqual([1 / 3, 1 / 3, 1 / 3]);
    const r = chiSquare(counts, chances);
    expect(r.fits, `chi-square ${r.statistic.toFixed(3)}: ${r.table.map((x) => `${x.observed} seen / ${x.expected.toFixed(1)} expected`).join(", ")}`).toBe(true);
  });

  it("a nat chain at or below conntrack's priority is refused by the kernel, and netfate says it is not evaluated", () => {
    for (const prio of [-200, -300]) {
      const t = table("ip", "t", [chain("n", [rule(udp, counter)], base("nat", "prerouting", prio))]);
      const r = spawnSync("ip", ["netns", "exec", NODE_NS, "nft", "-f", "-"], { input: script(t), encoding: "utf8" });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/Operation not supported/);
      const problems = buildNode({ rulesets: [], nft: [ruleset(t)], node: view }).evaluate({ family: "ipv4", from: "va", src: PEER_ADDR, dst: NODE_ADDR, proto: 17, sport: 1, dport: 2 }).nftProblems ?? [];
      expect(problems.map((p) => p.message).join()).toMatch(/the kernel refuses nat chains/);
    }
    const ok = table("ip", "t", [chain("n", [rule(udp, counter)], base("nat", "prerouting", -199))]);
    expect(spawnSync("ip", ["netns", "exec", NODE_NS, "nft", "-f", "-"], { input: script(ok), encoding: "utf8" }).status).toBe(0);
  });
});
