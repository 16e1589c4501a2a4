/**
 * The priority of a base chain or flowtable as `nft list ruleset` prints it. JSON gives only
 * the number (`"prio": -110`); the text says `dstnat - 10`. nft (src/rule.c, prio2str) names a
 * number within 10 of a standard priority when that name is valid for the family and hook, and
 * otherwise prints the number. Checked against nft 1.0.6 listings in the kernel test
 * (test/kernel/nft-json.test.ts).
 */
import { NFT_BRIDGE_PRIORITIES, NFT_PRIORITIES, type NftFamily, type NftHook } from "../../model/nft.js";

/** How far from a standard priority nft still prints it by name (`filter + 10`). */
const REACH = 10;

/** Whether nft lets the standard priority `name` stand for a chain of this family at this hook. */
function nameFits(name: string, family: NftFamily, hook: NftHook): boolean {
  if (family === "bridge") {
    switch (name) {
      case "dstnat": return hook === "prerouting";
      case "filter": return true;
      case "out": return hook === "output";
      case "srcnat": return hook === "postrouting";
    }
    return false;
  }
  const ipLike = family === "ip" || family === "ip6" || family === "inet";
  switch (name) {
    case "filter": return ipLike || family === "arp" || family === "netdev";
    case "raw":
    case "mangle":
    case "security": return ipLike;
    // nft 1.0.6 names these at one hook each (a netns listing prints `priority -90` at output
    // and `priority 100` at input); later nft also allows output and input.
    case "dstnat": return ipLike && hook === "prerouting";
    case "srcnat": return ipLike && hook === "postrouting";
  }
  return false;
}

export function priorityName(family: NftFamily, hook: NftHook, prio: number): string {
  const table = family === "bridge" ? NFT_BRIDGE_PRIORITIES : NFT_PRIORITIES;
  // In nft's order of the standard priorities; the first one within reach decides, and if its
  // name does not fit the hook, the number is printed (nft stops looking there too).
  for (const [name, value] of Object.entries(table)) {
    const offset = prio - value;
    if (Math.abs(offset) > REACH) continue;
    if (!nameFits(name, family, hook)) break;
    return offset > 0 ? `${name} + ${offset}` : offset < 0 ? `${name} - ${-offset}` : name;
  }
  return String(prio);
}
