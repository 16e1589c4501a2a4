/**
 * Seeds 002 (flannel VXLAN) and 003 (Calico IPIP): paths decided by routing and tunnels, with
 * the outer packet the node sends for an encapsulated one.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { buildNode } from "../../src/netfilter/model.js";
import { parsePacketText } from "../../src/packet/parse.js";

const samples = resolve(import.meta.dirname, "../../samples");

function node(dir: string, files: string[]) {
  const { facts, diagnostics } = factsFromTexts(files.map((f) => ({ file: f, text: readFileSync(resolve(samples, dir, f), "utf8") })));
  expect(diagnostics).toEqual([]);
  return buildNode({ rulesets: [], node: nodeViewFromFacts(facts) });
}

interface Case {
  name: string;
  node?: string;
  packet: string;
  expected: { outcomes: number; fate: string; iface?: string; via?: string; encapsulated?: { fate: string; iface: string; src: string; dst: string; dport?: number; proto?: number } };
}

function check(n: ReturnType<typeof node>, c: Case): void {
  const pk = parsePacketText(c.packet);
  if (!pk.ok) throw new Error(pk.error);
  const { outcomes } = n.evaluate(pk.packet);
  expect(outcomes).toHaveLength(c.expected.outcomes);
  const o = outcomes[0]!;
  expect(o.fate.kind).toBe(c.expected.fate);
  if (c.expected.iface) expect(o.fate).toMatchObject({ iface: c.expected.iface });
  if (c.expected.via) expect(o.fate).toMatchObject({ via: c.expected.via });
  const e = c.expected.encapsulated;
  if (e) {
    expect(o.encapsulated).toHaveLength(1);
    const outer = o.encapsulated![0]!;
    expect(outer.fate).toMatchObject({ kind: e.fate, iface: e.iface });
    expect(outer.final).toMatchObject({ src: e.src, dst: e.dst, ...(e.dport ? { dport: e.dport } : {}) });
  } else expect(o.encapsulated).toBeUndefined();
}

describe("seed 002: flannel VXLAN pod to pod", () => {
  const n = node("002-flannel-vxlan-pod-to-pod", ["node.json", "route-n.txt"]);
  for (const c of JSON.parse(readFileSync(resolve(samples, "002-flannel-vxlan-pod-to-pod/packets.json"), "utf8")) as Case[]) {
    it(c.name, () => check(n, c));
  }
  it("the post's route -n, its lines glued by the web page, is a located error, not a guess", () => {
    const { diagnostics, facts } = factsFromTexts([{ file: "route-n-from-post.txt", text: readFileSync(resolve(samples, "002-flannel-vxlan-pod-to-pod/damaged/route-n-from-post.txt"), "utf8") }]);
    expect(diagnostics.map((d) => `${d.line}:${d.col} ${d.severity}`)).toEqual(["1:24 error"]);
    expect(facts.routes).toEqual([]);
  });
});

describe("seed 003: Calico IPIP between two nodes", () => {
  for (const c of JSON.parse(readFileSync(resolve(samples, "003-calico-ipip-cross-node/packets.json"), "utf8")) as Case[]) {
    it(c.name, () => check(node("003-calico-ipip-cross-node", [c.node!]), c));
  }
});
