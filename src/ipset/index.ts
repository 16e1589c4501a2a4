/** The ipset layer: parse `ipset save` / `ipset list`, print them, and look members up. */
export type { IpSet, IpSetCollection, SetEntry, SetOption } from "./ast.js";
export { parseIpsets, parseIpsetText } from "./parse.js";
export { ipsetSaveText, ipsetListText } from "./print.js";
export { ipsetView } from "./lookup.js";
