/** `tcp option maxseg size`, `tcp option sack-perm`, `tcp option @30,8,8`: TCP options, kept as written. */
import { is, keptAsWritten } from "./kept.js";

const OPTIONS = new Set(["eol", "nop", "maxseg", "window", "sack-perm", "sack", "sack0", "sack1", "sack2", "sack3", "timestamp", "mptcp", "fastopen", "md5sig"]);
const FIELDS = new Set(["kind", "length", "size", "count", "left", "right", "tsval", "tsecr", "subtype", "value"]);

export const tcpOption = keptAsWritten({
  name: "tcp option",
  grammar(r) {
    if (r.peek() !== "tcp" || r.peek(1) !== "option") return undefined;
    const name = r.peek(2);
    if (name !== undefined && /^@[0-9]+,[0-9]+,[0-9]+$/.test(name)) return 3;
    if (!is(name, OPTIONS)) return undefined;
    return is(r.peek(3), FIELDS) ? 4 : 3;
  },
});
