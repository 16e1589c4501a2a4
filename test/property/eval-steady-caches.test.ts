/**
 * What the evaluator now keeps or does more cheaply for a batch's steady state changes no
 * answer: a node's words for the route that decided (kept per route) are those a fresh node
 * gives, packet after packet, and the conntrack status bits come out in sort's order.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { sortedStatus } from "../../src/netfilter/path.js";

function view(json: object) {
  const { facts, diagnostics } = factsFromTexts([{ file: "node.json", text: JSON.stringify(json) }]);
  expect(diagnostics).toEqual([]);
  return nodeViewFromFacts(facts);
}

const facts = (rules: boolean) => ({
  interfaces: [
    { name: "eth0", addrs: ["192.168.0.11/24"] },
    { name: "cni0", addrs: ["10.244.0.1/16"] },
  ],
  routes: [
    "default via 192.168.0.1 dev eth0", "10.96.0.0/12 via 192.168.0.2 dev eth0", "blackhole 10.250.0.0/16",
    "10.1.0.0/16 via 192.168.0.3 dev eth0 table 100",
  ],
  ...(rules ? { rules: ["0: from all lookup local", "100: from 10.244.0.0/16 lookup 100", "32766: from all lookup main", "32767: from all lookup default"] } : {}),
  sysctl: { "net.ipv4.ip_forward": 1 },
});

const addr = fc.oneof(
  fc.constantFrom("192.168.0.11", "10.244.0.1", "10.96.0.10", "10.250.3.4", "10.1.2.3", "8.8.8.8", "127.0.0.1", "0.0.0.0", "255.255.255.255"),
  fc.tuple(fc.constantFrom(10, 192, 172, 8), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join(".")),
);
const query = fc.record({ src: addr, dst: addr, iif: fc.constantFrom("eth0", "cni0", "lo"), out: fc.boolean() });

describe("a batch's steady-state savings change no answer", () => {
  for (const rules of [false, true]) {
    it(`routing decisions on a warm node are a fresh node's (${rules ? "with" : "without"} ip rules)`, () => {
      const warm = view(facts(rules));
      fc.assert(fc.property(fc.array(query, { minLength: 1, maxLength: 8 }), (qs) => {
        for (const q of qs) {
          const ask = (n: ReturnType<typeof view>) => q.out
            ? n.routeOutput({ family: "ipv4", dst: q.dst, src: q.src, mark: 0 })
            : n.routeInput({ family: "ipv4", dst: q.dst, src: q.src, iif: q.iif, mark: 0 });
          expect(ask(warm)).toEqual(ask(view(facts(rules))));
        }
      }), { numRuns: 60 });
    });
  }

  it("status bits are in Array.prototype.sort's order", () => {
    const names = fc.oneof(fc.constantFrom("CONFIRMED", "SEEN_REPLY", "ASSURED", "DST_NAT", "SRC_NAT", "EXPECTED", "a", "Z", "é", ""), fc.string({ maxLength: 4 }));
    fc.assert(fc.property(fc.array(names, { maxLength: 10 }), (list) => {
      const set = new Set(list);
      expect(sortedStatus(set)).toEqual([...set].sort());
    }));
  });
});
