/** Laws every correct netfilter evaluator obeys, checked on random rulesets and packets. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildNode } from "../../src/netfilter/model.js";
import type { Outcome } from "../../src/model/evaluation.js";
import type { Rule, Ruleset } from "../../src/model/ast.js";
import { parseRules } from "../../src/parse.js";
import { boundRules } from "../../src/model/chain-rules.js";
import { filterRuleset, packetArb } from "../support/arbitraries.js";
import { simpleNode } from "../support/simple-node.js";

const node = simpleNode({
  addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"], veth1: ["10.9.0.1/30"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }, { dst: "10.244.1.0/24", dev: "flannel.1", via: "10.244.1.0" }],
});

const S = { line: 0, col: 0, len: 0 };

/** What must not change: fates, final packets and probabilities (rule numbers may shift). */
function essence(outs: Outcome[]): string[] {
  return outs
    .map((o) => JSON.stringify([o.fate.kind, "iface" in o.fate ? o.fate.iface : "", "chain" in o.fate ? o.fate.chain : "", o.final, o.probability.toFixed(12), o.assumptions]))
    .sort();
}

function clone(rs: Ruleset): Ruleset {
  // A structured clone copies data, not methods: the rules go as arrays and are bound again.
  const plain = { ...rs, tables: rs.tables.map((t) => ({ ...t, chains: t.chains.map((c) => ({ ...c, rules: c.rules.load() })) })) };
  const copy = structuredClone(plain);
  return { ...copy, tables: copy.tables.map((t) => ({ ...t, chains: t.chains.map((c) => ({ ...c, rules: boundRules(c.rules) })) })) };
}

describe("evaluator laws", () => {
  it("probabilities of all outcomes sum to 1 (for a packet whose connection state is said)", () => {
    fc.assert(fc.property(filterRuleset, packetArb, fc.constantFrom("new", "established", "invalid") as fc.Arbitrary<"new">, (rs, p, state) => {
      const outs = buildNode({ rulesets: [rs], node }).evaluate({ ...p, state }).outcomes;
      expect(outs.length).toBeGreaterThan(0);
      expect(outs.reduce((s, o) => s + o.probability, 0)).toBeCloseTo(1, 9);
    }), { numRuns: 400 });
  });

  it("a TCP packet other than a SYN, its state unsaid, is exactly its two alternatives: no connection, or ESTABLISHED", () => {
    // Each alternative is given its side (the first literal and assumption): strip it to compare.
    const strip = (o: { assumptions: string[]; given?: string[] }) => {
      const { given, ...rest } = o;
      const more = given?.slice(1) ?? [];
      return { ...rest, assumptions: o.assumptions.slice(1), ...(more.length ? { given: more } : {}) };
    };
    fc.assert(fc.property(filterRuleset, packetArb, fc.constantFrom(0x10, 0x12, 0x11, 0x04, 0x18), (rs, p, flags) => {
      const n = buildNode({ rulesets: [rs], node });
      const tcp = { ...p, proto: 6, sport: p.sport ?? 1, dport: p.dport ?? 1, tcpFlags: flags };
      delete tcp.state;
      delete tcp.icmpType;
      const alone = flags === 0x10 || flags === 0x18 ? "new" : "invalid";
      const want = [...n.evaluate({ ...tcp, state: alone }).outcomes, ...n.evaluate({ ...tcp, state: "established" }).outcomes];
      const got = n.evaluate(tcp).outcomes;
      expect(got.map(strip)).toEqual(want);
      for (const o of got) {
        expect(o.assumptions[0]).toMatch(/^(no connection for it|a packet of an existing connection)/);
        expect(o.given?.[0]).toBe(o.assumptions[0]);
      }
    }), { numRuns: 200 });
  });

  it("a ruleset with only ACCEPT policies and no rules changes nothing", () => {
    const rs = parseRules("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n").value;
    const none = buildNode({ rulesets: [], node });
    const open = buildNode({ rulesets: [rs], node });
    fc.assert(fc.property(packetArb, (p) => {
      const a = open.evaluate(p).outcomes;
      const b = none.evaluate(p).outcomes;
      expect(a.map((o) => [o.fate, o.final])).toEqual(b.map((o) => [o.fate, o.final]));
      for (const o of a) {
        expect(["delivered", "forwarded", "sent", "unroutable", "indeterminate"]).toContain(o.fate.kind);
        expect(o.final.dst).toBe(p.dst);
        expect(o.steps.every((s) => s.rule === "policy" && s.verdict === "ACCEPT")).toBe(true);
      }
    }), { numRuns: 300 });
  });

  it("inserting a rule that can never match changes no outcome", () => {
    // (mark & 0) == 1 is never true.
    const never: Rule = { span: S, matches: [{ kind: "match", name: "mark", data: { negated: false, value: 1, mask: 0 }, span: S }], target: { kind: "standard", verdict: "DROP", span: S }, goto: false };
    fc.assert(fc.property(filterRuleset, packetArb, fc.nat(), fc.nat(), (rs, p, ci, ri) => {
      const before = buildNode({ rulesets: [rs], node }).evaluate(p).outcomes;
      const rs2 = clone(rs);
      const chain = rs2.tables[0]!.chains[ci % rs2.tables[0]!.chains.length]!;
      const rules = [...chain.rules.load()];
      rules.splice(ri % (rules.length + 1), 0, never);
      chain.rules = boundRules(rules);
      const after = buildNode({ rulesets: [rs2], node }).evaluate(p).outcomes;
      expect(essence(after)).toEqual(essence(before));
    }), { numRuns: 300 });
  });

  it("an explicit RETURN at the end of a user chain is the same as falling off it", () => {
    fc.assert(fc.property(filterRuleset, packetArb, (rs, p) => {
      const rs2 = clone(rs);
      for (const c of rs2.tables[0]!.chains) if (!c.builtin) c.rules = boundRules([...c.rules.load(), { span: S, matches: [], target: { kind: "standard", verdict: "RETURN", span: S }, goto: false }]);
      const a = buildNode({ rulesets: [rs], node }).evaluate(p).outcomes;
      const b = buildNode({ rulesets: [rs2], node }).evaluate(p).outcomes;
      expect(essence(b)).toEqual(essence(a));
    }), { numRuns: 300 });
  });

  it("`-j X` as the last rule of a user chain equals `-g X`", () => {
    fc.assert(fc.property(filterRuleset, packetArb, (rs, p) => {
      const rs2 = clone(rs);
      for (const c of rs2.tables[0]!.chains) {
        const last = c.rules.load()[c.rules.count - 1];
        if (!c.builtin && last && last.target?.kind === "chain" && !last.goto) last.goto = true;
      }
      const a = buildNode({ rulesets: [rs], node }).evaluate(p).outcomes;
      const b = buildNode({ rulesets: [rs2], node }).evaluate(p).outcomes;
      expect(essence(b)).toEqual(essence(a));
    }), { numRuns: 300 });
  });

  it("the chain index changes no verdict (indexed walk ≡ full walk)", () => {
    const big = (n: number) => {
      let t = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:SVC - [0:0]\n-A PREROUTING -j SVC\n";
      for (let i = 0; i < n; i++) {
        t += `-A SVC -d 10.96.0.${i % 250}/32 -p tcp -m tcp --dport ${80 + (i % 3)} -j DNAT --to-destination 10.244.1.${i % 250}:8080\n`;
        if (i % 7 === 0) t += `-A SVC -p udp -m udp --dport ${50 + i} -j DNAT --to-destination 10.244.1.1:53\n`;
        if (i % 11 === 0) t += `-A SVC -m mark --mark 0x${(i + 1).toString(16)} -j RETURN\n`;
      }
      return parseRules(t + "COMMIT\n").value;
    };
    const n = buildNode({ rulesets: [big(300)], node });
    const p2 = fc.record({ dst: fc.integer({ min: 0, max: 260 }), dport: fc.integer({ min: 48, max: 400 }), proto: fc.constantFrom(6, 17), mark: fc.integer({ min: 0, max: 300 }) });
    fc.assert(fc.property(p2, (r) => {
      const p = { family: "ipv4" as const, from: "eth0", src: "192.168.0.50", dst: `10.96.0.${r.dst % 256}`, proto: r.proto, sport: 1000, dport: r.dport, mark: r.mark, ...(r.proto === 6 ? { tcpFlags: 2 } : {}) };
      const fast = n.evaluate(p).outcomes;
      const full = n.evaluate(p, { verbose: true }).outcomes.map((o) => ({ ...o, steps: o.steps.filter((s) => s.matched) }));
      expect(fast.map((o) => [o.fate, o.final, o.steps.map((s) => [s.chain, s.rule, s.verdict])])).toEqual(full.map((o) => [o.fate, o.final, o.steps.map((s) => [s.chain, s.rule, s.verdict])]));
    }), { numRuns: 400 });
  });

  it("NAT happens once per connection: an established packet never visits nat", () => {
    const rs = parseRules("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j DNAT --to-destination 10.244.1.5:80\n-A POSTROUTING -j MASQUERADE\n-A OUTPUT -p tcp -j DNAT --to-destination 10.244.1.5:80\nCOMMIT\n").value;
    const n = buildNode({ rulesets: [rs], node });
    fc.assert(fc.property(packetArb, (p) => {
      const outs = n.evaluate({ ...p, state: "established" }).outcomes;
      for (const o of outs) expect(o.steps.filter((s) => s.table === "nat")).toEqual([]);
    }), { numRuns: 200 });
  });
});
