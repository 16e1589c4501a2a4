/**
 * `netfate batch --fields fate,final,...`: one short line per outcome instead of the whole
 * trace — tab-separated text (for cut, awk, sort | uniq -c) or, with `--format json`, one
 * JSON object per outcome. What each field says is in FIELDS (and `netfate batch --help`).
 */
import type { Evaluation } from "../../netfilter/model.js";
import type { Outcome, Step } from "../../model/evaluation.js";
import type { PacketSpec } from "../../model/packet.js";
import { chainPlaceText, fateText, packetText, probabilityText, snapshotText, stepRuleText } from "../../explain/describe.js";
import { natOf, natText } from "../../netfilter/nat.js";
import { UsageError } from "../args.js";

/** What one field is made of: the packet's line, the packet, the outcome and its number. */
interface Row {
  line: number;
  packet: PacketSpec;
  outcome: Outcome;
  /** 1-based, in the order the full trace lists the outcomes. */
  n: number;
}

interface Field {
  help: string;
  /** The value in a text line ("-" when there is none). */
  text(r: Row): string;
  /** `text` has no tab or line break in it already: it goes on the line as it is. */
  clean?: true;
  /** The value in a JSON line (omitted when undefined). */
  json(r: Row): unknown;
}

/** The step that decided the outcome: its last matched step that every history of it took (what outcomes are merged by). */
function decidingStep(o: Outcome): Step | undefined {
  for (let k = o.steps.length - 1; k >= 0; k--) {
    const s = o.steps[k]!;
    if (s.matched && !s.uncertain) return s;
  }
  return undefined;
}

/**
 * Rule lines already made, by the rule they print (a batch meets the same few rules again and
 * again): its place, position and text are the rule's own, whichever packet reached it.
 */
const printed = new WeakMap<object, string>();

function ruleText(o: Outcome, family: PacketSpec["family"]): string | undefined {
  const s = decidingStep(o);
  if (!s) return undefined;
  let line = s.ruleNode ? printed.get(s.ruleNode) : undefined;
  if (line === undefined) {
    line = `${chainPlaceText(s)} ${s.rule === "policy" ? "policy" : `rule ${s.rule}`}: ${stepRuleText(s, family)}`;
    if (s.ruleNode) printed.set(s.ruleNode, line);
  }
  return line;
}

/** The rule's line on a text line: made once per rule, like the line itself. */
const printedCell = new WeakMap<object, string>();

function ruleCell(o: Outcome, family: PacketSpec["family"]): string {
  const s = decidingStep(o);
  const known = s?.ruleNode ? printedCell.get(s.ruleNode) : undefined;
  if (known !== undefined) return known;
  const line = ruleText(o, family);
  const c = line === undefined ? "-" : cell(line);
  if (s?.ruleNode) printedCell.set(s.ruleNode, c);
  return c;
}

/** Chances already written (a batch meets the same few: 1, and a service's 1/n shares): toFixed is slow. Bounded. */
const chances = new Map<number, string>();

function chanceText(p: number): string {
  let t = chances.get(p);
  if (t === undefined) {
    if (chances.size >= 1024) chances.clear();
    chances.set(p, (t = probabilityText(p)));
  }
  return t;
}

function natOfOutcome(o: Outcome): string | undefined {
  return o.conntrack && natOf(o.conntrack).length > 0 ? natText(o.conntrack) : undefined;
}

export const FIELDS: Readonly<Record<string, Field>> = {
  line: { help: "the packet's line number in the input", text: (r) => String(r.line), clean: true, json: (r) => r.line },
  packet: { help: "the packet as read (text form)", text: (r) => packetText(r.packet), json: (r) => packetText(r.packet) },
  outcome: { help: "which of the packet's outcomes (1, 2, ... as the full trace lists them)", text: (r) => String(r.n), clean: true, json: (r) => r.n },
  fate: { help: "delivered, forwarded, sent, dropped, rejected, queued, unroutable, martian, indeterminate or error", text: (r) => r.outcome.fate.kind, clean: true, json: (r) => r.outcome.fate.kind },
  detail: { help: "the fate in words: where it was dropped, which interface it left by, what could not be told", text: (r) => fateText(r.outcome.fate), json: (r) => fateText(r.outcome.fate) },
  rule: { help: "the rule (or policy) that decided it: table, chain, position and the rule as iptables-save or nft prints it", text: (r) => ruleCell(r.outcome, r.packet.family), clean: true, json: (r) => ruleText(r.outcome, r.packet.family) },
  probability: { help: "the chance of this outcome (given its alternatives' sides, if any)", text: (r) => chanceText(r.outcome.probability), clean: true, json: (r) => r.outcome.probability },
  final: { help: "the packet as it leaves (or ends): source -> destination, with its mark and ctmark when set", text: (r) => snapshotText(r.outcome.final), json: (r) => r.outcome.final },
  nat: { help: "the connection's DNAT and SNAT (- when none)", text: (r) => natOfOutcome(r.outcome) ?? "-", json: (r) => natOfOutcome(r.outcome) },
  given: { help: "the sides taken of conditions the input does not decide (- when none)", text: (r) => r.outcome.given?.join("; ") || "-", json: (r) => r.outcome.given ?? [] },
  assumptions: { help: "what the outcome rests on (- when nothing)", text: (r) => r.outcome.assumptions.join("; ") || "-", json: (r) => r.outcome.assumptions },
};

export const FIELD_NAMES = Object.keys(FIELDS);

/** A field asked for, with its name (the JSON key). */
export interface Chosen {
  name: string;
  field: Field;
}

/** `--fields fate,final,rule`: the fields in the order asked; an unknown name is a usage error naming the known ones. */
export function parseFields(list: string): Chosen[] {
  const names = list.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) throw new UsageError(`--fields needs at least one of ${FIELD_NAMES.join(", ")}`);
  return names.map((name) => {
    const field = FIELDS[name];
    if (!field) throw new UsageError(`unknown field ${JSON.stringify(name)} in --fields (known: ${FIELD_NAMES.join(", ")})`);
    return { name, field };
  });
}

/** A value on one tab-separated line: tabs and line breaks inside it become spaces. */
function cell(s: string): string {
  return /[\t\r\n]/.test(s) ? s.replace(/[\t\r\n]+/g, " ") : s;
}

/** The packet's answer as compact lines, one per outcome. */
export function compactLines(fields: readonly Chosen[], json: boolean, line: number, e: Evaluation): string {
  let out = "";
  for (let i = 0; i < e.outcomes.length; i++) {
    const r: Row = { line, packet: e.packet, outcome: e.outcomes[i]!, n: i + 1 };
    if (json) {
      const o: Record<string, unknown> = {};
      for (const { name, field } of fields) {
        const v = field.json(r);
        if (v !== undefined) o[name] = v;
      }
      out += JSON.stringify(o) + "\n";
    } else {
      let l = "";
      for (let k = 0; k < fields.length; k++) {
        const f = fields[k]!.field;
        l += (k ? "\t" : "") + (f.clean ? f.text(r) : cell(f.text(r)));
      }
      out += l + "\n";
    }
  }
  return out;
}

/**
 * A packet that could not be read, on a compact line: JSON `{"line", "error"}`; text with the
 * line number, the fate `unreadable` and why (in `detail`) where the fields put them, - elsewhere.
 */
export function compactError(fields: readonly Chosen[], json: boolean, line: number, error: string): string {
  if (json) return JSON.stringify({ line, error }) + "\n";
  const value = (name: string) => (name === "line" ? String(line) : name === "fate" ? "unreadable" : name === "detail" ? cell(error) : "-");
  return fields.map((f) => value(f.name)).join("\t") + "\n";
}

/**
 * A packet's lines made once, with stand-ins for its source address, source port and line
 * number (STAND_IN): the flow memo's kept answer for `netfate batch --fields`. Each packet the
 * memo answers gets them back with its own (fillLines): no evaluation, no formatting.
 */
export interface LinesTemplate {
  /** The text between the stand-ins: one more than `holes`. */
  parts: string[];
  /** Which value goes in each gap: HOLE_SRC, HOLE_SPORT or HOLE_LINE. */
  holes: number[];
}

const HOLE_SRC = 0;
const HOLE_SPORT = 1;
const HOLE_LINE = 2;

/**
 * What the template is made with in place of the packet's own values: a character no address
 * has (one of Latin-1, so that the lines stay one byte a character in memory) and numbers no
 * packet has (a port past 65535, a line number past ten thousand million). An IPv6 stand-in
 * holds a colon, as every IPv6 address does (endpoints are bracketed by it). Another text that
 * happens to hold one is caught where the template is made (it is checked against the lines
 * made the ordinary way).
 */
const STAND_IN = { v4: "\u00ff", v6: "\u00ff:", port: 777777, line: 44444444441 };

/** The packet with the stand-ins for its source address and port (those it has). */
export function standInPacket(p: PacketSpec): PacketSpec {
  const s: PacketSpec = { ...p };
  if (p.src !== undefined) s.src = p.family === "ipv6" ? STAND_IN.v6 : STAND_IN.v4;
  if (p.sport !== undefined) s.sport = STAND_IN.port;
  return s;
}

/** The lines of an answer for standInPacket(packet) (its sources and ports replaced), cut at the stand-ins. */
export function linesTemplate(fields: readonly Chosen[], json: boolean, standIn: Evaluation): LinesTemplate {
  const text = compactLines(fields, json, STAND_IN.line, standIn);
  const marks: Array<[string, number]> = [[String(STAND_IN.line), HOLE_LINE]];
  if (standIn.packet.src !== undefined) marks.push([standIn.packet.src, HOLE_SRC]);
  if (standIn.packet.sport !== undefined) marks.push([String(standIn.packet.sport), HOLE_SPORT]);
  const parts: string[] = [];
  const holes: number[] = [];
  let at = 0;
  for (;;) {
    let next = -1;
    let mark: [string, number] | undefined;
    for (const m of marks) {
      const i = text.indexOf(m[0], at);
      if (i >= 0 && (next < 0 || i < next)) [next, mark] = [i, m];
    }
    if (!mark) break;
    parts.push(text.slice(at, next));
    holes.push(mark[1]);
    at = next + mark[0].length;
  }
  parts.push(text.slice(at));
  return { parts, holes };
}

/** The template's lines for a packet with this source address, port and line number. */
export function fillLines(t: LinesTemplate, src: string | undefined, sport: number | undefined, line: number): string {
  const { parts, holes } = t;
  let out = parts[0]!;
  for (let i = 0; i < holes.length; i++) {
    const h = holes[i]!;
    out += (h === HOLE_SRC ? src! : h === HOLE_SPORT ? String(sport!) : String(line)) + parts[i + 1]!;
  }
  return out;
}

/** About what a template holds on the heap (measured: its texts, one byte a character, each with its header, array slots and hole; the object and its arrays). */
export function templateBytes(t: LinesTemplate): number {
  let n = 96 + 56 * t.parts.length;
  for (const p of t.parts) n += p.length;
  return n;
}
