/** Human-readable traces and why-dropped answers, readable in 80 columns. */
import type { Evaluation } from "../netfilter/model.js";
import type { Outcome, Step } from "../model/evaluation.js";
import type { Palette } from "./colour.js";
import { endpointText, fateText, isDrop, packetText, chainPlaceText, probabilityText, snapshotText, stepRuleText } from "./describe.js";
import { columnHeader, ruleListLine } from "../print/listing.js";

export interface TextOptions {
  palette: Palette;
  /** Terminal width to wrap long rule texts at (80 when not a terminal). */
  width?: number;
  /** Append the ruleset's load-time problems as `note:` lines (the CLI prints them on stderr instead). */
  notes?: boolean;
}

/** The colour of a fate: red for a lost packet, yellow when it cannot be told or goes nowhere, else green. */
export function fateColour(o: Pick<Outcome, "fate">, c: Palette): (s: string) => string {
  if (isDrop(o)) return c.red;
  if (o.fate.kind === "indeterminate" || o.fate.kind === "error" || o.fate.kind === "unroutable") return c.yellow;
  return c.green;
}

/**
 * Splits words into groups, each starting at a word `starts` accepts; a `!` stays with the
 * option it negates.
 */
function groupWords(words: string[], starts: (w: string) => boolean): string[][] {
  const groups: string[][] = [];
  for (const w of words) {
    const last = groups[groups.length - 1];
    const negating = last?.length === 1 && last[0] === "!";
    if (!last || ((starts(w) || w === "!") && !negating)) groups.push([w]);
    else last.push(w);
  }
  return groups;
}

/**
 * Breaks a long rule so it reads in `width` columns: between matches and the target
 * (`-m tcp --dport 80`, `! -s 10.0.0.0/8`, `-j DNAT ...`), and inside one only between its
 * options when it alone is too long; never inside a quoted comment, so every line is still
 * a piece of the rule as iptables-save prints it. Continuation lines are indented by four
 * more spaces; an option longer than the room is left whole rather than cut.
 */
export function wrap(text: string, width: number, indent: string): string[] {
  if (text.length + indent.length <= width) return [indent + text];
  const words = text.match(/(?:"(?:[^"\\]|\\.)*"?|[^\s"]+)+/g) ?? [text];
  const room = width - indent.length - 4;
  const pieces: string[] = [];
  for (const g of groupWords(words, (w) => /^-[^-]/.test(w))) {
    const joined = g.join(" ");
    if (joined.length <= room) pieces.push(joined);
    else for (const sub of groupWords(g, (w) => w.startsWith("-"))) pieces.push(sub.join(" "));
  }
  const out: string[] = [];
  let line = "";
  for (const p of pieces) {
    const fits = line.length + 1 + p.length <= (out.length ? room : room + 4);
    if (line && !fits) {
      out.push(line);
      line = p;
    } else line = line ? `${line} ${p}` : p;
  }
  if (line) out.push(line);
  return out.map((l, i) => (i === 0 ? indent + l : indent + "    " + l));
}

/** Joins items with `sep` into lines of at most `width` columns, breaking only between items. */
export function packLines(items: string[], sep: string, width: number, first: string, rest: string): string[] {
  const out: string[] = [];
  let line = first;
  let empty = true;
  for (const [i, item] of items.entries()) {
    const piece = i < items.length - 1 ? item + sep.trimEnd() : item;
    if (!empty && line.length + 1 + piece.length > width) {
      out.push(line);
      line = rest + piece;
    } else line += (empty ? "" : " ") + piece;
    empty = false;
  }
  out.push(line);
  return out;
}

/**
 * The deciding rule as `iptables -nvL --line-numbers` shows it (with the dump's counters,
 * when it had them): what a user sees on the node. Printed as iptables does, unwrapped.
 */
function listingLines(s: Step, family: "ipv4" | "ipv6"): string[] {
  if (!s.ruleNode || s.rule === "policy") return [];
  const o = { numeric: true, verbose: true, lineNumbers: true };
  return [
    `as \`${family === "ipv6" ? "ip6tables" : "iptables"} -t ${s.table} -nvL ${s.chain} --line-numbers\` shows it:`,
    columnHeader(o).trimEnd(),
    ruleListLine(s.ruleNode, family, o, s.rule).trimEnd(),
  ];
}

export function stepLine(s: Step, family: "ipv4" | "ipv6", c: Palette, width = 80): string[] {
  const where = s.nft || s.legacy ? `${s.hook.padEnd(11)} ${chainPlaceText(s)}` : `${s.hook.padEnd(11)} ${s.table.padEnd(8)} ${s.chain}`;
  const num = s.rule === "policy" ? "policy" : `#${s.rule}`;
  const head = `  ${where} ${c.dim(num)}  ${s.matched ? c.bold(s.verdict) : c.dim(`no match: ${s.failed ?? ""}`)}`;
  const lines = [head];
  if ((s.ruleNode || s.nft?.text !== undefined) && s.matched) for (const l of wrap(stepRuleText(s, family), width, "      ")) lines.push(c.dim(l));
  // IPVS: the service and chosen server as ipvsadm-save writes them, and how the server was chosen.
  if (s.ipvs) {
    for (const l of s.ipvs.lines) lines.push(c.dim(`      ${l}`));
    lines.push(c.yellow(`      how: ${s.ipvs.choice}`));
  }
  if (s.uncertain) lines.push(`      ${c.yellow("? " + s.uncertain.join(", and "))}`);
  if (s.branch) lines.push(`      ${c.yellow("⑂ " + s.branch)}`);
  for (const r of s.rewrites ?? []) lines.push(`      ${c.cyan("→ " + r)}`);
  if (s.log) lines.push(`      ${c.dim("log: " + s.log)}`);
  return lines;
}

/** A load-time finding about the rules: an iptables table's, or (with `family`) an nft table's. */
export interface LoadProblem {
  family?: string;
  table: string;
  chain: string;
  rule?: number;
  message: string;
}

/** Every load-time finding of an evaluation, iptables' and nftables' alike. */
export function loadProblems(e: Pick<Evaluation, "problems" | "nftProblems">): LoadProblem[] {
  const nft = (e.nftProblems ?? []).map((p) => ({ family: p.family, table: p.table, chain: p.chain ?? "", ...(p.rule !== undefined ? { rule: p.rule } : {}), message: p.message }));
  return nft.length ? [...e.problems, ...nft] : e.problems;
}

/** A load-time problem as a `note:` line; `node` names the node it was found on, in a cluster. */
export function problemNote(p: LoadProblem, node?: string): string {
  const where = `${p.family !== undefined ? `${p.family} ` : ""}${p.table}${p.chain ? ` ${p.chain}` : ""}`;
  return `note: ${node !== undefined ? `${node}: ` : ""}${where}${p.rule ? ` rule ${p.rule}` : ""}: ${p.message}`;
}

/** ", if A and B": the undecided conditions an outcome rests on, for its heading. */
export function givenText(o: Pick<Outcome, "given">): string {
  return o.given?.length ? `, if ${o.given.join(" and ")}` : "";
}

/**
 * The routing decisions worth a line of their own: those policy routing made (an `ip rule`
 * chose them, or a table other than main) and those that decided the fate.
 */
function policyRouting(o: Outcome): string[] {
  const all = o.routing ?? [];
  if (o.fate.kind === "martian") return all;
  return all.filter((r) => / rule \d+: | table (?!main:|local:)/.test(r));
}

/** Assumptions that are not one side of an undecided condition (those are in the heading). */
export function standing(o: Pick<Outcome, "assumptions" | "given">): string[] {
  return [...new Set(o.assumptions)].filter((a) => !o.given?.includes(a));
}

export function assumingLines(o: Pick<Outcome, "assumptions" | "given">, c: Palette): string[] {
  const list = standing(o);
  if (!list.length) return [];
  return [`  ${c.yellow("assuming:")}`, ...list.map((a) => `    - ${a}`)];
}

/** Which parts of an outcome its body shows, for renderers that say some of them otherwise. */
export interface OutcomeBodyParts {
  /** The routing decisions to list (the trace: those policy routing made or that decided the fate). */
  routing?: (o: Outcome) => string[];
  /** Whether to show the encapsulated legs (left out where they are shown as hops of their own). */
  encapsulated?: boolean;
}

/** " — probability p" for a heading; a probability of 1 needs no saying. */
export function probabilitySuffix(p: number): string {
  return p !== 1 ? ` — probability ${probabilityText(p)}` : "";
}

/**
 * An outcome's steps, routing decisions, final packet and encapsulated legs, each line
 * indented by two spaces and fitting `o.width` (80).
 */
export function outcomeBodyLines(oc: Outcome, fam: "ipv4" | "ipv6", o: TextOptions, parts: OutcomeBodyParts = {}): string[] {
  const c = o.palette;
  const out: string[] = [];
  for (const s of oc.steps) out.push(...stepLine(s, fam, c, o.width));
  for (const r of (parts.routing ?? policyRouting)(oc)) out.push(`  ${c.cyan(r)}`);
  out.push(`  final packet: ${snapshotText(oc.final)}`);
  if (parts.encapsulated === false) return out;
  for (const enc of oc.encapsulated ?? []) {
    out.push(`  ${c.cyan("encapsulated")} by ${oc.final.outIface ?? "the tunnel"}: outer packet ${snapshotText(enc.final)} — ${fateColour(enc, c)(fateText(enc.fate))}`);
    for (const s of enc.steps) out.push(...stepLine(s, fam, c, (o.width ?? 80) - 2).map((l) => "  " + l));
  }
  return out;
}

export function traceText(e: Evaluation, o: TextOptions): string {
  const c = o.palette;
  const fam = e.packet.family;
  const out: string[] = [c.bold(packetText(e.packet)), ""];
  const n = e.outcomes.length;
  e.outcomes.forEach((oc, i) => {
    out.push(`${c.bold(`Outcome ${i + 1} of ${n}`)}${givenText(oc)}${probabilitySuffix(oc.probability)}: ${fateColour(oc, c)(fateText(oc.fate))}`);
    out.push(...outcomeBodyLines(oc, fam, o));
    out.push(...assumingLines(oc, c));
    out.push("");
  });
  if (o.notes !== false) for (const p of loadProblems(e)) out.push(c.yellow(problemNote(p)));
  return out.join("\n").replace(/\n+$/, "") + "\n";
}

/**
 * Where a let-through outcome's packet ends up when a rule rewrote its destination, and that
 * rule: `→ 10.244.0.3:53 (nat KUBE-SEP-X rule 2)`; empty when the destination is the packet's own.
 */
export function destinationText(oc: Outcome, e: Pick<Evaluation, "packet">): string {
  const f = oc.final;
  if (f.dst === e.packet.dst && f.dport === e.packet.dport) return "";
  const by = oc.steps.find((s) => s.matched && s.packet && (s.packet.dst !== e.packet.dst || s.packet.dport !== e.packet.dport));
  const rule = !by ? "" : by.ipvs ? ` (IPVS ${by.chain}, ${by.ipvs.scheduler ?? "scheduler not shown"})` : ` (${chainPlaceText(by)} ${by.rule === "policy" ? "policy" : `rule ${by.rule}`})`;
  return ` → ${endpointText(f.dst, f.dport)}${rule}`;
}

/** How sure the answer is: lost (dropped, rejected, unroutable, martian), unknown (indeterminate, error, queued to a program), or through. */
export type Verdict = "lost" | "unknown" | "through";

export function outcomeVerdict(o: Pick<Outcome, "fate">): Verdict {
  switch (o.fate.kind) {
    case "dropped":
    case "rejected":
    case "unroutable":
    case "martian":
    case "reply-lost":
      return "lost";
    case "indeterminate":
    case "error":
    case "queued":
      return "unknown";
    default:
      return "through";
  }
}

/**
 * A rule that would have let the packet on, had it matched: an accept, a jump, a DNAT, a return.
 * Not one that asks for the other family (`icmpv6 type ... accept` for an IPv4 packet, in an
 * inet table): it could never have matched, however the packet differed.
 */
function lets(s: Step, fam: "ipv4" | "ipv6"): boolean {
  if (s.nft?.requires !== undefined && s.nft.requires !== fam) return false;
  if (s.ruleNode) return /ACCEPT|JUMP|GOTO|DNAT|RETURN/.test(stepRuleText(s, fam));
  return s.nft?.text !== undefined && /\b(?:accept|jump|goto|dnat|return)\b/.test(s.nft.text);
}

/**
 * Why a lost outcome was lost, under its heading: the deciding rule (as saved and as the
 * listing shows it), the path of rules taken, and the rules that nearly let it through.
 */
export function lostDetailLines(d: Outcome, fam: "ipv4" | "ipv6", o: TextOptions): string[] {
  const c = o.palette;
  const out: string[] = [];
  const last = [...d.steps].reverse().find((s) => s.matched && !s.uncertain);
  if (last && d.fate.kind !== "unroutable") {
    out.push(...wrap(stepRuleText(last, fam), o.width ?? 80, "    "));
    for (const l of listingLines(last, fam)) out.push(`    ${c.dim(l)}`);
  }
  const path = d.steps.filter((s) => s.matched && !s.uncertain).map((s) => `${chainPlaceText(s)}${s.rule === "policy" ? " policy" : ` #${s.rule}`}`);
  if (path.length) out.push(...packLines(path, " → ", o.width ?? 80, "  path: ", "        "));
  // Near misses in the table and hook that dropped it: a DNAT rule of nat is no near miss for a filter drop.
  const where = d.fate.kind === "dropped" || d.fate.kind === "rejected" ? d.fate : undefined;
  const near = d.steps.filter((s) => !s.matched && (!where || (s.table === where.table && s.hook === where.hook && s.nft?.table === where.nft?.table)) && lets(s, fam));
  if (near.length) {
    out.push("  nearly let through by:");
    for (const s of near.slice(-5)) {
      out.push(...wrap(stepRuleText(s, fam), o.width ?? 80, "    "));
      out.push(`      ${c.dim(`failed: ${s.failed}`)}`);
    }
  }
  return out;
}

const VERDICT_RANK: Record<Verdict, number> = { through: 0, unknown: 1, lost: 2 };

/** The worse of verdicts: lost over unknown over through. */
export function worseVerdict(a: Verdict, b: Verdict): Verdict {
  return VERDICT_RANK[b] > VERDICT_RANK[a] ? b : a;
}

/** The verdict of a whole answer: lost when any outcome is, else unknown when any is (or there is none), else through. */
export function answerVerdict(verdicts: readonly Verdict[]): Verdict {
  return verdicts.length === 0 ? "unknown" : verdicts.reduce<Verdict>(worseVerdict, "through");
}

/** The short answer: is it dropped, by which rule, along which path, and what nearly let it through. */
export function whyDroppedText(e: Evaluation, o: TextOptions): string {
  const c = o.palette;
  const fam = e.packet.family;
  const out: string[] = [c.bold(packetText(e.packet))];
  const lost = e.outcomes.filter((x) => outcomeVerdict(x) === "lost");
  const unknown = e.outcomes.filter((x) => outcomeVerdict(x) === "unknown");
  // Outcomes that rest on different undecided conditions are alternatives, not chances.
  const chances = e.outcomes.every((x) => !x.given?.length);
  const heading = (x: Outcome) => `${fateText(x.fate)}${givenText(x)}${probabilitySuffix(x.probability)}`;
  if (lost.length === 0) {
    out.push(unknown.length ? c.yellow("Cannot tell: the answer depends on something the input does not say.") : c.green("Not dropped."));
    for (const oc of e.outcomes) {
      const col = outcomeVerdict(oc) === "unknown" ? c.yellow : (s: string) => s;
      out.push(`  ${col(heading(oc))}${destinationText(oc, e)}`);
    }
    const standingAll = [...new Set(e.outcomes.flatMap(standing))];
    if (standingAll.length) {
      out.push(`  ${c.yellow("assuming:")}`);
      for (const a of standingAll) out.push(`    - ${a}`);
    }
    return out.join("\n") + "\n";
  }
  const all = lost.length === e.outcomes.length;
  const total = lost.reduce((sum, x) => sum + x.probability, 0);
  out.push(c.red(all ? "Dropped." : `Dropped in ${lost.length} of ${e.outcomes.length} outcomes${chances ? ` (probability ${probabilityText(total)})` : ", depending on what is assumed"}.`));
  for (const d of lost) {
    out.push("");
    out.push(`  ${c.red(lost.length > 1 || d.given?.length ? heading(d) : fateText(d.fate))}`);
    out.push(...lostDetailLines(d, fam, o));
    out.push(...assumingLines(d, c));
  }
  const others = e.outcomes.filter((x) => outcomeVerdict(x) !== "lost");
  if (others.length) {
    out.push("");
    out.push("  otherwise:");
    for (const oc of others) out.push(`    ${(outcomeVerdict(oc) === "unknown" ? c.yellow : (s: string) => s)(heading(oc))}${destinationText(oc, e)}`);
  }
  return out.join("\n") + "\n";
}
