/**
 * A stage's histories are merged (path.ts, mergeSplit) through mergeHistories, which answers
 * with the list itself when a quick look finds no two that could merge (branch.ts, mayMerge):
 * that answer must be the merge by full keys' (mergeByKeys), on random histories that agree or differ in the
 * fields the quick look compares and in those only the full key holds.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { mergeByKeys, mergeHistories, newBranchOf, type Branch } from "../../src/netfilter/branch.js";
import type { PacketState, Step } from "../../src/model/evaluation.js";

const shared: Step = { hook: "PREROUTING", table: "nat", chain: "PREROUTING", rule: 1, verdict: "JUMP KUBE-SERVICES", matched: true };

const history = fc.record({
  dst: fc.constantFrom("10.244.1.1", "10.244.1.2"),
  dport: fc.constantFrom(80, 8080),
  mark: fc.constantFrom(0, 0x4000),
  outIface: fc.constantFrom(undefined, "cni0"),
  // Fields only the full key compares.
  proto: fc.constantFrom(6, 17),
  ctmark: fc.constantFrom(0, 1),
  zone: fc.constantFrom(0, 1),
  probability: fc.constantFrom(0.5, 0.25, 1 / 3),
  rule: fc.constantFrom(2, 3),
}).map((r): Branch => {
  const pkt: PacketState = {
    family: "ipv4", src: "192.168.0.7", dst: r.dst, proto: r.proto, sport: 1234, dport: r.dport, tcpFlags: undefined, icmpType: undefined, icmpCode: undefined,
    length: undefined, ttl: undefined, tos: undefined, srcMac: undefined, fragment: false, inIface: "eth0", outIface: r.outIface, nexthop: undefined, mark: r.mark,
    ct: {
      state: "NEW", dir: "ORIGINAL", mark: r.ctmark, zone: r.zone, orig: { src: "192.168.0.7", dst: "10.96.0.1", sport: 1234, dport: 80 },
      reply: { src: r.dst, dst: "192.168.0.7", sport: r.dport, dport: 1234 }, dnat: undefined, snat: undefined, status: new Set(), statusUnknown: undefined, helper: undefined, ipvs: undefined,
    },
  };
  const own: Step = { hook: "PREROUTING", table: "nat", chain: "KUBE-SVC-X", rule: r.rule, verdict: "JUMP KUBE-SEP-X", matched: true };
  return newBranchOf(r.probability, [], [], [shared, own], pkt);
});

const key = (b: Branch) => { const s = b.steps[b.steps.length - 1]!; return `${s.chain}|${s.rule}`; };

describe("mergeHistories is the merge by full keys of the bare histories", () => {
  it("random histories, alike or not", () => {
    // Drawn from a few kinds, so that alike histories (and alike pairs side by side) are common.
    const histories = fc.tuple(fc.array(history, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(2), { maxLength: 12 }))
      .map(([kinds, picks]) => picks.map((i) => kinds[i % kinds.length]!));
    fc.assert(fc.property(histories, (list) => {
      const copy = (l: Branch[]) => l.map((b) => newBranchOf(b.probability, [...b.assumptions], [...b.given], [...b.steps], b.pkt));
      const fast = mergeHistories(copy(list), key);
      const slow = mergeByKeys(copy(list).map((br) => ({ br })), (x) => key(x.br)).map((x) => x.br);
      expect(fast).toEqual(slow);
    }), { numRuns: 400 });
  });
});
