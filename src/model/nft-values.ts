/**
 * What an nft expression yields while a packet is evaluated: integers (ports, marks, bits and
 * addresses alike) as numbers where a number holds them exactly (safe integers: every port,
 * protocol, mark and IPv4 address) and as bigints only beyond (IPv6 addresses, 64-bit
 * counters), names (interfaces, helpers) as strings, a concatenation as the list of its parts.
 * One value has one representation (`int` makes it), so `===`, hash keys and sets need one
 * code path; the bigint arithmetic a packet's walk used to do for every port and mark was most
 * of what a test cost.
 */
import { ipToBigInt, ipToNum } from "./address.js";
import type { NftConst } from "./nft.js";
import { RecentAddresses } from "./recent-address.js";

export type Scalar = number | bigint | string;

/** An integer value in its one representation: a number when it is a safe integer, else a bigint. */
export function int(b: bigint): number | bigint {
  return b >= MIN_SAFE && b <= MAX_SAFE ? Number(b) : b;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/** Whether a scalar is an integer (either representation). */
export function isInt(v: Scalar | Val): v is number | bigint {
  return typeof v === "number" || typeof v === "bigint";
}

/** A packet's field (a port, a protocol, a mark: an integer) as a value. */
export function intOf(n: number): number | bigint {
  // A number that is not a safe integer never comes from a packet; BigInt() refuses a fraction, as before.
  return Number.isSafeInteger(n) ? n : BigInt(n);
}

/** Below 2^32 a number's bitwise operators are exact (after `>>> 0`): the usual case, marks and bits. */
const fits32 = (a: number | bigint, b: number | bigint): boolean =>
  typeof a === "number" && typeof b === "number" && a >= 0 && b >= 0 && a <= 0xffffffff && b <= 0xffffffff;

/** `a & b`, `a | b`, `a ^ b` of integers, exact at any width. */
export function bitAnd(a: number | bigint, b: number | bigint): number | bigint {
  return fits32(a, b) ? ((a as number) & (b as number)) >>> 0 : int(BigInt(a) & BigInt(b));
}
export function bitOr(a: number | bigint, b: number | bigint): number | bigint {
  return fits32(a, b) ? ((a as number) | (b as number)) >>> 0 : int(BigInt(a) | BigInt(b));
}
export function bitXor(a: number | bigint, b: number | bigint): number | bigint {
  return fits32(a, b) ? ((a as number) ^ (b as number)) >>> 0 : int(BigInt(a) ^ BigInt(b));
}

/** Whether `a & b` has any bit set. */
export function anyBits(a: number | bigint, b: number | bigint): boolean {
  return fits32(a, b) ? ((a as number) & (b as number)) !== 0 : (BigInt(a) & BigInt(b)) !== 0n;
}
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
  return constVal(c).val as Scalar;
}

/** A constant as an expression's value, made once per constant: a rule's constants are met by every packet that reaches it. */
export function constVal(c: NftConst): { val: Val } {
  let v = constVals.get(c);
  if (v === undefined) constVals.set(c, (v = { val: readConst(c) }));
  return v;
}

const constVals = new WeakMap<NftConst, { val: Val }>();

function readConst(c: NftConst): Scalar {
  if (typeof c.value === "bigint") return int(c.value);
  if (typeof c.value === "number") return Number.isSafeInteger(c.value) ? c.value : int(BigInt(Math.trunc(c.value)));
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

/**
 * A packet's field as an expression's value: the values below 2^16 (ports, protocols, most
 * marks) made once each, as a packet's fields are read by rule after rule. Values are never
 * changed once made, so one object serves every reader.
 */
export function fieldVal(n: number): { val: Val } {
  if ((n & 0xffff) === n) return ((smallVals ??= smallValSlots())[n] ??= { val: n });
  return { val: intOf(n) };
}

/** An integer (binop's result) as an expression's value: fieldVal's one object per value below 2^16 (a mark bit), else a new one. */
export function intVal(n: number | bigint): { val: Val } {
  return typeof n === "number" ? fieldVal(n) : { val: n };
}

/**
 * Made when an nft rule first reads a field, not when this module loads: 64k slots are a
 * quarter of a megabyte that every run of an iptables dump would fill and never read.
 */
let smallVals: Array<{ val: Val } | undefined> | undefined;

/**
 * Filled with holes' stand-in up front: an array first written at index 40000 (a source port)
 * would keep its elements in a dictionary, each read a hash lookup.
 */
function smallValSlots(): Array<{ val: Val } | undefined> {
  return new Array<{ val: Val } | undefined>(0x10000).fill(undefined);
}

/**
 * An IPv4 or IPv6 address as an expression's value (IPv4 always a number), or undefined when
 * it cannot be read: its family is the spelling's (a colon: IPv6). Kept in the recent-address
 * slots, one value object per address while it stays there, as a packet's addresses are read
 * by rule after rule.
 */
export function addressVal(text: string): { val: number | bigint } | undefined {
  return recentValues.get(text, text.includes(":") ? "ipv6" : "ipv4");
}

/** An IPv4 or IPv6 address as an integer (IPv4 always a number), or undefined. */
export function addressNum(text: string): number | bigint | undefined {
  return addressVal(text)?.val;
}

/**
 * Sixteen: a kube-proxy service's packet reads its source, the service's address and each
 * endpoint's after DNAT, and a batch's next packets their own; a value missed is an object made again.
 */
const recentValues = new RecentAddresses<{ val: number | bigint } | undefined>((text, family) => {
  const n = ipToNum(text, family);
  return n === undefined ? undefined : { val: typeof n === "number" ? n : int(ipToBigInt(n)) };
}, 16);

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
  if (typeof v === "bigint" || typeof v === "number") return `n${v.toString(16)}`;
  if (typeof v === "string") return `s${v}`;
  return v.map(valKey).join("\u0001");
}

/** A value as a trace says it (addresses back in dotted or colon form where they look like one). */
export function valText(v: Val, hint?: "addr"): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint" || typeof v === "number") return hint === "addr" ? addrText(BigInt(v)) : v.toString();
  return v.map((x) => valText(x)).join(" . ");
}

function addrText(n: bigint): string {
  // (Numbers come here as bigints: a trace's text is not on the per-packet path.)
  if (n <= 0xffffffffn) return [24n, 16n, 8n, 0n].map((s) => ((n >> s) & 0xffn).toString()).join(".");
  const parts: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) parts.push(((n >> s) & 0xffffn).toString(16));
  return parts.join(":");
}
