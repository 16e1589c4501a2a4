/**
 * Packet keys as numbers, in the order of their strings (packetKey, wish-packets.ts): diff's
 * search makes 180,000 first-choice packets for 10,000 services, and building, hashing and
 * sorting a string for each was a good part of its time and memory.
 *
 * packetKey joins ten fields with "|". When no field but the last holds a "|", two keys compare
 * as their first differing field does with its "|" after it (were one field's text plus "|" a
 * prefix of the other's, that other would hold a "|"); the last compares as it is. So each
 * field's distinct texts are ranked in that order, and a key is its fields' ranks read as one
 * number in mixed radix: equal numbers for equal strings, and numbers in the strings' order.
 * Where that cannot be said (a "|" in a field, two values written alike, more combinations than
 * 2^53) there are no ranks, and the strings are used.
 */
import type { PacketSpec } from "../model/packet.js";

/** A field of a packet as packetKey reads it (before writing it as text). */
export type FieldValue = string | number | undefined;

/** How many fields packetKey has. */
const FIELD_COUNT = 10;

/**
 * packetKey's field `i`, in its order, with its defaults. One function rather than one per
 * field: a call through a list of ten functions cannot be inlined, and it is made ten times for
 * each of 180,000 packets, twice.
 */
function fieldOf(p: PacketSpec, i: number): FieldValue {
  switch (i) {
    case 0:
      return p.family;
    case 1:
      return p.from;
    case 2:
      return p.proto;
    case 3:
      return p.src;
    case 4:
      return p.dst;
    case 5:
      return p.sport;
    case 6:
      return p.dport;
    case 7:
      return p.icmpType;
    case 8:
      return p.mark ?? 0;
    default:
      return p.state ?? "new";
  }
}

/** A field as packetKey writes it: absent as "". */
const fieldText = (v: FieldValue): string => (v === undefined ? "" : String(v));

/** Every field of `p` as packetKey writes it, in its order (joined by "|", packetKey itself). */
export function keyTexts(p: PacketSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < FIELD_COUNT; i++) out.push(fieldText(fieldOf(p, i)));
  return out;
}

/** Integers above this are not all exact in a double. */
const EXACT = 2 ** 53;

/** One field's ranks: by value, and a value of each rank. */
interface FieldRanks {
  rank: Map<FieldValue, number>;
  value: FieldValue[];
}

/** Ranks of one field's values by `text + suffix` (see above); undefined when two values read alike or a text holds a "|". */
function rankField(values: ReadonlySet<FieldValue>, last: boolean): FieldRanks | undefined {
  const texts = new Map<string, FieldValue>();
  for (const v of values) {
    const t = fieldText(v);
    if (texts.has(t) || (!last && t.includes("|"))) return undefined;
    texts.set(t, v);
  }
  // By UTF-16 code units, as `<` compares the strings (sort's own order).
  const sorted = [...texts.keys()].map((t) => (last ? t : `${t}|`)).sort();
  const value = sorted.map((t) => texts.get(last ? t : t.slice(0, -1)));
  return { rank: new Map(value.map((v, i) => [v, i])), value };
}

/** Numeric keys for packets whose field values were all among those ranked. */
export class PacketRanks {
  private constructor(private readonly fields: readonly FieldRanks[]) {}

  /** The ranks of the field values of `packets`; undefined where numbers cannot stand for their keys (see above). */
  static of(packets: readonly PacketSpec[]): PacketRanks | undefined {
    const fields: FieldRanks[] = [];
    let combinations = 1;
    for (let i = 0; i < FIELD_COUNT; i++) {
      const values = new Set<FieldValue>();
      for (let n = 0; n < packets.length; n++) values.add(fieldOf(packets[n]!, i));
      const r = rankField(values, i === FIELD_COUNT - 1);
      if (!r) return undefined;
      combinations *= r.value.length;
      if (combinations > EXACT) return undefined;
      fields.push(r);
    }
    return new PacketRanks(fields);
  }

  /** The key of `p`: ordered and equal as its packetKey; undefined when some field of it was not ranked. */
  key(p: PacketSpec): number | undefined {
    let k = 0;
    for (let i = 0; i < FIELD_COUNT; i++) {
      const f = this.fields[i]!;
      const r = f.rank.get(fieldOf(p, i));
      if (r === undefined) return undefined;
      k = k * f.value.length + r;
    }
    return k;
  }

  /** The field values of key `k`, in packetKey's order. */
  values(k: number): FieldValue[] {
    const out: FieldValue[] = new Array(FIELD_COUNT);
    for (let i = FIELD_COUNT - 1; i >= 0; i--) {
      const f = this.fields[i]!;
      const r = k % f.value.length;
      out[i] = f.value[r];
      k = (k - r) / f.value.length;
    }
    return out;
  }

  /**
   * The keys of `packets`, each once, ascending (the order of their strings). All must have been
   * ranked (made by `of` from them, or from more).
   */
  sortedKeys(packets: readonly PacketSpec[]): Float64Array {
    const keys = new Float64Array(packets.length);
    for (let i = 0; i < packets.length; i++) keys[i] = this.key(packets[i]!)!;
    keys.sort();
    let n = 0;
    for (let i = 0; i < keys.length; i++) if (i === 0 || keys[i] !== keys[n - 1]) keys[n++] = keys[i]!;
    return keys.subarray(0, n);
  }
}

/** Whether ascending `keys` hold `k`. */
export function holds(keys: Float64Array, k: number): boolean {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo < keys.length && keys[lo] === k;
}
