/**
 * What each ipset type is to the kernel: the dimensions of its elements, whether it takes
 * `nomatch` entries, and which packet families it can hold. From the kernel's type
 * registrations (net/netfilter/ipset/ip_set_*.c: `.dimension`, `.features`, `.family`).
 */
import type { Family } from "../model/ast.js";

export type Dim = "ip" | "net" | "port" | "iface" | "mac" | "mark" | "set";

export interface SetTypeInfo {
  dims: readonly Dim[];
  /** IPSET_TYPE_NOMATCH: `nomatch` entries, and `--return-nomatch` inverts a lookup. */
  nomatch: boolean;
  /**
   * "set": the family the set was created with (`family inet|inet6`); "ipv4": bitmap:ip
   * and bitmap:ip,mac, IPv4 only; "any": NFPROTO_UNSPEC types, tested from either family.
   */
  family: "set" | "ipv4" | "any";
}

const T = (dims: Dim[], nomatch: boolean, family: SetTypeInfo["family"] = "set"): SetTypeInfo => ({ dims, nomatch, family });

export const SET_TYPES: ReadonlyMap<string, SetTypeInfo> = new Map([
  ["hash:ip", T(["ip"], false)],
  ["hash:net", T(["net"], true)],
  ["hash:ip,port", T(["ip", "port"], false)],
  ["hash:net,port", T(["net", "port"], true)],
  ["hash:ip,port,ip", T(["ip", "port", "ip"], false)],
  ["hash:ip,port,net", T(["ip", "port", "net"], true)],
  ["hash:net,iface", T(["net", "iface"], true)],
  ["hash:net,net", T(["net", "net"], true)],
  ["hash:net,port,net", T(["net", "port", "net"], true)],
  ["hash:ip,mark", T(["ip", "mark"], false)],
  ["hash:mac", T(["mac"], false, "any")],
  ["hash:ip,mac", T(["ip", "mac"], false)],
  ["bitmap:ip", T(["ip"], false, "ipv4")],
  ["bitmap:ip,mac", T(["ip", "mac"], false, "ipv4")],
  ["bitmap:port", T(["port"], false, "any")],
  // IPSET_DIM_ONE: a rule needs one direction flag; each member is then tested with all of them.
  ["list:set", T(["set"], false, "any")],
]);

/** Whether the kernel tests a set of this type for packets of `family` (ip_set_test's family check). */
export function familyFits(info: SetTypeInfo, setFamily: Family, family: Family): boolean {
  if (info.family === "any") return true;
  if (info.family === "ipv4") return family === "ipv4";
  return setFamily === family;
}
