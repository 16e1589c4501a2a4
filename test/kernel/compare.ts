/** Puts netfate's steps in the kernel trace's terms, so the two can be compared line by line. */
import type { Fate, Outcome, Step } from "../../src/model/evaluation.js";
import { kernelFate, type KernelFate, type KernelStep, type KernelTrace } from "./harness.js";

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

/**
 * Every path an outcome stands for. An outcome merged from histories that differ only in
 * steps that did not change what happened next marks those steps `uncertain`; each run of
 * steps under one condition is then taken or left out. (A superset of the real paths: two
 * runs that are two sides of one condition are not held apart.) Capped at 2^10 paths.
 */
export function netfatePaths(o: Outcome): string[][] {
  const matched = o.steps.filter((s) => s.matched);
  const blocks: { steps: Step[]; optional: boolean }[] = [];
  for (const s of matched) {
    const sig = s.uncertain?.join("\u0001");
    const last = blocks[blocks.length - 1];
    const lastSig = last?.steps[0]!.uncertain?.join("\u0001");
    if (last && sig !== undefined && sig === lastSig) last.steps.push(s);
    else blocks.push({ steps: [s], optional: sig !== undefined });
  }
  const optional = blocks.filter((b) => b.optional).length;
  if (optional > 10) throw new Error(`an outcome with ${optional} uncertain runs of steps: too many paths to compare`);
  const paths: string[][] = [];
  for (let m = 0; m < 1 << optional; m++) {
    let k = 0;
    const path: string[] = [];
    for (const b of blocks) {
      if (b.optional && !((m >> k++) & 1)) continue;
      for (const s of b.steps) path.push(stepKey(s.table, s.chain, s.rule, kernelVerdict(s)));
    }
    paths.push(path);
  }
  return paths;
}

/** Kernel steps, leaving out the raw table's policy lines when the dump had no raw table (we added it for TRACE). */
export function kernelSteps(steps: KernelStep[], dumpTables: Set<string>): string[] {
  return steps.filter((s) => dumpTables.has(s.table)).map((s) => stepKey(s.table, s.chain, s.rule, s.verdict));
}

/** Fates that name a rule, or an interface, or no answer: never "the route lookup refused it". */
const NOT_ROUTING = new Set(["delivered", "forwarded", "sent", "dropped", "rejected", "queued", "indeterminate", "error"]);

/**
 * Whether the kernel's end of the packet (from the probe hooks, or a refused send) is netfate's
 * fate: delivered through INPUT, out of the same interface, stopped by a rule (dropped,
 * rejected, queued), or stopped by the route lookup before INPUT or FORWARD (unroutable, or a
 * fate of its own for rp_filter and martians: any kind that names no rule nor interface).
 */
export function fateAgrees(kernel: KernelFate | "send-failed", fate: Fate): boolean {
  if (kernel === "send-failed") return fate.kind === "unroutable";
  switch (kernel.kind) {
    case "delivered":
      return fate.kind === "delivered";
    case "out":
      return (fate.kind === "forwarded" || fate.kind === "sent") && fate.iface === kernel.iface;
    case "stopped":
      return kernel.by === "rule" ? fate.kind === "dropped" || fate.kind === "rejected" || fate.kind === "queued" : !NOT_ROUTING.has(fate.kind);
  }
}

/**
 * What the kernel did with a packet, in one phrase: `delivered` (INPUT), `out IFACE`,
 * `dropped by a rule`, `refused by routing` (stopped after PREROUTING with no rule dropping
 * it), `send refused` (the output route lookup refused a packet of the node's own: sendto
 * failed, netfilter never saw it).
 */
export type KernelAnswer = "delivered" | `out ${string}` | "dropped by a rule" | "refused by routing" | "send refused";

export function kernelAnswer(t: KernelTrace | "send-failed"): KernelAnswer {
  if (t === "send-failed") return "send refused";
  const f = kernelFate(t);
  if (f.kind === "out") return `out ${f.iface}`;
  if (f.kind === "delivered") return "delivered";
  return f.by === "rule" ? "dropped by a rule" : "refused by routing";
}

/** The kernel fate an answer stands for (a saved regression case keeps the answer). */
export function fateOfAnswer(a: KernelAnswer): KernelFate | "send-failed" {
  if (a === "send refused") return "send-failed";
  if (a === "delivered") return { kind: "delivered" };
  if (a === "dropped by a rule") return { kind: "stopped", by: "rule" };
  if (a === "refused by routing") return { kind: "stopped", by: "routing" };
  return { kind: "out", iface: a.slice("out ".length) };
}
