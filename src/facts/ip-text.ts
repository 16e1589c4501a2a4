/**
 * Pieces of the tools' text output: its words, and link-layer addresses. (IP addresses:
 * model/address.ts.)
 */

/** Each whitespace-separated word of a line with its 1-based column. */
export function wordsOf(line: string): Array<{ w: string; col: number }> {
  return [...line.matchAll(/\S+/g)].map((m) => ({ w: m[0], col: m.index! + 1 }));
}

/** A link-layer address as ip prints it: hex bytes separated by colons (`link/ether 52:54:00:8e:1a:11`). */
export function isLinkAddress(text: string): boolean {
  return /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/.test(text);
}

/** An Ethernet MAC address, six hex bytes. */
export function isEthernetAddress(text: string): boolean {
  return /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(text);
}
