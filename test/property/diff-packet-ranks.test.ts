/**
 * diff's numeric packet keys (src/diff/packet-ranks.ts) stand for the string keys
 * (packetKey): the same order, the same equality, and the fields back from a key. Values are
 * drawn so that texts are prefixes of one another (10.0.0.1 and 10.0.0.10, port 8 and 80,
 * eth1 and eth10), where a field's own order and the joined strings' order part.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { holds, keyTexts, PacketRanks } from "../../src/diff/packet-ranks.js";
import { packetKey } from "../../src/diff/wish-packets.js";
import type { PacketSpec } from "../../src/model/packet.js";

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const packet: fc.Arbitrary<PacketSpec> = fc
  .record({
    family: fc.constantFrom("ipv4" as const, "ipv6" as const),
    from: fc.constantFrom("eth1", "eth10", "eth", "cni0", "local", "e~", "eé", "lo"),
    proto: fc.constantFrom(1, 6, 17, 58, 132, 136),
    src: opt(fc.constantFrom("10.0.0.1", "10.0.0.10", "10.0.0.100", "10.0.0.2", "2001:db8::1", "2001:db8::1:0", "::")),
    dst: opt(fc.constantFrom("10.0.0.1", "10.0.0.10", "1.2.3.4", "2001:db8::10", "fe80::")),
    sport: opt(fc.constantFrom(0, 8, 80, 800, 8080, 65535, 40000)),
    dport: opt(fc.constantFrom(0, 8, 80, 9, 443, 65535)),
    icmpType: opt(fc.constantFrom(0, 8, 128, 3)),
    mark: opt(fc.constantFrom(0, 1, 10, 16, 255, 0x10000)),
    state: opt(fc.constantFrom("new" as const, "established" as const, "related" as const)),
  })
  .map((r) => {
    const p: PacketSpec = { family: r.family, from: r.from, proto: r.proto, dst: r.dst! };
    for (const k of ["src", "sport", "dport", "icmpType", "mark", "state"] as const) if (r[k] !== undefined) (p as unknown as Record<string, unknown>)[k] = r[k];
    return p;
  });

const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe("numeric packet keys", () => {
  it("are the string keys' fields, joined", () => {
    fc.assert(
      fc.property(packet, (p) => {
        expect(keyTexts(p).join("|")).toBe(packetKey(p));
      }),
      { numRuns: 500 },
    );
  });

  it("property: order and equality as the string keys', and the fields back from a key", () => {
    fc.assert(
      fc.property(fc.array(packet, { minLength: 1, maxLength: 60 }), (packets) => {
        const ranks = PacketRanks.of(packets)!;
        expect(ranks).toBeDefined();
        const keys = packets.map((p) => ranks.key(p)!);
        const strings = packets.map(packetKey);
        for (let i = 0; i < packets.length; i++) {
          expect(ranks.values(keys[i]!).map((v) => (v === undefined ? "" : String(v))).join("|")).toBe(strings[i]);
          for (let j = 0; j < packets.length; j++) expect(Math.sign(keys[i]! - keys[j]!)).toBe(order(strings[i]!, strings[j]!));
        }
        // Each key once, ascending: the sorted distinct strings, one for one.
        const sorted = ranks.sortedKeys(packets);
        expect([...sorted].map((k) => ranks.values(k).map((v) => (v === undefined ? "" : String(v))).join("|"))).toEqual([...new Set(strings)].sort());
        for (const k of keys) expect(holds(sorted, k)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("a packet with a value not ranked has no key, and is not held", () => {
    const p: PacketSpec = { family: "ipv4", from: "eth0", proto: 6, src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2 };
    const ranks = PacketRanks.of([p])!;
    expect(ranks.key({ ...p, dport: 3 })).toBeUndefined();
    expect(holds(ranks.sortedKeys([p]), ranks.key(p)! + 1)).toBe(false);
  });

  it("are not made where numbers cannot stand for the strings", () => {
    const p: PacketSpec = { family: "ipv4", from: "eth0", proto: 6, dst: "10.0.0.2" };
    // A "|" in a field: the joined strings no longer split into fields.
    expect(PacketRanks.of([p, { ...p, from: "a|b" }])).toBeUndefined();
    // Two values written alike (a number and its text: not made by diff, but not told apart by the strings).
    expect(PacketRanks.of([p, { ...p, from: 7 as unknown as string }, { ...p, from: "7" }])).toBeUndefined();
    // More combinations than a double counts exactly.
    const many = Array.from({ length: 2000 }, (_, i): PacketSpec => ({ ...p, from: `e${i}`, src: `10.0.${i >> 8}.${i & 255}`, dst: `10.1.${i >> 8}.${i & 255}`, sport: i, dport: i, mark: i }));
    expect(PacketRanks.of(many)).toBeUndefined();
    expect(PacketRanks.of(many.slice(0, 100))).toBeDefined();
  });
});
