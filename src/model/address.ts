/**
 * IP addresses and networks, the one place that reads, writes and computes with them: the
 * readers (rules, listings, facts, packets, ipsets), the extensions and the evaluator all use it.
 *
 * Two representations. Text is what inputs and outputs carry. For comparison an address is an
 * `IpNum`: IPv4 one unsigned 32-bit number, IPv6 four (most significant first), so a 100k-rule
 * walk compares integers and allocates nothing for IPv4. IPv4 is read by hand (it runs on every
 * rule and routing decision of every packet); IPv6 and the odd spellings go through ipaddr.js.
 */
import ipaddr from "ipaddr.js";
import type { AddressMatch, Family } from "./ast.js";

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

function ipv6Words(a: ipaddr.IPv6): [number, number, number, number] {
  const p = a.parts;
  return [((p[0]! << 16) | p[1]!) >>> 0, ((p[2]! << 16) | p[3]!) >>> 0, ((p[4]! << 16) | p[5]!) >>> 0, ((p[6]! << 16) | p[7]!) >>> 0];
}

/** An address of the family as a number: strict dotted quad for IPv4, anything ipaddr.js reads for IPv6. */
export function ipToNum(ip: string, family: Family): IpNum | undefined {
  if (family === "ipv4") return dottedQuad(ip);
  try {
    if (!ipaddr.IPv6.isValid(ip)) return undefined;
    return ipv6Words(ipaddr.IPv6.parse(ip));
  } catch {
    return undefined;
  }
}

/** Which family a string is an address of: four decimal parts for IPv4, IPv6 without a zone index. */
export function addressFamily(text: string): Family | undefined {
  if (dottedQuad(text) !== undefined) return "ipv4";
  if (text.includes(":") && !text.includes("%") && ipaddr.IPv6.isValid(text)) return "ipv6";
  return undefined;
}

/**
 * The canonical spelling of an address of the family (RFC 5952 for IPv6), so that a fact, a
 * route and a packet naming one address in two spellings agree. The text must be one
 * (`addressFamily`); `canonicalOf` checks.
 */
export function canonicalAddress(text: string, family: Family): string {
  // A dotted quad that passed the strict check is its own canonical text.
  return family === "ipv4" ? text : ipaddr.IPv6.parse(text).toRFC5952String();
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
 * `A.B.C.D` as iptables' own parser takes it on the fast path: decimal parts 0-255, leading
 * zeros allowed (unlike `dottedQuad`); undefined for anything else.
 */
function ruleDottedQuad(s: string, end: number): number | undefined {
  let out = 0;
  let parts = 0;
  let n = -1;
  for (let i = 0; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (n < 0 || parts === 4) return undefined;
      out = out * 256 + n;
      parts++;
      n = -1;
    } else if (c >= 48 && c <= 57) {
      n = n < 0 ? c - 48 : n * 10 + (c - 48);
      if (n > 255) return undefined;
    } else return undefined;
  }
  return parts === 4 ? out : undefined;
}

/** The common case, `A.B.C.D[/N]`, without going through ipaddr.js or allocating arrays. */
function parseIpv4Fast(text: string): Omit<AddressMatch, "negated"> | undefined {
  const slash = text.indexOf("/");
  const n = ruleDottedQuad(text, slash < 0 ? text.length : slash);
  if (n === undefined) return undefined;
  let prefix = 32;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^[0-9]{1,2}$/.test(p) || Number(p) > 32) return undefined;
    prefix = Number(p);
  }
  return { address: ipv4Text((n & maskWord(prefix)) >>> 0), prefixLength: prefix, mask: null };
}

function ruleText(n: IpNum): string {
  return typeof n === "number" ? ipv4Text(n) : iptablesIpv6Text(n);
}

/** Parses one `-s`/`-d` value, `ADDR[/MASK]`, as iptables reads it: host bits cleared (no hostnames: dumps are numeric). */
export function parseAddress(text: string, family: Family): AddressParse {
  if (family === "ipv4") {
    const fast = parseIpv4Fast(text);
    if (fast) return { ok: true, value: fast };
  }
  const slash = text.indexOf("/");
  const host = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  const expectedAddr = family === "ipv4" ? "an IPv4 address[/mask]" : "an IPv6 address[/prefix]";
  const addr = ipToNum(host, family);
  if (addr === undefined) return { ok: false, expected: expectedAddr };
  const total = familyBits(family);
  let mask: IpNum;
  if (maskText === undefined) mask = maskFromPrefix(total, family);
  else if (/^[0-9]+$/.test(maskText)) {
    const p = Number(maskText);
    if (p > total) return { ok: false, expected: `a prefix length 0-${total}` };
    mask = maskFromPrefix(p, family);
  } else {
    const m = ipToNum(maskText, family);
    if (m === undefined) return { ok: false, expected: "a mask (prefix length or dotted)" };
    mask = m;
  }
  const prefix = prefixOfMask(mask);
  return {
    ok: true,
    value: { address: ruleText(applyMask(addr, mask)), prefixLength: prefix, mask: prefix === null ? ruleText(mask) : null },
  };
}

/** How iptables-save writes an address match (`10.1.0.0/16`, `10.0.0.0/255.0.255.0`). */
export function addressText(a: Pick<AddressMatch, "address" | "prefixLength" | "mask">): string {
  return a.prefixLength !== null ? `${a.address}/${a.prefixLength}` : `${a.address}/${a.mask}`;
}
