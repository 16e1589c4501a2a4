/**
 * Conntrack expressions: `ct state`, `ct mark`, `ct original ip saddr`, `ct reply proto-dst`.
 * Keys that differ per direction take `original`/`reply` first; address keys take the family
 * (`ip`/`ip6`) and nft prints it even when the input left it to the table's family.
 *
 * Evaluated from the packet's conntrack entry. Before conntrack (a chain below priority -200
 * in PREROUTING or OUTPUT) and for untracked packets there is none: `ct state` reads invalid
 * (untracked when notrack set it), every other key stops the rule (nft_ct_get_eval: no entry,
 * NFT_BREAK). Checked in a netns: test/kernel/nft-semantics.test.ts. An address of the other
 * family than the connection's stops the rule too (nft_ct_get_eval checks nf_ct_l3num for
 * NFT_CT_SRC_IP and the like).
 */
import type { Family } from "../../model/ast.js";
import type { JsonNode } from "../../model/json.js";
import type { CtStatusBit } from "../../model/evaluation.js";
import type { NftConst, NftCt } from "../../model/nft.js";
import { absent, unknown, value, type NftExprEnv } from "../../model/nft-evaluation.js";
import { addressVal, fieldVal, type XVal } from "../../model/nft-values.js";
import { familyOfNfproto, NFPROTO } from "../../model/packet.js";
import { wordTable, type ExprKind, type JsonExprReader } from "./types.js";

/** Each key's datatype (nft's ct.c ct_templates); addresses depend on the family. */
export const CT_KEYS: Readonly<Record<string, { type: string; bits: number; dirOnly?: boolean }>> = wordTable({
  state: { type: "ct_state", bits: 32 },
  direction: { type: "ct_dir", bits: 8 },
  status: { type: "ct_status", bits: 32 },
  mark: { type: "mark", bits: 32 },
  expiration: { type: "time", bits: 32 },
  helper: { type: "string", bits: 128 },
  l3proto: { type: "nf_proto", bits: 8 },
  protocol: { type: "inet_proto", bits: 8 },
  saddr: { type: "ipv4_addr", bits: 32, dirOnly: true },
  daddr: { type: "ipv4_addr", bits: 32, dirOnly: true },
  "proto-src": { type: "inet_service", bits: 16, dirOnly: true },
  "proto-dst": { type: "inet_service", bits: 16, dirOnly: true },
  bytes: { type: "integer", bits: 64 },
  packets: { type: "integer", bits: 64 },
  avgpkt: { type: "integer", bits: 64 },
  zone: { type: "integer", bits: 16 },
  label: { type: "ct_label", bits: 128 },
  id: { type: "integer", bits: 32 },
  event: { type: "integer", bits: 32 },
  secmark: { type: "integer", bits: 32 },
});

const ADDRESS_KEYS = new Set(["saddr", "daddr"]);

/** The family an address key reads (`ct original ip6 saddr`; a JSON key may hold it: `ip6 saddr`), if it names one. */
function addressFamily(e: NftCt): Family | undefined {
  const split = /^(?:(ip6?) )?(saddr|daddr)$/.exec(e.key);
  if (!split) return undefined;
  const f = e.family ?? split[1];
  return f === "ip" ? "ipv4" : f === "ip6" ? "ipv6" : undefined;
}

/** A connection's address of one family, or `ct l3proto` compared with one: no connection of the other family has it. */
function family(e: NftCt, equals: NftConst | undefined): Family | undefined {
  if (e.key === "l3proto") return familyOfNfproto(equals?.value);
  return addressFamily(e);
}

export const ct: ExprKind<NftCt> = {
  kind: "ct",
  keywords: ["ct"],
  starts(r) {
    if (r.peek() !== "ct") return false;
    const k = r.peek(1);
    return k === "original" || k === "reply" || (k !== undefined && CT_KEYS[k] !== undefined);
  },
  read(r) {
    r.take();
    const out: NftCt = { kind: "ct", key: "" };
    const d = r.peek();
    if (d === "original" || d === "reply") {
      out.dir = d;
      r.take();
      const fam = r.peek();
      if (fam === "ip" || fam === "ip6") {
        out.family = fam;
        r.take();
      }
    }
    const k = r.peek();
    if (k === undefined || CT_KEYS[k] === undefined) return r.fail(`a ct key (${Object.keys(CT_KEYS).join(", ")})`);
    if (CT_KEYS[k]!.dirOnly && out.dir === undefined) return r.fail(`original or reply before ct ${k}`);
    r.take();
    out.key = k;
    // An address key without a family is read in the table's: nft lists it with the family.
    if (ADDRESS_KEYS.has(k) && out.family === undefined && (r.family === "ip" || r.family === "ip6")) out.family = r.family;
    return out;
  },
  jsonKeys: ["ct"],
  readJson,
  type(e) {
    if (ADDRESS_KEYS.has(e.key)) return e.family === undefined ? undefined : [e.family === "ip6" ? "ipv6_addr" : "ipv4_addr"];
    const t = CT_KEYS[e.key]?.type;
    return t === undefined ? undefined : [t];
  },
  print(e) {
    return ["ct", e.dir, e.family, e.key].filter((x) => x !== undefined).join(" ");
  },
  family,
  evaluate,
  reader,
};

/** `{"ct": {"key": "state"}}`, `{"ct": {"key": "ip saddr", "dir": "original"}}`. */
function readJson(_key: string, v: JsonNode, _n: JsonNode, { r }: JsonExprReader): NftCt | undefined {
  const o = r.fields(v, "ct expression");
  if (!o) return undefined;
  const given = r.needStr(v, o, "key", "ct expression");
  if (given === undefined) return undefined;
  const dir = r.oneOf(o, "dir", "ct expression", ["original", "reply"] as const);
  // nft writes a family's address key as one word pair (`"key": "ip saddr"`, nft's ct
  // template token); the AST keeps the family apart, as `ct original ip saddr` reads.
  const split = /^(ip6?) (saddr|daddr)$/.exec(given);
  const key = split ? split[2]! : given;
  const family = split ? (split[1] as "ip" | "ip6") : r.oneOf(o, "family", "ct expression", ["ip", "ip6"] as const);
  if (dir === null || family === null) return undefined;
  return { kind: "ct", key, ...(dir && { dir }), ...(family && { family }) };
}

/** NF_CT_STATE_*_BIT as nft's ct_state type numbers them. */
export const CT_STATE_BITS = { INVALID: 1, ESTABLISHED: 2, RELATED: 4, NEW: 8, UNTRACKED: 64 } as const;
const STATUS_BITS: Readonly<Record<CtStatusBit, number>> = { EXPECTED: 1, SEEN_REPLY: 2, ASSURED: 4, CONFIRMED: 8, SNAT: 0x10, DNAT: 0x20 };

/** `ct state`: the conntrack state's bit (INVALID before conntrack has seen the packet). */
function stateOf(env: NftExprEnv): XVal {
  const c = env.br.pkt.ct;
  if (c.state === "UNTRACKED") return fieldVal(CT_STATE_BITS.UNTRACKED);
  return fieldVal(env.beforeConntrack ? CT_STATE_BITS.INVALID : CT_STATE_BITS[c.state]);
}

/** evaluate for one expression, its key looked at once (`ct state`, in nearly every ruleset, directly). */
function reader(e: NftCt): (env: NftExprEnv) => XVal {
  return e.key === "state" ? stateOf : (env) => evaluate(e, env);
}

function evaluate(e: NftCt, env: NftExprEnv): XVal {
  const c = env.br.pkt.ct;
  if (e.key === "state") return stateOf(env);
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
      return fieldVal(NFPROTO[p.family]);
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
      const fam = addressFamily(e);
      if (fam !== undefined && fam !== p.family) return absent(`the connection is not ${fam === "ipv4" ? "IPv4" : "IPv6"}`);
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
