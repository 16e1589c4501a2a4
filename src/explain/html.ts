/**
 * One self-contained HTML page: the chains the packet went through drawn as a graph (SVG, laid
 * out here, no scripts from elsewhere), each outcome's path highlighted on demand with its
 * probability, and every rule's text on hover.
 */
import type { Evaluation } from "../netfilter/model.js";
import { packetText } from "./describe.js";
import { traceGraph, type TraceGraph } from "./graph.js";
import { evaluationJson } from "./json.js";

/** Text for HTML and SVG: the five characters markup reads escaped. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

interface Placed {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Layers by distance from the packet (breadth first, so loops cannot stretch it); nodes of a layer side by side. */
function layout(g: TraceGraph): Map<string, Placed> {
  const depth = new Map<string, number>([[g.nodes[0]!.id, 0]]);
  const queue = [g.nodes[0]!.id];
  while (queue.length) {
    const id = queue.shift()!;
    for (const e of g.edges) {
      if (e.from !== id || depth.has(e.to)) continue;
      depth.set(e.to, depth.get(id)! + 1);
      queue.push(e.to);
    }
  }
  const layers = new Map<number, string[]>();
  for (const n of g.nodes) {
    const d = depth.get(n.id) ?? 0;
    layers.set(d, [...(layers.get(d) ?? []), n.id]);
  }
  const out = new Map<string, Placed>();
  // Boxes as wide as the longest label (12px monospace: 7.2px a character), so no text is cut.
  const W = g.nodes.reduce((w, n) => Math.max(w, ...n.label.split("\n").map((l) => 16 + 7.3 * [...l].length)), 230), H = 46, GX = 30, GY = 50;
  for (const [d, ids] of layers) {
    ids.forEach((id, i) => out.set(id, { x: 20 + i * (W + GX), y: 20 + d * (H + GY), w: W, h: H }));
  }
  return out;
}

export function htmlPage(e: Evaluation): string {
  const g = traceGraph(e);
  const pos = layout(g);
  const width = [...pos.values()].reduce((m, p) => Math.max(m, p.x + p.w), 0) + 20;
  const height = [...pos.values()].reduce((m, p) => Math.max(m, p.y + p.h), 0) + 20;
  const svgNodes = g.nodes.map((n) => {
    const p = pos.get(n.id)!;
    const [l1, l2] = n.label.split("\n");
    const cls = n.kind === "fate" ? "fate" : n.kind === "start" ? "start" : "chain";
    const title = n.rules.length ? `<title>${esc(n.rules.join("\n"))}</title>` : "";
    return `<g class="node ${cls}" id="${n.id}">${title}<rect x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}" rx="8"/>` +
      `<text x="${p.x + p.w / 2}" y="${p.y + (l2 ? 19 : 28)}">${esc(l1 ?? "")}</text>` +
      (l2 ? `<text class="small" x="${p.x + p.w / 2}" y="${p.y + 36}">${esc(l2)}</text>` : "") + `</g>`;
  }).join("\n");
  const svgEdges = g.edges.map((ed, k) => {
    const a = pos.get(ed.from)!, b = pos.get(ed.to)!;
    const x1 = a.x + a.w / 2, y1 = a.y + a.h, x2 = b.x + b.w / 2, y2 = b.y;
    return `<g class="edge o${ed.outcome}" data-outcome="${ed.outcome}" id="e${k}"><path d="M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}" marker-end="url(#arrow)"/>` +
      (ed.label ? `<text class="small" x="${(x1 + x2) / 2 + 4}" y="${(y1 + y2) / 2}">${esc(ed.label)}</text>` : "") + `</g>`;
  }).join("\n");
  const list = g.outcomes.map((o) => `<li><button data-outcome="${o.index}">Outcome ${o.index + 1}</button> p=${o.probability.toFixed(4)}: ${esc(o.fate)}</li>`).join("\n");
  const data = JSON.stringify(evaluationJson(e)).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>netfate: ${esc(packetText(e.packet))}</title>
<style>
body{font:14px system-ui,sans-serif;margin:20px;color:#222}
h1{font-size:18px} code{font-family:monospace}
svg .node rect{fill:#f4f6fa;stroke:#667;stroke-width:1}
svg .node.fate rect{fill:#fff4e0} svg .node.start rect{fill:#e8f5e9}
svg .node.on rect{stroke:#d33;stroke-width:3}
svg text{font:12px monospace;text-anchor:middle} svg text.small{font-size:11px;fill:#555}
svg .edge path{fill:none;stroke:#99a;stroke-width:1.5} svg .edge.on path{stroke:#d33;stroke-width:3}
li{margin:4px 0} button{font:inherit;cursor:pointer}
</style></head>
<body>
<h1>netfate: <code>${esc(packetText(e.packet))}</code></h1>
<ol id="outcomes">${list}</ol>
<svg id="graph" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#99a"/></marker></defs>
${svgEdges}
${svgNodes}
</svg>
<script type="application/json" id="netfate-data">${data}</script>
<script>
(function () {
  var paths = ${JSON.stringify(g.outcomes.map((o) => o.path)).replace(/</g, "\\u003c")};
  function show(i) {
    document.querySelectorAll(".on").forEach(function (el) { el.classList.remove("on"); });
    (paths[i] || []).forEach(function (id) { var el = document.getElementById(id); if (el) el.classList.add("on"); });
    document.querySelectorAll(".edge.o" + i).forEach(function (el) { el.classList.add("on"); });
    document.body.setAttribute("data-shown", String(i));
  }
  document.querySelectorAll("button[data-outcome]").forEach(function (b) {
    b.addEventListener("click", function () { show(Number(b.getAttribute("data-outcome"))); });
  });
  show(0);
})();
</script>
</body></html>
`;
}
