/**
 * Laws of the nft evaluator over generated rulesets: no ruleset and packet make it throw; with
 * nothing undecided the chances add up to 1, and with undecided conditions no set of them
 * holds more than 1; every nft step says where it ran.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { NftExpr, NftStmt, NftVerdict } from "../../src/model/nft.js";
import { simpleNode } from "../support/simple-node.js";
import {
  accept, base, chain, cont, counter, ct, ctState, drop, goto, ip4, jump, k, mark, match, meta, numgen, pl, port, prefix, range, ret, rule,
  ruleset, set, setMark, table, vmap, vmapLit, CT,
} from "../support/nft-build.js";

const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });

/** Verdicts a rule of `chain` may end with: jumps only forward (c1 → c2), so no loops. */
const verdicts = (from: "base" | "c1" | "c2"): fc.Arbitrary<NftVerdict> => fc.constantFrom<NftVerdict>(
  accept, drop, cont, ret,
  ...(from === "base" ? [jump("c1"), goto("c2"), jump("c2")] : from === "c1" ? [jump("c2"), goto("c2")] : []),
);

const decided: fc.Arbitrary<NftStmt>[] = [
  fc.constantFrom(22, 53, 80, 443).map((p) => match(pl("tcp", "dport"), port(p))),
  fc.constant(match(pl("th", "dport"), set(port(53), port(80)))),
  fc.constant(match(pl("th", "dport"), range(port(1000), port(2000)))),
  fc.constantFrom("10.0.0.0", "192.168.0.0").map((a) => match(pl("ip", "saddr"), prefix(ip4(a), 16))),
  fc.constantFrom<Array<keyof typeof CT>>(["new"], ["established", "related"], ["invalid"]).map((s) => match(ct("state"), ctState(...s))),
  fc.integer({ min: 0, max: 3 }).map((m) => match(meta("mark"), mark(m))),
  fc.constant<NftStmt>({ kind: "limit", rate: 5, per: "second", over: false }),
];
const undecided = fc.constant(match({ kind: "other", name: "socket", text: "socket transparent" }, k("integer", 1)));
const effect: fc.Arbitrary<NftStmt> = fc.oneof(fc.integer({ min: 0, max: 3 }).map((m) => setMark(mark(m))), fc.constant(counter));

const ruleOf = (from: "base" | "c1" | "c2", test: fc.Arbitrary<NftStmt>) => fc.tuple(fc.array(test, { maxLength: 2 }), fc.option(effect), fc.oneof(
  verdicts(from).map((v): NftStmt | undefined => v),
  fc.integer({ min: 1, max: 4 }).chain((mod) => fc.array(verdicts(from), { minLength: mod, maxLength: mod }).map((vs): NftStmt =>
    vmap(numgen("random", mod), vmapLit(...vs.map((v, i) => [k("integer", i), v] as [NftExpr, NftVerdict]))))),
  fc.constant(undefined),
)).map(([tests, fx, end]) => rule(...tests, ...(fx ? [fx] : []), ...(end ? [end] : [])));

const rulesetArb = (test: fc.Arbitrary<NftStmt>) => fc.record({
  input: fc.array(ruleOf("base", test), { maxLength: 4 }),
  c1: fc.array(ruleOf("c1", test), { maxLength: 3 }),
  c2: fc.array(ruleOf("c2", test), { maxLength: 3 }),
  pre: fc.array(ruleOf("c2", test), { maxLength: 2 }),
  prePriority: fc.integer({ min: -400, max: 100 }),
  policy: fc.constantFrom<"accept" | "drop">("accept", "drop"),
});

type RulesetShape = ReturnType<typeof rulesetArb> extends fc.Arbitrary<infer T> ? T : never;

const packetArb: fc.Arbitrary<PacketSpec> = fc.record({
  proto: fc.constantFrom(6, 17),
  dport: fc.constantFrom(22, 53, 80, 1500),
  src: fc.constantFrom("10.0.0.5", "192.168.0.50"),
  state: fc.constantFrom<"new" | "established">("new", "established"),
}).map((p) => ({ family: "ipv4", from: "eth0", dst: "192.168.0.11", sport: 40000, ...p, ...(p.proto === 6 ? { tcpFlags: p.state === "new" ? 2 : 0x10 } : {}) }));

function outcomes(r: RulesetShape, packet: PacketSpec) {
  const t = table("inet", "t", [
    chain("input", r.input, base("filter", "input", 0, r.policy)),
    chain("pre", r.pre, base("filter", "prerouting", r.prePriority)),
    chain("c1", r.c1),
    chain("c2", r.c2),
  ]);
  const outs = buildNode({ rulesets: [], nft: [ruleset(t)], node }).evaluate(packet).outcomes;
  expect(outs.length).toBeGreaterThan(0);
  for (const o of outs) {
    for (const s of o.steps) if (s.table === "nft") expect(s.nft).toBeDefined();
    expect(o.fate.kind).not.toBe("error");
    expect(o.probability).toBeGreaterThan(0);
  }
  return outs;
}

describe("nft evaluator laws", () => {
  it("with nothing undecided: never throws, the chances add up to 1", () => {
    fc.assert(fc.property(rulesetArb(fc.oneof(...decided)), packetArb, (r, packet) => {
      const outs = outcomes(r, packet);
      expect(outs.every((o) => (o.given ?? []).length === 0)).toBe(true);
      expect(outs.reduce((a, o) => a + o.probability, 0)).toBeCloseTo(1, 9);
    }), { numRuns: 300, seed: 20261205 });
  });

  it("with undecided conditions: never throws, and the outcomes resting on one set of conditions hold at most 1", () => {
    fc.assert(fc.property(rulesetArb(fc.oneof(...decided, undecided)), packetArb, (r, packet) => {
      const byGiven = new Map<string, number>();
      for (const o of outcomes(r, packet)) {
        const key = [...(o.given ?? [])].sort().join("\u0001");
        byGiven.set(key, (byGiven.get(key) ?? 0) + o.probability);
      }
      for (const p of byGiven.values()) expect(p).toBeLessThanOrEqual(1 + 1e-9);
    }), { numRuns: 300, seed: 20261205 });
  });
});
