/** `rt classid`, `rt ip nexthop`, `rt mtu`, `rt ipsec`: routing data of the packet, kept as written. */
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
});
