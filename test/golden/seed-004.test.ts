/**
 * Seed 004: kube-proxy NodePort and ClusterIP on a 2018 node, traced by the author with LOG
 * rules. netfate must find the same paths, the kernel's exact statistic probabilities, and
 * produce the same LOG lines the kernel wrote.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { readInput, rulesetsOf } from "../../src/inputs.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { buildNode } from "../../src/netfilter/model.js";
import { parsePacketText } from "../../src/packet/parse.js";
import { bitsToProbability, probabilityToBits } from "../../src/extensions/matches/statistic.js";
import type { Outcome } from "../../src/model/evaluation.js";

const dir = resolve(import.meta.dirname, "../../samples/004-kube-proxy-nodeport");
const read = (f: string) => readFileSync(resolve(dir, f), "utf8");

function load() {
  const rulesets = ["nat.nL", "filter.nL"].flatMap((f) => {
    const r = readInput(read(f), { file: f });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    return rulesetsOf(r.input);
  });
  const { facts, diagnostics } = factsFromTexts([{ text: read("node.json"), file: "node.json" }]);
  expect(diagnostics).toEqual([]);
  return buildNode({ rulesets, node: nodeViewFromFacts(facts) });
}

interface Expected {
  outcomes: number;
  fate: string;
  iface: string;
  mark: string;
  snat?: string;
  dnat: string[];
  path: string[];
  observed: { dnat: string; log: string };
}

const packets = JSON.parse(read("packets.json")) as Array<{ name: string; packet: string; expected: Expected }>;
const log = read("kernel-log.txt").trim().split("\n");

/** The fields of a kernel LOG line netfate models. */
function fields(line: string): Record<string, string> {
  const body = line.replace(/^.*kernel: /, "");
  const out: Record<string, string> = {};
  for (const k of ["IN", "OUT", "SRC", "DST", "SPT", "DPT", "MARK"]) {
    const m = new RegExp(`(?:^|[ *])${k}=(\\S*)`).exec(body);
    out[k] = m ? m[1]! : "";
  }
  out.prefix = /^(.*?)IN=/.exec(body)![1]!;
  return out;
}

function path(o: Outcome): string[] {
  const out: string[] = [];
  for (const s of o.steps) {
    if (!s.matched || s.verdict === "CONTINUE" && s.ruleNode?.target?.kind === "target" && s.ruleNode.target.name === "LOG") continue;
    const name = `${s.table} ${s.chain.replace(/^KUBE-SEP-.*/, "KUBE-SEP-*")}`;
    if (out[out.length - 1] !== name) out.push(name);
  }
  return out;
}

describe("seed 004: kube-proxy NodePort and ClusterIP", () => {
  const node = load();
  const p1 = bitsToProbability(probabilityToBits(0.33332999982));
  for (const [i, c] of packets.entries()) {
    it(c.name, () => {
      const pk = parsePacketText(c.packet);
      if (!pk.ok) throw new Error(pk.error);
      const { outcomes } = node.evaluate(pk.packet);
      const e = c.expected;
      expect(outcomes).toHaveLength(e.outcomes);
      const byDnat = new Map(outcomes.map((o) => [`${o.final.dst}:${o.final.dport}`, o]));
      expect([...byDnat.keys()].sort()).toEqual(e.dnat);
      // The kernel's probabilities: 0.33332999982 for the first endpoint, then half of the rest each.
      expect(byDnat.get("172.17.0.2:80")!.probability).toBeCloseTo(p1, 15);
      expect(byDnat.get("172.17.0.3:80")!.probability).toBeCloseTo((1 - p1) * 0.5, 15);
      expect(byDnat.get("172.17.0.4:80")!.probability).toBeCloseTo((1 - p1) * 0.5, 15);
      for (const o of outcomes) {
        expect(o.fate).toMatchObject({ kind: e.fate, iface: e.iface });
        expect(o.final.mark).toBe(e.mark);
        if (e.snat) expect(o.final.src).toBe(e.snat);
        expect(path(o)).toEqual(e.path);
      }
      // The branch the author observed writes the same LOG lines the kernel wrote.
      const seen = byDnat.get(e.observed.dnat)!;
      const [from, to] = /lines (\d+)-(\d+)/.exec(e.observed.log)!.slice(1).map(Number) as [number, number];
      const ours = seen.steps.filter((s) => s.log).map((s) => fields(s.log!));
      const theirs = log.slice(from - 1, to).map(fields);
      expect(ours.slice(0, theirs.length)).toEqual(theirs);
      void i;
    });
  }

  it("the damaged listing from the post: columns collapsed are read; each `...` is a located error", () => {
    const r = readInput(read("damaged/listing-from-post.txt"), { file: "listing-from-post.txt", format: "list" });
    const errors = r.diagnostics.filter((d) => d.severity === "error");
    errors.sort((a, b) => a.line - b.line);
    expect(errors.map((d) => `${d.line}:${d.col}`)).toEqual(["5:1", "10:1", "13:1"]);
    expect(errors[0]!.message).toMatch(/prot and opt columns/);
    const rules = rulesetsOf(r.input).flatMap((rs) => rs.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.load())));
    expect(rules.length).toBe(13);
  });
});
