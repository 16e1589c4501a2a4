/**
 * `ct KEY`: the packet's conntrack entry. Before conntrack (a chain below priority -200 in
 * PREROUTING or OUTPUT) and for untracked packets there is none: `ct state` reads invalid
 * (untracked when notrack set it), every other key stops the rule (nft_ct_get_eval: no entry,
 * NFT_BREAK). Checked in a netns: test/kernel/nft-semantics.test.ts.
 */
import type { NftCt } from "../../../model/nft.js";
import type { CtStatusBit } from "../../../model/evaluation.js";
import { addressNum, fieldBig } from "../values.js";
import { absent, unknown, value, type NftEnv } from "./env.js";
import type { XVal } from "../values.js";

/** NF_CT_STATE_*_BIT as nft's ct_state type numbers them. */
export const CT_STATE_BITS = { INVALID: 1n, ESTABLISHED: 2n, RELATED: 4n, NEW: 8n, UNTRACKED: 64n } as const;
const STATUS_BITS: Readonly<Record<CtStatusBit, bigint>> = { EXPECTED: 1n, SEEN_REPLY: 2n, ASSURED: 4n, CONFIRMED: 8n, SNAT: 0x10n, DNAT: 0x20n };

export function ct(e: NftCt, env: NftEnv): XVal {
  const c = env.br.pkt.ct;
  if (e.key === "state") {
    if (c.state === "UNTRACKED") return value(CT_STATE_BITS.UNTRACKED);
    return value(env.beforeConntrack ? CT_STATE_BITS.INVALID : CT_STATE_BITS[c.state]);
  }
  if (env.beforeConntrack) return absent("the chain runs before conntrack: the packet has no conntrack entry yet");
  if (c.state === "UNTRACKED" || c.state === "INVALID") return absent(`an ${c.state.toLowerCase()} packet has no conntrack entry`);
  const p = env.br.pkt;
  switch (e.key) {
    case "direction":
      return value(c.dir === "ORIGINAL" ? 0n : 1n);
    case "status": {
      let bits = 0n;
      for (const s of c.status) bits |= STATUS_BITS[s];
      const unsure = Object.keys(c.statusUnknown ?? {}) as CtStatusBit[];
      if (unsure.length === 0) return value(bits);
      // Tests of the other bits are still decided (relational.ts, binop.ts).
      const unknownBits = unsure.reduce((m, k) => m | STATUS_BITS[k], 0n);
      return { indeterminate: `ct status: ${unsure.map((k) => `${k} ${c.statusUnknown![k]}`).join("; ")}`, partial: { bits, unknown: unknownBits } };
    }
    case "mark":
      return value(fieldBig(c.mark));
    case "zone":
      return value(fieldBig(c.zone));
    case "helper":
      return c.helper === undefined ? absent("the connection has no helper") : value(c.helper);
    case "l3proto":
      return value(p.family === "ipv4" ? 2n : 10n);
    case "protocol":
      return value(fieldBig(p.proto));
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
        const n = addressNum(key === "saddr" ? t.src : t.dst);
        return n === undefined ? unknown(`ct ${dir} ${key} cannot be read`) : value(n);
      }
      const port = key === "proto-src" ? t.sport : t.dport;
      return port === undefined ? unknown(`ct ${dir} ${key}: the connection's port is not given`) : value(fieldBig(port));
    }
    default:
      return unknown(`ct ${e.key}: conntrack's ${e.key} is not in the input`);
  }
}
