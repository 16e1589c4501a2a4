/**
 * The nft walk's memo of where each statement's last verdict leads (its target chain, step
 * word and place, per rule and statement: NftCompiledRule.verdictWays) and its one return
 * frame per rule never change an answer: a packet traced on a node that has traced others
 * (through other map elements of the same statements, from other base chains into the same
 * regular chains) gets exactly what it gets on a fresh node.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildNode } from "../../src/netfilter/model.js";
import type { NftRule, NftStmt, NftVerdict } from "../../src/model/nft.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { simpleNode } from "../support/simple-node.js";
import { accept, base, chain, drop, el, goto, jump, match, namedSet, pl, port, ref, ret, rule, ruleset, setMark, mark, table, vmap, vmapLit, cont } from "../support/nft-build.js";

const node = simpleNode({
  addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }, { dst: "10.244.0.0/24", dev: "cni0" }],
});

const PORTS = [22, 80, 443, 8080];

/**
 * A verdict into the regular chains below `level` (none of them jumps back up: the kernel
 * refuses a ruleset with a loop), back, or an end.
 */
const ENDS: NftVerdict[] = [ret, cont, accept, drop];
const verdictArb = (below: string[]): fc.Arbitrary<NftVerdict> => fc.constantFrom(...ENDS, ...below.flatMap((c) => [jump(c), goto(c)]));

/** A verdict map keyed by the destination port, written out or named (@ports, whose elements go no further than c). */
const vmapArb = (below: string[]): fc.Arbitrary<NftStmt> => fc.oneof(
  fc.uniqueArray(fc.tuple(fc.constantFrom(...PORTS), verdictArb(below)), { minLength: 1, maxLength: 4, selector: ([p]) => p })
    .map((pairs) => vmap(pl("tcp", "dport"), vmapLit(...pairs.map(([p, v]): [ReturnType<typeof port>, NftVerdict] => [port(p), v])))),
  fc.constant(vmap(pl("tcp", "dport"), ref("ports"))),
);

const stmtArb = (below: string[]): fc.Arbitrary<NftStmt[]> => fc.oneof(
  vmapArb(below).map((s): NftStmt[] => [s]),
  fc.tuple(fc.constantFrom(...PORTS), verdictArb(below)).map(([p, v]): NftStmt[] => [match(pl("tcp", "dport"), port(p)), v]),
  verdictArb(below).map((v): NftStmt[] => [v]),
  fc.constant<NftStmt[]>([setMark(mark(0x4000))]),
);

const rulesArb = (below: string[]): fc.Arbitrary<NftRule[]> => fc.array(stmtArb(below).map((s) => rule(...s)), { minLength: 1, maxLength: 3 });

/** Base chains at two hooks and three priorities, all going into the same regular chains a, b and c. */
const rulesetArb = fc.tuple(rulesArb(["a", "b", "c"]), rulesArb(["a", "b", "c"]), rulesArb(["b", "c"]), rulesArb(["c"]), fc.uniqueArray(fc.tuple(fc.constantFrom(...PORTS), verdictArb(["c"])), { maxLength: 4, selector: ([p]) => p }))
  .map(([pre, fwd, a, b, elements]) => ruleset(table("ip", "t", [
    chain("pre", [rule(jump("a")), ...pre], base("filter", "prerouting", -150)),
    chain("pre2", [rule(jump("b")), ...pre], base("filter", "prerouting", -50)),
    chain("fwd", [rule(jump("a")), ...fwd], base("filter", "forward", 0)),
    chain("a", [...a, rule(jump("b"))]),
    chain("b", b),
    chain("c", [rule(setMark(mark(0x20)))]),
  ], [namedSet("ports", ["inet_service"], elements.map(([p, v]) => el(port(p), v)), "map")])));

const packetArb: fc.Arbitrary<PacketSpec> = fc.record({ dport: fc.constantFrom(...PORTS), dst: fc.constantFrom("10.244.0.7", "8.8.8.8") })
  .map((r) => ({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: r.dst, proto: 6, sport: 40000, dport: r.dport, tcpFlags: 2 }));

describe("the nft walk's verdict memo changes no answer", () => {
  it("each packet after the others traces as on a fresh node", () => {
    fc.assert(fc.property(rulesetArb, fc.array(packetArb, { minLength: 2, maxLength: 8 }), (nft, packets) => {
      const warm = buildNode({ rulesets: [], nft: [nft], node });
      for (const p of packets) {
        for (const verbose of [false, true]) {
          const got = JSON.stringify(warm.evaluate(p, { verbose }).outcomes);
          const fresh = JSON.stringify(buildNode({ rulesets: [], nft: [nft], node }).evaluate(p, { verbose }).outcomes);
          expect(got).toBe(fresh);
        }
      }
    }), { numRuns: 300 });
  });
});
