/**
 * Chain and flowtable priorities: names to numbers and back. nft 1.0.6 (checked in a netns
 * for every hook and values from -400 to 300) prints a priority as a name when it is within
 * 10 of a standard one valid for the hook (`filter + 10`, `dstnat - 10`, `raw`), else as a
 * number (`-250`, `11`). `dstnat` is valid only at prerouting, `srcnat` only at postrouting,
 * the others at every hook; bridge has its own names and numbers.
 */
import { NFT_BRIDGE_PRIORITIES, NFT_PRIORITIES, type NftFamily } from "../../model/nft.js";

const HOOK_ONLY: Readonly<Record<string, string>> = { dstnat: "prerouting", srcnat: "postrouting", out: "output" };

function namesOf(family: NftFamily | undefined): Readonly<Record<string, number>> {
  return family === "bridge" ? NFT_BRIDGE_PRIORITIES : NFT_PRIORITIES;
}

/** The number a priority name stands for in the family, if it is one. */
export function priorityNumber(name: string, family: NftFamily | undefined): number | undefined {
  const names = namesOf(family);
  return Object.hasOwn(names, name) ? names[name] : undefined;
}

/** A priority as `nft list` prints it for the family and hook. */
export function printPriority(value: number, family: NftFamily | undefined, hook: string): string {
  // netdev (and ingress/egress hooks) know only `filter`.
  const names = family === "netdev" || hook === "ingress" || hook === "egress" ? { filter: 0 } : namesOf(family);
  for (const [name, base] of Object.entries(names)) {
    const only = HOOK_ONLY[name];
    if (only !== undefined && only !== hook) continue;
    const d = value - base;
    if (d === 0) return name;
    if (Math.abs(d) <= 10) return `${name} ${d > 0 ? "+" : "-"} ${Math.abs(d)}`;
  }
  return String(value);
}
