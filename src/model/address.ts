/**
 * IP addresses and networks, the one place that reads, writes and computes with them: the
 * readers (rules, listings, facts, packets, ipsets), the extensions and the evaluator all use it.
 *
 * Two representations. Text is what inputs and outputs carry. For comparison an address is an
 * `IpNum`: IPv4 one unsigned 32-bit number, IPv6 four (most significant first), so a 100k-rule
 * walk compares integers and allocates nothing for IPv4. IPv4 is read by hand (it runs on every
 * rule and routing decision of every packet), IPv6 as glibc's inet_pton does (inetPton6); ipaddr.js
 * only writes IPv6 text.
 */
import ipaddr from "ipaddr.js";
import type { AddressMatch, Family } from "./ast.js";
import { cNumber } from "./c-number.js";

/** IPv4 as one unsigned 32-bit number; IPv6 as four. */
export type IpNum = number | readonly [number, number, number, number];

/** A network to test an address against; `negated` for `! -s`. */
export interface NetTest {
  net: IpNum;
  mask: IpNum;
  negated: boolean;
}

/** The address length of the family in bits, the longest prefix it has. */
export function familyBits(family: Family): 32 | 128 {
  return family === "ipv4" ? 32 : 128;
}

// ---------- reading ----------

/**
 * A dotted quad (`10.96.0.10`: four decimal parts 0-255, no leading zeros) as a number, or
 * undefined. Exactly what ipaddr.js's `IPv4.isValidFourPartDecimal` accepts (test/unit/address.test.ts).
 */
function dottedQuad(ip: string): number | undefined {
  let n = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || parts === 4) return undefined;
      n = n * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else return undefined;
  }
  return parts === 4 ? n : undefined;
}

/**
 * An address of the family as a number: strict dotted quad for IPv4, what inet_pton reads for
 * IPv6 (not ipaddr.js, which reads `::1.2.3.4` as `::ffff:1.2.3.4`).
 */
export function ipToNum(ip: string, family: Family): IpNum | undefined {
  return family === "ipv4" ? dottedQuad(ip) : inetPton6(ip);
}

/** A multicast address, 224.0.0.0/4 or ff00::/8, read as a number (`ff::1` is 00ff::1, not one). */
export function isMulticastAddress(ip: string, family: Family): boolean {
  const n = ipToNum(ip, family);
  if (n === undefined) return false;
  return typeof n === "number" ? n >>> 28 === 14 : n[0] >>> 24 === 0xff;
}

/** Which family a string is an address of: four decimal parts for IPv4, IPv6 without a zone index. */
export function addressFamily(text: string): Family | undefined {
  if (dottedQuad(text) !== undefined) return "ipv4";
  if (text.includes(":") && inetPton6(text) !== undefined) return "ipv6";
  return undefined;
}

/**
 * The canonical spelling of an address of the family (RFC 5952 for IPv6), so that a fact, a
 * route and a packet naming one address in two spellings agree. The text must be one
 * (`addressFamily`); `canonicalOf` checks.
 */
export function canonicalAddress(text: string, family: Family): string {
  // A dotted quad that passed the strict check is its own canonical text.
  return family === "ipv4" ? text : ipv6FromWords(inetPton6(text)!).toRFC5952String();
}

/** `canonicalAddress` of a text that is an address of the family, else undefined. */
export function canonicalOf(text: string, family: Family): string | undefined {
  return addressFamily(text) === family ? canonicalAddress(text, family) : undefined;
}

/** `ADDR` or `ADDR/LEN` with LEN within the family's bits; an error saying what is wrong otherwise. */
export function parseCidr(text: string): { address: string; prefixLength: number; family: Family } | string {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = addressFamily(addr);
  if (!family) return `${JSON.stringify(addr)} is not an IPv4 or IPv6 address`;
  const max = familyBits(family);
  if (slash < 0) return { address: canonicalAddress(addr, family), prefixLength: max, family };
  const len = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) return `prefix length ${JSON.stringify(len)} of ${addr} is not 0-${max}`;
  return { address: canonicalAddress(addr, family), prefixLength: Number(len), family };
}

// ---------- writing ----------

export function ipv4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function ipv6FromWords(w: readonly number[]): ipaddr.IPv6 {
  return new ipaddr.IPv6([w[0]! >>> 16, w[0]! & 0xffff, w[1]! >>> 16, w[1]! & 0xffff, w[2]! >>> 16, w[2]! & 0xffff, w[3]! >>> 16, w[3]! & 0xffff]);
}

/** The canonical text of a number (as `canonicalAddress` spells it). */
export function numText(n: IpNum): string {
  return typeof n === "number" ? ipv4Text(n) : ipv6FromWords(n).toRFC5952String();
}

/**
 * IPv6 text as iptables prints it (glibc inet_ntop): RFC 5952 compression, except that
 * IPv4-mapped and IPv4-compatible addresses end in a dotted quad (`::ffff:10.0.0.1`).
 */
export function iptablesIpv6Text(w: readonly number[]): string {
  const tail = ipv4Text(w[3]!);
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return `::ffff:${tail}`;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3]! >>> 16 !== 0) return `::${tail}`;
  return ipv6FromWords(w).toRFC5952String();
}

// ---------- networks ----------

function maskWord(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

export function maskFromPrefix(prefix: number, family: Family): IpNum {
  if (family === "ipv4") return maskWord(prefix);
  return [maskWord(prefix), maskWord(prefix - 32), maskWord(prefix - 64), maskWord(prefix - 96)];
}

/** The prefix length of a contiguous mask, or null for one with holes (`255.0.255.0`). */
export function prefixOfMask(mask: IpNum): number | null {
  const words = typeof mask === "number" ? [mask] : mask;
  let len = 0;
  let seenZero = false;
  for (const w of words) {
    for (let bit = 31; bit >= 0; bit--) {
      if ((w >>> bit) & 1) {
        if (seenZero) return null;
        len++;
      } else seenZero = true;
    }
  }
  return len;
}

/** The address with the bits outside the mask cleared. */
export function applyMask(n: IpNum, mask: IpNum): IpNum {
  if (typeof n === "number") return (n & (mask as number)) >>> 0;
  const m = mask as readonly number[];
  return [(n[0] & m[0]!) >>> 0, (n[1] & m[1]!) >>> 0, (n[2] & m[2]!) >>> 0, (n[3] & m[3]!) >>> 0];
}

/** The network address of `n/prefix`. */
export function networkOf(n: IpNum, prefix: number, family: Family): IpNum {
  return applyMask(n, maskFromPrefix(prefix, family));
}

/** The last address of the IPv4 network `n/prefix` (its broadcast address below /31). */
export function ipv4LastOf(n: number, prefix: number): number {
  return (n | ~maskWord(prefix)) >>> 0;
}

/** Whether the address is in the network; `net` has no bits outside `mask`. */
export function inNet(ip: IpNum, t: { net: IpNum; mask: IpNum }): boolean {
  if (typeof ip === "number") return ((ip & (t.mask as number)) >>> 0) === t.net;
  const m = t.mask as readonly number[];
  const n = t.net as readonly number[];
  for (let i = 0; i < 4; i++) if (((ip[i]! & m[i]!) >>> 0) !== n[i]) return false;
  return true;
}

/** Whether `ip` is in the network of `addr/prefix` (the address may carry host bits). */
export function netContains(addr: string, prefix: number, ip: string, family: Family): boolean {
  const a = ipToNum(addr, family);
  const b = ipToNum(ip, family);
  if (a === undefined || b === undefined) return false;
  const mask = maskFromPrefix(prefix, family);
  return inNet(b, { net: applyMask(a, mask), mask });
}

/** `addr & ~mask | to & mask`: the address moved into the network `to` keeping its host part (NETMAP). */
export function withNetwork(n: IpNum, to: IpNum, mask: IpNum): IpNum {
  if (typeof n === "number") return ((n & ~(mask as number)) | ((to as number) & (mask as number))) >>> 0;
  const t = to as readonly number[];
  const m = mask as readonly number[];
  const word = (i: number) => ((n[i]! & ~m[i]!) | (t[i]! & m[i]!)) >>> 0;
  return [word(0), word(1), word(2), word(3)];
}

/** Negative, zero or positive as `a` sorts before, with or after `b` (same family). */
export function compareIp(a: IpNum, b: IpNum): number {
  if (typeof a === "number") return a - (b as number);
  const bs = b as readonly number[];
  for (let i = 0; i < 4; i++) if (a[i] !== bs[i]) return a[i]! - bs[i]!;
  return 0;
}

export function isZeroIp(n: IpNum): boolean {
  return typeof n === "number" ? n === 0 : n.every((w) => w === 0);
}

/** The address as one integer, for arithmetic across word boundaries (one past a network's end). */
export function ipToBigInt(n: IpNum): bigint {
  if (typeof n === "number") return BigInt(n);
  return (BigInt(n[0]) << 96n) | (BigInt(n[1]) << 64n) | (BigInt(n[2]) << 32n) | BigInt(n[3]);
}

/** The address of an integer, or undefined when it is outside the family's range. */
export function bigIntToIp(n: bigint, family: Family): IpNum | undefined {
  if (n < 0n || n >= 1n << BigInt(familyBits(family))) return undefined;
  if (family === "ipv4") return Number(n);
  const word = (shift: bigint) => Number((n >> shift) & 0xffffffffn);
  return [word(96n), word(64n), word(32n), word(0n)];
}

/** The canonical text of the network `ADDR/LEN` names (host bits cleared); the address must be of the family. */
export function networkText(address: string, prefixLength: number, family: Family): string | undefined {
  const n = ipToNum(address, family);
  return n === undefined ? undefined : numText(networkOf(n, prefixLength, family));
}

/** A stable key for exact-address indexes. */
export function ipKey(ip: IpNum): string | number {
  return typeof ip === "number" ? ip : ip.join(":");
}

// ---------- iptables -s/-d ----------

export type AddressParse = { ok: true; value: Omit<AddressMatch, "negated"> } | { ok: false; expected: string };

/**
 * The common spelling, `A.B.C.D[/N]` in plain decimal (no leading zeros: those are octal to
 * iptables), read without going through the general path or allocating; undefined for anything else.
 */
function parseIpv4Fast(text: string): Omit<AddressMatch, "negated"> | undefined {
  const slash = text.indexOf("/");
  const end = slash < 0 ? text.length : slash;
  let out = 0;
  let parts = 0;
  let n = -1;
  for (let i = 0; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (n < 0 || parts === 4) return undefined;
      out = out * 256 + n;
      parts++;
      n = -1;
    } else if (c >= 48 && c <= 57) {
      if (n === 0) return undefined;
      n = n < 0 ? c - 48 : n * 10 + (c - 48);
      if (n > 255) return undefined;
    } else return undefined;
  }
  if (parts !== 4) return undefined;
  let prefix = 32;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(p)) return undefined;
    prefix = Number(p);
  }
  return { address: ipv4Text((out & maskWord(prefix)) >>> 0), prefixLength: prefix, mask: null };
}

/**
 * A numeric IPv4 address as libxtables reads one (`xtables_numeric_to_ipaddr`): up to four
 * dot-separated base-0 numbers 0-255 (`010` is 8, `0x0a` is 10), missing trailing parts zero
 * (`10.1` is 10.1.0.0, unlike inet_aton); only the first 19 characters are read (its buffer).
 * As a mask (`asMask`) all four parts are needed.
 */
export function xtablesIpv4(text: string, asMask = false): number | undefined {
  const parts = (text.length > 19 ? text.slice(0, 19) : text).split(".");
  if (parts.length > 4 || (asMask && parts.length < 4)) return undefined;
  let n = 0;
  for (let i = 0; i < 4; i++) {
    const v = i < parts.length ? cNumber(parts[i]!, 255) : 0;
    if (v === undefined) return undefined;
    n = n * 256 + v;
  }
  return n;
}

function hexGroup(g: string): number | undefined {
  return /^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : undefined;
}

/**
 * An IPv6 address as glibc's inet_pton reads it (what ip6tables takes): groups of one to four
 * hex digits, at most one `::` standing for at least one zero group, and an optional dotted
 * quad (decimal, no leading zeros) as the last 32 bits. No zone index.
 */
export function inetPton6(text: string): [number, number, number, number] | undefined {
  const gap = text.indexOf("::");
  if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) return undefined;
  const split = (s: string) => (s === "" ? [] : s.split(":"));
  const h = sixteenBitWords(split(gap < 0 ? text : text.slice(0, gap)), gap < 0);
  const t = gap < 0 ? [] : sixteenBitWords(split(text.slice(gap + 2)), true);
  if (!h || !t || (gap < 0 ? h.length !== 8 : h.length + t.length > 7)) return undefined;
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return [((all[0]! << 16) | all[1]!) >>> 0, ((all[2]! << 16) | all[3]!) >>> 0, ((all[4]! << 16) | all[5]!) >>> 0, ((all[6]! << 16) | all[7]!) >>> 0];
}

/** The 16-bit words of IPv6 groups; with `quadLast`, the last group may be a dotted quad (two words). */
function sixteenBitWords(groups: readonly string[], quadLast: boolean): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (quadLast && i === groups.length - 1 && g.includes(".")) {
      const q = dottedQuad(g);
      if (q === undefined) return undefined;
      out.push(q >>> 16, q & 0xffff);
    } else {
      const v = hexGroup(g);
      if (v === undefined) return undefined;
      out.push(v);
    }
  }
  return out;
}

/** A numeric host address of the family as iptables reads it (xtablesIpv4, inetPton6). */
export function xtablesHost(text: string, family: Family): IpNum | undefined {
  return family === "ipv4" ? xtablesIpv4(text) : inetPton6(text);
}

/**
 * An IPv4 address as glibc's inet_aton reads it, which getaddrinfo uses for numeric hosts (the
 * option parser's host types: TPROXY `--on-ip`, recent `--mask`, conntrack `--ctorigdst`,
 * NETMAP `--to`): one to four base-0 parts, the last filling the remaining bytes (`10.1` is
 * 10.0.0.1, `167772161` and `0x0a000001` are 10.0.0.1), each part at least one digit.
 */
export function inetAton(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length > 4) return undefined;
  let n = 0;
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    const room = last ? 2 ** (8 * (4 - i)) - 1 : 255;
    const v = cNumber(parts[i]!, room);
    if (v === undefined) return undefined;
    n = last ? n * 2 ** (8 * (4 - i)) + v : n * 256 + v;
  }
  return n;
}

/** A numeric host as the option parser's host type reads it: inetAton for IPv4, inetPton6 for IPv6. */
export function optionHost(text: string, family: Family): IpNum | undefined {
  return family === "ipv4" ? inetAton(text) : inetPton6(text);
}

/**
 * `HOST[/MASK]` as the option parser's host-and-mask type reads it (conntrack's addresses,
 * NETMAP): the host as optionHost reads it, host bits kept as written; after the first `/`, a
 * base-0 prefix length (`/031` is /25) or a dotted (IPv6) mask.
 */
export function parseHostMask(text: string, family: Family): { address: IpNum; mask: IpNum } | undefined {
  const slash = text.indexOf("/");
  const address = optionHost(slash < 0 ? text : text.slice(0, slash), family);
  if (address === undefined) return undefined;
  if (slash < 0) return { address, mask: maskFromPrefix(familyBits(family), family) };
  const m = text.slice(slash + 1);
  const bits = cNumber(m, familyBits(family));
  if (bits !== undefined) return { address, mask: maskFromPrefix(bits, family) };
  const dotted = m.includes(".") || m.includes(":") ? optionHost(m, family) : undefined;
  return dotted === undefined ? undefined : { address, mask: dotted };
}

/** An address as iptables prints it (dotted quad; IPv6 as glibc inet_ntop writes it). */
export function ruleText(n: IpNum): string {
  return typeof n === "number" ? ipv4Text(n) : iptablesIpv6Text(n);
}

/**
 * Parses one `-s`/`-d` value, `ADDR[/MASK]`, as libxtables does (`xtables_ipparse_multiple`
 * and its IPv6 twin): the mask after the last `/` is a dotted (or IPv6) mask or a base-0
 * prefix length; with a zero mask the address is not read at all (`anything/0`); the address
 * is numeric (xtablesHost); host bits are cleared. Host and network names are refused: the
 * tool resolves them when the rule is loaded, and a dump holds what they resolved to.
 */
export function parseAddress(text: string, family: Family): AddressParse {
  if (family === "ipv4") {
    const fast = parseIpv4Fast(text);
    if (fast) return { ok: true, value: fast };
  }
  const slash = text.lastIndexOf("/");
  const host = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  const total = familyBits(family);
  let mask: IpNum;
  if (maskText === undefined) mask = maskFromPrefix(total, family);
  else {
    const dotted = family === "ipv4" ? xtablesIpv4(maskText, true) : inetPton6(maskText);
    const bits = dotted === undefined ? cNumber(maskText, total) : undefined;
    if (dotted === undefined && bits === undefined) {
      return { ok: false, expected: /^[0-9]+$/.test(maskText) ? `a prefix length 0-${total}` : "a mask (prefix length or dotted)" };
    }
    mask = dotted ?? maskFromPrefix(bits!, family);
  }
  const addr = isZeroIp(mask) ? maskFromPrefix(0, family) : xtablesHost(host, family);
  if (addr === undefined) return { ok: false, expected: family === "ipv4" ? "an IPv4 address[/mask]" : "an IPv6 address[/prefix]" };
  const prefix = prefixOfMask(mask);
  return {
    ok: true,
    value: { address: ruleText(applyMask(addr, mask)), prefixLength: prefix, mask: prefix === null ? ruleText(mask) : null },
  };
}

/**
 * Why `HOST/N` with N above 32 is refused where iptables takes it (`--ctorigdst 1.2.3.4/33`,
 * NETMAP `--to`): iptables reads such a number as a mask address, inet_aton's 0.0.0.33; 1.8.9
 * then loads /32 (measured in a namespace), and later versions keep that mask. Which one loaded
 * the rule is not in the input; an iptables-save dump never holds the form.
 */
export function hostMaskLengthProblem(text: string, family: Family): string | undefined {
  const slash = text.indexOf("/");
  if (family !== "ipv4" || slash < 0) return undefined;
  const m = text.slice(slash + 1);
  const n = cNumber(m, 0xffffffff);
  if (n === undefined || n <= 32 || optionHost(text.slice(0, slash), family) === undefined) return undefined;
  return `/${m} is no prefix length: iptables 1.8.9 loads it as /32, later versions as the mask ${ipv4Text(n)}; write the mask the rule means`;
}

/** parseHostMask as an address match: the host as written (bits outside the mask kept, as the tools print it). */
export function hostMaskMatch(text: string, family: Family): Omit<AddressMatch, "negated"> | undefined {
  const r = parseHostMask(text, family);
  if (!r) return undefined;
  const prefix = prefixOfMask(r.mask);
  return { address: ruleText(r.address), prefixLength: prefix, mask: prefix === null ? ruleText(r.mask) : null };
}

/** How iptables-save writes an address match (`10.1.0.0/16`, `10.0.0.0/255.0.255.0`). */
export function addressText(a: Pick<AddressMatch, "address" | "prefixLength" | "mask">): string {
  return a.prefixLength !== null ? `${a.address}/${a.prefixLength}` : `${a.address}/${a.mask}`;
}
