/**
 * What the trace figure shows, before any layout: lanes for the hooks in the order a packet
 * meets them, boxes for the chains (grouped by table) with one row per step taken there, the
 * routing decision, one end box per outcome, and the links between them — jumps, gotos,
 * returns and hand-overs — each carrying the rewrites made just before it. Which outcome
 * passes where is kept on every box, row and link, so a page can light one outcome's path.
 * Browser-safe: no Node modules.
 */
import type { Evaluation } from "../../netfilter/model.js";
import type { Hook, Outcome, Step } from "../../model/evaluation.js";
import { chainPlaceText, fateText, packetText, probabilityText, snapshotText, stepRuleText } from "../describe.js";
import { idPart } from "../graph.js";
import { wrapProse } from "./metrics.js";
import { givenText, outcomeVerdict, standing, wrap, type Verdict } from "../text.js";

/** The lanes, top to bottom; a lane's rank is the partition the layout keeps it in. */
export type LaneKey = "packet" | Hook | "routing" | "local" | "out";

/** The lanes' order for an arriving packet. */
export const LANE_RANK: Record<LaneKey, number> = {
  packet: 0,
  PREROUTING: 1,
  routing: 2,
  INPUT: 3,
  FORWARD: 3,
  OUTPUT: 3,
  local: 4,
  POSTROUTING: 4,
  out: 5,
};

/**
 * The order for a locally generated packet: routed first, then OUTPUT and POSTROUTING; over
 * loopback it comes back through PREROUTING and INPUT after them.
 */
export const LOCAL_LANE_RANK: Record<LaneKey, number> = {
  packet: 0,
  routing: 1,
  OUTPUT: 2,
  POSTROUTING: 3,
  out: 4,
  PREROUTING: 4,
  FORWARD: 5,
  INPUT: 5,
  local: 6,
};

export const LANE_TITLE: Record<LaneKey, string> = {
  packet: "packet",
  PREROUTING: "PREROUTING",
  routing: "routing decision",
  INPUT: "INPUT",
  FORWARD: "FORWARD",
  OUTPUT: "OUTPUT",
  local: "local process",
  POSTROUTING: "POSTROUTING",
  out: "leaves the node",
};

/** A row of a box: a step (or a routing decision) some outcomes took. */
export interface Row {
  id: string;
  /** `#5 JUMP KUBE-SVC-X`, `policy ACCEPT`: what happened. */
  head: string;
  /** The rule as saved, in lines that fit the box; `elided` when cut (the whole is `full`). */
  lines: string[];
  full: string;
  elided: boolean;
  /** Rewrites, branches, conditions and log lines said in the box (those not on a link). */
  notes: Array<{ kind: "rewrite" | "branch" | "uncertain" | "log"; text: string }>;
  /** `hook|place|rule`, the step as a test or a reader names it. */
  step?: string;
  outcomes: Set<number>;
}

export interface Box {
  id: string;
  kind: "start" | "chain" | "routing" | "fate";
  lane: LaneKey;
  /** The table group a chain box sits in (`nat`, `ip kube-proxy`); absent for other boxes. */
  group?: string;
  title: string;
  /** Lines under the title (a fate's final packet, assumptions). */
  sub: string[];
  rows: Row[];
  outcomes: Set<number>;
  /** Fate boxes: how the outcome ends. */
  verdict?: Verdict | "indeterminate";
  /** Fate boxes: the outcome they end. */
  outcome?: number;
}

export type LinkKind = "jump" | "goto" | "return" | "flow";

export interface Link {
  id: string;
  from: string;
  /** The row of `from` the link leaves from (a jump's or goto's rule). */
  fromRow?: string;
  to: string;
  kind: LinkKind;
  /** The rewrites made just before the packet took this link, one a line. */
  label: string[];
  outcomes: Set<number>;
}

export interface OutcomeInfo {
  index: number;
  probability: number;
  heading: string;
  fate: string;
  final: string;
  verdict: Verdict;
  /** Every element id the outcome passes (boxes, rows, links). */
  path: string[];
}

export interface Figure {
  /** The lanes' order: LANE_RANK, or LOCAL_LANE_RANK for a locally generated packet. */
  ranks: Record<LaneKey, number>;
  boxes: Box[];
  links: Link[];
  outcomes: OutcomeInfo[];
}

/** Columns of rule text in a chain box, and the lines of it shown before eliding. */
export const RULE_COLUMNS = 76;
export const RULE_LINES = 4;

/** The table group of a step: `nat`, `legacy nat`, `ip kube-proxy`, `ipvs`. */
function groupOf(s: Step): string {
  return s.nft ? `${s.nft.family} ${s.nft.table}` : `${s.legacy ? "legacy " : ""}${s.table}`;
}

function ruleHead(s: Step): string {
  return `${s.rule === "policy" ? "policy" : `#${s.rule}`}  ${s.verdict}`;
}

/** The lane a fate ends in: beside the hook that decided it, else after the last lane passed. */
function fateLane(o: Outcome): LaneKey {
  const f = o.fate;
  switch (f.kind) {
    case "delivered":
      return "local";
    case "forwarded":
    case "sent":
      return "out";
    case "martian":
    case "unroutable":
      return "routing";
    case "dropped":
    case "rejected":
    case "queued":
      return f.hook;
    default: {
      const last = [...o.steps].reverse().find((s) => s.matched);
      return last ? last.hook : "routing";
    }
  }
}


class Builder {
  readonly boxes = new Map<string, Box>();
  readonly links = new Map<string, Link>();
  private readonly fam: "ipv4" | "ipv6";

  constructor(e: Evaluation) {
    this.fam = e.packet.family;
  }

  box(id: string, make: () => Omit<Box, "id" | "rows" | "outcomes">, outcome: number, path: string[]): Box {
    let b = this.boxes.get(id);
    if (!b) this.boxes.set(id, (b = { id, rows: [], outcomes: new Set(), ...make() }));
    if (!b.outcomes.has(outcome)) {
      b.outcomes.add(outcome);
      path.push(id);
    }
    return b;
  }

  row(b: Box, key: string, make: () => Omit<Row, "id" | "outcomes">, outcome: number, path: string[]): Row {
    const id = `${b.id}__r${idPart(key)}`;
    let r = b.rows.find((x) => x.id === id);
    if (!r) b.rows.push((r = { id, outcomes: new Set(), ...make() }));
    if (!r.outcomes.has(outcome)) {
      r.outcomes.add(outcome);
      path.push(id);
    }
    return r;
  }

  link(from: string, fromRow: string | undefined, to: string, kind: LinkKind, label: string[], outcome: number, path: string[]): void {
    const key = `${from}>${fromRow ?? ""}>${to}>${kind}>${label.join("\n")}`;
    let l = this.links.get(key);
    if (!l) this.links.set(key, (l = { id: `l${this.links.size}`, from, ...(fromRow ? { fromRow } : {}), to, kind, label, outcomes: new Set() }));
    if (!l.outcomes.has(outcome)) {
      l.outcomes.add(outcome);
      path.push(l.id);
    }
  }

  stepRow(s: Step): Omit<Row, "id" | "outcomes"> {
    const full = s.ruleNode || s.nft?.text !== undefined || s.ipvs ? stepRuleText(s, this.fam) : "";
    // iptables rules break between options (text.ts's wrap); nft rules and ipvsadm lines have none, so at spaces.
    const all = full ? full.split("\n").flatMap((l) => (s.ruleNode ? wrap(l, RULE_COLUMNS, "") : wrapProse(l, RULE_COLUMNS))) : [];
    const elided = all.length > RULE_LINES;
    const lines = elided ? [...all.slice(0, RULE_LINES - 1), `${all[RULE_LINES - 1]!.slice(0, RULE_COLUMNS - 2)} …`] : all;
    const notes: Row["notes"] = [];
    if (s.ipvs) notes.push({ kind: "branch", text: `how: ${s.ipvs.choice}` });
    for (const u of s.uncertain ?? []) notes.push({ kind: "uncertain", text: `? ${u}` });
    if (s.branch) notes.push({ kind: "branch", text: `⑂ ${s.branch}` });
    if (s.log) notes.push({ kind: "log", text: `log: ${s.log}` });
    return { head: ruleHead(s), lines, full, elided, notes, step: stepKey(s) };
  }
}

/** A step as the page marks it (`data-step`): hook, place and rule. */
export function stepKey(s: Step): string {
  return `${s.hook}|${chainPlaceText(s)}|${s.rule}`;
}

export function buildFigure(e: Evaluation): Figure {
  const b = new Builder(e);
  const ranks = e.packet.from === "local" ? LOCAL_LANE_RANK : LANE_RANK;
  // The packet went past the routing decision before reaching `lane`.
  const afterRouting = (lane: LaneKey): boolean => ranks[lane] >= ranks.routing;
  const outcomes: OutcomeInfo[] = [];
  const n = e.outcomes.length;
  e.outcomes.forEach((o, i) => {
    const path: string[] = [];
    const start = b.box("n_packet", () => ({ kind: "start", lane: "packet", title: "packet", sub: [packetText(e.packet)] }), i, path);
    // Where the packet is: the box, and the row it left by (for a jump or goto).
    let at: Box = start;
    let atRow: Row | undefined;
    let lastVerdict = "";
    let lastGroup = "";
    let pending: string[] = [];
    let routed = false;
    // The chains jumped from, for telling a return from a hand-over.
    const callers: string[] = [];
    const passRouting = (lane: LaneKey) => {
      if (routed || !o.routing?.length || !afterRouting(lane)) return;
      routed = true;
      const r = b.box("n_routing", () => ({ kind: "routing", lane: "routing", title: "route chosen", sub: [] }), i, path);
      b.link(at.id, undefined, r.id, "flow", pending, i, path);
      pending = [];
      for (const text of o.routing) b.row(r, text, () => ({ head: text, lines: [], full: text, elided: false, notes: [] }), i, path);
      at = r;
      atRow = undefined;
    };
    for (const s of o.steps) {
      if (!s.matched) continue;
      const group = groupOf(s);
      passRouting(s.hook);
      const id = `n_${idPart(s.hook)}__${idPart(group)}__${idPart(s.chain)}`;
      const box = b.box(id, () => ({ kind: "chain", lane: s.hook, group, title: s.chain, sub: [] }), i, path);
      const row = b.row(box, String(s.rule), () => b.stepRow(s), i, path);
      if (box !== at) {
        let kind: LinkKind = "flow";
        const called = /^(JUMP|GOTO) (.*)$/.exec(lastVerdict);
        if (at.kind === "chain" && at.lane === s.hook && lastGroup === group) {
          if (called && called[2] === s.chain) {
            kind = called[1] === "GOTO" ? "goto" : "jump";
            if (kind === "jump") callers.push(at.id);
          } else if (callers.includes(box.id)) {
            kind = "return";
            while (callers.length && callers.pop() !== box.id);
          }
        } else callers.length = 0;
        b.link(at.id, kind === "jump" || kind === "goto" ? atRow?.id : undefined, box.id, kind, pending, i, path);
        pending = [];
      } else if (pending.length) {
        // A rewrite followed by a rule of the same chain: said in the box, under its rule.
        const prev = atRow;
        if (prev) for (const t of pending) if (!prev.notes.some((x) => x.text === `→ ${t}`)) prev.notes.push({ kind: "rewrite", text: `→ ${t}` });
        pending = [];
      }
      pending.push(...(s.rewrites ?? []));
      at = box;
      atRow = row;
      lastVerdict = s.verdict;
      lastGroup = group;
    }
    const lane = fateLane(o);
    passRouting(lane);
    const verdict = outcomeVerdict(o);
    const fate = fateText(o.fate);
    const final = snapshotText(o.final);
    const sub = [`final packet: ${final}`];
    for (const enc of o.encapsulated ?? []) sub.push(`encapsulated by ${o.final.outIface ?? "the tunnel"}: outer ${snapshotText(enc.final)} — ${fateText(enc.fate)}`);
    for (const a of standing(o)) sub.push(`assuming: ${a}`);
    const heading = `Outcome ${i + 1} of ${n}${givenText(o)}${o.probability !== 1 ? ` · p=${probabilityText(o.probability)}` : ""}`;
    const fbox = b.box(`n_fate_${i}`, () => ({
      kind: "fate",
      lane,
      title: fate,
      sub: [heading, ...sub],
      verdict: o.fate.kind === "indeterminate" || o.fate.kind === "error" ? "indeterminate" : verdict,
      outcome: i,
    }), i, path);
    b.link(at.id, undefined, fbox.id, "flow", pending, i, path);
    outcomes.push({ index: i, probability: o.probability, heading, fate, final, verdict, path });
  });
  return { ranks, boxes: [...b.boxes.values()], links: [...b.links.values()], outcomes };
}
