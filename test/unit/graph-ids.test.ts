/**
 * The picture outputs (Mermaid, DOT, HTML) keep chains apart and show their names as text:
 * node ids are one-to-one with (hook, table, chain), and every label is escaped for the
 * language it is written in. Chain names are whatever iptables accepts, which is nearly
 * anything without whitespace (`a-b`, `a_b`, `<b>x</b>`, `#quot;`, `日本`...).
 */
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chainNodeId, dotString, dotText, mermaidLabel, mermaidText, traceGraph } from "../../src/explain/graph.js";
import { htmlPage } from "../../src/explain/html.js";
import { nodeFromTexts, packet } from "../../src/testing/load.js";
import { ODD_NAMES_CHAINS, ODD_NAMES_SAVE } from "../support/odd-chain-names.js";

/** Reads a chain node id back into its parts (the inverse of chainNodeId), or throws. */
function decodeChainId(id: string): string[] {
  expect(id.startsWith("n_chain_")).toBe(true);
  const parts = [""];
  for (let i = "n_chain_".length; i < id.length; ) {
    const c = id[i]!;
    if (/[A-Za-z0-9]/.test(c)) {
      parts[parts.length - 1] += c;
      i++;
      continue;
    }
    expect(c).toBe("_");
    const next = id[i + 1];
    if (next === "_") {
      parts.push("");
      i += 2;
    } else if (next === "h") {
      parts[parts.length - 1] += "-";
      i += 2;
    } else {
      const end = id.indexOf("_", i + 1);
      const hex = id.slice(i + 1, end);
      expect(hex).toMatch(/^[0-9a-f]+$/);
      parts[parts.length - 1] += String.fromCodePoint(parseInt(hex, 16));
      i = end + 1;
    }
  }
  return parts;
}

const PRINTABLE_ASCII = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
const UNICODE = ["ä", "ß", "日", "本", "🔥", "\u0301", "\u00a0", "\u200b", "\ud800", "\udc00", "\u{10ffff}"];
/** Names from few characters, so that names differing only in `-`/`_`/escapes meet often. */
const nearName = fc.string({ unit: fc.constantFrom("a", "b", "h", "5", "f", "-", "_", "__", "/", " ", "日"), maxLength: 6 });
const anyName = fc.oneof(fc.string({ unit: fc.constantFrom(...PRINTABLE_ASCII, ...UNICODE) }), fc.string({ unit: "binary" }), nearName);

describe("graph node ids", () => {
  it("spell (hook, table, chain) one way only: reading an id back gives the three names", () => {
    fc.assert(fc.property(anyName, anyName, anyName, (hook, table, chain) => {
      const id = chainNodeId(hook, table, chain);
      expect(id).toMatch(/^n_chain_[A-Za-z0-9_]*$/);
      expect(decodeChainId(id)).toEqual([hook, table, chain]);
    }), { numRuns: 2000 });
  });

  it("differ for different names, in any of the three parts", () => {
    fc.assert(fc.property(fc.tuple(nearName, nearName, nearName), fc.tuple(nearName, nearName, nearName), (a, b) => {
      fc.pre(a.some((x, i) => x !== b[i]));
      expect(chainNodeId(...a)).not.toBe(chainNodeId(...b));
    }), { numRuns: 2000 });
  });

  it("differ for every one-character chain name (printable ASCII and some Unicode) and from the packet and fate ids", () => {
    const ids = [...PRINTABLE_ASCII, ...UNICODE, "a-b", "a_b", "a_hb", "a_2d_b"].map((c) => chainNodeId("INPUT", "filter", c));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).not.toMatch(/^n_(packet|fate_\d+)$/);
  });
});

describe("labels", () => {
  const fromMermaid = (s: string) => s.replace(/#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)));
  it("Mermaid: no character of its notation or of HTML is left bare, and the text reads back", () => {
    fc.assert(fc.property(anyName, (s) => {
      const l = mermaidLabel(s);
      expect(l.replace(/#\d+;/g, "")).not.toMatch(/["#&<>`|:\n]/);
      expect(fromMermaid(l)).toBe(s.replace(/\n/g, " "));
    }), { numRuns: 1000 });
  });
  it("DOT: one quoted string whose escapes and entities read back to the text", () => {
    const fromDot = (q: string) => {
      expect(q).toMatch(/^"([^"\\]|\\[\\"n])*"$/s);
      return q.slice(1, -1).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c)).replace(/&amp;/g, "&");
    };
    fc.assert(fc.property(anyName, (s) => {
      expect(fromDot(dotString(s))).toBe(s);
    }), { numRuns: 1000 });
    expect(fromDot(dotString("x&amp;y \\N \"q\"\nz"))).toBe("x&amp;y \\N \"q\"\nz");
  });
});

describe("a trace through chains with odd names", () => {
  const node = nodeFromTexts({ rules: [{ file: "odd-names.save", text: ODD_NAMES_SAVE }] }, { ifaces: ["eth0=10.0.0.2/24"] });
  const e = node.evaluate(packet("tcp 10.0.0.1:1000 -> 10.0.0.2:80 in eth0"));
  const labels = ["packet", ...ODD_NAMES_CHAINS.map((c) => `filter ${c}\n(INPUT)`), "DROPPED by filter x&amp; rule 1 (hook INPUT)"];

  it("has a node per chain and no false loop", () => {
    const g = traceGraph(e);
    expect(g.nodes.map((n) => n.label)).toEqual(labels);
    expect(new Set(g.nodes.map((n) => n.id)).size).toBe(labels.length);
    expect(g.edges.filter((ed) => ed.from === ed.to)).toEqual([]);
  });

  it("Mermaid shows each name as text", () => {
    const text = mermaidText(e);
    const nodeLines = text.split("\n").filter((l) => /^ {2}n_\w+[[(]/.test(l));
    expect(nodeLines.map((l) => fromMermaidLabel(l))).toEqual(labels.map((l) => l.replace("\n", " ")));
    expect(text.replace(/-->/g, "")).not.toMatch(/[<>&`]/);
  });

  it("DOT quotes each name", () => {
    const text = dotText(e);
    expect(text).toContain(`[label="filter a\\\\b\\n(INPUT)"`);
    expect(text).toContain(`[label="filter x&amp;amp;\\n(INPUT)"`);
    expect(text.match(/^ {2}n_\w+ \[label=/gm)).toHaveLength(labels.length);
  });

  it("HTML has the names as text and unique element ids", async () => {
    const html = await htmlPage(e);
    expect(html).not.toMatch(/<b>|<img|<script>alert/);
    expect(html).toContain("filter &lt;b&gt;x&lt;/b&gt;");
    expect(html).toContain("filter x&amp;amp;");
    const ids = [...html.matchAll(/ id="([^"]*)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  const dot = spawnSync("dot", ["-V"], { encoding: "utf8" });
  const noDot = dot.error ? "Graphviz dot is not installed (apt-get install graphviz)" : undefined;
  it.skipIf(noDot !== undefined)(`Graphviz draws every node with its name${noDot ? ` (skipped: ${noDot})` : ""}`, () => {
    const r = spawnSync("dot", ["-Tplain"], { input: dotText(e), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    // -Tplain: `node NAME X Y W H LABEL ...`, LABEL quoted when it has spaces, with \n for a line break.
    const drawn = r.stdout.split("\n").filter((l) => l.startsWith("node ")).map((l) => {
      const m = /^node \S+ \S+ \S+ \S+ \S+ ("(?:[^"\\]|\\.)*"|\S+)/.exec(l)!;
      return m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c)) : m[1]!;
    });
    expect(drawn).toEqual(labels);
  });
});

function fromMermaidLabel(line: string): string {
  const m = /"(.*)"/.exec(line)!;
  return m[1]!.replace(/#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)));
}
