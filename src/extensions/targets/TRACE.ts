/** `-j TRACE` (raw table): marks the packet for tracing; the packet continues unchanged. */
import type { TargetExtension } from "../types.js";

export const TRACE: TargetExtension<Record<string, never>> = {
  type: "target",
  name: "TRACE",
  reads: () => [],
  tables: ["raw"],
  options: [],
  parse() {
    return {};
  },
  save() {
    return "";
  },
  print() {
    return "";
  },
  parsePrint() {
    return {};
  },
  apply() {
    return { verdict: "CONTINUE" };
  },
};
