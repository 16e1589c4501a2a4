/**
 * Moved to model/address.ts. Kept only while netfilter/node-view.ts still imports from here;
 * delete once it imports model/address.js.
 */
export { inNet, ipToNum, maskFromPrefix, type IpNum } from "../model/address.js";
