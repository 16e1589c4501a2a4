/**
 * A compiled rule leaves out of its tests the matches every packet matches (`-m comment`,
 * MatchExtension.alwaysMatches): a shortcut, so the answers must be those of testing them.
 * Random rulesets (comments among marks, ports, random branches, jumps) and packets, the
 * whole trace as JSON with and without --verbose (whose "failed:" words name the condition by
 * its place among the rule's matches), compared with a node compiled while the comment match
 * does not say so.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildNode } from "../../src/netfilter/model.js";
import { evaluationJson } from "../../src/explain/json.js";
import { comment } from "../../src/extensions/matches/comment.js";
import { filterRuleset, packetArb } from "../support/arbitraries.js";
import { simpleNode } from "../support/simple-node.js";
import type { Rule, Ruleset } from "../../src/model/ast.js";
import { compileRulesets, type CompiledMatch } from "../../src/netfilter/compile.js";
import { findMatch } from "../../src/extensions/registry.js";
import type { PacketSpec } from "../../src/model/packet.js";

const facts = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/16"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });

/** The whole trace of the packet, on a node of its own (rules are compiled when a packet reaches them). */
function trace(rs: Ruleset, p: PacketSpec, verbose: boolean): string {
  return JSON.stringify(evaluationJson(buildNode({ rulesets: [rs], node: facts }).evaluate(p, { verbose })));
}

/** The same, with every match tested: the comment match as if it did not say every packet matches it. */
function traceTestingAll(rs: Ruleset, p: PacketSpec, verbose: boolean): string {
  const c = comment as { alwaysMatches?: true };
  const was = c.alwaysMatches;
  delete c.alwaysMatches;
  try {
    return trace(rs, p, verbose);
  } finally {
    if (was) c.alwaysMatches = was;
  }
}

describe("compiled rules: matches every packet matches are not tested", () => {
  it("the comment match says so (else the test below compares a thing with itself)", () => {
    expect(comment.alwaysMatches).toBe(true);
  });

  it("random rulesets and packets: the whole trace, verbose or not, is the one testing every match", () => {
    fc.assert(fc.property(filterRuleset, packetArb, fc.boolean(), (rs, p, verbose) => {
      expect(trace(rs, p, verbose)).toBe(traceTestingAll(rs, p, verbose));
    }), { numRuns: 300 });
  });

  it("random rulesets: a compiled rule's whole list of matches, made when read, is every match compiled in place, its checks those tested", () => {
    /** What compiling each match of `r` gives, written out plainly. */
    const reference = (r: Rule): CompiledMatch[] => r.matches.map((m, position): CompiledMatch => {
      const ext = m.kind === "match" ? findMatch(m.name, "ipv4") : undefined;
      return ext && m.kind === "match" ? { kind: "extension", ext, node: m, position, data: m.data } : (expect.anything() as CompiledMatch);
    });
    let withLeftOut = 0;
    fc.assert(fc.property(filterRuleset, (rs) => {
      for (const t of compileRulesets([rs], "ipv4").tables.values()) {
        for (const c of t.chains.values()) {
          for (const cr of c.rules) {
            const want = reference(cr.rule);
            if (cr.checks.length < want.length) withLeftOut++;
            expect(cr.matches).toEqual(want);
            expect(cr.matches.map((m) => m.position)).toEqual(want.map((_, k) => k));
            expect(cr.checks).toEqual(cr.matches.filter((m) => m.kind !== "extension" || !m.ext.alwaysMatches));
          }
        }
      }
    }), { numRuns: 200 });
    // (else the lists made when read were never looked at)
    expect(withLeftOut).toBeGreaterThan(50);
  });
});
