/**
 * `-j DNPT` and `-j SNPT` (ip6tables, mangle): stateless IPv6-to-IPv6 network prefix
 * translation (RFC 6296). The kernel rewrites the prefix and adjusts the interface
 * identifier so checksums stay valid; it refuses prefixes longer than /64 or with host bits.
 */
import ipaddr from "ipaddr.js";
import type { RawOption } from "../../model/ast.js";
import type { BindContext, TargetExtension } from "../types.js";
import { collectOptions, parseUnsigned } from "../util.js";
import { listingPattern } from "../listing-scanner.js";
import { canonicalOf, compareIp, ipToNum, networkOf } from "../../model/address.js";

export interface NptData {
  srcPrefix: string;
  srcLength: number;
  dstPrefix: string;
  dstLength: number;
}

function prefixOf(o: RawOption, ctx: BindContext, name: string): { addr: string; len: number } | undefined {
  const text = o.values[0] ?? "";
  const m = /^([^/]+)(?:\/(.*))?$/.exec(text);
  const addr = m && !m[1]!.includes("%") ? canonicalOf(m[1]!, "ipv6") : undefined;
  if (!m || addr === undefined) return void ctx.error(o.span, `${name}: bad ${o.flag}`, "an IPv6 prefix such as 2001:db8:1::/48", text);
  const len = m[2] === undefined ? 128 : prefixLength(m[2]);
  if (len === undefined) return void ctx.error(o.span, `${name}: bad ${o.flag}`, "an IPv6 prefix such as 2001:db8:1::/48", text);
  if (len === "non-contiguous") return void ctx.error(o.span, `${name}: ${text} has a non-contiguous mask; the kernel refuses it`, "/0 to /64", text);
  // Checks of the kernel's ip6t_npt_checkentry (measured: "Invalid argument").
  if (len > 64) return void ctx.error(o.span, `${name}: the kernel refuses a prefix longer than /64`, "/0 to /64", text);
  const n = ipToNum(addr, "ipv6")!;
  if (compareIp(networkOf(n, len, "ipv6"), n) !== 0) return void ctx.error(o.span, `${name}: ${text} has bits set past /${len}; the kernel refuses it`, "a prefix with host bits zero", text);
  return { addr, len };
}

/**
 * The length after the slash as libxtables reads a host/mask (XTTYPE_HOSTMASK): a number as
 * strtoul base 0 takes it (so /040 is /32 and /0x20 too), else a mask written as an address.
 * Asked of ip6tables 1.8.9: /ffff:ffff:: is /32; /ffff:0:ffff:: passes --test and the kernel
 * refuses it.
 */
function prefixLength(text: string): number | "non-contiguous" | undefined {
  const n = parseUnsigned(text, 128);
  if (n !== undefined) return n;
  if (!ipaddr.IPv6.isValid(text) || text.includes("%")) return undefined;
  return ipaddr.IPv6.parse(text).prefixLengthFromSubnetMask() ?? "non-contiguous";
}

/** DNPT and SNPT differ only in name and hooks. */
export function nptTarget(name: "DNPT" | "SNPT"): TargetExtension<NptData> {
  const target: TargetExtension<NptData> = {
    type: "target",
    name,
    families: ["ipv6"],
    tables: ["mangle"],
    options: [
      { flags: ["--src-pfx"], args: 1 },
      { flags: ["--dst-pfx"], args: 1 },
    ],
    parse(options, ctx, span) {
      const o = collectOptions(target.options, options, ctx, name);
      const src = o.get("--src-pfx");
      const dst = o.get("--dst-pfx");
      if (!src || !dst) return void ctx.error(span, `${name}: option "${src ? "--dst-pfx" : "--src-pfx"}" must be specified`, "--src-pfx PREFIX/LEN --dst-pfx PREFIX/LEN");
      const s = prefixOf(src, ctx, name);
      const d = prefixOf(dst, ctx, name);
      if (!s || !d) return undefined;
      return { srcPrefix: s.addr, srcLength: s.len, dstPrefix: d.addr, dstLength: d.len };
    },
    save(d) {
      // libxt_NPT leaves out a prefix that is ::/0.
      return (d.srcPrefix !== "::" || d.srcLength !== 0 ? ` --src-pfx ${d.srcPrefix}/${d.srcLength}` : "")
        + (d.dstPrefix !== "::" || d.dstLength !== 0 ? ` --dst-pfx ${d.dstPrefix}/${d.dstLength}` : "");
    },
    print(d) {
      return ` ${name} src-pfx ${d.srcPrefix}/${d.srcLength} dst-pfx ${d.dstPrefix}/${d.dstLength}`;
    },
    parsePrint(s) {
      const m = s.match(listingPattern(`${name} src-pfx ([0-9a-f:.]+)/(\\d+) dst-pfx ([0-9a-f:.]+)/(\\d+)(?=\\s|$)`));
      const srcPrefix = m ? canonicalOf(m[1]!, "ipv6") : undefined;
      const dstPrefix = m ? canonicalOf(m[3]!, "ipv6") : undefined;
      if (!m || !srcPrefix || !dstPrefix) return undefined;
      return { srcPrefix, srcLength: Number(m[2]), dstPrefix, dstLength: Number(m[4]) };
    },
    apply(d) {
      // The checksum-neutral rewrite of the interface identifier is not modelled.
      const which = name === "SNPT" ? "source" : "destination";
      return { indeterminate: `${name}: the ${which} prefix ${d.srcPrefix}/${d.srcLength} becomes ${d.dstPrefix}/${d.dstLength} with a checksum-neutral host part, which netfate does not compute` };
    },
  };
  return target;
}

export const DNPT = nptTarget("DNPT");
