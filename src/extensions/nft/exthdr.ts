/**
 * IPv6 extension headers: `exthdr hbh` (present or not), `frag more-fragments`, `srh sid[1]`;
 * kept as written. An IPv4 packet has none: nft has the rule test `meta nfproto ipv6` first
 * (exthdr_gen_dependency), so the rule stops.
 */
import { is, keptAsWritten } from "./kept.js";

const HEADERS = new Set(["hbh", "rt", "rt0", "rt2", "srh", "frag", "dst", "mh"]);
const FIELDS = new Set([
  "nexthdr", "hdrlength", "type", "seg-left", "reserved", "more-fragments", "id", "frag-off", "res2", "reserved2",
  "checksum", "last-entry", "flags", "tag", "addr", "sid",
]);

export const exthdr = keptAsWritten({
  name: "exthdr",
  grammar(r) {
    if (r.peek() === "exthdr") return is(r.peek(1), HEADERS) ? 2 : undefined;
    if (!is(r.peek(), HEADERS) || !is(r.peek(1), FIELDS)) return undefined;
    // `srh sid[1]`, `rt0 addr[1]` carry an index in brackets, one word for the tokenizer.
    return 2;
  },
  fieldTypes: { nexthdr: () => "inet_proto" },
  // `exthdr hbh` alone tests the header's presence: `exists` / `missing`.
  presenceType: "boolean",
  family: "ipv6",
});
