/** Seed 001: a node cannot reach a ClusterIP through flannel's UDP tunnel until it masquerades. */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { readInput, rulesetsOf } from "../../src/inputs.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { buildNode } from "../../src/netfilter/model.js";
import { parsePacketText } from "../../src/packet/parse.js";

const dir = resolve(import.meta.dirname, "../../samples/001-flannel-udp-clusterip-from-node");
const read = (f: string) => readFileSync(resolve(dir, f), "utf8");

describe("seed 001: ClusterIP from a flannel UDP worker", () => {
  const { facts, diagnostics } = factsFromTexts(["worker-node.json", "worker-route-n.txt"].map((f) => ({ file: f, text: read(f) })));
  it("node facts read cleanly", () => expect(diagnostics).toEqual([]));
  const view = nodeViewFromFacts(facts);
  for (const c of JSON.parse(read("packets.json")) as Array<{ name: string; rules: string; packet: string; expected: Record<string, unknown> }>) {
    it(c.name, () => {
      const r = readInput(read(c.rules), { file: c.rules });
      expect(r.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
      const n = buildNode({ rulesets: rulesetsOf(r.input), node: view });
      const pk = parsePacketText(c.packet);
      if (!pk.ok) throw new Error(pk.error);
      const { outcomes } = n.evaluate(pk.packet);
      expect(outcomes).toHaveLength(1);
      const o = outcomes[0]!;
      expect(o.fate).toMatchObject({ kind: c.expected.fate, iface: c.expected.iface });
      expect(o.final).toMatchObject({ src: c.expected.src, dst: c.expected.dst, dport: c.expected.dport });
      expect(o.steps.some((s) => s.verdict === "DNAT" && s.rewrites?.[0] === "DNAT 10.0.0.103:80 → 10.1.63.3:80")).toBe(true);
    });
  }
  it("the master's listing as the post prints it: every piece of web damage is located", () => {
    const r = readInput(read("damaged/master-nat-nvL-from-post.txt"), { file: "master-nat-nvL-from-post.txt" });
    const bad = r.diagnostics.filter((d) => d.severity !== "info");
    expect(bad.length).toBeGreaterThan(5);
    for (const d of bad) {
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.col).toBeGreaterThanOrEqual(1);
    }
    // The first annotation after a rule (" ALL -> KUBE-SERVICES", line 5) is reported where it starts.
    const annot = bad.find((d) => /ALL -> KUBE-SERVICES/.test(d.message))!;
    expect(annot).toBeDefined();
    expect(read("damaged/master-nat-nvL-from-post.txt").split("\n")[annot.line - 1]!.slice(annot.col - 1)).toMatch(/^ALL -> KUBE-SERVICES|^\/\* kubernetes service portals \*\/ ALL/);
    // The rules themselves are still read: KUBE-SERVICES and DNAT chains are there.
    const chains = rulesetsOf(r.input).flatMap((rs) => rs.tables.flatMap((t) => t.chains.map((c) => c.name)));
    expect(chains).toEqual(expect.arrayContaining(["KUBE-SERVICES", "KUBE-SEP-6BJZJ65EXTPP6DDP", "KUBE-POSTROUTING"]));
  });
});
