/**
 * What a packet address reads as, remembered for the last few addresses read: the iptables
 * walk's address numbers and the nft walk's expression values both come from here. One walk
 * reads the same strings (the packet's source and destination, the same string objects in
 * every branch, a DNAT target) for every rule it tests, so a handful of slots compared by
 * identity answers nearly every read; a map keyed by every address ever seen grew to 100k
 * entries under a batch of new sources, and its lookups, each a hash of a new string into a
 * large table, cost more than reading the address again. A slot is keyed by the text and the
 * family it was read as: the same spelling read as the other family is another read.
 */
import type { Family } from "./ast.js";

export class RecentAddresses<T> {
  private readonly texts: Array<string | undefined>;
  private readonly families: Family[];
  private readonly reads: T[];
  /** The slot written last: the search starts there and goes back in time. */
  private last = 0;

  /**
   * `read`: what an address text reads as in a family (the same answer every time for the
   * same text and family); `slots`: how many addresses are kept, at least as many as one
   * packet's walk reads (its source, its destination before and after each DNAT, a
   * masquerade's source), or every read of the next packet misses.
   */
  constructor(private readonly read: (ip: string, family: Family) => T, private readonly slots: number) {
    this.texts = new Array<string | undefined>(slots).fill(undefined);
    this.families = new Array<Family>(slots).fill("ipv4");
    this.reads = new Array<T>(slots);
    for (let i = 0; i < slots; i++) this.reads[i] = undefined as T;
  }

  /** read(ip, family), from the slots when the address was read lately. */
  get(ip: string, family: Family): T {
    const { texts, slots } = this;
    for (let n = 0, i = this.last; n < slots; n++, i = i === 0 ? slots - 1 : i - 1) {
      if (texts[i] === ip && this.families[i] === family) return this.reads[i]!;
    }
    const v = this.read(ip, family);
    const at = this.last === slots - 1 ? 0 : this.last + 1;
    texts[at] = ip;
    this.families[at] = family;
    this.reads[at] = v;
    this.last = at;
    return v;
  }
}
