/**
 * Every disagreement the kernel differential ever found (samples/regressions/, see its README),
 * replayed: through netfate always — its outcomes must include the path the kernel took — and
 * through the kernel where network namespaces are available, whose path today must still be
 * one of netfate's outcomes.
 */
import { afterAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { KernelNode, kernelSkipReason, viewOfTopology } from "./harness.js";
import { fateAgrees, fateOfAnswer, kernelAnswer, kernelSteps, netfatePaths, type KernelAnswer } from "./compare.js";
import { loadRegressions, REGRESSIONS, type RegressionCase } from "./regression-case.js";

const why = kernelSkipReason();

const cases = loadRegressions();

function netfate(c: RegressionCase): { outcomes: Outcome[]; paths: string[][]; tables: Set<string> } {
  const parsed = parseRules(c.rules);
  expect(parsed.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const outcomes = buildNode({ rulesets: [parsed.value], node: viewOfTopology(c.topology) }).evaluate(c.packet).outcomes;
  return { outcomes, paths: outcomes.flatMap((o) => netfatePaths(o)), tables: new Set(parsed.value.tables.map((t) => t.name)) };
}

/** netfate takes the kernel's path, and, when the case recorded where the packet ended, ends there too. */
function agrees(kernel: string[] | "send-failed", n: ReturnType<typeof netfate>, answer?: KernelAnswer): boolean {
  if (kernel === "send-failed") return n.outcomes.every((o) => o.fate.kind === "unroutable");
  return n.outcomes.some((o) => netfatePaths(o).some((p) => p.join("\n") === kernel.join("\n")) && (answer === undefined || fateAgrees(fateOfAnswer(answer), o.fate)));
}

function show(kernel: string[] | "send-failed", n: ReturnType<typeof netfate>): string {
  return `kernel:\n${kernel === "send-failed" ? "refused to send" : kernel.join("\n")}\nnetfate:\n${n.outcomes.map((o, i) => `${n.paths[i]!.join("\n")}\n=> ${o.fate.kind}`).join("\n--- or ---\n")}`;
}

describe("regressions: netfate includes the recorded kernel path", () => {
  it(`samples/regressions is described (${cases.length} case${cases.length === 1 ? "" : "s"})`, () => {
    expect(existsSync(resolve(REGRESSIONS, "README.md"))).toBe(true);
  });
  for (const { file, case: c } of cases) {
    it(file, () => {
      const n = netfate(c);
      expect(agrees(c.kernel, n, c.answer), show(c.kernel, n)).toBe(true);
    });
  }
});

describe.skipIf(why !== undefined || cases.length === 0)(`regressions through the kernel${why ? ` (skipped: ${why})` : cases.length === 0 ? " (no cases)" : ""}`, () => {
  const nodes = new Map<string, KernelNode>();
  afterAll(() => {
    for (const k of nodes.values()) k.close();
  });
  for (const { file, case: c } of cases) {
    it(file, async () => {
      const key = JSON.stringify(c.topology);
      if (!nodes.has(key)) nodes.set(key, new KernelNode(c.topology));
      const k = nodes.get(key)!;
      k.load(c.rules);
      k.flushConntrack();
      const [kt] = await k.trace([c.packet]);
      expect(kt, "kernel trace (lost trace lines?)").toBeDefined();
      if (kt === undefined) return;
      const n = netfate(c);
      const kernel = kt === "send-failed" ? "send-failed" : kernelSteps(kt.steps, n.tables);
      if (c.answer !== undefined && kt !== "send-failed") expect(kernelAnswer(kt), "where the kernel's packet ends").toBe(c.answer);
      expect(agrees(kernel, n, c.answer), show(kernel, n)).toBe(true);
    });
  }
});
