/**
 * Never a confident wrong answer, never a blow-up: what the evaluator does with conditions the
 * input does not decide, with chains, tables and policies the input does not show, and with
 * inputs built to make it branch, recurse or loop. Each case is a reported failure.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseRules } from "../../src/parse.js";
import { readInput, rulesetsOf } from "../../src/inputs.js";
import { buildNode } from "../../src/netfilter/model.js";
import { MAX_ALTERNATIVES } from "../../src/netfilter/traverse.js";
import { QUIET_NODE } from "../../src/extensions/matches/limit.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { simpleNode } from "../support/simple-node.js";
import { hasShared, sharedNotice, sharedPath, needsShared } from "../support/shared.js";

const node = simpleNode({ addrs: { eth0: ["10.0.0.1/24"] }, routes: [{ dst: "default", dev: "eth0", via: "10.0.0.254" }] });
const ssh: PacketSpec = { family: "ipv4", from: "eth0", src: "1.2.3.4", dst: "10.0.0.1", proto: 6, sport: 1000, dport: 22, tcpFlags: 2 };
const out: PacketSpec = { family: "ipv4", from: "local", src: "10.0.0.1", dst: "93.184.216.34", proto: 6, sport: 40000, dport: 443, tcpFlags: 2 };

function filter(lines: string[], chains: string[] = []): ReturnType<typeof parseRules>["value"] {
  const text = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ...chains.map((c) => `:${c} - [0:0]`), ...lines, "COMMIT", ""].join("\n");
  const r = parseRules(text);
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.value;
}

const repeat = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
const evaluate = (rs: ReturnType<typeof filter>, p: PacketSpec, verbose = false) => buildNode({ rulesets: [rs], node }).evaluate(p, { verbose }).outcomes;

describe("conditions the input does not decide", () => {
  it("a rule whose decided conditions fail forks nothing, whatever its undecided ones say", () => {
    // The owner of a local packet is not known, but -o lo fails for a packet leaving by eth0.
    const rs = filter([...repeat(15, (i) => `-A OUTPUT -o lo -p tcp -m owner --uid-owner ${1000 + i} -j ACCEPT`), "-A OUTPUT -j REJECT"]);
    const o = evaluate(rs, out);
    expect(o).toHaveLength(1);
    expect(o[0]!.fate.kind).toBe("rejected");
    expect(o[0]!.given ?? []).toEqual([]);
  });

  it("twenty rate-limited LOG rules are one outcome on a quiet node, which it says", () => {
    const rs = filter([...repeat(20, () => "-A INPUT -p tcp -m limit --limit 3/min -j LOG"), "-A INPUT -j DROP"]);
    const o = evaluate(rs, ssh);
    expect(o).toHaveLength(1);
    expect(o[0]!.fate).toMatchObject({ kind: "dropped", rule: 21 });
    expect(o[0]!.steps.filter((s) => s.log)).toHaveLength(20);
    expect(o[0]!.assumptions.filter((a) => a === QUIET_NODE)).toHaveLength(1);
  });

  it("a LOG under an undecided condition is one outcome, its step marked with when it happens", () => {
    const rs = filter([...repeat(20, () => "-A INPUT -m frobnicate --wibble -j LOG"), "-A INPUT -j DROP"]);
    const o = evaluate(rs, ssh);
    expect(o).toHaveLength(1);
    expect(o[0]!.probability).toBe(1);
    expect(o[0]!.given ?? []).toEqual([]);
    const logged = o[0]!.steps.filter((s) => s.log);
    expect(logged).toHaveLength(20);
    for (const s of logged) expect(s.uncertain?.[0]).toMatch(/^only if -m frobnicate.*assumed to match/);
  });

  it("an undecided jump to a chain that changes nothing is one outcome too", () => {
    const rs = filter([...repeat(20, () => "-A INPUT -m frobnicate -j LOGIT"), "-A LOGIT -j LOG", "-A LOGIT -j RETURN", "-A INPUT -j DROP"], ["LOGIT"]);
    expect(evaluate(rs, ssh)).toHaveLength(1);
  });

  it("an undecided condition that changes the fate gives two alternatives, each given its side, each with probability 1", () => {
    const rs = filter(["-A INPUT -m frobnicate -j MARK --set-mark 1", "-A INPUT -m mark --mark 1 -j DROP"]);
    const o = evaluate(rs, ssh);
    expect(o.map((x) => x.fate.kind).sort()).toEqual(["delivered", "dropped"]);
    for (const x of o) {
      expect(x.probability).toBe(1);
      expect(x.given).toHaveLength(1);
    }
    expect(o.find((x) => x.fate.kind === "dropped")!.given![0]).toMatch(/assumed to match/);
    expect(o.find((x) => x.fate.kind === "delivered")!.given![0]).toMatch(/assumed not to match/);
  });

  it("law: for every way the undecided conditions can go, the outcomes that agree with it sum to 1", () => {
    const ruleArb = fc.oneof(
      fc.constant("-A INPUT -m frobnicate -j MARK --set-mark 1"),
      fc.constant("-A INPUT -m wibble -j LOG"),
      fc.constant("-A INPUT -m wobble -j DROP"),
      fc.constant("-A INPUT -m statistic --mode random --probability 0.5 -j MARK --set-mark 2"),
      fc.constant("-A INPUT -m statistic --mode random --probability 0.25 -j ACCEPT"),
      fc.constant("-A INPUT -m mark --mark 1 -j DROP"),
      fc.constant("-A INPUT -m mark --mark 2 -m frobnicate -j REJECT"),
      fc.constant("-A INPUT -p tcp --dport 22 -j ACCEPT"),
    );
    fc.assert(fc.property(fc.array(ruleArb, { maxLength: 8 }), (lines) => {
      const o = evaluate(filter(lines), ssh);
      // A side of a condition as its text says it; the other side says "not".
      const side = (g: string) => ({ key: g.replace("assumed not to match", "assumed to match"), holds: !g.includes("assumed not to match") });
      const conditions = [...new Set(o.flatMap((x) => (x.given ?? []).map((g) => side(g).key)))];
      expect(conditions.length).toBeLessThanOrEqual(10);
      for (let m = 0; m < 1 << conditions.length; m++) {
        const agrees = (x: Outcome) => (x.given ?? []).every((g) => ((m >> conditions.indexOf(side(g).key)) & 1) === (side(g).holds ? 1 : 0));
        expect(o.filter(agrees).reduce((s, x) => s + x.probability, 0)).toBeCloseTo(1, 9);
      }
    }), { numRuns: 300 });
  });

  it("property: the outcomes are bounded by the branches that matter, never by the number of rules", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 6 }), (quiet, random) => {
      // `quiet` undecided rules that change nothing, `random` statistic rules that each decide.
      const lines = [
        ...repeat(quiet, (i) => (i % 3 === 0 ? "-A INPUT -m frobnicate -j LOG" : i % 3 === 1 ? "-A INPUT -m frobnicate" : "-A INPUT -m limit --limit 1/s -j LOG")),
        ...repeat(random, () => "-A INPUT -m statistic --mode random --probability 0.5 -j ACCEPT"),
        "-A INPUT -j DROP",
      ];
      const o = evaluate(filter(lines), ssh);
      expect(o.length).toBeLessThanOrEqual(random + 1);
      expect(o.reduce((s, x) => s + x.probability, 0)).toBeCloseTo(1, 9);
    }), { numRuns: 60 });
  });
});

describe("inputs built to branch, recurse or loop", () => {
  it("2,500 random rules in a row: no stack overflow, every chance accounted for", () => {
    const rs = filter(repeat(2500, () => "-A INPUT -m statistic --mode random --probability 0.5 -j ACCEPT"));
    const o = evaluate(rs, ssh);
    expect(o).toHaveLength(2501);
    expect(o.reduce((s, x) => s + x.probability, 0)).toBeCloseTo(1, 12);
  });

  it("more alternatives than the bound: it stops and says so, in bounded space", () => {
    const rs = filter(repeat(MAX_ALTERNATIVES + 500, () => "-A INPUT -m statistic --mode random --probability 0.5 -j ACCEPT"));
    const o = evaluate(rs, ssh);
    expect(o.length).toBeLessThanOrEqual(MAX_ALTERNATIVES + 2);
    const cut = o.filter((x) => x.fate.kind === "indeterminate");
    expect(cut.length).toBeGreaterThan(0);
    expect(JSON.stringify(cut[0]!.fate)).toContain(`at most ${MAX_ALTERNATIVES} alternatives`);
  });

  it("deep but acyclic chains are not loops: 201 and 10,000 jumps deep (iptables-legacy loads both)", () => {
    for (const n of [201, 10_000]) {
      const chains = repeat(n, (i) => `C${i}`);
      const rs = filter(["-A INPUT -j C0", ...repeat(n - 1, (i) => `-A C${i} -j C${i + 1}`), `-A C${n - 1} -j DROP`], chains);
      const o = evaluate(rs, ssh);
      expect(o.map((x) => x.fate)).toEqual([{ kind: "dropped", table: "filter", chain: `C${n - 1}`, rule: 1, hook: "INPUT" }]);
    }
  });

  it("a loop is still an error, found at load time", () => {
    const rs = filter(["-A INPUT -j A", "-A A -j B", "-A B -j A"], ["A", "B"]);
    expect(evaluate(rs, ssh).map((x) => x.fate.kind)).toEqual(["error"]);
  });
});

describe("what the input does not show is not invented", () => {
  const listing = (text: string, table = "filter") => {
    const r = readInput(text, { file: "x.L", table: table as "filter" });
    return rulesetsOf(r.input);
  };

  it("a listing of one user chain: the built-in chain it does not show is indeterminate, not an ACCEPT policy", () => {
    const rs = listing("Chain ufw-before-forward (1 references)\n target     prot opt source               destination\nACCEPT     all  --  anywhere             anywhere             ctstate RELATED,ESTABLISHED\n");
    const o = buildNode({ rulesets: rs, node }).evaluate(ssh).outcomes;
    expect(o.map((x) => x.fate.kind)).toEqual(["indeterminate"]);
    expect(JSON.stringify(o[0]!.fate)).toContain("not its chain INPUT");
    expect(JSON.stringify(o[0]!.fate)).toContain("iptables -t filter -S");
  });

  it("a jump to a chain the listing does not show is indeterminate and names the chain", () => {
    const rs = listing("Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\nKUBE-FIREWALL  all  --  anywhere             anywhere\n");
    const o = buildNode({ rulesets: rs, node }).evaluate(ssh).outcomes;
    expect(o.map((x) => x.fate.kind)).toEqual(["indeterminate"]);
    expect(JSON.stringify(o[0]!.fate)).toContain("KUBE-FIREWALL, which the input does not show");
  });

  it("a policy the listing does not show is indeterminate where the packet reaches it", () => {
    const rs = listing("Chain INPUT (0 references)\ntarget     prot opt source               destination\n");
    const o = buildNode({ rulesets: rs, node }).evaluate(ssh).outcomes;
    expect(o.map((x) => x.fate.kind)).toEqual(["indeterminate"]);
    expect(JSON.stringify(o[0]!.fate)).toContain("policy of filter INPUT is not known");
  });

  it("a whole iptables-save table without a built-in chain: the chain does not exist (iptables-nft), nothing assumed", () => {
    const r = parseRules("*filter\n:FORWARD DROP [0:0]\nCOMMIT\n");
    const o = buildNode({ rulesets: [r.value], node }).evaluate(ssh).outcomes;
    expect(o.map((x) => x.fate.kind)).toEqual(["delivered"]);
    expect(o[0]!.assumptions).toEqual([]);
  });

  it("a table -S or -L output does not show is assumed empty out loud; one iptables-save leaves out is not loaded", () => {
    const s = readInput("-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n", { file: "x.S", table: "filter" });
    const o = buildNode({ rulesets: rulesetsOf(s.input), node }).evaluate(ssh).outcomes;
    expect(o.map((x) => x.fate.kind)).toEqual(["delivered"]);
    expect(o[0]!.assumptions.some((a) => a.startsWith("table mangle is not in the input"))).toBe(true);
    const save = evaluate(filter([]), ssh);
    expect(save[0]!.assumptions).toEqual([]);
  });

  it.skipIf(!hasShared)(needsShared("the reported listing: -d localhost rules whose -o lo fails fork nothing (3 outcomes, not 98,304)"), () => {
    const file = sharedPath("corpus/repo-fixture/netnet-tails-1.4.1.L.txt");
    expect(existsSync(file), sharedNotice("corpus")).toBe(true);
    const r = readInput(readFileSync(file, "utf8"), { file });
    const n = buildNode({ rulesets: rulesetsOf(r.input), node: simpleNode({ addrs: { eth0: ["192.168.1.50/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.1.1" }] }) });
    const o = n.evaluate({ family: "ipv4", from: "local", src: "192.168.1.50", dst: "93.184.216.34", proto: 6, sport: 40000, dport: 443, tcpFlags: 2 }, { verbose: true }).outcomes;
    expect(o.length).toBeLessThanOrEqual(3);
  });
});

describe("the testing library weighs only chances", () => {
  it("probabilityOf refuses to add alternatives that rest on undecided conditions, and the matcher fails saying why", async () => {
    const { probabilityOf, NoProbability } = await import("../../src/testing/fates.js");
    const { netfateMatchers } = await import("../../src/testing/matchers.js");
    const rs = filter(["-A INPUT -m frobnicate -j MARK --set-mark 1", "-A INPUT -m mark --mark 1 -j DROP"]);
    const e = buildNode({ rulesets: [rs], node }).evaluate(ssh);
    expect(() => probabilityOf(e, () => true)).toThrow(NoProbability);
    const r = netfateMatchers.toReachWithProbability.call({ isNot: false }, e, "local", 0.5);
    expect(r.pass).toBe(false);
    expect(r.message()).toContain("alternatives");
    expect(netfateMatchers.toReachWithProbability.call({ isNot: true }, e, "local", 0.5).pass).toBe(true);
    const chances = buildNode({ rulesets: [filter(["-A INPUT -m statistic --mode random --probability 0.5 -j DROP"])], node }).evaluate(ssh);
    expect(probabilityOf(chances, (o) => o.fate.kind === "dropped")).toBeCloseTo(0.5, 9);
  });
});
