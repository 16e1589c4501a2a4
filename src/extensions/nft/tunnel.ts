/** `{"tunnel": {...}}`: tunnel metadata, from JSON only, kept as written. */
import { keptAsWritten } from "./kept.js";

export const tunnel = keptAsWritten({ name: "tunnel" });
