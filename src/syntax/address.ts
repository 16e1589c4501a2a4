/** `-s`/`-d` values as iptables reads them: network/mask with host bits cleared. */
import ipaddr from "ipaddr.js";
import type { AddressMatch, Family } from "../model/ast.js";

export type AddressParse = { ok: true; value: Omit<AddressMatch, "negated"> } | { ok: false; expected: string };

function prefixFromMask(bytes: number[]): number | null {
  let len = 0;
  let seenZero = false;
  for (const b of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      if ((b >> bit) & 1) {
        if (seenZero) return null;
        len++;
      } else seenZero = true;
    }
  }
  return len;
}

function maskBytes(prefix: number, total: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < total; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out.push(bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function applyMask(addr: number[], mask: number[]): number[] {
  return addr.map((b, i) => b & mask[i]!);
}

/**
 * IPv6 text as iptables prints it (glibc inet_ntop): RFC 5952 compression, except that
 * IPv4-mapped and IPv4-compatible addresses end in a dotted quad (`::ffff:10.0.0.1`).
 */
export function ipv6Text(bytes: number[]): string {
  const zero10 = bytes.slice(0, 10).every((b) => b === 0);
  const tail = bytes.slice(12).join(".");
  if (zero10 && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${tail}`;
  if (zero10 && bytes[10] === 0 && bytes[11] === 0 && (bytes[12]! !== 0 || bytes[13]! !== 0)) return `::${tail}`;
  return (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

function toText(bytes: number[], family: Family): string {
  if (family === "ipv4") return bytes.join(".");
  return ipv6Text(bytes);
}

/** Dotted-quad bytes without leading zeros or junk, as iptables' inet_aton-free parser wants. */
function ipv4Bytes(s: string): number[] | undefined {
  const out: number[] = [];
  let n = -1;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (n < 0 || n > 255) return undefined;
      out.push(n);
      n = -1;
    } else if (c >= 48 && c <= 57) {
      n = n < 0 ? c - 48 : n * 10 + (c - 48);
      if (n > 255) return undefined;
    } else return undefined;
  }
  return out.length === 4 ? out : undefined;
}

/** The common case, `A.B.C.D[/N]`, without going through ipaddr.js. */
function parseIpv4Fast(text: string): Omit<AddressMatch, "negated"> | undefined {
  const slash = text.indexOf("/");
  const bytes = ipv4Bytes(slash < 0 ? text : text.slice(0, slash));
  if (!bytes) return undefined;
  let prefix = 32;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^[0-9]{1,2}$/.test(p) || Number(p) > 32) return undefined;
    prefix = Number(p);
  }
  const net = applyMask(bytes, maskBytes(prefix, 4));
  return { address: net.join("."), prefixLength: prefix, mask: null };
}

/** Parses one `ADDR[/MASK]` (no hostnames: dumps are numeric). */
export function parseAddress(text: string, family: Family): AddressParse {
  if (family === "ipv4") {
    const fast = parseIpv4Fast(text);
    if (fast) return { ok: true, value: fast };
  }
  const slash = text.indexOf("/");
  const host = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  const expectedAddr = family === "ipv4" ? "an IPv4 address[/mask]" : "an IPv6 address[/prefix]";
  let bytes: number[];
  try {
    if (family === "ipv4") {
      if (!ipaddr.IPv4.isValidFourPartDecimal(host)) return { ok: false, expected: expectedAddr };
      bytes = ipaddr.IPv4.parse(host).toByteArray();
    } else {
      if (!ipaddr.IPv6.isValid(host)) return { ok: false, expected: expectedAddr };
      bytes = ipaddr.IPv6.parse(host).toByteArray();
    }
  } catch {
    return { ok: false, expected: expectedAddr };
  }
  const total = bytes.length;
  let mask: number[];
  if (maskText === undefined) mask = maskBytes(total * 8, total);
  else if (/^[0-9]+$/.test(maskText)) {
    const p = Number(maskText);
    if (p > total * 8) return { ok: false, expected: `a prefix length 0-${total * 8}` };
    mask = maskBytes(p, total);
  } else if (family === "ipv4" && ipaddr.IPv4.isValidFourPartDecimal(maskText)) {
    mask = ipaddr.IPv4.parse(maskText).toByteArray();
  } else if (family === "ipv6" && ipaddr.IPv6.isValid(maskText)) {
    mask = ipaddr.IPv6.parse(maskText).toByteArray();
  } else return { ok: false, expected: "a mask (prefix length or dotted)" };
  const prefix = prefixFromMask(mask);
  const net = applyMask(bytes, mask);
  return {
    ok: true,
    value: {
      address: toText(net, family),
      prefixLength: prefix,
      mask: prefix === null ? toText(mask, family) : null,
    },
  };
}

/** How iptables-save writes an address match (`10.1.0.0/16`, `10.0.0.0/255.0.255.0`). */
export function addressText(a: Pick<AddressMatch, "address" | "prefixLength" | "mask">): string {
  return a.prefixLength !== null ? `${a.address}/${a.prefixLength}` : `${a.address}/${a.mask}`;
}

/** True for `0.0.0.0/0` and `::/0`, which iptables drops from the rule. */
export function isAnyAddress(a: Pick<AddressMatch, "prefixLength">): boolean {
  return a.prefixLength === 0;
}
