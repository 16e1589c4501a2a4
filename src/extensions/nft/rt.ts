/**
 * `rt classid`, `rt ip nexthop`, `rt mtu`, `rt ipsec`: routing data of the packet, kept as written.
 * `rt ip nexthop` and `rt ip6 nexthop` read one family's next hop: nft_rt_get_eval stops the rule
 * (NFT_BREAK) for a packet of the other family (it checks nft_pf), so such a rule never matches it.
 */
import { addressOf, is, keptAsWritten } from "./kept.js";

const KEYS = new Set(["classid", "nexthop", "mtu", "ipsec"]);

export const rt = keptAsWritten({
  name: "rt",
  grammar(r) {
    if (r.peek() !== "rt") return undefined;
    if (r.peek(1) === "ip" || r.peek(1) === "ip6") return is(r.peek(2), KEYS) ? 3 : undefined;
    return is(r.peek(1), KEYS) ? 2 : undefined;
  },
  fieldTypes: { nexthop: addressOf, classid: () => "realm" },
  family: (words) => (words[2] !== "nexthop" ? undefined : words[1] === "ip" ? "ipv4" : words[1] === "ip6" ? "ipv6" : undefined),
});
