/** `socket transparent`, `socket mark`, `socket cgroupv2 level 1`: the packet's socket, kept as written. */
import { is, isNumber, keptAsWritten } from "./kept.js";

const KEYS = new Set(["transparent", "mark", "wildcard"]);

export const socket = keptAsWritten({
  name: "socket",
  grammar(r) {
    if (r.peek() !== "socket") return undefined;
    if (r.peek(1) === "cgroupv2" && r.peek(2) === "level" && isNumber(r.peek(3))) return 4;
    return is(r.peek(1), KEYS) ? 2 : undefined;
  },
  fieldTypes: { mark: () => "mark" },
});
