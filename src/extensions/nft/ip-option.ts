/** `ip option rr type`, `ip option ra`: IPv4 options, kept as written; an IPv6 packet has none. */
import { is, keptAsWritten } from "./kept.js";

const OPTIONS = new Set(["rr", "lsrr", "ssrr", "ra"]);
const FIELDS = new Set(["type", "length", "value", "ptr", "addr"]);

export const ipOption = keptAsWritten({
  name: "ip option",
  grammar(r) {
    if (r.peek() !== "ip" || r.peek(1) !== "option" || !is(r.peek(2), OPTIONS)) return undefined;
    return is(r.peek(3), FIELDS) ? 4 : 3;
  },
  family: "ipv4",
});
