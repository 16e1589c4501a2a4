/**
 * A packet's way through a cluster as text: the single-node trace of every hop, grouped under
 * the node (or pod) it happened on, with how the packet got there; then its reply the same
 * way. And the short answer: lost or not, where, and why.
 */
import type { ClusterHop, ClusterOutcome } from "../model/cluster.js";
import type { Outcome } from "../model/evaluation.js";
import type { ClusterEvaluation } from "../netfilter/cluster.js";
import { PLAIN } from "./colour.js";
import { fateText, packetText, probabilityText } from "./describe.js";
import { arrivalText, clusterOutcomeVerdict, placeText, samePlace, wayPlaces } from "./cluster-describe.js";
import {
  assumingLines, destinationText, fateColour, givenText, lostDetailLines, outcomeBodyLines, outcomeVerdict, probabilitySuffix,
  packLines, problemNote, standing, type TextOptions,
} from "./text.js";

/** Every routing decision a hop met: between nodes, routing is what picks the way. */
const allRouting = (o: Outcome): string[] => o.routing ?? [];

const indent = (pad: string) => (l: string): string => (l === "" ? l : pad + l);

function firstLine(ev: ClusterEvaluation, o: TextOptions): string {
  return o.palette.bold(`${packetText(ev.packet)} — from ${placeText(ev.start)}`);
}

/** `fate at place`, with the way's conditions and probability: a way's heading. */
function wayHeading(w: ClusterOutcome): string {
  const left = w.leftCluster !== undefined ? ", leaving the cluster" : "";
  return `${fateText(w.fate)} at ${placeText(w.at)}${left}${givenText(w)}${probabilitySuffix(w.probability)}`;
}

/** One hop: how the packet came, what the node did (steps, rewrites, routing, final packet), and the hop's fate. */
function hopLines(h: ClusterHop, next: ClusterHop | undefined, fam: "ipv4" | "ipv6", o: TextOptions): string[] {
  const c = o.palette;
  const tunnel = h.arrival.kind === "encapsulated" || h.arrival.kind === "decapsulated";
  const out = [`    ${tunnel ? c.cyan(arrivalText(h)) : arrivalText(h)}`];
  if (h.arrival.kind === "start") out[0] += `: ${packetText(h.packet)}`;
  // The encapsulated leg is the next hop when the evaluator followed it as one: said once, there.
  const encapsulated = next?.arrival.kind !== "encapsulated";
  const width = (o.width ?? 80) - 4;
  out.push(...outcomeBodyLines(h.outcome, fam, { ...o, width }, { routing: allRouting, encapsulated }).map(indent("    ")));
  // A hop that is one of several ways its node can go says which, and how likely.
  out.push(`    ${fateColour(h.outcome, c)("→ " + fateText(h.outcome.fate))}${givenText(h.outcome)}${probabilitySuffix(h.outcome.probability)}`);
  out.push(...assumingLines(h.outcome, c).map(indent("    ")));
  return out;
}

/** A way's hops under a heading per place, then what the way rests on beyond its hops. */
function wayLines(w: ClusterOutcome, fam: "ipv4" | "ipv6", o: TextOptions): string[] {
  const c = o.palette;
  const out: string[] = [];
  w.hops.forEach((h, i) => {
    const prev = w.hops[i - 1];
    if (!prev || !samePlace(prev.at, h.at)) out.push(`  ${c.bold(placeText(h.at))}`);
    out.push(...hopLines(h, w.hops[i + 1], fam, o));
  });
  // The evaluator says it whole: "left the cluster from node-01 by eth0 via ...: no node or pod holds ...".
  if (w.leftCluster !== undefined) out.push(`  ${c.yellow(`${w.leftCluster} (what happens beyond is not modelled)`)}`);
  // The cause, unless it is a hop's own fate, shown already at that hop.
  const cause = w.fate.kind === "reply-lost" ? w.fate.cause : undefined;
  if (cause && !w.hops.some((h) => JSON.stringify(h.outcome.fate) === JSON.stringify(cause))) out.push(`  ${c.red(`stopped by: ${fateText(cause)}`)}`);
  // What the way rests on that no hop says (a link's router, a pod found by its route); the
  // way repeats each hop's own, said bare or with the node it was said on.
  const byHops = new Set(w.hops.flatMap((h) => h.outcome.assumptions.flatMap((a) => [a, `${h.at.node}: ${a}`])));
  out.push(...assumingLines({ assumptions: w.assumptions.filter((a) => !byHops.has(a)), ...(w.given ? { given: w.given } : {}) }, c));
  return out;
}

/**
 * The whole trace: every way the packet can take through the cluster, hop by hop, and after
 * each way its reply's ways back under "Reply".
 */
export function clusterTraceText(ev: ClusterEvaluation, o: TextOptions = { palette: PLAIN }): string {
  const c = o.palette;
  const fam = ev.packet.family;
  const out = [firstLine(ev, o), ""];
  const n = ev.outcomes.length;
  ev.outcomes.forEach((w, i) => {
    out.push(`${c.bold(`Outcome ${i + 1} of ${n}`)}: ${fateColour(w, c)(wayHeading(w))}`);
    out.push(...wayLines(w, fam, o), "");
    const replies = w.reply ?? [];
    replies.forEach((r, j) => {
      const which = `${replies.length > 1 ? ` ${j + 1} of ${replies.length}` : ""}${n > 1 ? ` to outcome ${i + 1}` : ""}`;
      out.push(`${c.bold(`Reply${which}`)}: ${fateColour(r, c)(wayHeading(r))}`);
      out.push(...wayLines(r, r.hops[0]?.packet.family ?? fam, o), "");
    });
  });
  if (o.notes !== false) for (const p of ev.problems) out.push(c.yellow(problemNote(p.problem, p.node)));
  return out.join("\n").replace(/\n+$/, "") + "\n";
}

/** Where the request ends up when a hop rewrote its destination: ` → 10.1.63.3:80 (nat KUBE-SEP-X rule 1 on worker)`. */
function wayDestination(w: ClusterOutcome): string {
  for (const h of w.hops) {
    const d = destinationText(h.outcome, h);
    if (d) return d.replace(/\)$/, ` on ${h.at.node})`);
  }
  return "";
}

/** The hop that lost the packet (the last one whose own fate is a loss), if a hop did. */
function losingHop(w: ClusterOutcome): ClusterHop | undefined {
  return [...w.hops].reverse().find((h) => outcomeVerdict(h.outcome) === "lost");
}

/** The way's places on one line (several when long, broken between places), as `    way: a → b → c`. */
function placesLines(w: ClusterOutcome, lead: string, o: TextOptions): string[] {
  return packLines(wayPlaces(w.hops), " → ", o.width ?? 80, `    ${lead}`, " ".repeat(4 + lead.length));
}

/** Why a way that was lost (its request or its reply) was lost: both ways where there is a reply, and the hop that stopped it. */
function lostWayLines(w: ClusterOutcome, fam: "ipv4" | "ipv6", o: TextOptions, heading: string, named: boolean): string[] {
  const c = o.palette;
  const out = [""];
  if (outcomeVerdict(w) === "lost") {
    out.push(`  ${c.red(heading)}`);
    out.push(...placesLines(w, "way: ", o));
    out.push(...stoppedLines(w, fam, o));
    out.push(...assumingLines(w, c));
    return out;
  }
  // The request got there: the heading is needed only to tell alternatives apart.
  if (named) out.push(`  ${c.red(heading)}`);
  out.push(`  request: ${wayHeading(w)}${wayDestination(w)}`);
  out.push(...placesLines(w, "way: ", o));
  const troubled = (w.reply ?? []).filter((x) => clusterOutcomeVerdict(x) !== "through");
  for (const r of troubled) {
    const col = clusterOutcomeVerdict(r) === "lost" ? c.red : c.yellow;
    out.push(`  reply: ${col(r.fate.kind === "reply-lost" ? `REPLY LOST: ${r.fate.reason}` : fateText(r.fate))} at ${placeText(r.at)}${givenText(r)}${probabilitySuffix(r.probability)}`);
    out.push(...placesLines(r, "way back: ", o));
    if (r.fate.kind === "reply-lost" && r.fate.parted !== undefined) out.push(`    parted: ${r.fate.parted}`);
    out.push(...stoppedLines(r, r.hops[0]?.packet.family ?? fam, o));
  }
  // Once for both ways: what the request rests on may be why the reply goes elsewhere.
  out.push(...assumingLines({ assumptions: [w, ...troubled].flatMap(standing) }, c));
  return out;
}

/** The hop that stopped a way, its fate and the rule or routing decision that made it. */
function stoppedLines(w: ClusterOutcome, fam: "ipv4" | "ipv6", o: TextOptions): string[] {
  const h = losingHop(w);
  if (!h) return [];
  const out = [`    stopped at ${placeText(h.at)}: ${o.palette.red(fateText(h.outcome.fate))}`];
  out.push(...lostDetailLines(h.outcome, fam, o).map(indent("  ")));
  const decided = h.outcome.fate.kind === "martian" ? h.outcome.routing ?? [] : [];
  for (const r of decided) out.push(`      ${o.palette.cyan(r)}`);
  return out;
}

/**
 * The short answer: is the packet lost anywhere on its way, or is its reply, where and why;
 * a request delivered whose reply is lost is a failure, shown with both ways.
 */
export function clusterWhyDroppedText(ev: ClusterEvaluation, o: TextOptions = { palette: PLAIN }): string {
  const c = o.palette;
  const fam = ev.packet.family;
  const out = [firstLine(ev, o)];
  const lost = ev.outcomes.filter((w) => clusterOutcomeVerdict(w) === "lost");
  const unknown = ev.outcomes.filter((w) => clusterOutcomeVerdict(w) === "unknown");
  const chances = ev.outcomes.every((w) => !w.given?.length);
  const line = (w: ClusterOutcome) => {
    const col = clusterOutcomeVerdict(w) === "unknown" ? c.yellow : (s: string) => s;
    const back = (w.reply ?? []).map((r) => `; reply ${fateText(r.fate)} at ${placeText(r.at)}`).join("");
    return `  ${col(wayHeading(w))}${wayDestination(w)}${back}`;
  };
  if (lost.length === 0) {
    const replied = ev.outcomes.length > 0 && ev.outcomes.every((w) => w.reply?.length);
    out.push(unknown.length || ev.outcomes.length === 0 ? c.yellow("Cannot tell: the answer depends on something the input does not say.") : c.green(replied ? "Not dropped, and the reply gets back." : "Not dropped."));
    for (const w of ev.outcomes) out.push(line(w));
    const standingAll = [...new Set(ev.outcomes.flatMap((w) => [w, ...(w.reply ?? [])]).flatMap(standing))];
    if (standingAll.length) out.push(`  ${c.yellow("assuming:")}`, ...standingAll.map((a) => `    - ${a}`));
    return out.join("\n") + "\n";
  }
  const requestLost = lost.filter((w) => outcomeVerdict(w) === "lost").length;
  const what = requestLost === lost.length ? "Dropped" : requestLost === 0 ? "Delivered, but the reply is lost" : "Lost (the request or its reply)";
  const total = lost.reduce((s, w) => s + w.probability, 0);
  out.push(c.red(lost.length === ev.outcomes.length ? `${what}.` : `${what} in ${lost.length} of ${ev.outcomes.length} outcomes${chances ? ` (probability ${probabilityText(total)})` : ", depending on what is assumed"}.`));
  for (const w of lost) {
    const named = lost.length > 1 || !!w.given?.length;
    out.push(...lostWayLines(w, fam, o, named ? wayHeading(w) : `${fateText(w.fate)} at ${placeText(w.at)}`, named));
  }
  const others = ev.outcomes.filter((w) => clusterOutcomeVerdict(w) !== "lost");
  if (others.length) out.push("", "  otherwise:", ...others.map((w) => "  " + line(w)));
  return out.join("\n") + "\n";
}
