/** The IPVS reader: `ipvsadm -Ln` (and its column variants) and `ipvsadm-save -n`, and the save form back. */
export { parseIpvs, parseIpvsText, parseEndpoint, type IpvsParse } from "./parse.js";
export { ipvsSaveText, ipvsServiceLine, ipvsServerLine } from "./print.js";
