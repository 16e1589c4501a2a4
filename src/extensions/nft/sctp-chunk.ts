/** `{"sctp chunk": {...}}`: an SCTP chunk field, from JSON only, kept as written. */
import { keptAsWritten } from "./kept.js";

export const sctpChunk = keptAsWritten({ name: "sctp chunk" });
