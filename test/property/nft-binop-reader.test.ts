/**
 * A binop's reader (readerOf: `meta mark & 0x4000` with its leaf read by the leaf's reader and
 * its constant taken once per statement) gives exactly what evaluating the binop gives, for
 * every operator, leaf, constant and packet: marks of any width, a leaf with no value
 * (another family, conntrack not reached), constants that are not numbers.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { evaluateExpr, readerOf } from "../../src/netfilter/nft/expr/index.js";
import type { NftEnv } from "../../src/netfilter/nft/expr/env.js";
import type { NftExpr } from "../../src/model/nft.js";
import type { PacketState } from "../../src/model/evaluation.js";
import { binop, ct, ip4, k, mark, meta, pl, port } from "../support/nft-build.js";

const leftArb = fc.constantFrom<NftExpr>(meta("mark"), meta("l4proto"), meta("iifname"), ct("mark"), ct("state"), pl("ip", "saddr"), pl("ip6", "daddr"), pl("th", "dport"));
const rightArb = fc.constantFrom<NftExpr>(mark(0x4000), mark(0), mark(0xffffffff), k("integer", 2 ** 40), k("integer", 8), port(80), ip4("255.255.0.0"), k("ifname", "eth0"));
const opArb = fc.constantFrom<"&" | "|" | "^" | "<<" | ">>">("&", "|", "^", "<<", ">>");

const envArb: fc.Arbitrary<NftEnv> = fc.record({
  v6: fc.boolean(),
  mark: fc.constantFrom(0, 0x4000, 0xffffffff, 0x12345),
  ctmark: fc.constantFrom(0, 0x4000, 0xffffffff),
  state: fc.constantFrom("NEW", "ESTABLISHED", "INVALID", "UNTRACKED") as fc.Arbitrary<PacketState["ct"]["state"]>,
  dport: fc.option(fc.constantFrom(80, 65535), { nil: undefined }),
  beforeConntrack: fc.boolean(),
}).map((r) => {
  const src = r.v6 ? "2001:db8::1" : "192.168.0.50";
  const dst = r.v6 ? "2001:db8::2" : "10.96.0.10";
  const pkt: PacketState = {
    family: r.v6 ? "ipv6" : "ipv4", src, dst, proto: 6, sport: 40000, dport: r.dport, fragment: false, inIface: "eth0", mark: r.mark,
    ct: { state: r.state, dir: "ORIGINAL", mark: r.ctmark, zone: 0, orig: { src, dst }, reply: { src: dst, dst: src }, status: new Set() },
  };
  const env = {
    br: { pkt }, hook: "PREROUTING", family: pkt.family, beforeConntrack: r.beforeConntrack, bindings: undefined, assumed: {},
    eval: (e: NftExpr) => evaluateExpr(e, env),
  } as unknown as NftEnv;
  return env;
});

describe("a binop's reader equals its evaluation", () => {
  it("on every operator, leaf, constant and packet", () => {
    fc.assert(fc.property(opArb, leftArb, rightArb, fc.array(envArb, { minLength: 1, maxLength: 6 }), (op, left, right, envs) => {
      const e = binop(op, left, right);
      // One reader for a run of packets, as a statement keeps it.
      const read = readerOf(e);
      for (const env of envs) expect(read(env)).toEqual(evaluateExpr(e, env));
    }), { numRuns: 3000 });
  });

  it("a binop that nests more than a leaf and a constant is evaluated as it is", () => {
    const nested = binop("&", binop("|", meta("mark"), mark(1)), mark(0xff));
    const [env] = fc.sample(envArb, { numRuns: 1, seed: 1 });
    expect(readerOf(nested)(env!)).toEqual(evaluateExpr(nested, env!));
  });

  it("a shift past the register gives 0 for a mark, and no value past any register, instead of throwing", () => {
    const [env] = fc.sample(envArb, { numRuns: 1, seed: 1 });
    expect(evaluateExpr(binop("<<", mark(0x4000), k("integer", 4294901760)), env!)).toEqual({ val: 0 });
    expect(evaluateExpr(binop("<<", mark(0x4000), k("integer", 32)), env!)).toEqual({ val: 0 });
    expect(evaluateExpr(binop("<<", k("integer", 2n ** 100n), k("integer", 4294901760)), env!)).toHaveProperty("indeterminate");
  });
});
