/**
 * `-j NOTRACK` (raw table): the packet gets no conntrack entry. The kernel loads it as CT
 * revision 2 with an alias flag, so `-L` shows `CT` in the target column and `NOTRACK` as
 * its text; iptables-save keeps the name NOTRACK.
 */
import type { TargetExtension } from "../types.js";

export type NotrackData = Record<string, never>;

export const NOTRACK: TargetExtension<NotrackData> = {
  type: "target",
  name: "NOTRACK",
  reads: () => [],
  // xt_CT's check returns before nf_ct_netns_get for notrack: NOTRACK alone enables no
  // conntrack (measured in test/kernel/cluster.test.ts).
  needsConntrack: false,
  listingName: "CT",
  tables: ["raw"],
  options: [],
  parse() {
    return {};
  },
  save() {
    return "";
  },
  print() {
    return " NOTRACK";
  },
  parsePrint(s) {
    return s.literal("NOTRACK") ? {} : undefined;
  },
  apply(_d, _env, fx) {
    fx.notrack();
    return { verdict: "CONTINUE" };
  },
};
