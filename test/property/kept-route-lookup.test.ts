/**
 * The routing lookup kept for the next one that reads the same (fib.ts, LastLookup: what
 * rp_filter's reverse lookups of one packet's endpoint histories share) answers as a fresh
 * lookup does: on random policy rules (by source, destination, mark, device, protocol, port)
 * and random runs of lookups that differ in one field or another.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { factsFromTexts } from "../../src/facts/parse.js";
import { Fib, LastLookup, type Flow } from "../../src/netfilter/fib.js";

const RULES = [
  "100: from 10.244.0.0/16 lookup 100",
  "110: to 10.1.0.0/16 lookup 100",
  "120: fwmark 0x4000/0x4000 lookup 100",
  "130: iif cni0 lookup 100",
  "140: ipproto tcp dport 80 lookup 100",
  "150: oif eth0 lookup 100",
  "160: not from 192.168.0.0/16 lookup 100",
];

function fibOf(rules: readonly string[]): Fib {
  const json = {
    interfaces: [
      { name: "eth0", addrs: ["192.168.0.11/24"] },
      { name: "cni0", addrs: ["10.244.0.1/16"] },
    ],
    routes: ["default via 192.168.0.1 dev eth0", "10.96.0.0/12 via 192.168.0.2 dev eth0", "blackhole 10.250.0.0/16", "default via 192.168.0.3 dev eth0 table 100"],
    ...(rules.length ? { rules: ["0: from all lookup local", ...rules, "32766: from all lookup main", "32767: from all lookup default"] } : {}),
  };
  const { facts, diagnostics } = factsFromTexts([{ file: "node.json", text: JSON.stringify(json) }]);
  expect(diagnostics).toEqual([]);
  return new Fib(facts);
}

// Few values per field, so that lookups in a row often agree in all but one.
const addr = fc.constantFrom("10.244.3.4", "10.244.9.9", "192.168.0.7", "10.1.2.3", "10.96.0.10", "10.250.0.1", "8.8.8.8", "192.168.0.11");
const flow: fc.Arbitrary<Flow> = fc.record({
  dst: addr, src: fc.option(addr, { nil: undefined }), iif: fc.constantFrom("lo", "eth0", "cni0"), oif: fc.constantFrom(undefined, "eth0", "cni0"),
  mark: fc.constantFrom(0, 0x4000, 0x1), tos: fc.constantFrom(0, 0x10), proto: fc.constantFrom(0, 6, 17), sport: fc.constantFrom(undefined, 80, 1234), dport: fc.constantFrom(undefined, 80, 53),
}).map((r) => {
  const f: Flow = { family: "ipv4", dst: r.dst, iif: r.iif, mark: r.mark, tos: r.tos, proto: r.proto };
  if (r.src !== undefined) f.src = r.src;
  if (r.oif !== undefined) f.oif = r.oif;
  if (r.sport !== undefined) f.sport = r.sport;
  if (r.dport !== undefined) f.dport = r.dport;
  return f;
});

/** A flow, or one like the one before it but in one field. */
const run = fc.array(fc.tuple(flow, fc.constantFrom("dst", "src", "iif", "oif", "mark", "tos", "proto", "sport", "dport", "all")), { minLength: 1, maxLength: 12 }).map((steps) => {
  const out: Flow[] = [];
  for (const [f, field] of steps) {
    const prev = out[out.length - 1];
    out.push(prev && field !== "all" ? { ...prev, [field]: f[field] } : f);
  }
  return out;
});

describe("a kept routing lookup answers as a fresh one", () => {
  it("random policy rules, runs of lookups that differ in one field", () => {
    fc.assert(fc.property(fc.subarray(RULES), run, (rules, flows) => {
      const fib = fibOf(rules);
      const kept = new LastLookup(fib);
      for (const f of flows) expect(kept.lookup({ ...f })).toEqual(fibOf(rules).lookup(f));
    }), { numRuns: 300 });
  });
});
