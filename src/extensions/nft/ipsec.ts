/** `ipsec in reqid`, `ipsec out spnum 1 ip saddr`: the packet's IPsec state, kept as written. */
import { addressOf, is, isNumber, keptAsWritten } from "./kept.js";

const KEYS = new Set(["reqid", "spi"]);

export const ipsec = keptAsWritten({
  name: "ipsec",
  grammar(r) {
    if (r.peek() !== "ipsec" || (r.peek(1) !== "in" && r.peek(1) !== "out")) return undefined;
    let n = 2;
    if (r.peek(2) === "spnum") {
      if (!isNumber(r.peek(3))) return undefined;
      n = 4;
    }
    if (is(r.peek(n), KEYS)) return n + 1;
    if ((r.peek(n) === "ip" || r.peek(n) === "ip6") && (r.peek(n + 1) === "saddr" || r.peek(n + 1) === "daddr")) return n + 2;
    return undefined;
  },
  fieldTypes: { saddr: addressOf, daddr: addressOf },
});
