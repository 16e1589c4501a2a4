/**
 * `ct KEY`: the packet's conntrack entry. Before conntrack (a chain below priority -200 in
 * PREROUTING or OUTPUT) and for untracked packets there is none: `ct state` reads invalid
 * (untracked when notrack set it), every other key stops the rule (nft_ct_get_eval: no entry,
 * NFT_BREAK). Checked in a netns: test/kernel/nft-semantics.test.ts.
 */
import type { NftCt } from "../../../model/nft.js";
import type { CtStatusBit } from "../../../model/evaluation.js";
import { addressVal, fieldVal } from "../../../model/nft-values.js";
import { absent, unknown, value, type NftEnv } from "./env.js";
import type { XVal } from "../../../model/nft-values.js";

/** NF_CT_STATE_*_BIT as nft's ct_state type numbers them. */
export const CT_STATE_BITS = { INVALID: 1, ESTABLISHED: 2, RELATED: 4, NEW: 8, UNTRACKED: 64 } as const;
const STATUS_BITS: Readonly<Record<CtStatusBit, number>> = { EXPECTED: 1, SEEN_REPLY: 2, ASSURED: 4, CONFIRMED: 8, SNAT: 0x10, DNAT: 0x20 };

export function ct(e: NftCt, env: NftEnv): XVal {
  const c = env.br.pkt.ct;
  if (e.key === "state") {
    if (c.state === "UNTRACKED") return fieldVal(CT_STATE_BITS.UNTRACKED);
    return fieldVal(env.beforeConntrack ? CT_STATE_BITS.INVALID : CT_STATE_BITS[c.state]);
  }
  if (env.beforeConntrack) return absent("the chain runs before conntrack: the packet has no conntrack entry yet");
  if (c.state === "UNTRACKED" || c.state === "INVALID") return absent(`an ${c.state.toLowerCase()} packet has no conntrack entry`);
  const p = env.br.pkt;
  switch (e.key) {
    case "direction":
      return fieldVal(c.dir === "ORIGINAL" ? 0 : 1);
    case "status": {
      let bits = 0;
      for (const s of c.status) bits |= STATUS_BITS[s];
      const unsure = Object.keys(c.statusUnknown ?? {}) as CtStatusBit[];
      if (unsure.length === 0) return fieldVal(bits);
      // Tests of the other bits are still decided (relational.ts, binop.ts).
      const unknownBits = unsure.reduce((m, k) => m | STATUS_BITS[k], 0);
      return { indeterminate: `ct status: ${unsure.map((k) => `${k} ${c.statusUnknown![k]}`).join("; ")}`, partial: { bits: BigInt(bits), unknown: BigInt(unknownBits) } };
    }
    case "mark":
      return fieldVal(c.mark);
    case "zone":
      return fieldVal(c.zone);
    case "helper":
      return c.helper === undefined ? absent("the connection has no helper") : value(c.helper);
    case "l3proto":
      return fieldVal(p.family === "ipv4" ? 2 : 10);
    case "protocol":
      return fieldVal(p.proto);
    case "saddr":
    case "daddr":
    case "proto-src":
    case "proto-dst":
    case "ip saddr":
    case "ip daddr":
    case "ip6 saddr":
    case "ip6 daddr": {
      const dir = e.dir ?? (c.dir === "ORIGINAL" ? "original" : "reply");
      const t = dir === "original" ? c.orig : c.reply;
      const key = e.key.replace(/^ip6? /, "");
      if (key === "saddr" || key === "daddr") {
        return addressVal(key === "saddr" ? t.src : t.dst) ?? unknown(`ct ${dir} ${key} cannot be read`);
      }
      const port = key === "proto-src" ? t.sport : t.dport;
      return port === undefined ? unknown(`ct ${dir} ${key}: the connection's port is not given`) : fieldVal(port);
    }
    default:
      return unknown(`ct ${e.key}: conntrack's ${e.key} is not in the input`);
  }
}
