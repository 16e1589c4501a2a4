/**
 * Conntrack expressions: `ct state`, `ct mark`, `ct original ip saddr`, `ct reply proto-dst`.
 * Keys that differ per direction take `original`/`reply` first; address keys take the family
 * (`ip`/`ip6`) and nft prints it even when the input left it to the table's family.
 */
import type { NftCt } from "../../model/nft.js";
import { wordTable, type ExprKind } from "./types.js";

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

export const ctKind: ExprKind<NftCt> = {
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
  type(e) {
    if (ADDRESS_KEYS.has(e.key)) return e.family === undefined ? undefined : [e.family === "ip6" ? "ipv6_addr" : "ipv4_addr"];
    const t = CT_KEYS[e.key]?.type;
    return t === undefined ? undefined : [t];
  },
  print(e) {
    return ["ct", e.dir, e.family, e.key].filter((x) => x !== undefined).join(" ");
  },
};
