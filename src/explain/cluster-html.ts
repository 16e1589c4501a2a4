/**
 * One self-contained HTML page of a cluster trace, drawn here (SVG, no script draws it, nothing
 * loaded from elsewhere): each node a column box holding its hops, each pod a box on its node,
 * the hops of every way one below the other in the order they happen, so no two boxes share a
 * row and every edge runs through the gap between two rows. Request and reply are drawn
 * distinctly, tunnels as their own edges, and every way ends in a box coloured by its fate.
 */
import type { ClusterHop, ClusterOutcome, Place } from "../model/cluster.js";
import type { ClusterEvaluation } from "../netfilter/cluster.js";
import { PLAIN } from "./colour.js";
import { fateText, packetText, probabilityText, snapshotText, stepRuleText } from "./describe.js";
import { arrivalText, clusterOutcomeVerdict, placeText } from "./cluster-describe.js";
import { clusterEvaluationJson } from "./cluster-json.js";
import { clusterTraceText } from "./cluster-text.js";
import { esc, OFFLINE_CSP } from "./html.js";
import { givenText, outcomeVerdict, problemNote, type Verdict } from "./text.js";

/** Longest line in a box, in characters; longer texts are wrapped at spaces (or cut where there is none). */
const MAX_CHARS = 46;
/** 12px monospace: 7.2px a character (measured in Chromium), a little more for safety. */
const CHAR_W = 7.4;
const LINE_H = 15;
const BOX_PAD = 8;
const ROW_GAP = 44;
const WAY_GAP = 16;
const LANE_GAP = 12;
const NODE_GAP = 70;
const NODE_HEAD = 30;
const POD_HEAD = 24;
const POD_PAD = 8;
const MARGIN = 20;

/** Words into lines of at most `max` characters. */
function wrapWords(text: string, max = MAX_CHARS): string[] {
  const out: string[] = [];
  let line = "";
  for (let word of text.split(/\s+/).filter(Boolean)) {
    while ([...word].length > max) {
      if (line) out.push(line), (line = "");
      out.push([...word].slice(0, max).join(""));
      word = [...word].slice(max).join("");
    }
    if (!line) line = word;
    else if ([...line].length + 1 + [...word].length <= max) line += " " + word;
    else out.push(line), (line = word);
  }
  if (line) out.push(line);
  return out.length ? out : [""];
}

const laneKey = (p: Place): string => JSON.stringify([p.node, p.pod ?? null]);

type Direction = "request" | "reply";

interface Box {
  id: string;
  kind: "hop" | "fate";
  lane: string;
  lines: string[];
  /** Each line's class: the hop's arrival, a rewrite, its fate. */
  classes: string[];
  title: string;
  dir: Direction;
  way: number;
  verdict: Verdict;
  place: Place;
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Edge {
  from: Box;
  to: Box;
  cls: string;
  label: string;
  title: string;
}

/** The rewrites a hop's node made, as the trace lists them. */
function rewrites(h: ClusterHop): string[] {
  return h.outcome.steps.filter((s) => s.matched).flatMap((s) => s.rewrites ?? []);
}

function hopBox(h: ClusterHop, id: string, dir: Direction, way: number): Box {
  const lines: string[] = [];
  const classes: string[] = [];
  const add = (text: string, cls: string) => {
    for (const l of wrapWords(text)) {
      lines.push(l);
      classes.push(cls);
    }
  };
  add(h.arrival.kind === "start" ? `starts: ${packetText(h.packet)}` : arrivalText(h), "arrival");
  const rw = rewrites(h);
  for (const r of rw.slice(0, 3)) add(r, "rewrite");
  if (rw.length > 3) add(`and ${rw.length - 3} more rewrites`, "rewrite");
  add(`→ ${fateText(h.outcome.fate)}`, `fate ${outcomeVerdict(h.outcome)}`);
  const fam = h.packet.family;
  const title = [
    `${placeText(h.at)}: ${packetText(h.packet)}`,
    ...h.outcome.steps.filter((s) => s.matched).map((s) => stepRuleText(s, fam)),
    ...(h.outcome.routing ?? []),
    `final packet: ${snapshotText(h.outcome.final)}`,
  ].join("\n");
  return { id, kind: "hop", lane: laneKey(h.at), lines, classes, title, dir, way, verdict: outcomeVerdict(h.outcome), place: h.at, x: 0, y: 0, w: 0, h: 0 };
}

/** A way's end box, drawn under its last hop (where the way's fate shows), or on its place when it has no hop. */
function fateBox(w: ClusterOutcome, id: string, dir: Direction, way: number, last: Box | undefined): Box {
  const place = last?.place ?? w.at;
  const head = dir === "request" ? "Request" : "Reply";
  const prob = w.probability !== 1 ? ` (p=${probabilityText(w.probability)})` : "";
  const lines = wrapWords(`${head}${givenText(w)}${prob}: ${fateText(w.fate)}`);
  // The cause, unless it is the last hop's own fate (that box says it already).
  const cause = w.fate.kind === "reply-lost" ? w.fate.cause : undefined;
  if (cause && JSON.stringify(cause) !== JSON.stringify(w.hops.at(-1)?.outcome.fate)) lines.push(...wrapWords(`cause: ${fateText(cause)}`));
  if (w.leftCluster !== undefined) lines.push(...wrapWords(`${w.leftCluster} (beyond is not modelled)`));
  return {
    id, kind: "fate", lane: laneKey(place), lines, classes: lines.map(() => "line"), title: `${head} at ${placeText(w.at)}: ${fateText(w.fate)}`,
    // The request's own end: a request delivered is green even when its reply is lost (the reply's box says that).
    dir, way, verdict: outcomeVerdict(w), place, x: 0, y: 0, w: 0, h: 0,
  };
}

/** What an edge into a hop says: the link, the underlay or the tunnel the packet crossed. */
function edgeLabel(h: ClusterHop): { cls: string; label: string } {
  const a = h.arrival;
  switch (a.kind) {
    case "start":
      return { cls: "start", label: "" };
    case "link":
      if (a.from.pod === undefined && h.at.pod === undefined) return { cls: "underlay", label: `underlay ${a.fromIface} → ${a.iface}${a.via !== undefined ? ` via ${a.via}` : ""}` };
      return { cls: "veth", label: `${a.fromIface} → ${a.iface}` };
    case "encapsulated":
      return { cls: "encap", label: `${a.dev} encapsulates (${a.tunnel})` };
    case "decapsulated":
      return { cls: "decap", label: `${a.dev} decapsulates (${a.tunnel})` };
  }
}

interface Drawing {
  boxes: Box[];
  edges: Edge[];
  nodes: Array<{ name: string; x: number; w: number }>;
  pods: Array<{ node: string; pod: string; x: number; w: number }>;
  width: number;
  height: number;
}

/** Every way's boxes and edges, the replies after the request they answer. */
function collect(ev: ClusterEvaluation): { boxes: Box[]; edges: Edge[]; wayEnds: number[] } {
  const boxes: Box[] = [];
  const edges: Edge[] = [];
  const wayEnds: number[] = [];
  let way = 0;
  const draw = (w: ClusterOutcome, dir: Direction, requestEnd?: Box) => {
    const me = way++;
    const hopBoxes = w.hops.map((h, i) => hopBox(h, `w${me}-h${i}`, dir, me));
    const fate = fateBox(w, `w${me}-fate`, dir, me, hopBoxes.at(-1));
    const all = [...hopBoxes, fate];
    if (requestEnd && hopBoxes[0]) edges.push({ from: requestEnd, to: hopBoxes[0], cls: "turn", label: "reply", title: "the reply starts where the request ended" });
    w.hops.forEach((h, i) => {
      if (i === 0) return;
      const { cls, label } = edgeLabel(h);
      edges.push({ from: hopBoxes[i - 1]!, to: hopBoxes[i]!, cls: `${dir} ${cls}`, label, title: arrivalText(h) });
      // A tunnel: from the hop that sent the inner packet into it to the hop that took it out.
      if (h.arrival.kind === "decapsulated") {
        const dev = h.arrival.dev;
        for (let k = i - 1; k > 0; k--) {
          const a = w.hops[k]!.arrival;
          if (a.kind !== "encapsulated" || w.hops[k]!.depth !== h.depth + 1) continue;
          edges.push({ from: hopBoxes[k - 1]!, to: hopBoxes[i]!, cls: `${dir} tunnel`, label: "", title: `tunnel ${a.dev} (${a.tunnel}) → ${dev}` });
          break;
        }
      }
    });
    const last = hopBoxes.at(-1);
    if (last) edges.push({ from: last, to: fate, cls: `${dir} end`, label: "", title: fate.title });
    boxes.push(...all);
    wayEnds.push(boxes.length);
    // The reply starts where the request ended: an edge from the request's end box, through the gap below it.
    for (const r of w.reply ?? []) draw(r, "reply", fate);
  };
  for (const w of ev.outcomes) draw(w, "request");
  return { boxes, edges, wayEnds };
}

function layout(ev: ClusterEvaluation): Drawing {
  const { boxes, edges, wayEnds } = collect(ev);
  // Lanes: one per place, grouped by node, each in the order the packet first reaches it.
  const nodeOrder: string[] = [];
  const lanesOf = new Map<string, Place[]>();
  const seen = new Set<string>();
  for (const b of boxes) {
    if (seen.has(b.lane)) continue;
    seen.add(b.lane);
    const place: Place = b.place.pod !== undefined ? { node: b.place.node, pod: b.place.pod } : { node: b.place.node };
    if (!lanesOf.has(place.node)) {
      nodeOrder.push(place.node);
      lanesOf.set(place.node, []);
    }
    lanesOf.get(place.node)!.push(place);
  }
  for (const b of boxes) {
    b.w = Math.ceil(Math.max(...b.lines.map((l) => [...l].length)) * CHAR_W) + 2 * BOX_PAD;
    b.h = b.lines.length * LINE_H + 2 * BOX_PAD - 3;
  }
  const laneW = new Map<string, number>();
  for (const b of boxes) laneW.set(b.lane, Math.max(laneW.get(b.lane) ?? 160, b.w));
  const laneX = new Map<string, number>();
  const nodes: Drawing["nodes"] = [];
  const pods: Drawing["pods"] = [];
  let x = MARGIN;
  for (const name of nodeOrder) {
    const start = x;
    // The node's name must fit its box too.
    const lanes = lanesOf.get(name)!;
    x += LANE_GAP;
    for (const p of lanes) {
      const key = laneKey(p);
      const inner = Math.max(laneW.get(key)!, p.pod !== undefined ? Math.ceil([...`pod ${p.pod}`].length * CHAR_W) + 2 : 0);
      if (p.pod !== undefined) {
        pods.push({ node: name, pod: p.pod, x, w: inner + 2 * POD_PAD });
        laneX.set(key, x + POD_PAD);
        laneW.set(key, inner);
        x += inner + 2 * POD_PAD + LANE_GAP;
      } else {
        laneX.set(key, x);
        laneW.set(key, inner);
        x += inner + LANE_GAP;
      }
    }
    const nameW = Math.ceil([...name].length * CHAR_W * 1.1) + 2 * LANE_GAP;
    if (x - start < nameW) x = start + nameW;
    nodes.push({ name, x: start, w: x - start });
    x += NODE_GAP;
  }
  let y = MARGIN + NODE_HEAD + POD_HEAD + 8;
  let end = 0;
  boxes.forEach((b, i) => {
    b.x = laneX.get(b.lane)!;
    // Every box as wide as its lane: the boxes of a place line up.
    b.w = laneW.get(b.lane)!;
    b.y = y;
    y += b.h + ROW_GAP;
    if (i + 1 === wayEnds[end]) {
      y += WAY_GAP;
      end++;
    }
  });
  // No way at all (an evaluation that found none) still makes a valid, if empty, drawing.
  return { boxes, edges, nodes, pods, width: Math.max(x - NODE_GAP + MARGIN, 2 * MARGIN), height: Math.max(y - ROW_GAP - WAY_GAP + MARGIN + 10, 2 * MARGIN + NODE_HEAD + POD_HEAD) };
}

function boxSvg(b: Box): string {
  const cls = b.kind === "hop" ? `hop ${b.dir}` : `fate ${b.dir} ${b.verdict}`;
  const data = `data-way="${b.way}" data-node="${esc(b.place.node)}"${b.place.pod !== undefined ? ` data-pod="${esc(b.place.pod)}"` : ""}`;
  const text = b.lines.map((l, i) => `<text class="${b.classes[i]}" x="${b.x + BOX_PAD}" y="${b.y + BOX_PAD + 11 + i * LINE_H}">${esc(l)}</text>`).join("");
  return `<g class="box ${cls}" id="${b.id}" ${data}><title>${esc(b.title)}</title><rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="6"/>${text}</g>`;
}

function edgeSvg(e: Edge, k: number): string {
  const a = e.from, b = e.to;
  const x1 = a.x + a.w / 2, y1 = a.y + a.h, x2 = b.x + b.w / 2, y2 = b.y;
  const my = (y1 + y2) / 2;
  // A tunnel spans several rows: it leaves and enters by the boxes' sides, behind the boxes between.
  let d = `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`;
  if (e.cls.includes("tunnel")) {
    // Out of the side facing the far node, into the side facing the near one.
    const right = b.x > a.x;
    const sx = right ? a.x + a.w : a.x, tx = right ? b.x : b.x + b.w, bend = right ? 60 : -60;
    d = `M${sx},${a.y + a.h / 2} C${sx + bend},${a.y + a.h / 2} ${tx - bend},${b.y + b.h / 2} ${tx},${b.y + b.h / 2}`;
  }
  const label = e.label ? `<text class="label" x="${(x1 + x2) / 2}" y="${my + 4}">${esc(e.label)}</text>` : "";
  return `<g class="edge ${e.cls}" id="e${k}"><title>${esc(e.title)}</title><path d="${d}" marker-end="url(#${e.cls.includes("tunnel") ? "tunnel-arrow" : "arrow"})"/>${label}</g>`;
}

export function clusterHtmlPage(ev: ClusterEvaluation): string {
  const g = layout(ev);
  const nodesSvg = g.nodes.map((n) =>
    `<g class="node" data-node="${esc(n.name)}"><rect x="${n.x}" y="${MARGIN}" width="${n.w}" height="${g.height - 2 * MARGIN}" rx="10"/><text class="node-name" x="${n.x + LANE_GAP}" y="${MARGIN + 20}">${esc(n.name)}</text></g>`).join("\n");
  const podsSvg = g.pods.map((p) =>
    `<g class="pod" data-node="${esc(p.node)}" data-pod="${esc(p.pod)}"><rect x="${p.x}" y="${MARGIN + NODE_HEAD}" width="${p.w}" height="${g.height - 2 * MARGIN - NODE_HEAD - 8}" rx="8"/><text class="pod-name" x="${p.x + POD_PAD}" y="${MARGIN + NODE_HEAD + 17}">${esc(`pod ${p.pod}`)}</text></g>`).join("\n");
  // Edges under the boxes: a tunnel crossing rows passes behind the boxes in between.
  const edgesSvg = g.edges.map(edgeSvg).join("\n");
  const boxesSvg = g.boxes.map(boxSvg).join("\n");
  const summary = ev.outcomes.map((w, i) => {
    const back = (w.reply ?? []).map((r) => `; reply: ${esc(fateText(r.fate))} at ${esc(placeText(r.at))}`).join("");
    return `<li class="${clusterOutcomeVerdict(w)}">Outcome ${i + 1}${esc(givenText(w))}${w.probability !== 1 ? ` (p=${probabilityText(w.probability)})` : ""}: ${esc(fateText(w.fate))} at ${esc(placeText(w.at))}${back}</li>`;
  }).join("\n");
  const heading = `${packetText(ev.packet)} — from ${placeText(ev.start)}`;
  const notes = ev.problems.length ? `\n<ul id="notes">${ev.problems.map((p) => `<li>${esc(problemNote(p.problem, p.node))}</li>`).join("")}</ul>` : "";
  const data = JSON.stringify(clusterEvaluationJson(ev)).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${OFFLINE_CSP}">
<title>netfate: ${esc(heading)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:20px;color:#222}
h1{font-size:18px} code,pre{font-family:monospace}
li.lost{color:#b71c1c} li.unknown{color:#555}
.legend span{display:inline-block;margin-right:18px}
.legend .req{color:#1565c0} .legend .rep{color:#e65100} .legend .tun{color:#6a1b9a}
svg text{font:12px monospace}
svg .node rect{fill:#f5f6fa;stroke:#8a8fa3;stroke-width:1.5}
svg .node-name{font-weight:bold;font-size:13px}
svg .pod rect{fill:#fffdf5;stroke:#b0a98a;stroke-dasharray:4 3}
svg .pod-name{fill:#6d6540}
svg .box rect{fill:#fff;stroke-width:2}
svg .hop.request rect{stroke:#1565c0} svg .hop.reply rect{stroke:#e65100;stroke-dasharray:6 3}
svg .hop text.rewrite{fill:#00695c} svg .hop text.fate.lost{fill:#b71c1c;font-weight:bold}
svg .hop text.fate.unknown{fill:#555} svg .hop text.fate.through{fill:#2e7d32}
svg .fate rect{stroke-width:3} svg .fate text{font-weight:bold}
svg .fate.lost rect{fill:#fde0e0;stroke:#c62828} svg .fate.lost text{fill:#8e0000}
svg .fate.through rect{fill:#e3f4e4;stroke:#2e7d32} svg .fate.through text{fill:#1b5e20}
svg .fate.unknown rect{fill:#eeeeee;stroke:#757575} svg .fate.unknown text{fill:#424242}
svg .edge path{fill:none;stroke-width:2}
svg .edge.request path{stroke:#1565c0} svg .edge.reply path{stroke:#e65100;stroke-dasharray:7 4}
svg .edge.tunnel path{stroke:#6a1b9a;stroke-width:4;stroke-dasharray:2 5;opacity:.6}
svg .edge.reply.tunnel path{stroke-dasharray:9 4 2 4}
svg .edge.turn path{stroke:#999;stroke-dasharray:2 3}
svg .edge text.label{font-size:11px;fill:#333;text-anchor:middle;paint-order:stroke;stroke:#fff;stroke-width:4px}
</style></head>
<body>
<h1>netfate: <code>${esc(heading)}</code></h1>
<ol id="outcomes">${summary}</ol>${notes}
<p class="legend"><span class="req">━ request</span><span class="rep">╍ reply</span><span class="tun">┅ tunnel</span><span>end boxes: red lost, green through, grey cannot tell</span></p>
<svg id="cluster" xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}" viewBox="0 0 ${g.width} ${g.height}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker><marker id="tunnel-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="12" markerHeight="12" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6a1b9a"/></marker></defs>
${nodesSvg}
${podsSvg}
${edgesSvg}
${boxesSvg}
</svg>
<details><summary>The trace as text</summary><pre>${esc(clusterTraceText(ev, { palette: PLAIN }))}</pre></details>
<script type="application/json" id="netfate-data">${data}</script>
</body></html>
`;
}
