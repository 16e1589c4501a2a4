/**
 * The chains an evaluation went through as a graph: nodes are table/chain pairs, edges the
 * jumps and hook-to-hook hand-overs of each outcome, with the outcome's probability. Shared by
 * the mermaid, dot and HTML renderers.
 */
import type { Evaluation } from "../netfilter/model.js";
import { fateText, stepRuleText } from "./describe.js";

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

function nodeId(s: string): string {
  return "n_" + s.replace(/[^A-Za-z0-9]/g, "_");
}

export function traceGraph(e: Evaluation): TraceGraph {
  const fam = e.packet.family;
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const add = (key: string, label: string, kind: GraphNode["kind"]): GraphNode => {
    let n = nodes.get(key);
    if (!n) {
      n = { id: nodeId(key), label, rules: [], kind };
      nodes.set(key, n);
    }
    return n;
  };
  const start = add("packet", "packet", "start");
  const outcomes: TraceGraph["outcomes"] = [];
  e.outcomes.forEach((o, i) => {
    let prev = start;
    const path = [start.id];
    const stack: GraphNode[] = [];
    let lastVerdict = "";
    for (const s of o.steps) {
      if (!s.matched) continue;
      const key = `${s.hook}/${s.table}/${s.chain}`;
      const n = add(key, `${s.table} ${s.chain}\n(${s.hook})`, "chain");
      const text = stepRuleText(s, fam);
      if (!n.rules.includes(text)) n.rules.push(text);
      if (prev !== n) {
        // Back in a chain we jumped from: a return, drawn as no edge of its own.
        const returning = stack.includes(n);
        if (returning) {
          while (stack.length && stack[stack.length - 1] !== n) stack.pop();
          stack.pop();
        } else {
          const called = /^(JUMP|GOTO) /.test(lastVerdict);
          if (called && !lastVerdict.startsWith("GOTO")) stack.push(prev);
          if (!called) stack.length = 0;
          edges.push({ from: prev.id, to: n.id, label: called ? lastVerdict : "", outcome: i });
          if (!path.includes(n.id)) path.push(n.id);
        }
      }
      prev = n;
      lastVerdict = s.verdict;
    }
    const f = add(`fate/${i}`, fateText(o.fate), "fate");
    edges.push({ from: prev.id, to: f.id, label: `p=${o.probability.toFixed(4)}`, outcome: i });
    path.push(f.id);
    outcomes.push({ index: i, probability: o.probability, fate: fateText(o.fate), path });
  });
  return { nodes: [...nodes.values()], edges, outcomes };
}

function esc(s: string): string {
  return s.replace(/"/g, "'").replace(/\n/g, " ");
}

export function mermaidText(e: Evaluation): string {
  const g = traceGraph(e);
  const lines = ["flowchart TD"];
  for (const n of g.nodes) {
    const label = esc(n.label);
    lines.push(n.kind === "fate" ? `  ${n.id}(["${label}"])` : n.kind === "start" ? `  ${n.id}(("${label}"))` : `  ${n.id}["${label}"]`);
  }
  const seen = new Set<string>();
  for (const ed of g.edges) {
    const k = `${ed.from}>${ed.to}>${ed.label}`;
    if (seen.has(k)) continue;
    seen.add(k);
    lines.push(ed.label ? `  ${ed.from} -->|"${esc(ed.label)}"| ${ed.to}` : `  ${ed.from} --> ${ed.to}`);
  }
  return lines.join("\n") + "\n";
}

export function dotText(e: Evaluation): string {
  const g = traceGraph(e);
  const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
  const lines = ["digraph netfate {", "  rankdir=TB;", "  node [shape=box, fontname=monospace];"];
  for (const n of g.nodes) {
    const shape = n.kind === "fate" ? "oval" : n.kind === "start" ? "circle" : "box";
    lines.push(`  ${n.id} [label=${q(n.label)}, shape=${shape}${n.rules.length ? `, tooltip=${q(n.rules.join("\n"))}` : ""}];`);
  }
  const seen = new Set<string>();
  for (const ed of g.edges) {
    const k = `${ed.from}>${ed.to}>${ed.label}`;
    if (seen.has(k)) continue;
    seen.add(k);
    lines.push(`  ${ed.from} -> ${ed.to}${ed.label ? ` [label=${q(ed.label)}]` : ""};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
