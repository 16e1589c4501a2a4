/** Addresses as numbers, so a 100k-rule walk compares integers, not strings. */
import ipaddr from "ipaddr.js";
import type { Family } from "../model/ast.js";

/** IPv4 as one unsigned 32-bit number; IPv6 as four. */
export type IpNum = number | readonly [number, number, number, number];

/**
 * A dotted quad (`10.96.0.10`: four decimal parts 0-255, no leading zeros) as a number, or
 * undefined. Hand-scanned: it runs on every routing decision of every packet.
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

export function ipToNum(ip: string, family: Family): IpNum | undefined {
  if (family === "ipv4") return dottedQuad(ip);
  try {
    if (!ipaddr.IPv6.isValid(ip)) return undefined;
    const p = ipaddr.IPv6.parse(ip).parts;
    return [((p[0]! << 16) | p[1]!) >>> 0, ((p[2]! << 16) | p[3]!) >>> 0, ((p[4]! << 16) | p[5]!) >>> 0, ((p[6]! << 16) | p[7]!) >>> 0];
  } catch {
    return undefined;
  }
}

export function maskFromPrefix(prefix: number, family: Family): IpNum {
  const word = (bits: number) => (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0);
  if (family === "ipv4") return word(prefix);
  return [word(prefix), word(prefix - 32), word(prefix - 64), word(prefix - 96)];
}

export interface NetTest {
  net: IpNum;
  mask: IpNum;
  negated: boolean;
}

export function inNet(ip: IpNum, t: { net: IpNum; mask: IpNum }): boolean {
  if (typeof ip === "number") return ((ip & (t.mask as number)) >>> 0) === t.net;
  const m = t.mask as readonly number[];
  const n = t.net as readonly number[];
  for (let i = 0; i < 4; i++) if (((ip[i]! & m[i]!) >>> 0) !== n[i]) return false;
  return true;
}

/** A stable key for exact-address indexes. */
export function ipKey(ip: IpNum): string | number {
  return typeof ip === "number" ? ip : ip.join(":");
}
