/**
 * One differential round: load a ruleset into the kernel node, send packets, and check that
 * each kernel path, and where the packet ended, is one of netfate's outcomes. Shared by the
 * shaped and IPv6 differential tests.
 */
import { expect } from "vitest";
import type { Family } from "../../src/model/ast.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { NodeView } from "../../src/model/evaluation.js";
import { kernelFate, type KernelNode } from "./harness.js";
import { fateAgrees, kernelSteps, netfatePaths, netfateSteps } from "./compare.js";

export interface Tally {
  compared: number;
  /** IPv6 packets whose trace ended at their DNAT (see below): compared up to it. */
  cutShort: number;
  disagreements: string[];
}

export function newTally(): Tally {
  return { compared: 0, cutShort: 0, disagreements: [] };
}

export async function compareRound(k: KernelNode, text: string, packets: PacketSpec[], view: NodeView, family: Family, t: Tally): Promise<void> {
  const parsed = parseRules(text, { file: "generated.save", family });
  expect(parsed.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.line}: ${d.message}`), text).toEqual([]);
  k.load(text);
  k.flushConntrack();
  const traces = await k.trace(packets);
  const n = buildNode({ rulesets: [parsed.value], node: view });
  const tables = new Set(parsed.value.tables.map((x) => x.name));
  packets.forEach((p, i) => {
    const kt = traces[i];
    if (kt === undefined) return; // the trace lost it: not compared
    const outs = n.evaluate(p).outcomes;
    t.compared++;
    if (kt === "send-failed") {
      if (!outs.every((o) => fateAgrees("send-failed", o.fate))) t.disagreements.push(`kernel refused to send ${JSON.stringify(p)}; netfate: ${outs.map((o) => o.fate.kind)}`);
      return;
    }
    const steps = kernelSteps(kt.steps, tables);
    const kernel = steps.join("\n");
    const fate = kernelFate(kt);
    const last = steps.at(-1);
    // Measured here: once nat PREROUTING rewrites an IPv6 packet's destination, its trace
    // ends (the kernel forwards it, Ip6OutForwDatagrams counts it, but no later hook is
    // traced). Then only the path up to the DNAT can be compared.
    if (family === "ipv6" && kt.hooks.length === 0 && last?.startsWith("nat PREROUTING ") && last.endsWith(" ACCEPT") && last !== "nat PREROUTING policy ACCEPT") {
      t.cutShort++;
      if (!outs.some((o) => netfatePaths(o).some((q) => q.slice(0, steps.length).join("\n") === kernel))) {
        t.disagreements.push(`packet ${JSON.stringify(p)} (trace ends at its DNAT)\nkernel:\n${kernel}\nnetfate:\n${outs.map((o) => netfateSteps(o).join("\n")).join("\n--- or ---\n")}\nrules:\n${text}`);
      }
      return;
    }
    if (!outs.some((o) => netfatePaths(o).some((q) => q.join("\n") === kernel) && fateAgrees(fate, o.fate))) {
      t.disagreements.push(`packet ${JSON.stringify(p)}\nkernel (${JSON.stringify(fate)}):\n${kernel}\nnetfate:\n${outs.map((o) => `${JSON.stringify(o.fate)}\n${netfateSteps(o).join("\n")}`).join("\n--- or ---\n")}\nrules:\n${text}`);
    }
  });
}
