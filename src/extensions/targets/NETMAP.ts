/**
 * `-j NETMAP --to NET/LEN`: 1:1 address mapping of one network onto another, keeping the
 * host part. Rewrites the destination in PREROUTING/OUTPUT and the source in
 * POSTROUTING/INPUT. nat table only.
 */
import type { Family } from "../../model/ast.js";
import type { TargetExtension } from "../types.js";
import { applyMask, canonicalOf, hostMaskLengthProblem, ipToNum, maskFromPrefix, numText, parseHostMask, prefixOfMask, ruleText, withNetwork } from "../../model/address.js";

export interface NetmapData {
  /** Network address, host bits cleared. */
  address: string;
  prefixLength: number;
}

/** The address moved into the --to network, keeping its host part; undefined if it is not of the family. */
function mapAddress(addr: string, d: NetmapData, family: Family): string | undefined {
  const a = ipToNum(addr, family);
  const to = ipToNum(d.address, family);
  if (a === undefined || to === undefined) return undefined;
  return numText(withNetwork(a, to, maskFromPrefix(d.prefixLength, family)));
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
    // The option parser's host-and-mask type: `--to 10.1/24` is 10.0.0.1/24, printed as its network.
    const r = parseHostMask(o.values[0] ?? "", ctx.family);
    if (!r) return void ctx.error(o.span, `NETMAP: ${hostMaskLengthProblem(o.values[0] ?? "", ctx.family) ?? "bad --to"}`, `a numeric ${ctx.family === "ipv4" ? "IPv4" : "IPv6"} address[/mask]`, o.values[0]);
    const prefixLength = prefixOfMask(r.mask);
    // iptables turns a mask with holes into a silent /32 (measured); refuse it instead.
    if (prefixLength === null) return void ctx.error(o.span, "NETMAP: the mask must be contiguous", "ADDRESS/LEN", o.values[0]);
    return { address: ruleText(applyMask(r.address, r.mask)), prefixLength };
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
    const address = canonicalOf(m[1]!, ctx.family);
    const len = Number(m[2]);
    if (!address || len > (ctx.family === "ipv4" ? 32 : 128)) return undefined;
    return { address, prefixLength: len };
  },
  apply(d, env, fx) {
    const p = env.packet;
    const dnat = env.hook === "PREROUTING" || env.hook === "OUTPUT";
    const addr = mapAddress(dnat ? p.dst : p.src, d, p.family);
    if (addr === undefined) return { indeterminate: `NETMAP: ${dnat ? p.dst : p.src} is not an ${p.family} address` };
    fx.nat(dnat ? "dnat" : "snat", { addr }, `NETMAP to ${d.address}/${d.prefixLength}`);
    return { verdict: "ACCEPT" };
  },
};
