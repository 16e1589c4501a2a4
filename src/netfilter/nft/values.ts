/**
 * What an nft expression yields while a packet is evaluated: integers (ports, marks, bits and
 * addresses alike) as bigints, names (interfaces, helpers) as strings, a concatenation as the
 * list of its parts. One representation, so sets, maps and comparisons need one code path.
 */
import { ipToBigInt, ipToNum } from "../../model/address.js";
import type { NftConst } from "../../model/nft.js";

export type Scalar = bigint | string;
export type Val = Scalar | readonly Scalar[];

/** One value an expression may take where the input does not decide which: a chance, or (no probability) an alternative. */
export interface Choice {
  val: Val;
  label: string;
  probability?: number;
}

/**
 * An expression's result: a value; `absent` when the kernel cannot load it for this packet
 * (a TCP port of a UDP packet, the ct mark of an untracked one: the rule stops, NFT_BREAK);
 * indeterminate when the input does not say; `choose` when it is one of several values.
 */
export type XVal =
  | { val: Val }
  | { absent: string }
  /** `partial`: a bitmask whose other bits are known (ct status with ASSURED unsaid): a test of known bits only is still decided. */
  | { indeterminate: string; partial?: PartialBits }
  | { choose: readonly Choice[]; expr: object };

export interface PartialBits {
  bits: bigint;
  /** The bits not known (their value in `bits` means nothing). */
  unknown: bigint;
}

/** Datatypes whose implicit comparison means "any of these bits" (nft's bitmask types). */
export const BITMASK_TYPES: ReadonlySet<string> = new Set(["ct_state", "ct_status", "tcp_flag", "ct_event", "ct_label", "ipsec_flags", "fib_flags"]);

/** Address datatypes: their string values are read as numbers so prefixes and ranges apply. */
const ADDRESS_TYPES: ReadonlySet<string> = new Set(["ipv4_addr", "ipv6_addr", "inet_addr"]);

/** Datatypes whose string values are names, never addresses. */
const NAME_TYPES: ReadonlySet<string> = new Set(["ifname", "string", "iface_index", "ct_helper", "devgroup", "realm"]);

/** A constant as a scalar (addresses as numbers). */
export function constScalar(c: NftConst): Scalar {
  if (typeof c.value === "bigint") return c.value;
  // Read once per constant: a rule's constants are met by every packet that reaches it.
  let v = constScalars.get(c);
  if (v === undefined) constScalars.set(c, (v = readConst(c)));
  return v;
}

const constScalars = new WeakMap<NftConst, Scalar>();

function readConst(c: NftConst): Scalar {
  if (typeof c.value === "bigint") return c.value;
  if (typeof c.value === "number") return BigInt(Math.trunc(c.value));
  // An address, whatever datatype name the reader gave it (`ct original saddr` of an inet table...); names stay names.
  if (ADDRESS_TYPES.has(c.type) || (!NAME_TYPES.has(c.type) && /^[0-9.]+$|:/.test(c.value))) {
    const n = addressNum(c.value);
    if (n !== undefined) return n;
  }
  return c.value;
}

/**
 * `BigInt(n)` of a packet field (a port, a protocol, a mark): the values below 2^16 made once
 * each, as a packet's fields are read by rule after rule.
 */
export function fieldBig(n: number): bigint {
  // (n & 0xffff) === n: an integer from 0 to 65535, in one test.
  if ((n & 0xffff) === n) return (small[n] ??= BigInt(n));
  return BigInt(n);
}

const small: bigint[] = [];

/** An IPv4 or IPv6 address as a number, or undefined. */
export function addressNum(text: string): bigint | undefined {
  // A packet's two addresses are read again and again by one walk: the last two are at hand without hashing.
  if (text === recent[0]) return recentNum[0];
  if (text === recent[1]) return recentNum[1];
  let b = addressNums.get(text);
  if (b === undefined && !addressNums.has(text)) {
    const n = ipToNum(text, text.includes(":") ? "ipv6" : "ipv4");
    b = n === undefined ? undefined : ipToBigInt(n);
    // Bounded: a batch of many addresses never holds more than this many.
    if (addressNums.size >= 100_000) addressNums.clear();
    addressNums.set(text, b);
  }
  recent[1] = recent[0];
  recentNum[1] = recentNum[0];
  recent[0] = text;
  recentNum[0] = b;
  return b;
}

const recent: [string | undefined, string | undefined] = [undefined, undefined];
const recentNum: [bigint | undefined, bigint | undefined] = [undefined, undefined];

/** Addresses met before, as numbers: a packet's address is read by many rules. */
const addressNums = new Map<string, bigint | undefined>();

/** The bit width of a datatype, for prefixes of non-address types; undefined when unknown. */
export function typeBits(type: string, value?: string | number | bigint): number {
  if (type === "ipv4_addr") return 32;
  if (type === "ipv6_addr") return 128;
  if (typeof value === "string" && value.includes(":")) return 128;
  if (typeof value === "string" && value.includes(".")) return 32;
  if (type === "inet_service" || type === "ether_type") return 16;
  if (type === "inet_proto" || type === "nf_proto" || type === "pkt_type" || type === "icmp_type" || type === "icmpv6_type" || type === "icmp_code") return 8;
  return 32;
}

/** A hash key: equal values, equal keys. */
export function valKey(v: Val): string {
  if (typeof v === "bigint") return `n${v.toString(16)}`;
  if (typeof v === "string") return `s${v}`;
  return v.map(valKey).join("\u0001");
}

/** A value as a trace says it (addresses back in dotted or colon form where they look like one). */
export function valText(v: Val, hint?: "addr"): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return hint === "addr" ? addrText(v) : v.toString();
  return v.map((x) => valText(x)).join(" . ");
}

function addrText(n: bigint): string {
  if (n <= 0xffffffffn) return [24n, 16n, 8n, 0n].map((s) => ((n >> s) & 0xffn).toString()).join(".");
  const parts: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) parts.push(((n >> s) & 0xffffn).toString(16));
  return parts.join(":");
}
