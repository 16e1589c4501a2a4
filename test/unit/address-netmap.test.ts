/**
 * NETMAP's address move, now on model/address.ts: the host part is kept across word
 * boundaries in IPv6, IPv4-mapped addresses come out in the canonical (RFC 5952) spelling as
 * before, and an address of the other family is indeterminate instead of an internal error.
 */
import { describe, expect, it } from "vitest";
import { NETMAP } from "../../src/extensions/targets/NETMAP.js";
import type { EvalEnv, Hook, PacketState } from "../../src/model/evaluation.js";
import type { Family } from "../../src/model/ast.js";

function mapped(to: { address: string; prefixLength: number }, family: Family, addr: string, hook: Hook = "PREROUTING") {
  const nat: unknown[] = [];
  const packet = { family, src: addr, dst: addr } as PacketState;
  const r = NETMAP.apply!(to, { packet, hook } as EvalEnv, { nat: (...a: unknown[]) => nat.push(a) } as never);
  return { r, nat };
}

describe("NETMAP address arithmetic", () => {
  it("keeps the host part (IPv4, both directions)", () => {
    expect(mapped({ address: "10.244.0.0", prefixLength: 24 }, "ipv4", "192.168.0.77").nat).toEqual([["dnat", { addr: "10.244.0.77" }, "NETMAP to 10.244.0.0/24"]]);
    expect(mapped({ address: "10.0.0.0", prefixLength: 0 }, "ipv4", "192.168.0.77", "POSTROUTING").nat).toEqual([["snat", { addr: "192.168.0.77" }, "NETMAP to 10.0.0.0/0"]]);
    expect(mapped({ address: "10.1.2.3", prefixLength: 32 }, "ipv4", "192.168.0.77").nat[0]).toEqual(["dnat", { addr: "10.1.2.3" }, "NETMAP to 10.1.2.3/32"]);
  });
  it("keeps the host part across IPv6 word boundaries and writes RFC 5952", () => {
    expect(mapped({ address: "2001:db8:1::", prefixLength: 48 }, "ipv6", "fd00:aaaa:bbbb:cccc::1").nat[0]).toEqual(["dnat", { addr: "2001:db8:1:cccc::1" }, "NETMAP to 2001:db8:1::/48"]);
    expect(mapped({ address: "2001:db8::", prefixLength: 33 }, "ipv6", "fd00:ffff:ffff::1").nat[0]).toEqual(["dnat", { addr: "2001:db8:7fff::1" }, "NETMAP to 2001:db8::/33"]);
    expect(mapped({ address: "::ffff:10.0.0.0", prefixLength: 120 }, "ipv6", "::ffff:192.168.0.9").nat[0]).toEqual(["dnat", { addr: "::ffff:a00:9" }, "NETMAP to ::ffff:10.0.0.0/120"]);
  });
  it("is indeterminate for an address not of the family", () => {
    const { r, nat } = mapped({ address: "10.244.0.0", prefixLength: 24 }, "ipv4", "fd00::1");
    expect(r).toEqual({ indeterminate: "NETMAP: fd00::1 is not an ipv4 address" });
    expect(nat).toEqual([]);
  });
});
