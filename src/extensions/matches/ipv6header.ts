/**
 * `-m ipv6header [!] --header LIST [--soft]` (IPv6 only): which extension headers the packet
 * has — exactly these, or with `--soft` at least these. iptables stores a bit mask, so the
 * list is printed back in the mask's order with /etc/protocols names (`frag,hop-by-hop` →
 * `hop-by-hop,ipv6-frag`), and `-nL` prints the mask (`flags:0x90`). Checked with ip6tables 1.8.9.
 */
import type { MatchExtension } from "../types.js";
import { protocolNumber } from "../protocols.js";

export interface Ipv6headerData {
  negated: boolean;
  /** The kernel's mask: 0x80 hop-by-hop ... 0x01 upper-layer protocol. */
  flags: number;
  soft: boolean;
}

/** Header protocol number, mask bit and printed name, in the order iptables prints them. */
const HEADERS: ReadonlyArray<readonly [number, number, string]> = [
  [0, 0x80, "hop-by-hop"],
  [60, 0x40, "ipv6-opts"],
  [43, 0x20, "ipv6-route"],
  [44, 0x10, "ipv6-frag"],
  [51, 0x08, "ah"],
  [50, 0x04, "esp"],
  [59, 0x02, "ipv6-nonxt"],
  [255, 0x01, "protocol"],
];

/** libip6t_ipv6header's own names, tried after /etc/protocols. */
const OWN_NAMES = new Map<string, number>([
  ["hop-by-hop", 0], ["protocol", 255], ["hop", 0], ["dst", 60], ["route", 43], ["frag", 44],
  ["auth", 51], ["esp", 50], ["none", 59], ["prot", 255],
]);

function headerNumber(name: string): number | undefined {
  return OWN_NAMES.get(name) ?? (name === "hopopt" ? 0 : protocolNumber(name));
}

export function headerNames(flags: number): string {
  return HEADERS.filter(([, bit]) => flags & bit).map(([, , n]) => n).join(",");
}

export const ipv6header: MatchExtension<Ipv6headerData> = {
  type: "match",
  name: "ipv6header",
  reads: () => [],
  families: ["ipv6"],
  printPrefixes: ["ipv6header"],
  options: [
    { flags: ["--header"], args: 1, negatable: true },
    { flags: ["--soft"], args: 0 },
  ],
  parse(options, ctx, span) {
    const o = options.find((x) => x.flag === "--header");
    if (!o) return void ctx.error(span, "ipv6header: --header is required", "--header LIST");
    let flags = 0;
    for (const name of (o.values[0] ?? "").split(",").filter((x) => x !== "")) {
      const n = headerNumber(name);
      if (n === undefined) return void ctx.error(o.span, `ipv6header: unknown header \`${name}' specified`, [...OWN_NAMES.keys()].join(", "), name);
      const h = HEADERS.find(([p]) => p === n);
      if (!h) return void ctx.error(o.span, `ipv6header: unknown header \`${n}' specified`, "an IPv6 extension header or `protocol`", name);
      flags |= h[1];
    }
    if (flags === 0) return void ctx.error(o.span, "ipv6header: cannot parse header names", "a comma-separated list of headers", o.values[0]);
    return { negated: o.negated, flags, soft: options.some((x) => x.flag === "--soft") };
  },
  save(d) {
    return `${d.negated ? " !" : ""} --header ${headerNames(d.flags)}${d.soft ? " --soft" : ""}`;
  },
  print(d, ctx) {
    const list = ctx.numeric ? "0x" + d.flags.toString(16).toUpperCase().padStart(2, "0") : headerNames(d.flags);
    return ` ipv6header flags:${d.negated ? "!" : ""}${list}${d.soft ? " soft" : ""}`;
  },
  parsePrint(s) {
    const m = s.match(/ipv6header flags:(!?)(0x[0-9A-F]{2}|[a-z0-9,-]+)( soft)?(?= |$)/);
    if (!m) return undefined;
    let flags = 0;
    if (m[2]!.startsWith("0x")) flags = parseInt(m[2]!.slice(2), 16);
    else {
      for (const n of m[2]!.split(",")) {
        const h = HEADERS.find(([, , name]) => name === n);
        if (!h) return undefined;
        flags |= h[1];
      }
    }
    return { negated: m[1] === "!", flags, soft: m[3] !== undefined };
  },
  evaluate(d, env) {
    const p = env.packet;
    // What the packet fields show: a fragment has a fragment header, ESP is the last header
    // the kernel can see, and any other non-extension protocol is the upper-layer header.
    const present = (p.fragment ? 0x10 : 0) | (p.proto === 50 ? 0x04 : 0) | (HEADERS.some(([n]) => n === p.proto) ? 0 : 0x01);
    if (d.soft && (present & d.flags) === d.flags) return !d.negated;
    return { indeterminate: `ipv6header: the packet's IPv6 extension headers are not given (the rule asks for ${d.soft ? "at least" : "exactly"} ${headerNames(d.flags)})` };
  },
};
