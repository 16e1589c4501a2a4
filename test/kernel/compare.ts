/** Puts netfate's steps in the kernel trace's terms, so the two can be compared line by line. */
import type { Fate, Outcome, Step } from "../../src/netfilter/types.js";
import type { KernelStep, kernelFate } from "./harness.js";

const NAT_TARGETS = new Set(["DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP"]);

/** How the kernel's trace shows a netfate verdict (REJECT as DROP, NAT targets as ACCEPT). */
export function kernelVerdict(s: Step): string {
  if (s.verdict === "REJECT") return "DROP";
  if (NAT_TARGETS.has(s.verdict)) return "ACCEPT";
  return s.verdict;
}

export function stepKey(table: string, chain: string, rule: number | "policy", verdict: string): string {
  return `${table} ${chain} ${rule} ${verdict}`;
}

export function netfateSteps(o: Outcome): string[] {
  return o.steps.filter((s) => s.matched).map((s) => stepKey(s.table, s.chain, s.rule, kernelVerdict(s)));
}

/** Kernel steps, leaving out the raw table's policy lines when the dump had no raw table (we added it for TRACE). */
export function kernelSteps(steps: KernelStep[], dumpTables: Set<string>): string[] {
  return steps.filter((s) => dumpTables.has(s.table)).map((s) => stepKey(s.table, s.chain, s.rule, s.verdict));
}

/**
 * Whether the kernel's end of the packet (from the probe hooks, or a refused send) is netfate's
 * fate: delivered through INPUT, out of the same interface, or stopped (dropped, rejected,
 * queued, or with no route) before any of those.
 */
export function fateAgrees(kernel: ReturnType<typeof kernelFate> | "send-failed", fate: Fate): boolean {
  if (kernel === "send-failed") return fate.kind === "unroutable";
  switch (kernel.kind) {
    case "delivered":
      return fate.kind === "delivered";
    case "out":
      return (fate.kind === "forwarded" || fate.kind === "sent") && fate.iface === kernel.iface;
    case "stopped":
      return fate.kind === "dropped" || fate.kind === "rejected" || fate.kind === "queued" || fate.kind === "unroutable";
  }
}
