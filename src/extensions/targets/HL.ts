/** `-j HL`: the IPv6 hop limit counterpart of TTL (see TTL.ts). */
import { hopLimitTarget } from "./TTL.js";

export const HL = hopLimitTarget("HL", "hl", "ipv6");
