/**
 * What a chain index files each deferred line's rule under (netfilter/chain-lines.ts), noted by
 * the reader as it reads the line, so that indexing a long chain does not read its lines again:
 * the fast path (fast-append.ts) has just found the line's exact destination and first
 * destination port, and a line it declined was bound then, which says the index must bind it too.
 *
 * Kept sparse, by line record (table-builder.ts DeferredLines): only a fast line with a key
 * (a 10k-service dump: 22k of 117k lines) and every bound line (a handful there) cost anything,
 * in typed arrays rather than an object per line. Records are noted in increasing order, so each
 * list is sorted, and a chain's records, also increasing, are found in one pass over it.
 */

/** Fields of a keyed line: its record, its exact IPv4 destination (bits as int32), its first --dport plus one (0: none) with NO_DST. */
const RECORD = 0, DST = 1, DPORT = 2, FIELDS = 3;
/** DPORT's flag: the line requires no exact destination; below it, the port plus one. */
const NO_DST = 1 << 17, PORT_MASK = NO_DST - 1;

function grown(a: Int32Array<ArrayBuffer>, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(size, a.length * 2, 64));
  b.set(a);
  return b;
}

export class LineKeys {
  private keyed = new Int32Array(0);
  private keyedCount = 0;
  private bound = new Int32Array(0);
  private boundCount = 0;
  /** The last record noted (each is noted once, in order). */
  private last = -1;

  /** The fast path read record `at`'s line: one rule requiring destination `dst` (-1: none) and first destination port `dport` (-1: none). */
  fast(at: number, dst: number, dport: number): void {
    this.next(at);
    if (dst < 0 && dport < 0) return;
    if ((this.keyedCount + 1) * FIELDS > this.keyed.length) this.keyed = grown(this.keyed, (this.keyedCount + 1) * FIELDS);
    const o = this.keyedCount++ * FIELDS;
    this.keyed[o + RECORD] = at;
    this.keyed[o + DST] = dst < 0 ? 0 : dst | 0;
    this.keyed[o + DPORT] = (dport < 0 ? 0 : dport + 1) | (dst < 0 ? NO_DST : 0);
  }

  /** The binder read record `at`'s line (its rules are known only by binding it again). */
  boundLine(at: number): void {
    this.next(at);
    if (this.boundCount === this.bound.length) this.bound = grown(this.bound, this.boundCount + 1);
    this.bound[this.boundCount++] = at;
  }

  private next(at: number): void {
    if (at <= this.last) throw new Error(`internal error: line record ${at} noted after ${this.last}`);
    this.last = at;
  }

  /**
   * For the lines of records `ats` (increasing): whether each was bound (`bound[l]` 1), else
   * the exact destination (`dst[l]`) and first destination port (`dport[l]`) it requires (-1:
   * none; the arrays come filled with -1 and 0). False when a record was not noted.
   */
  fill(ats: Int32Array, bound: Uint8Array, dst: Float64Array, dport: Int32Array): boolean {
    const { keyed, bound: boundList } = this;
    let k = 0, b = 0;
    for (let l = 0; l < ats.length; l++) {
      const at = ats[l]!;
      if (at < 0 || at > this.last) return false;
      // Each list read on from where the last record left it: a chain's lines are mostly together.
      b = from(boundList, 1, this.boundCount, b, at);
      if (b < this.boundCount && boundList[b] === at) {
        bound[l] = 1;
        continue;
      }
      k = from(keyed, FIELDS, this.keyedCount, k, at);
      if (k === this.keyedCount || keyed[k * FIELDS + RECORD] !== at) continue;
      const port = keyed[k * FIELDS + DPORT]!;
      if (!(port & NO_DST)) dst[l] = keyed[k * FIELDS + DST]! >>> 0;
      dport[l] = (port & PORT_MASK) - 1;
    }
    return true;
  }
}

/**
 * The first entry at or after `start` of `list` (of `count` entries, `fields` wide, sorted by
 * their first field) whose first field is at least `at` (`count`: none): steps that double, then
 * halve, so that reading a chain's records in order costs the log of each gap, never the list.
 */
function from(list: Int32Array, fields: number, count: number, start: number, at: number): number {
  if (start >= count || list[start * fields]! >= at) return start;
  // list[lo] < at; find hi with list[hi] >= at (or count).
  let lo = start, step = 1, hi = start + 1;
  while (hi < count && list[hi * fields]! < at) {
    lo = hi;
    step *= 2;
    hi = lo + step;
  }
  if (hi > count) hi = count;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (list[mid * fields]! < at) lo = mid;
    else hi = mid;
  }
  return hi;
}
