/**
 * Link-layer addresses as text. (IP addresses: model/address.ts.)
 */

/** A link-layer address as ip prints it: hex bytes separated by colons (`link/ether 52:54:00:8e:1a:11`). */
export function isLinkAddress(text: string): boolean {
  return /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/.test(text);
}

/** An Ethernet MAC address, six hex bytes. */
export function isEthernetAddress(text: string): boolean {
  return /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(text);
}
