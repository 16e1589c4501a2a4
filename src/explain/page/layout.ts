/**
 * Places the figure with ELK's layered algorithm: lanes are compound nodes kept in hook order
 * by ELK's partitioning, table groups are compound nodes inside them, a jump or goto leaves its
 * chain box by a port at the height of its rule's row, and edges are routed orthogonally with
 * their rewrite labels placed by ELK (so no label sits on a box or on another label).
 * Every box's size, and every row's place inside it, is measured here from its text.
 */
import type { ElkExtendedEdge, ElkNode, ElkPort } from "elkjs/lib/elk-api.js";
import { LANE_TITLE, type Box, type Figure, type LaneKey, type Link, type Row } from "./figure-model.js";
import { LINE, PAD, linesWidth, textWidth, wrapProse } from "./metrics.js";

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A line of text at its baseline's left end. */
export interface TextLine {
  x: number;
  y: number;
  text: string;
  cls: string;
}

export interface PlacedRow {
  row: Row;
  rect: Rect;
  text: TextLine[];
}

export interface PlacedBox {
  box: Box;
  rect: Rect;
  /** The title's and sub lines' text. */
  text: TextLine[];
  rows: PlacedRow[];
}

export interface PlacedLink {
  link: Link;
  points: Array<{ x: number; y: number }>;
  label?: { rect: Rect; text: TextLine[] };
}

export interface PlacedFrame {
  kind: "lane" | "group";
  title: string;
  rect: Rect;
  text: TextLine;
}

export interface Placed {
  width: number;
  height: number;
  frames: PlacedFrame[];
  boxes: PlacedBox[];
  links: PlacedLink[];
}

const FATE_COLUMNS = 64;
const TITLE = 20;
const FRAME_TITLE = 22;

export interface Measured {
  w: number;
  h: number;
  /** Lines relative to the box's top left. */
  text: TextLine[];
  rows: Array<{ row: Row; y: number; h: number; text: TextLine[] }>;
}

/** Lays out a box's text and says how big the box is. */
function measure(b: Box): Measured {
  const text: TextLine[] = [];
  let y = PAD;
  const titleLines = b.kind === "fate" ? wrapProse(b.title, FATE_COLUMNS) : [b.title];
  for (const t of titleLines) {
    text.push({ x: PAD, y: y + 13, text: t, cls: "title" });
    y += TITLE;
  }
  for (const s of b.sub) for (const l of wrapProse(s, FATE_COLUMNS + 8)) {
    text.push({ x: PAD, y: y + 12, text: l, cls: "sub" });
    y += LINE;
  }
  const rows: Measured["rows"] = [];
  for (const r of b.rows) {
    const top = y;
    y += 4;
    const rt: TextLine[] = [];
    for (const l of b.kind === "routing" ? wrapProse(r.head, FATE_COLUMNS) : [r.head]) {
      rt.push({ x: PAD, y: y - top + 12, text: l, cls: "head" });
      y += LINE;
    }
    for (const l of r.lines) {
      rt.push({ x: PAD + 12, y: y - top + 12, text: l, cls: "rule" });
      y += LINE;
    }
    for (const nt of r.notes) for (const l of wrapProse(nt.text, FATE_COLUMNS + 8)) {
      rt.push({ x: PAD + 12, y: y - top + 12, text: l, cls: nt.kind });
      y += LINE;
    }
    y += 4;
    rows.push({ row: r, y: top, h: y - top, text: rt });
  }
  y += b.rows.length ? 4 : PAD - 4;
  const w = Math.max(b.kind === "start" ? 80 : 160, linesWidth(text.map((t) => t.text)) + 2 * PAD, ...rows.flatMap((r) => r.text.map((t) => t.x + textWidth(t.text) + PAD)));
  return { w: Math.ceil(w), h: Math.ceil(y), text, rows };
}

const labelLines = (l: Link): string[] => (l.kind === "return" ? ["return", ...l.label] : l.label);

/** The ELK graph of a figure, with each box's measured text (exported for the engine comparison). */
export interface FigureGraph {
  root: ElkNode;
  measured: Map<string, Measured>;
  frameTitles: Map<string, { kind: PlacedFrame["kind"]; title: string }>;
}

type Elk = InstanceType<typeof import("elkjs/lib/elk-api.js").default>;
let engine: Promise<Elk> | undefined;

/**
 * ELK, loaded the first time a figure is laid out: its 1.6 MB bundle is not read by the
 * commands and library users that never draw one (every `trace` imports this module).
 */
function elk(): Promise<Elk> {
  engine ??= import("elkjs/lib/elk.bundled.js").then((m) => new (m.default as unknown as typeof import("elkjs/lib/elk-api.js").default)());
  return engine;
}

export async function layoutFigure(f: Figure): Promise<Placed> {
  const g = figureGraph(f);
  const out = await (await elk()).layout(g.root);
  return place(f, out, g.measured, g.frameTitles);
}

export function figureGraph(f: Figure): FigureGraph {
  const measured = new Map(f.boxes.map((b) => [b.id, measure(b)]));
  const portsOf = new Map<string, ElkPort[]>();
  for (const l of f.links) {
    if (!l.fromRow) continue;
    const m = measured.get(l.from)!;
    const r = m.rows.find((x) => x.row.id === l.fromRow)!;
    const ports = portsOf.get(l.from) ?? [];
    // On the left: a port on the right pushes every called chain a box's width further right
    // (measured on the samples: a quarter less area and a quarter fewer crossings on the left).
    if (!ports.some((p) => p.id === `${l.fromRow}__p`)) ports.push({ id: `${l.fromRow}__p`, x: -1, y: r.y + 10, width: 1, height: 1, layoutOptions: { "elk.port.side": "WEST" } });
    portsOf.set(l.from, ports);
  }
  const nodeOf = (b: Box): ElkNode => {
    const m = measured.get(b.id)!;
    const ports = portsOf.get(b.id);
    return {
      id: b.id,
      width: m.w,
      height: m.h,
      ...(ports ? { ports, layoutOptions: { "elk.portConstraints": "FIXED_POS" } } : {}),
    };
  };
  // Lanes, and table groups inside them, in the order boxes first appear.
  const lanes = new Map<LaneKey, { node: ElkNode; groups: Map<string, ElkNode> }>();
  const frameTitles = new Map<string, { kind: PlacedFrame["kind"]; title: string }>();
  const compound = (id: string, rank?: number): ElkNode => ({
    id,
    children: [],
    layoutOptions: {
      "elk.padding": `[top=${FRAME_TITLE + 8},left=12,bottom=12,right=12]`,
      ...(rank !== undefined ? { "elk.partitioning.partition": String(rank) } : {}),
    },
  });
  const top: ElkNode[] = [];
  for (const b of f.boxes) {
    // The packet's box stands above the lanes, in a partition of its own.
    if (b.kind === "start") {
      top.push({ ...nodeOf(b), layoutOptions: { "elk.partitioning.partition": String(f.ranks.packet) } });
      continue;
    }
    let lane = lanes.get(b.lane);
    if (!lane) {
      const id = `lane_${b.lane}`;
      lanes.set(b.lane, (lane = { node: compound(id, f.ranks[b.lane]), groups: new Map() }));
      frameTitles.set(id, { kind: "lane", title: LANE_TITLE[b.lane] });
    }
    if (b.group === undefined) {
      lane.node.children!.push(nodeOf(b));
      continue;
    }
    let g = lane.groups.get(b.group);
    if (!g) {
      const id = `${lane.node.id}__g${lane.groups.size}`;
      lane.groups.set(b.group, (g = compound(id)));
      lane.node.children!.push(g);
      frameTitles.set(id, { kind: "group", title: b.group });
    }
    g.children!.push(nodeOf(b));
  }
  const edges: ElkExtendedEdge[] = f.links.map((l) => {
    const lines = labelLines(l);
    // A return is given to ELK the other way round (caller to callee, like the jump it
    // undoes) so it never pulls a caller below the chains it calls; place() turns it back.
    const ends = [l.fromRow ? `${l.fromRow}__p` : l.from, l.to];
    if (l.kind === "return") ends.reverse();
    return {
      id: l.id,
      sources: [ends[0]!],
      targets: [ends[1]!],
      ...(lines.length ? { labels: [{ text: lines.join("\n"), width: Math.ceil(linesWidth(lines) + 8), height: lines.length * LINE + 4 }] } : {}),
    };
  });
  const root: ElkNode = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "DOWN",
      "elk.hierarchyHandling": "INCLUDE_CHILDREN",
      "elk.edgeRouting": "ORTHOGONAL",
      "elk.partitioning.activate": "true",
      // Model order is the order the packet meets things: the edges it breaks cycles at are the returns.
      "elk.layered.cycleBreaking.strategy": "MODEL_ORDER",
      "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
      "elk.layered.spacing.nodeNodeBetweenLayers": "36",
      "elk.spacing.nodeNode": "28",
      "elk.spacing.edgeNode": "16",
      "elk.spacing.edgeEdge": "10",
      "elk.spacing.edgeLabel": "4",
      "elk.spacing.labelNode": "6",
      "elk.layered.spacing.edgeNodeBetweenLayers": "16",
      "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
      "elk.edgeLabels.placement": "CENTER",
      "elk.json.shapeCoords": "ROOT",
      "elk.json.edgeCoords": "ROOT",
      "elk.padding": "[top=12,left=12,bottom=12,right=12]",
    },
    children: [...top, ...[...lanes.values()].map((l) => l.node)],
    edges,
  };
  return { root, measured, frameTitles };
}

function place(f: Figure, out: ElkNode, measured: Map<string, Measured>, frameTitles: Map<string, { kind: PlacedFrame["kind"]; title: string }>): Placed {
  const rects = new Map<string, Rect>();
  const walk = (n: ElkNode) => {
    rects.set(n.id, { x: n.x ?? 0, y: n.y ?? 0, w: n.width ?? 0, h: n.height ?? 0 });
    for (const c of n.children ?? []) walk(c);
  };
  walk(out);
  const frames: PlacedFrame[] = [];
  for (const [id, t] of frameTitles) {
    const r = rects.get(id)!;
    frames.push({ ...t, rect: r, text: { x: r.x + 8, y: r.y + 16, text: t.title, cls: t.kind === "lane" ? "lane-title" : "group-title" } });
  }
  const boxes: PlacedBox[] = f.boxes.map((b) => {
    const r = rects.get(b.id)!;
    const m = measured.get(b.id)!;
    return {
      box: b,
      rect: r,
      text: m.text.map((t) => ({ ...t, x: r.x + t.x, y: r.y + t.y })),
      rows: m.rows.map((x) => ({
        row: x.row,
        rect: { x: r.x, y: r.y + x.y, w: r.w, h: x.h },
        text: x.text.map((t) => ({ ...t, x: r.x + t.x, y: r.y + x.y + t.y })),
      })),
    };
  });
  const edgeOut = new Map((out.edges ?? []).map((e) => [e.id, e]));
  const links: PlacedLink[] = f.links.map((l) => {
    const e = edgeOut.get(l.id)!;
    const points = (e.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
    if (l.kind === "return") points.reverse();
    const lab = e.labels?.[0];
    if (!lab) return { link: l, points };
    const rect = { x: lab.x ?? 0, y: lab.y ?? 0, w: lab.width ?? 0, h: lab.height ?? 0 };
    const text = labelLines(l).map((t, k) => ({ x: rect.x + 4, y: rect.y + 14 + k * LINE, text: t, cls: k === 0 && l.kind === "return" ? "return-label" : "rewrite" }));
    return { link: l, points, label: { rect, text } };
  });
  return { width: Math.ceil(out.width ?? 0), height: Math.ceil(out.height ?? 0), frames, boxes, links };
}
