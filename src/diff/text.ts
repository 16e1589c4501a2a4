/**
 * `netfate diff` for reading: each difference as the packet, both sides' fates and both
 * traces (side by side, or stacked on a narrow terminal), then one line of verdict.
 */
import type { DiffResult, FateDifference, OutcomeSummary } from "./compare.js";
import { packetText } from "../explain/describe.js";
import { traceText } from "../explain/text.js";
import { PLAIN, type Palette } from "../explain/colour.js";

export interface DiffLayout {
  stacked: boolean;
  width: number;
  palette: Palette;
  /** What OLD and NEW were called on the command line. */
  names: readonly [string, string];
}

function summaryLine(s: OutcomeSummary, indent: string): string {
  const p = s.probability === 1 ? "" : ` (p=${s.probability.toFixed(4)})`;
  return `${s.fate}${p}\n${indent}   ${s.decidedBy ? `by ${s.decidedBy}` : `then ${s.final}`}`;
}

/**
 * One side's outcomes, a group per assumption set ("if ...:"), each group's probabilities
 * its own: outcomes under different assumptions are alternatives, not chances to add. When
 * every group would print the same outcomes, the assumptions change nothing and are not shown.
 */
function sideText(label: string, summaries: readonly OutcomeSummary[]): string {
  const groups = new Map<string, OutcomeSummary[]>();
  for (const x of summaries) {
    const k = JSON.stringify(x.assumptions);
    const g = groups.get(k);
    if (g) g.push(x);
    else groups.set(k, [x]);
  }
  const outcomes = (g: readonly OutcomeSummary[]) => JSON.stringify(g.map((x) => [x.fate, x.decidedBy, x.final, x.probability.toFixed(9)]));
  const all = [...groups.values()];
  if (all.every((g) => outcomes(g) === outcomes(all[0]!))) return all[0]!.map((x) => `  ${label} ${summaryLine(x, "    ")}\n`).join("");
  let s = "";
  for (const g of all) {
    s += g[0]!.assumptions.length ? `  ${label} if ${g[0]!.assumptions.join("; and ")}:\n` : `  ${label} with no assumption:\n`;
    for (const x of g) s += `         ${summaryLine(x, "         ")}\n`;
  }
  return s;
}

/** Cuts lines longer than the column, so the right column stays where it is. */
function fit(text: string, width: number): string[] {
  return text.replace(/\n$/, "").split("\n").flatMap((l) => {
    const out: string[] = [];
    for (let s = l; ; s = "    " + s.slice(width)) {
      out.push(s.slice(0, width));
      if (s.length <= width) break;
    }
    return out;
  });
}

function sideBySide(left: string, right: string, width: number, titles: [string, string]): string {
  const col = Math.floor((width - 3) / 2);
  const a = [titles[0], "-".repeat(Math.min(col, titles[0].length)), ...fit(left, col)];
  const b = [titles[1], "-".repeat(Math.min(col, titles[1].length)), ...fit(right, col)];
  const rows: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) rows.push(`${(a[i] ?? "").padEnd(col)} │ ${b[i] ?? ""}`.trimEnd());
  return rows.join("\n") + "\n";
}

/** Difference `i` (0-based) of `total`: the packet, both sides' fates, both traces. */
export function differenceText(d: FateDifference, i: number, total: number, l: DiffLayout): string {
  const c = l.palette;
  let s = `${c.bold(`Difference ${i + 1} of ${total}:`)} ${packetText(d.packet)}\n`;
  s += sideText(c.red("old:"), d.oldSummary);
  s += sideText(c.green("new:"), d.newSummary);
  s += "\n";
  // The dumps' own problems (a policy the dump does not show, a jump to no chain) are notes,
  // said once on stderr (see diffNotes), not in every difference.
  const old = { ...d.old, problems: [] };
  const neu = { ...d.new, problems: [] };
  if (l.stacked) {
    s += `${c.bold(`old (${l.names[0]}):`)}\n${traceText(old, { palette: c, width: l.width })}\n`;
    s += `${c.bold(`new (${l.names[1]}):`)}\n${traceText(neu, { palette: c, width: l.width })}`;
  } else {
    // Colours would throw the column padding off: side by side is plain.
    const col = Math.floor((l.width - 3) / 2);
    s += sideBySide(traceText(old, { palette: PLAIN, width: col }), traceText(neu, { palette: PLAIN, width: col }), l.width, [`old: ${l.names[0]}`, `new: ${l.names[1]}`]);
  }
  return s + "\n";
}

/** The dumps' problems, each once, saying which side has it. */
export function diffNotes(r: DiffResult, names: readonly [string, string]): string[] {
  const out = new Set<string>();
  for (const [side, list] of [["old", r.problems.old], ["new", r.problems.new]] as const) {
    for (const p of list) out.add(`${side} (${side === "old" ? names[0] : names[1]}): ${p.table} ${p.chain}${p.rule ? ` rule ${p.rule}` : ""}: ${p.message}`);
  }
  return [...out];
}

/** The last line: how many packets differ, in how many kinds, and how many could not be compared. */
export function diffVerdictText(r: DiffResult, kinds: number, shown: number): string {
  const n = r.differences.length;
  const nc = r.notCompared;
  const ex = r.notComparedExample;
  const why = ex ? ` (e.g. ${packetText(ex.packet)} under ${ex.side}: ${ex.reason})` : "";
  const unknown = `${nc} of ${r.candidates} packets tried could not be compared: their fate is unknown under one dump or both${why}`;
  if (n > 0) {
    return `${n} of ${r.candidates} packets tried end differently (${kinds} kind${kinds === 1 ? "" : "s"} of difference)${shown < n ? `; ${shown} shown (--limit)` : ""}.\n` +
      (nc ? `${unknown}.\n` : "");
  }
  if (nc === 0) return `No differences: ${r.candidates} packets tried, each ends the same under both dumps.\n`;
  const compared = r.candidates - nc;
  return `${unknown}.\n${compared ? `No differences among the other ${compared}` : "Nothing was compared"}; node facts (--node, --bundle or --iface) may let more be compared.\n`;
}
