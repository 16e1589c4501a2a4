/**
 * `-m hl --hl-eq|--hl-lt|--hl-gt N` (IPv6 only): the hop limit, read from the packet's
 * `ttl` field. The same match as IPv4's ttl under other names (see `ttl.ts`).
 */
import { hopLimitMatch } from "./ttl.js";

export const hl = hopLimitMatch("hl", "HL", "ipv6", "hop limit");
