/**
 * The chains an evaluation went through as a graph: nodes are table/chain pairs, edges the
 * jumps and hook-to-hook hand-overs of each outcome, with the outcome's probability. Shared by
 * the mermaid, dot and HTML renderers.
 */
import type { Evaluation } from "../netfilter/model.js";
import { fateText, chainPlaceText, stepRuleText } from "./describe.js";

export interface GraphNode {
  id: string;
  label: string;
  /** The rules of this chain that the outcomes touched, in save form, for hover text. */
  rules: string[];
  kind: "chain" | "fate" | "start";
}

export interface GraphEdge {
  from: string;
  to: string;
  label: string;
  outcome: number;
}

export interface TraceGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  outcomes: Array<{ index: number; probability: number; fate: string; path: string[] }>;
}

/**
 * One part of a node id in the only characters every target takes unquoted (Mermaid ids,
 * DOT ids, HTML ids): ASCII letters and digits stay, `-` (in most chain names) becomes `_h`,
 * any other character `_` + its code point in hex + `_`. Read left to right, each `_` is
 * followed by `h`, a hex digit or (between parts, see chainNodeId) another `_`, so an id
 * spells its parts one way only: chains `a-b` and `a_b` cannot share a node.
 */
export function idPart(s: string): string {
  let out = "";
  for (const ch of s) out += /[A-Za-z0-9]/.test(ch) ? ch : ch === "-" ? "_h" : `_${ch.codePointAt(0)!.toString(16)}_`;
  return out;
}

/** The node of a chain as one hook runs it; `n_chain_`, `n_packet` and `n_fate_` ids never meet. */
export function chainNodeId(hook: string, table: string, chain: string): string {
  return `n_chain_${idPart(hook)}__${idPart(table)}__${idPart(chain)}`;
}

const START_ID = "n_packet";
const fateNodeId = (outcome: number): string => `n_fate_${outcome}`;

export function traceGraph(e: Evaluation): TraceGraph {
  const fam = e.packet.family;
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const add = (id: string, label: string, kind: GraphNode["kind"]): GraphNode => {
    let n = nodes.get(id);
    if (!n) {
      n = { id, label, rules: [], kind };
      nodes.set(id, n);
    }
    return n;
  };
  const start = add(START_ID, "packet", "start");
  const outcomes: TraceGraph["outcomes"] = [];
  // Sets beside the lists: a path through a chain 10,000 jumps deep stays linear.
  const rulesOf = new Map<GraphNode, Set<string>>();
  e.outcomes.forEach((o, i) => {
    let prev = start;
    const path = [start.id];
    const inPath = new Set(path);
    const stack: GraphNode[] = [];
    const onStack = new Map<GraphNode, number>();
    let lastVerdict = "";
    for (const s of o.steps) {
      if (!s.matched) continue;
      const where = chainPlaceText(s);
      const n = add(chainNodeId(s.hook, s.nft ? `${s.nft.family}-${s.nft.table}` : s.table, s.chain), `${where}\n(${s.hook})`, "chain");
      const text = stepRuleText(s, fam);
      let seen = rulesOf.get(n);
      if (!seen) rulesOf.set(n, (seen = new Set(n.rules)));
      if (!seen.has(text)) {
        seen.add(text);
        n.rules.push(text);
      }
      const pop = () => {
        const top = stack.pop()!;
        onStack.set(top, onStack.get(top)! - 1);
        return top;
      };
      if (prev !== n) {
        // Back in a chain we jumped from: a return, drawn as no edge of its own.
        const returning = (onStack.get(n) ?? 0) > 0;
        if (returning) {
          while (stack.length && pop() !== n);
        } else {
          const called = /^(JUMP|GOTO) /.test(lastVerdict);
          if (called && !lastVerdict.startsWith("GOTO")) {
            stack.push(prev);
            onStack.set(prev, (onStack.get(prev) ?? 0) + 1);
          }
          if (!called) {
            stack.length = 0;
            onStack.clear();
          }
          edges.push({ from: prev.id, to: n.id, label: called ? lastVerdict : "", outcome: i });
          if (!inPath.has(n.id)) {
            inPath.add(n.id);
            path.push(n.id);
          }
        }
      }
      prev = n;
      lastVerdict = s.verdict;
    }
    const f = add(fateNodeId(i), fateText(o.fate), "fate");
    edges.push({ from: prev.id, to: f.id, label: `p=${o.probability.toFixed(4)}`, outcome: i });
    path.push(f.id);
    outcomes.push({ index: i, probability: o.probability, fate: fateText(o.fate), path });
  });
  return { nodes: [...nodes.values()], edges, outcomes };
}

/**
 * Text for inside a quoted Mermaid label. Mermaid renders labels as HTML, so `<`, `>` and `&`
 * are written as its entity codes (`#60;`), and so are the characters of its own notation:
 * `"` ends the label, `#` starts an entity code, a backtick starts a Markdown string, `|`
 * ends an edge label, and `:` because Mermaid cuts the last `;` off any line where `style`
 * or `classDef` comes before `:`...`#` (its style-statement workaround runs over every line).
 * Checked by rendering with Mermaid 11.17: a chain `style:a#b;c` lost its `;` with `:` bare.
 */
export function mermaidLabel(s: string): string {
  return s.replace(/["#&<>`|:]/g, (c) => `#${c.codePointAt(0)};`).replace(/\n/g, " ");
}

/**
 * A DOT quoted string: `"` and `\` escaped, the latter so `\N`, `\G`... in a name stay text
 * (labels are Graphviz escStrings), and `&` as `&amp;` because Graphviz decodes entity
 * references in every label (checked with dot 2.43: label="x&amp;y" is drawn as x&y).
 */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/&/g, "&amp;").replace(/\n/g, "\\n")}"`;
}

export function mermaidText(e: Evaluation): string {
  const g = traceGraph(e);
  const lines = ["flowchart TD"];
  for (const n of g.nodes) {
    const label = mermaidLabel(n.label);
    lines.push(n.kind === "fate" ? `  ${n.id}(["${label}"])` : n.kind === "start" ? `  ${n.id}(("${label}"))` : `  ${n.id}["${label}"]`);
  }
  const seen = new Set<string>();
  for (const ed of g.edges) {
    const k = `${ed.from}>${ed.to}>${ed.label}`;
    if (seen.has(k)) continue;
    seen.add(k);
    lines.push(ed.label ? `  ${ed.from} -->|"${mermaidLabel(ed.label)}"| ${ed.to}` : `  ${ed.from} --> ${ed.to}`);
  }
  return lines.join("\n") + "\n";
}

export function dotText(e: Evaluation): string {
  const g = traceGraph(e);
  const lines = ["digraph netfate {", "  rankdir=TB;", "  node [shape=box, fontname=monospace];"];
  for (const n of g.nodes) {
    const shape = n.kind === "fate" ? "oval" : n.kind === "start" ? "circle" : "box";
    lines.push(`  ${n.id} [label=${dotString(n.label)}, shape=${shape}${n.rules.length ? `, tooltip=${dotString(n.rules.join("\n"))}` : ""}];`);
  }
  const seen = new Set<string>();
  for (const ed of g.edges) {
    const k = `${ed.from}>${ed.to}>${ed.label}`;
    if (seen.has(k)) continue;
    seen.add(k);
    lines.push(`  ${ed.from} -> ${ed.to}${ed.label ? ` [label=${dotString(ed.label)}]` : ""};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
