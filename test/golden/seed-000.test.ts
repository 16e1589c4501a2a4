/** Seed 000: a Calico NetworkPolicy (ipset + multiport + marks), and IPIP to the other node. */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { readInput, rulesetsOf } from "../../src/inputs.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { buildNode } from "../../src/netfilter/model.js";
import { parsePacketText } from "../../src/packet/parse.js";
import { ipsetView, parseIpsets } from "../../src/ipset/index.js";
import type { Outcome } from "../../src/model/evaluation.js";

const dir = resolve(import.meta.dirname, "../../samples/000-calico-ipip-ipvs-policy");
const read = (f: string) => readFileSync(resolve(dir, f), "utf8");

function chainsOf(o: Outcome): string[] {
  const out: string[] = [];
  for (const s of o.steps) {
    if (!s.matched) continue;
    const n = `${s.table} ${s.chain}`;
    if (out[out.length - 1] !== n) out.push(n);
  }
  return out;
}

describe("seed 000: Calico policy allow-tcp-80", () => {
  const r = readInput(read("filter.save"), { file: "filter.save" });
  const sets = parseIpsets(read("ipsets.save"), { file: "ipsets.save" });
  const { facts, diagnostics } = factsFromTexts([{ file: "node.json", text: read("node.json") }]);
  it("inputs read cleanly", () => {
    expect(r.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
    expect(sets.diagnostics).toEqual([]);
    expect(diagnostics).toEqual([]);
  });
  const node = buildNode({ rulesets: rulesetsOf(r.input), node: nodeViewFromFacts(facts), ipsets: ipsetView(sets.value) });
  // Packets IPVS takes are checked with the IPVS and nat inputs in ipvs-seed-000.test.ts.
  for (const c of (JSON.parse(read("packets.json")) as Array<{ name: string; packet: string; ipvs?: boolean; expected: Record<string, any> }>).filter((x) => !x.ipvs)) {
    it(c.name, () => {
      const pk = parsePacketText(c.packet);
      if (!pk.ok) throw new Error(pk.error);
      const { outcomes } = node.evaluate(pk.packet);
      expect(outcomes).toHaveLength(1);
      const o = outcomes[0]!;
      const e = c.expected;
      // The seed gives no rp_filter sysctls: where strict reverse-path filtering (which Calico
      // sets on its cali* devices) would drop the packet, the answer says it assumed it off.
      expect(o.assumptions.filter((a) => !a.startsWith("reverse-path filtering assumed off:"))).toEqual([]);
      if (e.rpFilterNote !== undefined) expect(o.assumptions.some((a) => a.startsWith("reverse-path filtering assumed off:"))).toBe(e.rpFilterNote);
      expect(o.fate.kind).toBe(e.fate);
      if (e.iface) expect(o.fate).toMatchObject({ iface: e.iface });
      if (e.chain) expect(o.fate).toMatchObject({ table: e.table, chain: e.chain, rule: e.rule });
      if (e.mark) expect(o.final.mark).toBe(e.mark);
      if (e.path) expect(chainsOf(o)).toEqual(e.path);
      if (e.outer) {
        expect(o.encapsulated?.[0]?.fate).toMatchObject({ kind: "sent", iface: e.outer.iface });
        expect(o.encapsulated?.[0]?.final).toMatchObject({ src: e.outer.src, dst: e.outer.dst });
      }
    });
  }
  it("the post's listing, its chain headers glued to rule lines, is located, not guessed", () => {
    const d = readInput(read("damaged/filter-nL-from-post.txt"), { file: "filter-nL-from-post.txt" });
    const glued = d.diagnostics.filter((x) => x.severity !== "info" && /Chain cali-/.test(x.message));
    expect(glued.length).toBeGreaterThanOrEqual(4);
    for (const g of glued) {
      const line = read("damaged/filter-nL-from-post.txt").split("\n")[g.line - 1]!;
      expect(line.slice(g.col - 1)).toMatch(/Chain cali-|\/\*|mark match|\[goto\]|MARK/);
    }
  });
});
