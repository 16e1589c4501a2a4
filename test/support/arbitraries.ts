/** fast-check generators for netfate's own tests; the ruleset ones are netfate/testing's. */
import fc from "fast-check";
import { ipv4 } from "../../src/testing/rulesets.js";
export { ipv4, net4, ruleArb, filterRuleset } from "../../src/testing/rulesets.js";
import type { PacketSpec } from "../../src/model/packet.js";

/** Packets biased towards the addresses of the test node and common ports. */
export const packetArb: fc.Arbitrary<PacketSpec> = fc.record({
  from: fc.constantFrom("eth0", "cni0", "lo", "local", "veth1"),
  src: fc.oneof(ipv4, fc.constantFrom("192.168.0.50", "10.244.0.9", "10.244.1.5")),
  dst: fc.oneof(ipv4, fc.constantFrom("192.168.0.11", "10.244.0.1", "10.244.1.6", "8.8.8.8")),
  proto: fc.constantFrom(6, 17, 1),
  sport: fc.integer({ min: 1, max: 65535 }),
  dport: fc.oneof(fc.constantFrom(22, 53, 80, 443), fc.integer({ min: 1, max: 65535 })),
  mark: fc.oneof(fc.constant(0), fc.constantFrom(0x4000, 0x1), fc.nat({ max: 0xffffffff })),
  flags: fc.constantFrom(0x02, 0x12, 0x10),
}).map((r) => {
  const p: PacketSpec = { family: "ipv4", from: r.from, dst: r.dst, proto: r.proto, mark: r.mark };
  if (r.from !== "local") p.src = r.src;
  if (r.proto !== 1) {
    p.sport = r.sport;
    p.dport = r.dport;
  }
  if (r.proto === 6) p.tcpFlags = r.flags;
  if (r.proto === 1) p.icmpType = 8;
  return p;
});
