/**
 * What the page asks of the loaded node, and the answers, as plain messages: the page's
 * script posts them to a Worker (engine-worker.ts), so that parsing a large dump and tracing
 * never freeze the page. Browser-safe; the tests drive it directly in Node.
 */
import type { PacketSpec } from "../model/packet.js";
import type { IpSet } from "../ipset/index.js";
import { parseIpsets } from "../ipset/index.js";
import { ipsetsOf, readInput } from "../inputs.js";
import { ExploreSession, type ExploreData } from "./session.js";
import { chainView, placeText, RuleIndex, type ChainRef, type RuleEntry } from "./rules.js";
import { APPROXIMATE, MentionError, mentions } from "./mentions.js";
import { renderTrace } from "./render-trace.js";
import { traceFigure } from "../explain/page/figure.js";

/** At most this many rules in one answer (the count says how many there are). */
export const MAX_LISTED = 500;

export type Request =
  /** `elk`: ELK's worker script (elk-browser.ts), started in a worker of its own as the load begins. */
  | { type: "load"; data: string; elk?: string }
  | { type: "trace"; id: number; text: string; verbose?: boolean }
  | { type: "search"; id: number; query: string }
  | { type: "mentions"; id: number; address?: string; port?: number }
  | { type: "chain"; id: number; ref: ChainRef; rule: number | "policy" };

/** A rule as the page lists it. */
export interface ListedRule {
  place: string;
  ref: ChainRef;
  rule: number | "policy";
  text: string;
  line?: number;
  why?: string[];
}

export type Reply =
  | { type: "loaded"; ms: number; rules: number; files: string[]; notes: string[]; errors: string[]; packet?: string; approximate: string }
  | { type: "load-failed"; error: string }
  /**
   * `drawing: "pending"`: the trace in words, sent as soon as the packet is evaluated; the same
   * trace with its picture follows (laying the picture out takes longer than the evaluation).
   */
  | { type: "trace"; id: number; ok: true; html: string; packet: PacketSpec; fates: string[]; notes: string[]; ms: number; drawing?: "pending" }
  | { type: "trace"; id: number; ok: false; error: string; col?: number }
  | { type: "rules"; id: number; kind: "search" | "mentions"; rules: ListedRule[]; total: number; error?: string }
  | { type: "chain"; id: number; place: string; rules: ListedRule[]; highlight: number | "policy" | undefined; error?: string }
  /** A request the engine could not answer: a bug of netfate's, said in the page rather than lost. */
  | { type: "failed"; id?: number; error: string };

export type TraceReply = Extract<Reply, { type: "trace" }>;

/**
 * A packet's trace as the page shows it. `netfate explore` draws the page's first trace with
 * this too (src/cli/commands/explore.ts), in Node, so that it is what the engine would draw.
 */
export async function traceReply(s: ExploreSession, id: number, text: string, verbose: boolean, words?: (r: TraceReply) => void): Promise<TraceReply> {
  const t0 = now();
  const r = s.trace(text, { verbose });
  if (!r.ok) return { type: "trace", id, ok: false, error: r.error, ...(r.col ? { col: r.col } : {}) };
  const e = r.evaluation;
  const body = renderTrace(e);
  const reply = (html: string): Extract<TraceReply, { ok: true }> => ({ type: "trace", id, ok: true, html, packet: e.packet, fates: e.outcomes.map((o) => o.fate.kind), notes: r.notes, ms: now() - t0 });
  words?.({ ...reply(body), drawing: "pending" });
  return reply((await traceFigure(e)) + body);
}

function listed(e: RuleEntry, why?: string[]): ListedRule {
  return { place: placeText(e.ref), ref: e.ref, rule: e.rule, text: e.text, ...(e.line !== undefined ? { line: e.line } : {}), ...(why ? { why } : {}) };
}

export class ExploreEngine {
  private session: ExploreSession | undefined;
  private index: RuleIndex | undefined;
  private sets: IpSet[] | undefined;

  /** Async: the trace's drawing lays out a graph; `early` gets the trace in words before it (see TraceReply). */
  async handle(m: Request, early?: (r: Reply) => void): Promise<Reply> {
    if (m.type === "load") return this.load(m.data);
    const s = this.session;
    if (!s) throw new Error(`${m.type} before the node was loaded`);
    switch (m.type) {
      case "trace":
        return traceReply(s, m.id, m.text, m.verbose ?? false, early);
      case "search": {
        const r = this.ruleIndex().search(m.query, MAX_LISTED);
        return { type: "rules", id: m.id, kind: "search", rules: r.entries.map((e) => listed(e)), total: r.total };
      }
      case "mentions":
        try {
          const r = mentions(s.inputs.rulesets, s.inputs.nft, this.ipsets(), { ...(m.address ? { address: m.address } : {}), ...(m.port !== undefined ? { port: m.port } : {}) }, MAX_LISTED);
          return { type: "rules", id: m.id, kind: "mentions", rules: r.mentions.map((x) => listed(x.entry, x.why)), total: r.total };
        } catch (e) {
          if (e instanceof MentionError) return { type: "rules", id: m.id, kind: "mentions", rules: [], total: 0, error: e.message };
          throw e;
        }
      case "chain": {
        const v = chainView(s.inputs.rulesets, s.inputs.nft, m.ref);
        if (!v) return { type: "chain", id: m.id, place: placeText(m.ref), rules: [], highlight: undefined, error: "the loaded rules have no such chain" };
        return { type: "chain", id: m.id, place: v.place, rules: v.entries.map((e) => listed(e)), highlight: m.rule };
      }
    }
  }

  private ruleIndex(): RuleIndex {
    const s = this.session;
    if (!s) throw new Error("no node loaded");
    this.index ??= new RuleIndex(s.inputs.rulesets, s.inputs.nft);
    return this.index;
  }

  /**
   * Prints more of the rules for the search, for about `ms` milliseconds; true when there is
   * nothing left to do (or no node). The worker calls it while no message waits.
   */
  warm(ms: number): boolean {
    if (!this.session) return true;
    const until = now() + ms;
    return this.ruleIndex().build(() => now() >= until);
  }

  private load(text: string): Reply {
    const t0 = now();
    const data = JSON.parse(text) as ExploreData;
    const s = new ExploreSession(data);
    this.session = s;
    let rules = 0;
    for (const rs of s.inputs.rulesets) for (const t of rs.tables) for (const c of t.chains) rules += c.rules.count;
    for (const n of s.inputs.nft) for (const t of n.tables) for (const c of t.chains) rules += c.rules.length;
    const errors = s.inputs.diagnostics.filter((d) => d.severity === "error").slice(0, 20).map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);
    const files = [...data.rules.map((f) => `rules: ${f.file}`), ...data.ipsets.map((f) => `ipsets: ${f.file}`), ...data.node.map((f) => `node facts: ${f.file}`), ...(data.ipvs ?? []).map((f) => `ipvs: ${f.file}`)];
    return { type: "loaded", ms: now() - t0, rules, files, notes: s.notes(), errors, ...(data.packet ? { packet: data.packet } : {}), approximate: APPROXIMATE };
  }

  /** The ipsets given with --ipsets, read again for their members' text (mentions.ts). */
  private ipsets(): IpSet[] {
    if (!this.sets) {
      const found: IpSet[] = [];
      for (const f of this.session!.data.ipsets) {
        const r = readInput(f.text, { file: f.file });
        const collections = r.input.kind === "unparsed" ? [parseIpsets(f.text, { file: f.file }).value] : ipsetsOf(r.input);
        for (const c of collections) found.push(...c.sets);
      }
      this.sets = found;
    }
    return this.sets;
  }
}

function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}
