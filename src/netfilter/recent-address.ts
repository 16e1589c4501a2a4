/**
 * The number of a packet address, remembered for the last few addresses read. One walk reads
 * the same two strings (the packet's source and destination, the same string objects in every
 * branch) for every rule it tests, so a handful of slots compared by identity answers nearly
 * every read; a map keyed by every address ever seen (what this replaced) grew to 100k entries
 * under a batch of new sources, and its lookups, each a hash of a new string into a large
 * table, cost more than reading the address again.
 */
import { ipToNum, type IpNum } from "../model/address.js";
import type { Family } from "../model/ast.js";

const SLOTS = 4;
const texts: Array<string | undefined> = [undefined, undefined, undefined, undefined];
const families: Family[] = ["ipv4", "ipv4", "ipv4", "ipv4"];
const nums: Array<IpNum | undefined> = [undefined, undefined, undefined, undefined];
let next = 0;

/** ipToNum(ip, family), from the slots when the address was read lately. */
export function recentIpNum(ip: string, family: Family): IpNum | undefined {
  for (let i = 0; i < SLOTS; i++) {
    if (texts[i] === ip && families[i] === family) return nums[i];
  }
  const n = ipToNum(ip, family);
  texts[next] = ip;
  families[next] = family;
  nums[next] = n;
  next = (next + 1) % SLOTS;
  return n;
}
