/** `{"dccp option": {...}}`: a DCCP option, from JSON only, kept as written. */
import { keptAsWritten } from "./kept.js";

export const dccpOption = keptAsWritten({ name: "dccp option" });
