/** `osf name`, `osf ttl loose version`: the sender's OS fingerprint, kept as written. */
import { keptAsWritten } from "./kept.js";

export const osf = keptAsWritten({
  name: "osf",
  grammar(r) {
    if (r.peek() !== "osf") return undefined;
    let n = 1;
    if (r.peek(1) === "ttl") {
      if (!["loose", "skip", "global"].includes(r.peek(2) ?? "")) return undefined;
      n = 3;
    }
    return r.peek(n) === "name" || r.peek(n) === "version" ? n + 1 : undefined;
  },
  fieldTypes: { name: () => "string", version: () => "string" },
});
