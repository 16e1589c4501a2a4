/**
 * `-j NETMAP --to NET/LEN`: 1:1 address mapping of one network onto another, keeping the
 * host part. Rewrites the destination in PREROUTING/OUTPUT and the source in
 * POSTROUTING/INPUT. nat table only.
 */
import ipaddr from "ipaddr.js";
import type { TargetExtension } from "../types.js";
import { parseAddress } from "../../syntax/address.js";
import { canonicalAddress } from "./TPROXY.js";

export interface NetmapData {
  /** Network address, host bits cleared. */
  address: string;
  prefixLength: number;
}

/** (addr & ~mask) | (net & mask), byte by byte. */
function mapAddress(addr: string, d: NetmapData): string {
  const a = ipaddr.parse(addr).toByteArray();
  const n = ipaddr.parse(d.address).toByteArray();
  const out = a.map((b, i) => {
    const bits = Math.max(0, Math.min(8, d.prefixLength - i * 8));
    const m = (0xff << (8 - bits)) & 0xff;
    return (b & ~m & 0xff) | (n[i]! & m);
  });
  const r = ipaddr.fromByteArray(out);
  return r.kind() === "ipv6" ? (r as ipaddr.IPv6).toRFC5952String() : r.toString();
}

export const NETMAP: TargetExtension<NetmapData> = {
  type: "target",
  name: "NETMAP",
  needsConntrack: true,
  tables: ["nat"],
  options: [{ flags: ["--to"], args: 1 }],
  parse(options, ctx, span) {
    if (options.length > 1) return void ctx.error(options[1]!.span, "NETMAP: --to given more than once");
    const o = options[0];
    if (!o) return void ctx.error(span, "NETMAP: --to is required", "--to ADDRESS[/MASK]");
    const r = parseAddress(o.values[0] ?? "", ctx.family);
    if (!r.ok) return void ctx.error(o.span, "NETMAP: bad --to", r.expected, o.values[0]);
    // iptables turns a mask with holes into a silent /32 (measured); refuse it instead.
    if (r.value.prefixLength === null) return void ctx.error(o.span, "NETMAP: the mask must be contiguous", "ADDRESS/LEN", o.values[0]);
    return { address: r.value.address, prefixLength: r.value.prefixLength };
  },
  save(d) {
    return ` --to ${d.address}/${d.prefixLength}`;
  },
  print(d) {
    return ` to:${d.address}/${d.prefixLength}`;
  },
  parsePrint(s, ctx) {
    const m = s.match(/to:([0-9a-fA-F:.]+)\/(\d+)(?=\s|$)/);
    if (!m) return undefined;
    const address = canonicalAddress(m[1]!, ctx.family);
    const len = Number(m[2]);
    if (!address || len > (ctx.family === "ipv4" ? 32 : 128)) return undefined;
    return { address, prefixLength: len };
  },
  apply(d, env, fx) {
    const p = env.packet;
    const dnat = env.hook === "PREROUTING" || env.hook === "OUTPUT";
    const addr = mapAddress(dnat ? p.dst : p.src, d);
    fx.nat(dnat ? "dnat" : "snat", { addr }, `NETMAP to ${d.address}/${d.prefixLength}`);
    return { verdict: "ACCEPT" };
  },
};
