/**
 * diff's search works out an IPv4 address match's boundaries in plain numbers, not BigInt
 * (probes.ts): the same boundaries as the BigInt arithmetic it replaced.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { netEdges } from "../../src/diff/probes.js";
import { bigIntToIp, ipToBigInt, ipToNum, numText } from "../../src/model/address.js";
import type { AddressMatch } from "../../src/model/ast.js";

/** netEdges as it was: in BigInt, for every family. */
function bigEdges(m: AddressMatch): { inside?: string; outside?: string; edges: string[] } {
  const n = ipToNum(m.address, "ipv4")!;
  const addr = ipToBigInt(n);
  const size = 1n << BigInt(32 - m.prefixLength!);
  const net = addr - (addr % size);
  const at = (x: bigint) => {
    const ip = bigIntToIp(x, "ipv4");
    return ip === undefined ? undefined : numText(ip);
  };
  const last = net + size - 1n;
  const edges = [at(net), at(net + 1n), at(last), at(net - 1n), at(last + 1n)].filter((x): x is string => x !== undefined);
  const inside = size > 2n ? at(net + 1n) : at(net);
  const outside = at(last + 1n) ?? at(net - 1n);
  return { ...(inside ? { inside } : {}), ...(outside ? { outside } : {}), edges };
}

describe("IPv4 boundaries in plain numbers", () => {
  it("are those worked out in BigInt, at the ends of the address space too", () => {
    const octet = fc.oneof(fc.constantFrom(0, 1, 254, 255), fc.integer({ min: 0, max: 255 }));
    const address = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));
    fc.assert(
      fc.property(address, fc.integer({ min: 1, max: 32 }), fc.boolean(), (address, prefixLength, negated) => {
        const m: AddressMatch = { negated, address, prefixLength, mask: null };
        expect(netEdges(m, "ipv4")).toEqual(bigEdges(m));
      }),
      { numRuns: 5000 },
    );
  });
});

