/** The iptables walk's address numbers, from the recent-address slots (model/recent-address.ts). */
import { ipToNum, type IpNum } from "../model/address.js";
import type { Family } from "../model/ast.js";
import { RecentAddresses } from "../model/recent-address.js";

/** Four: an iptables walk reads the packet's two addresses, and a number costs no allocation to make again. */
const recent = new RecentAddresses<IpNum | undefined>(ipToNum, 4);

/** ipToNum(ip, family), from the slots when the address was read lately. */
export function recentIpNum(ip: string, family: Family): IpNum | undefined {
  return recent.get(ip, family);
}
