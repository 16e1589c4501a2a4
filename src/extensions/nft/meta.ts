/**
 * Meta expressions: facts about the packet that are not in its headers (`meta l4proto`,
 * `iifname`, `meta mark`). nft reads every key after `meta`, and some bare; it prints bare only
 * the interface keys (`iifname "eth0"`, `iifgroup 1`) and `meta KEY` for the rest (`mark 0x10`
 * lists back as `meta mark 0x00000010`; checked with nft 1.0.6).
 */
import type { NftMeta } from "../../model/nft.js";
import { wordTable, type ExprKind } from "./types.js";

/** Each key's datatype and width in bits (nft's meta.c meta_templates). */
export const META_KEYS: Readonly<Record<string, { type: string; bits: number }>> = wordTable({
  length: { type: "integer", bits: 32 },
  protocol: { type: "ether_type", bits: 16 },
  priority: { type: "classid", bits: 32 },
  mark: { type: "mark", bits: 32 },
  iif: { type: "iface_index", bits: 32 },
  iifname: { type: "ifname", bits: 128 },
  iiftype: { type: "iface_type", bits: 16 },
  oif: { type: "iface_index", bits: 32 },
  oifname: { type: "ifname", bits: 128 },
  oiftype: { type: "iface_type", bits: 16 },
  skuid: { type: "uid", bits: 32 },
  skgid: { type: "gid", bits: 32 },
  nftrace: { type: "integer", bits: 1 },
  rtclassid: { type: "realm", bits: 32 },
  // `meta secmark set "ctx"` names a secmark object.
  secmark: { type: "secmark", bits: 32 },
  ibrname: { type: "ifname", bits: 128 },
  obrname: { type: "ifname", bits: 128 },
  ibriport: { type: "ifname", bits: 128 },
  obriport: { type: "ifname", bits: 128 },
  pkttype: { type: "pkttype", bits: 8 },
  cpu: { type: "integer", bits: 32 },
  iifgroup: { type: "devgroup", bits: 32 },
  oifgroup: { type: "devgroup", bits: 32 },
  cgroup: { type: "integer", bits: 32 },
  random: { type: "integer", bits: 32 },
  secpath: { type: "boolean", bits: 1 },
  ipsec: { type: "boolean", bits: 1 },
  nfproto: { type: "nf_proto", bits: 8 },
  l4proto: { type: "inet_proto", bits: 8 },
  time: { type: "date", bits: 64 },
  day: { type: "day", bits: 8 },
  hour: { type: "hour", bits: 32 },
  iifkind: { type: "ifname", bits: 128 },
  oifkind: { type: "ifname", bits: 128 },
  sdif: { type: "iface_index", bits: 32 },
  sdifname: { type: "ifname", bits: 128 },
  broute: { type: "boolean", bits: 1 },
  ibrpvid: { type: "integer", bits: 16 },
  ibrvproto: { type: "ether_type", bits: 16 },
});

/** Keys nft reads without `meta` (its grammar's meta_key_unqualified). */
const READ_BARE = new Set(["mark", "iif", "iifname", "iiftype", "oif", "oifname", "oiftype", "skuid", "skgid", "nftrace", "rtclassid", "ibriport", "obriport", "ibrname", "obrname", "pkttype", "cpu", "iifgroup", "oifgroup", "cgroup", "random", "ipsec", "priority"]);

/** Keys nft prints without `meta` (meta_key_is_unqualified). */
const PRINT_BARE = new Set(["iif", "oif", "iifname", "oifname", "iifgroup", "oifgroup"]);

export const metaKind: ExprKind<NftMeta> = {
  kind: "meta",
  keywords: ["meta"],
  starts(r) {
    const w = r.peek();
    if (w === "meta") return r.peek(1) !== undefined && META_KEYS[r.peek(1)!] !== undefined;
    return w !== undefined && READ_BARE.has(w);
  },
  read(r) {
    if (r.peek() === "meta") {
      r.take();
      const k = r.peek();
      if (k === undefined || META_KEYS[k] === undefined) return r.fail(`a meta key (${Object.keys(META_KEYS).join(", ")})`);
      r.take();
      return { kind: "meta", key: k };
    }
    return { kind: "meta", key: r.take() };
  },
  type(e) {
    const t = META_KEYS[e.key]?.type;
    return t === undefined ? undefined : [t];
  },
  print(e) {
    return PRINT_BARE.has(e.key) ? e.key : `meta ${e.key}`;
  },
};
