/**
 * `-j HMARK`: sets the packet mark to hash(selected tuple fields, rnd) % mod + offset, to
 * spread flows over marks (and routing tables). Every field is optional and stored the way
 * libxt_HMARK stores it: present or not, with `--hmark-tuple src,...` meaning full masks.
 */
import type { RawOption } from "../../model/ast.js";
import type { BindContext, PrintContext, TargetExtension } from "../types.js";
import { parseUnsigned } from "../util.js";
import { listingPattern } from "../listing-scanner.js";

export interface HmarkData {
  /** Address prefix lengths hashed; absent: the address is not part of the hash. */
  srcPrefix?: number;
  dstPrefix?: number;
  sportMask?: number;
  dportMask?: number;
  spiMask?: number;
  /** Values ORed into the ports / SPI before hashing. */
  sport?: number;
  dport?: number;
  spi?: number;
  protoMask?: number;
  rnd?: number;
  mod: number;
  offset?: number;
  /** Hash the conntrack tuple (both directions alike) instead of the packet's. */
  ct: boolean;
}

type Field = Exclude<keyof HmarkData, "ct" | "mod">;

/** Option → field, max value; the order is the one iptables-save prints them in. */
const NUMERIC: ReadonlyArray<readonly [string, Field | "mod", number]> = [
  ["--hmark-sport-mask", "sportMask", 0xffff], ["--hmark-dport-mask", "dportMask", 0xffff],
  ["--hmark-spi-mask", "spiMask", 0xffffffff], ["--hmark-sport", "sport", 0xffff], ["--hmark-dport", "dport", 0xffff],
  ["--hmark-spi", "spi", 0xffffffff], ["--hmark-proto-mask", "protoMask", 0xffff], ["--hmark-rnd", "rnd", 0xffffffff],
  ["--hmark-mod", "mod", 0xffffffff], ["--hmark-offset", "offset", 0xffffffff],
];

/** What each `--hmark-tuple` word turns on, and which explicit option it stands for. */
const TUPLE: Record<string, readonly [Field | "ct", string]> = {
  ct: ["ct", "--hmark-tuple ct"], src: ["srcPrefix", "--hmark-src-prefix"], dst: ["dstPrefix", "--hmark-dst-prefix"],
  sport: ["sportMask", "--hmark-sport-mask"], dport: ["dportMask", "--hmark-dport-mask"],
  proto: ["protoMask", "--hmark-proto-mask"], spi: ["spiMask", "--hmark-spi-mask"],
};

const hexN = (n: number, width: number) => "0x" + n.toString(16).padStart(width, "0");

function fullMask(f: Field, bits: number): number {
  if (f === "srcPrefix" || f === "dstPrefix") return bits;
  return f === "spiMask" ? 0xffffffff : 0xffff;
}

function tuple(o: RawOption, d: HmarkData, seen: Set<string>, bits: number, ctx: BindContext): boolean {
  for (const word of (o.values[0] ?? "").split(",")) {
    // libxt_HMARK compares case-insensitively and accepts a word's prefix ("s" is src).
    const key = word === "" ? undefined : Object.keys(TUPLE).find((k) => k.startsWith(word.toLowerCase()));
    if (!key) {
      ctx.error(o.span, `HMARK: bad type "${word}"`, Object.keys(TUPLE).join(", "), word);
      return false;
    }
    const [field, stands] = TUPLE[key]!;
    seen.add(stands);
    if (field === "ct") d.ct = true;
    else d[field] = fullMask(field, bits);
  }
  return true;
}

/**
 * `-L` prints an IPv6 prefix through xtables_ip6mask_to_numeric, which gives "" for /128:
 * `src-prefix  dst-prefix 64` (measured).
 */
function prefixes(d: HmarkData, dashes: string, listing6 = false): string {
  const len = (n: number) => (listing6 && n === 128 ? "" : String(n));
  return (d.srcPrefix !== undefined ? ` ${dashes}src-prefix ${len(d.srcPrefix)}` : "") + (d.dstPrefix !== undefined ? ` ${dashes}dst-prefix ${len(d.dstPrefix)}` : "");
}

export const HMARK: TargetExtension<HmarkData> = {
  type: "target",
  name: "HMARK",
  options: [
    { flags: ["--hmark-tuple"], args: 1 },
    { flags: ["--hmark-src-prefix"], args: 1 },
    { flags: ["--hmark-dst-prefix"], args: 1 },
    ...NUMERIC.map(([f]) => ({ flags: [f], args: 1 })),
  ],
  parse(options, ctx, span) {
    const bits = ctx.family === "ipv4" ? 32 : 128;
    const d: HmarkData = { mod: 0, ct: false };
    // libxt_HMARK counts a tuple word as having given the option it stands for, so
    // `--hmark-tuple src --hmark-src-prefix 24` is refused (measured), the other order is not.
    const seen = new Set<string>();
    for (const o of options) {
      if (seen.has(o.flag)) return void ctx.error(o.span, `HMARK: option "${o.flag}" can only be used once`);
      seen.add(o.flag);
      if (o.flag === "--hmark-tuple") {
        if (!tuple(o, d, seen, bits, ctx)) return undefined;
        continue;
      }
      if (o.flag === "--hmark-src-prefix" || o.flag === "--hmark-dst-prefix") {
        const n = parseUnsigned(o.values[0] ?? "", bits);
        if (n === undefined || !/^[0-9]+$/.test(o.values[0] ?? "")) return void ctx.error(o.span, `HMARK: bad value for ${o.flag}`, `a prefix length 0-${bits}`, o.values[0]);
        d[o.flag === "--hmark-src-prefix" ? "srcPrefix" : "dstPrefix"] = n;
        continue;
      }
      const [, field, max] = NUMERIC.find(([f]) => f === o.flag)!;
      const n = parseUnsigned(o.values[0] ?? "", max);
      if (n === undefined || (field === "mod" && n === 0)) {
        return void ctx.error(o.span, `HMARK: bad value for ${o.flag}`, `${field === "mod" ? 1 : 0}-${max}`, o.values[0]);
      }
      d[field] = n;
    }
    if (!seen.has("--hmark-mod")) return void ctx.error(span, "HMARK: --hmark-mod is mandatory", "--hmark-mod N");
    if (!seen.has("--hmark-rnd")) return void ctx.error(span, "HMARK: --hmark-rnd is mandatory", "--hmark-rnd N");
    if (d.spiMask !== undefined && (d.sportMask !== undefined || d.dportMask !== undefined)) {
      return void ctx.error(span, "HMARK: you cannot use --hmark-spi-mask and --hmark-?port-mask at the same time");
    }
    // Ports and SPI share one word in the kernel's struct.
    if (d.spi !== undefined && (d.sport !== undefined || d.dport !== undefined)) {
      return void ctx.error(span, "HMARK: --hmark-spi and --hmark-sport/--hmark-dport share one field; give one or the other");
    }
    const fields: Field[] = ["srcPrefix", "dstPrefix", "spiMask", "sportMask", "dportMask", "protoMask", "spi", "sport", "dport"];
    if (!d.ct && !fields.some((f) => d[f] !== undefined)) return void ctx.error(span, "HMARK: you have to specify --hmark-tuple at least", "--hmark-tuple src,dst,...");
    return d;
  },
  save(d) {
    let s = prefixes(d, "--hmark-");
    const widths: Partial<Record<Field | "mod", number>> = { sportMask: 4, dportMask: 4, spiMask: 8, sport: 4, dport: 4, spi: 8, protoMask: 2, rnd: 8 };
    for (const [flag, field] of NUMERIC) {
      const v = d[field];
      if (v === undefined) continue;
      const w = widths[field];
      s += ` ${flag} ${w === undefined ? v : hexN(v, w)}`;
    }
    return s + (d.ct ? " --hmark-tuple ct" : "");
  },
  print(d, ctx: PrintContext) {
    // libxt_HMARK ends every item with a space, so the text ends with one too.
    let s = " HMARK " + `mod ${d.mod} ` + (d.offset !== undefined ? `+ ${hexN(d.offset, 1)} ` : "") + (d.ct ? "ct, " : "");
    s += prefixes(d, "", ctx.family === "ipv6").slice(1) + (d.srcPrefix !== undefined || d.dstPrefix !== undefined ? " " : "");
    for (const [flag, field] of NUMERIC) {
      if (field === "mod" || field === "offset") continue;
      const v = d[field];
      if (v !== undefined) s += `${flag.slice("--hmark-".length)} ${hexN(v, 1)} `;
    }
    return s;
  },
  parsePrint(s, ctx) {
    if (!s.literal("HMARK")) return undefined;
    const mod = s.match(/mod (\d+)(?=\s|$)/);
    if (!mod) return undefined;
    const d: HmarkData = { mod: Number(mod[1]), ct: false };
    const off = s.match(/\+ (0x[0-9a-f]+)(?=\s|$)/);
    if (off) d.offset = parseUnsigned(off[1]!)!;
    d.ct = s.literal("ct,", false);
    const full = ctx.family === "ipv4" ? 32 : 128;
    const src = s.match(/src-prefix(?: (\d+))?(?=\s|$)/);
    if (src) d.srcPrefix = src[1] !== undefined ? Number(src[1]) : full;
    const dst = s.match(/dst-prefix(?: (\d+))?(?=\s|$)/);
    if (dst) d.dstPrefix = dst[1] !== undefined ? Number(dst[1]) : full;
    for (const [flag, field] of NUMERIC) {
      if (field === "mod" || field === "offset") continue;
      const m = s.match(listingPattern(`${flag.slice("--hmark-".length)} (0x[0-9a-f]+)(?=\\s|$)`));
      if (m) d[field] = parseUnsigned(m[1]!)!;
    }
    return d;
  },
  apply(d) {
    return { indeterminate: `HMARK: the mark is a jhash of the packet's tuple modulo ${d.mod}, which netfate does not compute` };
  },
};
