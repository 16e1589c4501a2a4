/**
 * The trace the page shows for each packet, as HTML: the outcomes with their fate (coloured:
 * lost red, cannot-tell yellow, through green) and probability, and each outcome's steps in
 * the words of `netfate trace` (src/explain/text.ts), each step a button that opens its whole
 * chain (the `data-chain` attribute: a ChainRef and the rule, as JSON).
 *
 * The page calls this in one place (engine-worker.ts); a drawing of the trace can take its
 * place there, as long as it is a function of the evaluation to HTML and keeps `data-chain`
 * on what should open a chain.
 */
import type { Evaluation } from "../netfilter/model.js";
import type { Outcome, Step } from "../model/evaluation.js";
import { fateText, packetText } from "../explain/describe.js";
import { assumingLines, fateColour, givenText, loadProblems, outcomeBodyLines, outcomeVerdict, probabilitySuffix, problemNote, stepLine } from "../explain/text.js";
import { escapeHtml, paletteHtml } from "./markup.js";
import type { ChainRef } from "./rules.js";

/** Width the step lines are wrapped at: the page's trace column holds about this many on a laptop's screen. */
const WIDTH = 90;

/** What a step's button opens: its chain and its rule. Undefined for an IPVS decision (no chain of rules). */
export function stepChain(s: Step, family: Evaluation["packet"]["family"]): { ref: ChainRef; rule: number | "policy" } | undefined {
  if (s.table === "ipvs") return undefined;
  const ref: ChainRef = { family, table: s.table, chain: s.chain, ...(s.legacy ? { legacy: true as const } : {}), ...(s.nft ? { nft: { family: s.nft.family, table: s.nft.table } } : {}) };
  return { ref, rule: s.rule };
}

function stepHtml(s: Step, family: Evaluation["packet"]["family"], indent: string): string {
  const lines = paletteHtml((c) => stepLine(s, family, c, WIDTH).map((l) => indent + l).join("\n"));
  const to = stepChain(s, family);
  const cls = `step${s.matched ? "" : " tried"}`;
  if (!to) return `<li class="${cls}"><pre>${lines}</pre></li>`;
  return `<li class="${cls}"><button type="button" class="open-chain" data-chain="${escapeHtml(JSON.stringify(to))}" title="show the whole chain"><pre>${lines}</pre></button></li>`;
}

function outcomeHtml(oc: Outcome, i: number, n: number, family: Evaluation["packet"]["family"]): string {
  const verdict = outcomeVerdict(oc);
  const head = paletteHtml((c) => `${c.bold(`Outcome ${i + 1} of ${n}`)}${givenText(oc)}${probabilitySuffix(oc.probability)}: ${fateColour(oc, c)(fateText(oc.fate))}`);
  const steps = oc.steps.map((s) => stepHtml(s, family, "")).join("");
  // Routing decisions, the final packet and the encapsulated legs: the trace's own lines.
  const rest = paletteHtml((c) => [...outcomeBodyLines({ ...oc, steps: [] }, family, { palette: c, width: WIDTH }, { encapsulated: false }), ...assumingLines(oc, c)].join("\n"));
  const legs = (oc.encapsulated ?? []).map((enc) => {
    const h = paletteHtml((c) => `  ${c.cyan("encapsulated")} by ${oc.final.outIface ?? "the tunnel"}: outer packet — ${fateColour(enc, c)(fateText(enc.fate))}`);
    return `<pre>${h}</pre><ol class="steps">${enc.steps.map((s) => stepHtml(s, family, "  ")).join("")}</ol><pre>${paletteHtml((c) => outcomeBodyLines({ ...enc, steps: [] }, family, { palette: c, width: WIDTH }, { encapsulated: false }).map((l) => "  " + l).join("\n"))}</pre>`;
  }).join("");
  return `<section class="outcome ${verdict}" data-fate="${escapeHtml(oc.fate.kind)}"><h3>${head}</h3><ol class="steps">${steps}</ol><pre>${rest}</pre>${legs}</section>`;
}

/** The outcomes at a glance: fate and probability of each, before the full steps. */
function summaryHtml(e: Evaluation): string {
  const items = e.outcomes.map((oc, i) => {
    const text = paletteHtml((c) => `${i + 1}. ${fateColour(oc, c)(fateText(oc.fate))}${givenText(oc)}${probabilitySuffix(oc.probability)}`);
    return `<li class="${outcomeVerdict(oc)}">${text}</li>`;
  });
  return `<ul class="summary">${items.join("")}</ul>`;
}

/** The whole trace of one packet as HTML. */
export function renderTrace(e: Evaluation): string {
  const fam = e.packet.family;
  const n = e.outcomes.length;
  const problems = loadProblems(e).map((p) => `<li>${escapeHtml(problemNote(p))}</li>`).join("");
  return [
    `<p class="packet">${escapeHtml(packetText(e.packet))}</p>`,
    summaryHtml(e),
    ...e.outcomes.map((oc, i) => outcomeHtml(oc, i, n, fam)),
    problems ? `<ul class="problems">${problems}</ul>` : "",
  ].join("");
}
