/**
 * The sample read before a big dump (src/syntax/warm-up.ts) is worth reading only if the fast
 * path takes every `-A` line of it and it holds every kind of line the fast path takes; and
 * reading it must leave what the big dump reads as unchanged: the same tables, rules, digests
 * and diagnostics as a read that never warms up (every rule bound by the binder, deferRules
 * false) and as a read after the process is warm.
 */
import { describe, expect, it, vi } from "vitest";
import { BUILTIN_CHAINS, type TableName } from "../../src/model/ast.js";
import { DNAT, FAST_MATCH_NAMES, fastAppend, fastJumpable, JUMP, NO_TARGET, VERDICT, type FastTable } from "../../src/syntax/fast-append.js";
import { WARM_UP_FROM, WARM_UP_LINES } from "../../src/syntax/warm-up.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";

/** Each `-A` line of the sample, with what the fast path made of it (undefined: declined). */
function fastReadings(): { line: string; targets: number; matches: number[] }[] {
  const out: { line: string; targets: number; matches: number[] }[] = [];
  let table: TableName = "filter";
  let names: string[] = [];
  for (const line of WARM_UP_LINES) {
    if (line.startsWith("*")) {
      table = line.slice(1) as TableName;
      names = [...BUILTIN_CHAINS[table]];
    } else if (line.startsWith(":")) {
      const name = line.slice(1, line.indexOf(" "));
      if (!names.includes(name)) names.push(name);
    } else if (line.startsWith("-A ")) {
      const t: FastTable = {
        table: { name: table },
        chainIdAt: (s, e) => names.indexOf(line.slice(s, e)),
        jumpable: (id) => fastJumpable(names[id]!, id < BUILTIN_CHAINS[table].length),
      };
      const f = fastAppend(line, 0, line.length, t);
      expect(f, `the fast path declines ${line}`).toBeDefined();
      if (f) out.push({ line, targets: f.target, matches: [...f.matches.subarray(0, f.matchCount)] });
    }
  }
  return out;
}

describe("the warm-up sample", () => {
  it("is taken whole by the fast path, and holds every kind of line it takes", () => {
    const read = fastReadings();
    expect(new Set(read.map((r) => r.targets))).toEqual(new Set([NO_TARGET, VERDICT, DNAT, JUMP]));
    expect(new Set(read.flatMap((r) => r.matches))).toEqual(new Set(FAST_MATCH_NAMES.map((_, k) => k)));
    for (const option of [/ -s /, / -d /, / ! -s /, / --sport /, / --dport /, / -p udp /, /--comment "/, /--comment [^"]/]) {
      expect(read.some((r) => option.test(r.line)), String(option)).toBe(true);
    }
  });
});

describe("warming up before a big dump", () => {
  it("leaves what the dump reads as exactly what a cold or a warm read gives", { timeout: 120_000 }, async () => {
    const text = kubeProxyDump({ services: 800 });
    expect(text.length).toBeGreaterThanOrEqual(WARM_UP_FROM);
    // A module graph of its own: no dump this big was read in it, so the first read warms up.
    vi.resetModules();
    const warmUp = await import("../../src/syntax/warm-up.js");
    const { parseRules } = await import("../../src/parse.js");
    const { saveText } = await import("../../src/print/save.js");
    expect(warmUp.warmedUp()).toBe(false);
    const reads = [parseRules(text, { file: "k" }), parseRules(text, { file: "k" }), parseRules(text, { file: "k", deferRules: false })];
    expect(warmUp.warmedUp()).toBe(true);
    const [first, warm, bound] = reads.map((r) => ({
      text: saveText(r.value),
      diagnostics: r.diagnostics,
      digests: r.value.tables.flatMap((t) => t.chains.map((c) => [c.name, c.rules.digest()])),
    }));
    expect(first!.text.length).toBeGreaterThan(WARM_UP_FROM / 2);
    expect(first).toEqual(bound);
    expect(warm).toEqual(bound);
  });
});
