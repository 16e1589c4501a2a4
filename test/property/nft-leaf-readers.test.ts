/**
 * A leaf expression's reader (ExprKind.reader: a header field, a meta or ct key worked out once
 * per statement, the common fields read straight from the packet) gives exactly what its kind's
 * evaluation gives, for every packet: another family or protocol, a fragment, a port or address
 * not given or not readable, conntrack not yet reached.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { KIND_EVALUATORS, KIND_READERS } from "../../src/extensions/nft/registry.js";
import type { NftExprEnv } from "../../src/model/nft-evaluation.js";
import type { NftCt, NftExpr, NftMeta, NftPayload } from "../../src/model/nft.js";
import type { PacketState } from "../../src/model/evaluation.js";
import { exprText } from "../../src/netfilter/nft/rule-text.js";

const PROTOCOLS = ["ip", "ip6", "th", "tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "ah"];
const FIELDS = ["saddr", "daddr", "sport", "dport", "protocol", "nexthdr", "type", "flags", "ttl"];

const payloadArb: fc.Arbitrary<NftPayload> = fc.oneof(
  fc.record({ protocol: fc.constantFrom(...PROTOCOLS), field: fc.constantFrom(...FIELDS) }).map((r): NftPayload => ({ kind: "payload", ...r })),
  fc.constantFrom<NftPayload>({ kind: "payload", base: "th", offset: 16, len: 16 }, { kind: "payload", base: "nh", offset: 96, len: 32 }),
);
const metaArb: fc.Arbitrary<NftMeta> = fc.constantFrom("mark", "l4proto", "iifname", "oif", "nfproto", "length", "skuid").map((key): NftMeta => ({ kind: "meta", key }));
const ctArb: fc.Arbitrary<NftCt> = fc.constantFrom("state", "mark", "direction", "status", "helper").map((key): NftCt => ({ kind: "ct", key }));

/**
 * Names as the parser gives them: sliced out of a longer text, not the literals the readers
 * compare them with (what the reader must still tell apart).
 */
function asRead<E extends NftExpr>(e: E): E {
  const sliced = (w: string): string => `${w} `.slice(0, w.length);
  if (e.kind === "payload" && "protocol" in e) return { ...e, protocol: sliced(e.protocol), field: sliced(e.field) };
  if (e.kind === "meta" || e.kind === "ct") return { ...e, key: sliced(e.key) };
  return e;
}

const addrArb = (v6: boolean): fc.Arbitrary<string> => (v6 ? fc.constantFrom("2001:db8::1", "fe80::2", "not-an-address") : fc.constantFrom("10.96.0.10", "192.168.0.50", "255.255.255.255", "999.1.1.1"));
const portArb = fc.option(fc.constantFrom(22, 80, 8080, 65535), { nil: undefined });

const envArb: fc.Arbitrary<NftExprEnv> = fc.boolean().chain((v6) => fc.record({
  src: addrArb(v6), dst: addrArb(v6),
  proto: fc.constantFrom(6, 17, 1, 58, 132, 33, 136, 4),
  sport: portArb, dport: portArb, fragment: fc.boolean(),
  mark: fc.constantFrom(0, 0x4000, 0xffffffff),
  state: fc.constantFrom("NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED") as fc.Arbitrary<PacketState["ct"]["state"]>,
  beforeConntrack: fc.boolean(),
}).map((r): NftExprEnv => {
  const pkt: PacketState = {
    family: v6 ? "ipv6" : "ipv4", src: r.src, dst: r.dst, proto: r.proto, sport: r.sport, dport: r.dport, fragment: r.fragment, inIface: "eth0", mark: r.mark,
    ct: { state: r.state, dir: "ORIGINAL", mark: 0, zone: 0, orig: { src: r.src, dst: r.dst }, reply: { src: r.dst, dst: r.src }, status: new Set() },
  };
  return { br: { pkt }, hook: "PREROUTING", node: undefined as unknown as NftExprEnv["node"], beforeConntrack: r.beforeConntrack, bindings: undefined, eval: () => ({ indeterminate: "nested" }) };
}));

describe("a leaf expression's reader equals its evaluation", () => {
  const cases = [
    ["payload", payloadArb, (e: NftExpr) => KIND_READERS.payload(e as NftPayload), (e: NftExpr, env: NftExprEnv) => KIND_EVALUATORS.payload(e as NftPayload, env, exprText)],
    ["meta", metaArb, (e: NftExpr) => KIND_READERS.meta(e as NftMeta), (e: NftExpr, env: NftExprEnv) => KIND_EVALUATORS.meta(e as NftMeta, env, exprText)],
    ["ct", ctArb, (e: NftExpr) => KIND_READERS.ct(e as NftCt), (e: NftExpr, env: NftExprEnv) => KIND_EVALUATORS.ct(e as NftCt, env, exprText)],
  ] as const;
  for (const [name, exprArb, read, evaluate] of cases) {
    it(`${name}: on every packet, read as the parser gives it`, () => {
      fc.assert(fc.property(exprArb as fc.Arbitrary<NftExpr>, fc.array(envArb, { minLength: 1, maxLength: 6 }), (written, envs) => {
        const e = asRead(written);
        // One reader for a run of packets, as a statement keeps it.
        const reader = read(e);
        for (const env of envs) expect(reader(env)).toEqual(evaluate(e, env));
      }), { numRuns: 2000 });
    });
  }
});
