/**
 * nftables datatypes as nft 1.0.6 names them (`nft describe`, src/datatype.c, meta.c, ct.c,
 * proto.c): how a word of the input becomes a value, and how a value prints back, as `nft list
 * ruleset` prints it (and as `-n` prints it: symbols become numbers). A constant's value is a
 * number for integer and symbolic types, a canonical string for addresses and names.
 *
 * Checked against nft 1.0.6 in a netns: symbolic values print by their first name in the
 * symbol table (`pkttype 0` is `host`, not `unicast`); bitmasks print their bits' names in
 * table order joined by commas (`ct state invalid,established,related,new,untracked`); with `-n`
 * a bitmask prints each bit in hex (`0x2,0x4`), dscp as `0x08`, ecn as `0x3`, ether type as
 * `0x0800`, other symbolic types in decimal; marks print as `0x%08x` always.
 */
import { protocolName, protocolNumber } from "../extensions/protocols.js";
import { servicePort } from "../extensions/services.js";
import { addressFamily, canonicalAddress, inetAton, iptablesIpv6Text, ipToBigInt, ipToNum, ipv4Text } from "../model/address.js";
import type { NftConst, NftExpr, NftOp } from "../model/nft.js";

export type NftValue = number | bigint | string;

export interface PrintOptions {
  /** `nft -n`: symbols, protocols, times and priorities as numbers. */
  numeric?: boolean;
  /** `nft -p`: layer 4 protocols as numbers. */
  numericProto?: boolean;
  /** `nft -T`: times as seconds. */
  numericTime?: boolean;
}

/** Whether times print as seconds (`-n` or `-T`). */
export function numericTime(o: PrintOptions): boolean {
  return o.numeric === true || o.numericTime === true;
}

export interface NftDatatype {
  name: string;
  /** Bits of the value on the wire (what a concatenation or `typeof` key takes). */
  bits: number;
  /** An implicit match against it means "any of these bits" (`ct state established,related`). */
  bitmask?: boolean;
  /** Read one word (quotes, if any, already removed by `parseConst`). An error says what was expected. */
  parse(word: string): NftValue | { error: string };
  print(value: NftValue, opts: PrintOptions): string;
}

// ---------------------------------------------------------------------------------------------
// Builders.

/** Values whose canonical form is their printing (addresses, verdicts). */
function printAsIs(value: NftValue): string {
  return String(value);
}

/**
 * An integer as nft reads one (asked of nft 1.0.6 in a namespace: test/kernel/number-spellings.test.ts):
 * `0x50` is hex, a leading zero with octal digits only is octal (`010` is 8), and any other run
 * of digits is decimal (`09` and `0789` are 9 and 789).
 */
function parseUnsigned(word: string, bits: number): number | bigint | undefined {
  if (!/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(word)) return undefined;
  const big = /^0[0-7]+$/.test(word) ? BigInt("0o" + word.slice(1)) : BigInt(word);
  if (big >= 1n << BigInt(bits)) return undefined;
  return bits > 53 && big > BigInt(Number.MAX_SAFE_INTEGER) ? big : Number(big);
}

function hex(value: NftValue, width: number): string {
  const h = typeof value === "string" ? value : value.toString(16);
  return "0x" + h.padStart(width, "0");
}

function integerType(name: string, bits: number, format: "dec" | "hex" = "dec", hexWidth = 0): NftDatatype {
  return {
    name,
    bits,
    parse(word) {
      const v = parseUnsigned(word, bits);
      return v === undefined ? { error: `a number of ${bits} bits` } : v;
    },
    print(value) {
      return format === "hex" ? hex(value, hexWidth) : String(value);
    },
  };
}

/**
 * A type whose values have names. `numericFormat` is how `-n` (and a value without a name)
 * prints: decimal, or hex padded to `hexWidth` digits.
 */
function symbolType(
  name: string,
  bits: number,
  symbols: ReadonlyArray<readonly [string, number]>,
  opts: { hexWidth?: number; quoted?: boolean; caseless?: boolean } = {},
): NftDatatype & { symbols: ReadonlyArray<readonly [string, number]> } {
  const byName = new Map<string, number>();
  for (const [s, v] of symbols) if (!byName.has(opts.caseless ? s.toLowerCase() : s)) byName.set(opts.caseless ? s.toLowerCase() : s, v);
  const byValue = new Map<number, string>();
  for (const [s, v] of symbols) if (!byValue.has(v)) byValue.set(v, s);
  const numeric = (v: NftValue): string => (opts.hexWidth !== undefined ? hex(v, opts.hexWidth) : String(v));
  return {
    name,
    bits,
    symbols,
    parse(word) {
      const hit = byName.get(opts.caseless ? word.toLowerCase() : word);
      if (hit !== undefined) return hit;
      const v = parseUnsigned(word, bits);
      if (v !== undefined) return v;
      return { error: `a ${name} (${symbols.map(([s]) => s).slice(0, 8).join(", ")}${symbols.length > 8 ? ", ..." : ""}) or a number` };
    },
    print(value, p) {
      if (!p.numeric && typeof value === "number") {
        const s = byValue.get(value);
        if (s !== undefined) return opts.quoted ? `"${s}"` : s;
      }
      return numeric(value);
    },
  };
}

/** A set of named bits. Printed as its bits' names in table order (`-n`: each bit in hex). */
function bitmaskType(name: string, bits: number, symbols: ReadonlyArray<readonly [string, number]>): NftDatatype {
  const sym = symbolType(name, bits, symbols);
  return {
    name,
    bits,
    bitmask: true,
    parse: sym.parse,
    print(value, p) {
      if (typeof value !== "number") return String(value);
      if (value === 0) return p.numeric ? "0x0" : (symbols.find(([, v]) => v === 0)?.[0] ?? "0x0");
      const parts: string[] = [];
      let rest = value;
      for (const [s, v] of symbols) {
        if (v !== 0 && (rest & v) === v && !parts.includes(s)) {
          parts.push(p.numeric ? hex(v, 0) : s);
          rest &= ~v;
        }
      }
      // Bits without a name print as one hex number after the named ones.
      if (rest !== 0) parts.push(hex(rest >>> 0, 0));
      return parts.join(",");
    },
  };
}

function stringType(name: string, bits: number): NftDatatype {
  return {
    name,
    bits,
    parse(word) {
      return word;
    },
    print(value) {
      return `"${String(value)}"`;
    },
  };
}

/**
 * `iif "lo"`: an interface index, which nft prints by its name when the interface exists. A
 * bare number is an index (`fib saddr . iif oif 0`, and how `-n` lists `oif missing`).
 */
const ifaceIndexType: NftDatatype = {
  name: "iface_index",
  bits: 32,
  parse(word) {
    return /^[0-9]+$/.test(word) ? Number(word) : word;
  },
  print(value) {
    return typeof value === "number" ? String(value) : `"${value}"`;
  },
};

// ---------------------------------------------------------------------------------------------
// Addresses.

const ipv4Addr: NftDatatype = {
  name: "ipv4_addr",
  bits: 32,
  parse(word) {
    const n = nftIpv4(word);
    return n === undefined ? { error: "an IPv4 address" } : ipv4Text(n);
  },
  print: printAsIs,
};

/**
 * An IPv4 address as nft reads one (asked of nft 1.0.6 in a namespace:
 * test/kernel/number-spellings.test.ts). Four dotted groups of up to three digits, each read
 * as inet_aton reads it (`010.0.0.1` is 8.0.0.1; `10.0.0.09` is no address, and nft goes on to
 * look it up as a host name, which a ruleset file cannot count on); or one integer, read as
 * nft reads integers (`167772161` and `0x0a000001` are 10.0.0.1, `010` is 0.0.0.8). nft's
 * scanner does not take `10.1` as an address at all.
 */
function nftIpv4(word: string): number | undefined {
  // Most addresses are written as nft lists them: the strict reader takes those at once.
  const n = ipToNum(word, "ipv4") as number | undefined;
  if (n !== undefined) return n;
  if (/^(?:[0-9]{1,3}\.){3}[0-9]{1,3}$/.test(word)) return inetAton(word);
  // A leading zero before a digit that is not octal (`08`) is no integer here: nft looks it up as a host.
  if (/^0[0-7]*[89]/.test(word)) return undefined;
  const v = parseUnsigned(word, 32);
  return typeof v === "number" ? v : undefined;
}

const ipv6Addr: NftDatatype = {
  name: "ipv6_addr",
  bits: 128,
  parse(word) {
    // nft accepts IPv6 addresses in brackets too (`[::1]:80` in nat statements).
    const w = word.startsWith("[") && word.endsWith("]") ? word.slice(1, -1) : word;
    return addressFamily(w) === "ipv6" ? canonicalAddress(w, "ipv6") : { error: "an IPv6 address" };
  },
  // nft prints with inet_ntop: IPv4-mapped addresses end in a dotted quad (`::ffff:1.2.3.4`).
  print(value) {
    const n = ipToNum(String(value), "ipv6");
    return typeof n === "object" ? iptablesIpv6Text(n) : String(value);
  },
};

const etherAddr: NftDatatype = {
  name: "ether_addr",
  bits: 48,
  parse(word) {
    return /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(word)
      ? word.split(":").map((b) => b.toLowerCase().padStart(2, "0")).join(":")
      : { error: "an ethernet address (six hex bytes separated by colons)" };
  },
  print: printAsIs,
};

// ---------------------------------------------------------------------------------------------
// Protocols and services (names from netfate's own tables, so output does not depend on the machine).

const inetProto: NftDatatype = {
  name: "inet_proto",
  bits: 8,
  parse(word) {
    const n = protocolNumber(word);
    return n === undefined ? { error: "a protocol name or number 0-255" } : n;
  },
  print(value, p) {
    return p.numeric || p.numericProto || typeof value !== "number" ? String(value) : protocolName(value);
  },
};

const inetService: NftDatatype = {
  name: "inet_service",
  bits: 16,
  parse(word) {
    const v = parseUnsigned(word, 16);
    if (v !== undefined) return v;
    const n = servicePort(word);
    return n === undefined ? { error: "a port number 0-65535 or a service name" } : n;
  },
  // nft 1.0.6 prints ports as numbers unless asked for names (`-S`).
  print: printAsIs,
};

/** Units of byte amounts (quota, limit rates). */
export const BYTE_UNITS: Readonly<Record<string, number>> = Object.assign(Object.create(null) as object, {
  bytes: 1, kbytes: 1024, mbytes: 1024 * 1024, gbytes: 1024 * 1024 * 1024,
});

// ---------------------------------------------------------------------------------------------
// Times.

const TIME_UNITS: ReadonlyArray<readonly [string, number]> = [["d", 86400000], ["h", 3600000], ["m", 60000], ["s", 1000], ["ms", 1]];

/** `1d2h3m4s5ms` → milliseconds (nft's time_parse); a bare number is seconds. */
export function parseDuration(word: string): number | undefined {
  if (/^[0-9]+$/.test(word)) return Number(word) * 1000;
  const re = /([0-9]+)(ms|d|h|m|s)/gy;
  let total = 0;
  let at = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(word)) !== null) {
    total += Number(m[1]) * TIME_UNITS.find(([u]) => u === m![2])![1];
    at = re.lastIndex;
  }
  return at === word.length && at > 0 ? total : undefined;
}

/** Milliseconds as nft prints a time (`1h2m3s`, `500ms`, `0s`; `-n`: whole seconds, `3600s`). */
export function printDuration(ms: number, numeric = false): string {
  if (numeric) return `${Math.floor(ms / 1000)}s`;
  if (ms === 0) return "0s";
  let out = "";
  let rest = ms;
  for (const [u, n] of TIME_UNITS) {
    const q = Math.floor(rest / n);
    if (q > 0) out += `${q}${u}`;
    rest -= q * n;
  }
  return out;
}

const timeType: NftDatatype = {
  name: "time",
  bits: 64,
  parse(word) {
    const v = parseDuration(word);
    return v === undefined ? { error: "a time such as 10s, 1h30m or 500ms" } : v;
  },
  print(value, p) {
    return printDuration(Number(value), numericTime(p));
  },
};

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"].map((d, i) => [d, i] as const);

/** `meta hour "10:00"`: seconds since midnight. */
const hourType: NftDatatype = {
  name: "hour",
  bits: 32,
  parse(word) {
    const m = /^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$/.exec(word);
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) return { error: "an hour as HH:MM or HH:MM:SS" };
    return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0);
  },
  print(value) {
    const v = Number(value);
    const hh = String(Math.floor(v / 3600)).padStart(2, "0");
    const mm = String(Math.floor((v % 3600) / 60)).padStart(2, "0");
    const ss = v % 60;
    return `"${hh}:${mm}${ss ? ":" + String(ss).padStart(2, "0") : ""}"`;
  },
};

/**
 * `meta time "2024-01-01 00:00:00"`: seconds since the epoch. nft reads and prints it in the
 * local time zone of the machine it runs on; netfate reads and prints it as UTC.
 */
const dateType: NftDatatype = {
  name: "date",
  bits: 64,
  parse(word) {
    const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?: ([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?$/.exec(word);
    if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)) / 1000;
    const v = parseUnsigned(word, 64);
    return v === undefined ? { error: "a date as \"YYYY-MM-DD HH:MM:SS\" or seconds since the epoch" } : Number(v);
  },
  print(value) {
    const d = new Date(Number(value) * 1000);
    const p = (n: number): string => String(n).padStart(2, "0");
    return `"${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}"`;
  },
};

// ---------------------------------------------------------------------------------------------
// Verdicts (a map's value type; the verdict expression itself is read by the parser).

const verdictType: NftDatatype = {
  name: "verdict",
  bits: 32,
  parse(word) {
    return ["accept", "drop", "continue", "return", "queue"].includes(word) ? word : { error: "a verdict (accept, drop, continue, return, jump CHAIN, goto CHAIN)" };
  },
  print: printAsIs,
};

/** `meta priority 1:2`: a tc class handle, `major:minor` in hex; `none` and `root` by name. */
const classidType: NftDatatype = {
  name: "classid",
  bits: 32,
  parse(word) {
    if (word === "none") return 0;
    if (word === "root") return 0xffffffff;
    const m = /^([0-9a-fA-F]{1,4}):([0-9a-fA-F]{0,4})$/.exec(word);
    if (!m) return { error: "a class handle MAJOR:MINOR (hex), none or root" };
    return ((parseInt(m[1]!, 16) << 16) | parseInt(m[2] || "0", 16)) >>> 0;
  },
  print(value) {
    const v = Number(value);
    if (v === 0) return "none";
    if (v === 0xffffffff) return "root";
    return `${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}`;
  },
};

// ---------------------------------------------------------------------------------------------
// The table.

const ICMP_TYPES: ReadonlyArray<readonly [string, number]> = [
  ["echo-reply", 0], ["destination-unreachable", 3], ["source-quench", 4], ["redirect", 5], ["echo-request", 8],
  ["router-advertisement", 9], ["router-solicitation", 10], ["time-exceeded", 11], ["parameter-problem", 12],
  ["timestamp-request", 13], ["timestamp-reply", 14], ["info-request", 15], ["info-reply", 16],
  ["address-mask-request", 17], ["address-mask-reply", 18],
];

const ICMPV6_TYPES: ReadonlyArray<readonly [string, number]> = [
  ["destination-unreachable", 1], ["packet-too-big", 2], ["time-exceeded", 3], ["parameter-problem", 4],
  ["echo-request", 128], ["echo-reply", 129], ["mld-listener-query", 130], ["mld-listener-report", 131],
  ["mld-listener-done", 132], ["mld-listener-reduction", 132], ["nd-router-solicit", 133], ["nd-router-advert", 134],
  ["nd-neighbor-solicit", 135], ["nd-neighbor-advert", 136], ["nd-redirect", 137], ["router-renumbering", 138],
  ["ind-neighbor-solicit", 141], ["ind-neighbor-advert", 142], ["mld2-listener-report", 143],
];

const ICMP_CODES: ReadonlyArray<readonly [string, number]> = [
  ["net-unreachable", 0], ["host-unreachable", 1], ["prot-unreachable", 2], ["port-unreachable", 3],
  ["frag-needed", 4], ["net-prohibited", 9], ["host-prohibited", 10], ["admin-prohibited", 13],
];

const ICMPV6_CODES: ReadonlyArray<readonly [string, number]> = [
  ["no-route", 0], ["admin-prohibited", 1], ["addr-unreachable", 3], ["port-unreachable", 4],
  ["policy-fail", 5], ["reject-route", 6],
];

const ICMPX_CODES: ReadonlyArray<readonly [string, number]> = [
  ["port-unreachable", 1], ["admin-prohibited", 3], ["no-route", 0], ["host-unreachable", 2],
];

const DSCP: ReadonlyArray<readonly [string, number]> = [
  ["cs0", 0], ["cs1", 8], ["cs2", 16], ["cs3", 24], ["cs4", 32], ["cs5", 40], ["cs6", 48], ["cs7", 56],
  ["df", 0], ["be", 0], ["lephb", 1], ["af11", 10], ["af12", 12], ["af13", 14], ["af21", 18], ["af22", 20],
  ["af23", 22], ["af31", 26], ["af32", 28], ["af33", 30], ["af41", 34], ["af42", 36], ["af43", 38],
  ["va", 44], ["ef", 46],
];

const TYPES: NftDatatype[] = [
  integerType("integer", 32),
  // nft's xinteger: an integer printed in hex, what raw payload (`@ll,0,8 0x5`) compares with.
  integerType("xinteger", 128, "hex", 0),
  stringType("string", 128),
  stringType("ifname", 128),
  ifaceIndexType,
  integerType("mark", 32, "hex", 8),
  ipv4Addr,
  ipv6Addr,
  etherAddr,
  inetProto,
  inetService,
  symbolType("ether_type", 16, [["ip", 0x0800], ["arp", 0x0806], ["ip6", 0x86dd], ["8021q", 0x8100], ["8021ad", 0x88a8], ["vlan", 0x8100]], { hexWidth: 4 }),
  symbolType("nf_proto", 8, [["ipv4", 2], ["ipv6", 10]]),
  symbolType("pkttype", 8, [["host", 0], ["unicast", 0], ["broadcast", 1], ["multicast", 2], ["other", 3]]),
  bitmaskType("ct_state", 32, [["invalid", 1], ["established", 2], ["related", 4], ["new", 8], ["untracked", 64]]),
  bitmaskType("ct_status", 32, [["expected", 1], ["seen-reply", 2], ["assured", 4], ["confirmed", 8], ["snat", 16], ["dnat", 32], ["dying", 512]]),
  symbolType("ct_dir", 8, [["original", 0], ["reply", 1]]),
  integerType("ct_label", 128, "hex", 0),
  bitmaskType("tcp_flag", 8, [["fin", 1], ["syn", 2], ["rst", 4], ["psh", 8], ["ack", 16], ["urg", 32], ["ecn", 64], ["cwr", 128]]),
  symbolType("icmp_type", 8, ICMP_TYPES),
  symbolType("icmp_code", 8, ICMP_CODES),
  symbolType("icmpv6_type", 8, ICMPV6_TYPES),
  symbolType("icmpv6_code", 8, ICMPV6_CODES),
  symbolType("icmpx_code", 8, ICMPX_CODES),
  symbolType("igmp_type", 8, [["membership-query", 0x11], ["membership-report-v1", 0x12], ["membership-report-v2", 0x16], ["membership-report-v3", 0x22], ["leave-group", 0x17]]),
  symbolType("fib_addrtype", 32, [
    ["unspec", 0], ["unicast", 1], ["local", 2], ["broadcast", 3], ["anycast", 4], ["multicast", 5],
    ["blackhole", 6], ["unreachable", 7], ["prohibit", 8],
  ]),
  symbolType("boolean", 1, [["exists", 1], ["missing", 0]]),
  symbolType("dscp", 6, DSCP, { hexWidth: 2 }),
  symbolType("ecn", 2, [["not-ect", 0], ["ect1", 1], ["ect0", 2], ["ce", 3]], { hexWidth: 1 }),
  symbolType("arp_op", 16, [["request", 1], ["reply", 2], ["rrequest", 3], ["rreply", 4], ["inrequest", 8], ["inreply", 9], ["nak", 10]]),
  symbolType("iface_type", 16, [["ether", 1], ["ppp", 512], ["ipip", 768], ["ipip6", 769], ["loopback", 772], ["sit", 776], ["ipgre", 778]]),
  symbolType("day", 8, DAYS, { quoted: true, caseless: true }),
  hourType,
  dateType,
  timeType,
  integerType("uid", 32),
  integerType("gid", 32),
  symbolType("devgroup", 32, [["default", 0]]),
  integerType("realm", 32),
  integerType("cgroupv2", 64),
  classidType,
  verdictType,
  // Map values naming stateful objects (`type ipv4_addr : quota`, `typeof ip saddr : ct helper`).
  ...["counter", "quota", "limit", "secmark", "synproxy", "ct helper", "ct timeout", "ct expectation"].map((n) => stringType(n, 128)),
];

const BY_NAME = new Map<string, NftDatatype>(TYPES.map((t) => [t.name, t]));

export function datatype(name: string): NftDatatype | undefined {
  return BY_NAME.get(name);
}

/** Whether an implicit match against the type means "any of these bits" (ct_state, ct_status, tcp_flag). */
export function isBitmaskType(type: string): boolean {
  return BY_NAME.get(type)?.bitmask === true;
}

/** The bits a value of the type takes, or undefined for an unknown type. */
export function typeBits(type: string): number | undefined {
  return BY_NAME.get(type)?.bits;
}

/** `"eth0"` → `eth0`, with nft's escapes of a quote undone. */
function unquote(word: string): { text: string; quoted: boolean } {
  if (word.length >= 2 && word.startsWith('"') && word.endsWith('"')) return { text: word.slice(1, -1).replace(/\\"/g, '"'), quoted: true };
  return { text: word, quoted: false };
}

/**
 * A word of the input as a constant of the datatype `type` (as nft names it), or an error
 * saying what was expected. Quoted words have their quotes removed first; an interface name
 * ending in an unescaped `*` is a wildcard.
 */
export function parseConst(type: string, word: string): NftConst | string {
  const t = BY_NAME.get(type);
  if (!t) return `an unknown datatype ${JSON.stringify(type)}`;
  const { text } = unquote(word);
  if (t.name === "ifname" && text.endsWith("*") && !text.endsWith("\\*")) {
    return { kind: "const", type, value: text.slice(0, -1), wildcard: true };
  }
  // A bitmask word may list several bits: `established,related`, `syn|ack`.
  if (t.bitmask && /[,|]/.test(text)) {
    let acc = 0;
    for (const part of text.split(/[,|]/)) {
      const v = t.parse(part.trim());
      if (typeof v === "object") return `${v.error}, found ${JSON.stringify(part)}`;
      acc |= Number(v);
    }
    return { kind: "const", type, value: acc >>> 0 };
  }
  const v = t.parse(text);
  if (typeof v === "object") return `${v.error}, found ${JSON.stringify(text)}`;
  const c: NftConst = { kind: "const", type, value: v };
  return c;
}

/**
 * Why nft refuses `lo-hi` as a range, if it does: a range of interface names, or one whose low
 * end is above its high end ("Range has zero or negative size"; a range of one value is taken).
 * Integers and addresses compare as numbers. Asked of nft 1.0.6 in a namespace
 * (test/kernel/number-spellings.test.ts).
 */
export function rangeRefusal(lo: NftConst, hi: NftConst): string | undefined {
  if (lo.type === "ifname" || hi.type === "ifname") return "nft has no ranges of interface names";
  // A reversed hour or day range is taken as a relation's value (asNftLoadsIt), not in a set.
  if (WRAPPING.has(lo.type)) return undefined;
  const a = orderable(lo), b = orderable(hi);
  if (typeof a === "string" || typeof b === "string" || a <= b) return undefined;
  return REVERSED_RANGE;
}

/** What nft says of a range whose low end is above its high end, where it takes none. */
export const REVERSED_RANGE = "the range has zero or negative size (its low end is above its high end): nft refuses it";

const WRAPPING: ReadonlySet<string> = new Set(["hour", "day"]);

/** A `meta hour`/`meta day` range whose low end is above its high end (`"17:00"-"09:00"`). */
export function isReversedWrappingRange(e: NftExpr): boolean {
  return e.kind === "range" && WRAPPING.has(e.lo.type) && orderable(e.lo) > orderable(e.hi);
}

/**
 * A relation whose value is a reversed hour or day range, as nft loads it: the range the other
 * way round and the relation inverted (`meta hour "17:00"-"09:00"` is `meta hour != "09:00"-"17:00"`,
 * so 17:00 and 09:00 themselves are outside it; `meta day != "Saturday"-"Sunday"` is every day).
 * nft lists it so; asked of nft 1.0.6 (test/unit/nft-ranges.test.ts). Any other relation as it is.
 */
export function asNftLoadsIt(op: NftOp, right: NftExpr): { op: NftOp; right: NftExpr } {
  if (right.kind !== "range" || (op !== "implicit" && op !== "==" && op !== "!=") || !isReversedWrappingRange(right)) return { op, right };
  return { op: op === "!=" ? "implicit" : "!=", right: { kind: "range", lo: right.hi, hi: right.lo } };
}

/** A constant as a number when it is one or an address; other strings as they are. */
function orderable(c: NftConst): number | bigint | string {
  const v = c.value;
  if (typeof v !== "string") return v;
  const t = BY_NAME.get(c.type);
  if (t === ipv4Addr || t === ipv6Addr) {
    const n = ipToNum(v, t === ipv4Addr ? "ipv4" : "ipv6");
    if (n !== undefined) return typeof n === "number" ? n : ipToBigInt(n);
  }
  return v;
}

/** A constant as nft prints it (`-n`: numerically). Unknown types print their value bare. */
export function printConst(c: NftConst, opts: PrintOptions = {}): string {
  const t = BY_NAME.get(c.type);
  if (c.wildcard) return `"${String(c.value)}*"`;
  if (!t) return typeof c.value === "string" ? c.value : String(c.value);
  return t.print(c.value, opts);
}
