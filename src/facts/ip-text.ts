/**
 * Addresses as text: which family a string is an address of (strictly: four decimal parts
 * for IPv4, no zone index for IPv6), and its canonical spelling, so that a fact, a route and
 * a packet naming one address in two spellings still agree.
 */
import ipaddr from "ipaddr.js";
import type { Family } from "../model/ast.js";

export function addressFamily(text: string): Family | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return "ipv4";
  if (text.includes(":") && !text.includes("%") && ipaddr.IPv6.isValid(text)) return "ipv6";
  return undefined;
}

export function canonicalAddress(text: string, family: Family): string {
  return family === "ipv4" ? ipaddr.IPv4.parse(text).toString() : ipaddr.IPv6.parse(text).toRFC5952String();
}

/** `ADDR` or `ADDR/LEN` with LEN within the family's bits; an error saying what is wrong otherwise. */
export function parseCidr(text: string): { address: string; prefixLength: number; family: Family } | string {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = addressFamily(addr);
  if (!family) return `${JSON.stringify(addr)} is not an IPv4 or IPv6 address`;
  const max = family === "ipv4" ? 32 : 128;
  if (slash < 0) return { address: canonicalAddress(addr, family), prefixLength: max, family };
  const len = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) return `prefix length ${JSON.stringify(len)} of ${addr} is not 0-${max}`;
  return { address: canonicalAddress(addr, family), prefixLength: Number(len), family };
}

/** A link-layer address as ip prints it: hex bytes separated by colons (`link/ether 52:54:00:8e:1a:11`). */
export function isLinkAddress(text: string): boolean {
  return /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/.test(text);
}

/** An Ethernet MAC address, six hex bytes. */
export function isEthernetAddress(text: string): boolean {
  return /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(text);
}
