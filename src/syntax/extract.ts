/**
 * Finds the dumps inside a text that is more than a dump: an issue comment with prose and
 * shell prompts around `iptables-save` output, a log where every line carries a journald
 * prefix, a markdown page with indented listings, an escaped string holding a whole dump.
 *
 * Each dump comes out as a block of clean text for its parser, plus where every block line
 * came from, so that what the parser reports points into the original file. Lines outside
 * every block are reported (summarised) as skipped; a line inside a dump that cannot be read
 * stays in its block so that the parser reports it where it is. Nothing is dropped silently.
 */
import type { Family, TableName } from "../model/ast.js";
import { isTableName } from "../model/ast.js";
import type { Diagnostic } from "../model/diagnostics.js";
import {
  detectFormat, isFence, isIpsetListField, isSaveShaped, JOURNALD_PREFIX, LISTING_COLUMNS, looksLikeListingRule,
  looksLikeProse, promptCommand, strongFamily, type DumpFamily, type InputFormat,
} from "../detect.js";
import { withoutBom } from "./bom.js";

/** Where one line of a block sits in the original text. */
export interface LineOrigin {
  /** 1-based line of the original text. */
  line: number;
  /** 1-based original column of the block line's first character. */
  col: number;
  /**
   * Original column of every character, when the unwrapping removed text inside the line
   * (escapes, HTML tags); absent when the line is a plain suffix of the original one.
   */
  cols?: number[];
}

export type WrapperKind = "journald" | "comment" | "indent" | "quote" | "escaped-string" | "html" | "diff-old" | "diff-new";

export interface DumpBlock {
  format: InputFormat;
  /** The dump, unwrapped, one line per origin, ending with a newline. */
  text: string;
  /** 1-based original line of the block's first line. */
  firstLine: number;
  /** 1-based original line of the block's last line. */
  lastLine: number;
  /** The wrapper removed from the start of the first line (`  # `, a tab, a journald prefix). */
  prefix?: string;
  wrapper?: WrapperKind;
  /** For the user: what the block is, where, and how it was told. */
  note: string;
  /** One per line of `text`. */
  origins: LineOrigin[];
  /** What the command that printed the dump (a prompt line just before it) says about it. */
  hints: BlockHints;
}

export interface BlockHints {
  table?: TableName;
  family?: Family;
  /** The command, verbatim, and its original line. */
  command?: string;
  commandLine?: number;
}

export interface Extraction {
  blocks: DumpBlock[];
  diagnostics: Diagnostic[];
}

/** One line as the extractor sees it, after its wrapper is removed. */
interface Piece {
  text: string;
  origin: LineOrigin;
  wrapper?: WrapperKind;
  prefix?: string;
  /** Diff syntax (hunk headers, `---`): never dump content. */
  markup?: boolean;
  /** A separation the text implies but has no line for (between the two sides of a diff). */
  barrier?: boolean;
}

const BARRIER: Piece = { text: "", origin: { line: 0, col: 1 }, barrier: true };

export function extractDumps(text: string, file: string): Extraction {
  const raw = splitLines(withoutBom(text));
  const pieces = unwrap(raw);
  const spans = segment(pieces);
  const blocks = spans.map((s) => buildBlock(pieces, s));
  const diagnostics: Diagnostic[] = [];
  const sk = skippedLines(pieces, spans, raw);
  const skipped = sk.lines;
  if (skipped.length) {
    const ranges = lineRanges(sk, raw);
    const shown = ranges.slice(0, 20).join(", ") + (ranges.length > 20 ? `, and ${ranges.length - 20} more ranges` : "");
    diagnostics.push({
      severity: "info", file, line: skipped[0]!, col: 1,
      message: `skipped ${skipped.length} ${skipped.length === 1 ? "line that belongs" : "lines that belong"} to no dump (prose, shell prompts, fences, logs): ${blocks.length ? "" : "no dump found; "}${shown}`,
    });
  }
  return { blocks, diagnostics };
}

// ---------------------------------------------------------------------------------------
// Lines and wrappers

/**
 * The lines of a text (without their CR), each with its number, where a run of blank lines
 * keeps only its first two: nothing in a dump or around it tells two blank lines from twenty
 * million, and a text of 20 million blank lines then holds a few entries, not one per line
 * (which was 3.7 GB of heap, and a crash a few million lines later).
 */
interface Lines {
  texts: string[];
  /** 1-based line number of each of `texts`, ascending. */
  numbers: number[];
}

function splitLines(text: string): Lines {
  const texts: string[] = [];
  const numbers: number[] = [];
  let line = 0;
  let blanks = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    line++;
    const l = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;
    if (l.trim() === "") {
      if (++blanks > 2) continue;
    } else blanks = 0;
    texts.push(l);
    numbers.push(line);
  }
  return { texts, numbers };
}

/** Where line `line` is in `lines.texts`, or -1 when it is not there (a blank line left out). */
function indexOfLine(lines: Lines, line: number): number {
  const n = lines.numbers;
  let lo = 0;
  let hi = n.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = n[mid]!;
    if (v === line) return mid;
    if (v < line) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

interface Base {
  line: number;
  col: number;
  text: string;
  prefix: string;
  wrapper?: WrapperKind;
  /** Claimed by a diff region. */
  diff?: boolean;
}

function unwrap(raw: Lines): Piece[] {
  const base: Base[] = raw.texts.map((l, i) => {
    const line = raw.numbers[i]!;
    const m = JOURNALD_PREFIX.exec(l);
    if (m) return { line, col: m[0].length + 1, text: l.slice(m[0].length), prefix: m[0], wrapper: "journald" };
    return { line, col: 1, text: l, prefix: "" };
  });
  const diffs = findDiffRegions(base);
  for (const d of diffs) for (let i = d.from; i <= d.to; i++) base[i]!.diff = true;
  unwrapRuns(base, /^[ \t]+# ?/, "comment", (rest) => strongFamily(rest) !== undefined && !rest.startsWith("#"));
  unwrapIndent(base);
  unwrapRuns(base, /^(?:> ?)+/, "quote", (rest) => strongFamily(rest) !== undefined);

  const pieces: Piece[] = [];
  let d = 0;
  for (let i = 0; i < base.length; i++) {
    const region = diffs[d];
    if (region && region.from === i) {
      for (const p of diffPieces(base, region)) pieces.push(p);
      i = region.to;
      d++;
      continue;
    }
    const b = base[i]!;
    const split = splitEscaped(b) ?? stripHtml(b);
    if (split) {
      pieces.push(...split);
      continue;
    }
    const p: Piece = { text: b.text, origin: { line: b.line, col: b.col } };
    if (b.wrapper) {
      p.wrapper = b.wrapper;
      p.prefix = b.prefix;
    }
    pieces.push(p);
  }
  return pieces;
}

/**
 * Runs of consecutive lines with the same kind of prefix (`  # `, `> `) are unwrapped when
 * at least one of them is then unmistakably a dump line; a lone prefixed line is left alone
 * (a restore file's `# -A ...` is a rule commented out, not a quoted one).
 */
function unwrapRuns(base: Base[], prefix: RegExp, kind: WrapperKind, qualifies: (rest: string) => boolean): void {
  for (let i = 0; i < base.length; ) {
    if (base[i]!.wrapper || base[i]!.diff || !prefix.test(base[i]!.text)) {
      i++;
      continue;
    }
    let j = i;
    while (j < base.length && !base[j]!.wrapper && !base[j]!.diff && prefix.test(base[j]!.text)) j++;
    const run = base.slice(i, j);
    const rests = run.map((b) => b.text.slice(prefix.exec(b.text)![0].length));
    // Commented-out rules between live ones stay comments: a quoted dump is quoted whole.
    const live = (b: Base | undefined) => b !== undefined && strongFamily(b.text.trimStart()) !== undefined;
    const between = kind === "comment" && (live(neighbour(base, i, -1)) || live(neighbour(base, j - 1, 1)));
    if (run.length >= 2 && !between && rests.some(qualifies)) {
      run.forEach((b, k) => {
        const cut = b.text.length - rests[k]!.length;
        b.prefix = b.text.slice(0, cut);
        b.col += cut;
        b.text = rests[k]!;
        b.wrapper = kind;
      });
    }
    i = j;
  }
}

/** The nearest line before (-1) or after (1) `i` that is not blank. */
function neighbour(base: Base[], i: number, dir: 1 | -1): Base | undefined {
  for (let k = i + dir; k >= 0 && k < base.length; k += dir) if (base[k]!.text.trim() !== "") return base[k];
  return undefined;
}

/** Markdown code blocks and pasted dumps indented as a whole (a tab, four spaces). */
function unwrapIndent(base: Base[]): void {
  const indented = (b: Base) => !b.wrapper && !b.diff && (b.text.trim() === "" || /^[ \t]/.test(b.text));
  for (let i = 0; i < base.length; ) {
    if (!indented(base[i]!) || base[i]!.text.trim() === "") {
      i++;
      continue;
    }
    let j = i;
    while (j < base.length && indented(base[j]!)) j++;
    const run = base.slice(i, j);
    let common: string | undefined;
    for (const b of run) {
      if (b.text.trim() === "") continue;
      const lead = /^[ \t]*/.exec(b.text)![0];
      if (common === undefined) common = lead;
      else {
        let k = 0;
        while (k < common.length && k < lead.length && common[k] === lead[k]) k++;
        common = common.slice(0, k);
      }
    }
    if (common && run.some((b) => strongFamily(b.text.slice(common!.length)) !== undefined)) {
      for (const b of run) {
        const cut = Math.min(common.length, b.text.length);
        b.prefix = b.text.slice(0, cut);
        b.col += cut;
        b.text = b.text.slice(cut);
        b.wrapper = "indent";
      }
    }
    i = j;
  }
}

interface DiffRegion {
  from: number;
  to: number;
  unified: boolean;
}

const NORMAL_HUNK = /^\d+(?:,\d+)?[acd]\d+(?:,\d+)?\s*$/;
const UNIFIED_HUNK = /^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@/;

/** `diff` output: hunk headers followed by `<`/`>` lines, or unified `@@` hunks. */
function findDiffRegions(base: Base[]): DiffRegion[] {
  const out: DiffRegion[] = [];
  for (let i = 0; i < base.length; i++) {
    const t = base[i]!.text;
    const unified = UNIFIED_HUNK.test(t);
    if (!unified && !NORMAL_HUNK.test(t)) continue;
    const member = unified
      ? (s: string) => UNIFIED_HUNK.test(s) || /^[-+ \\]/.test(s)
      : (s: string) => NORMAL_HUNK.test(s) || /^[<>](?: |$)/.test(s) || /^---\s*$/.test(s) || /^\\ No newline/.test(s);
    let j = i + 1;
    while (j < base.length && member(base[j]!.text)) j++;
    const body = base.slice(i + 1, j).filter((b) => (unified ? /^[-+]/.test(b.text) : /^[<>]/.test(b.text)));
    if (body.length === 0) continue;
    let from = i;
    // `--- a/x` / `+++ b/x` file headers of a unified diff belong to it.
    if (unified) while (from >= 2 && /^\+\+\+ /.test(base[from - 1]!.text) && /^--- /.test(base[from - 2]!.text)) from -= 2;
    out.push({ from, to: j - 1, unified });
    i = j - 1;
  }
  return out;
}

/** The two sides of a diff as two separate runs of lines, hunk syntax kept out. */
function diffPieces(base: Base[], region: DiffRegion): Piece[] {
  const markup: Piece[] = [];
  const old: Piece[] = [];
  const neu: Piece[] = [];
  for (let i = region.from; i <= region.to; i++) {
    const b = base[i]!;
    const t = b.text;
    const side = (wrapper: WrapperKind, cut: number): Piece => ({
      text: t.slice(cut), origin: { line: b.line, col: b.col + cut }, wrapper, prefix: b.prefix + t.slice(0, cut),
    });
    if (region.unified) {
      if (UNIFIED_HUNK.test(t) || /^(?:---|\+\+\+) /.test(t) || t.startsWith("\\")) markup.push({ text: t, origin: { line: b.line, col: b.col }, markup: true });
      else if (t.startsWith("-")) old.push(side("diff-old", 1));
      else if (t.startsWith("+")) neu.push(side("diff-new", 1));
      else {
        old.push(side("diff-old", 1));
        neu.push(side("diff-new", 1));
      }
    } else if (/^[<>]/.test(t)) {
      const cut = t.length > 1 ? 2 : 1;
      (t.startsWith("<") ? old : neu).push(side(t.startsWith("<") ? "diff-old" : "diff-new", cut));
    } else {
      markup.push({ text: t, origin: { line: b.line, col: b.col }, markup: true });
    }
  }
  return [BARRIER, ...markup, BARRIER, ...old, BARRIER, ...neu, BARRIER];
}

/**
 * A dump pasted as a JSON or Go string: literal `\n` between lines and `\"` for quotes.
 * Split when at least two of the parts are unmistakable dump lines. Parts holding nothing
 * (between `\n` and the closing quote) are dropped; they stand for no text.
 */
function splitEscaped(b: Base): Piece[] | undefined {
  const t = b.text;
  if (!t.includes("\\n") || promptCommand(t) !== undefined) return undefined;
  const parts: { text: string; cols: number[] }[] = [];
  let cur = { text: "", cols: [] as number[] };
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    const col = b.col + i;
    // Inside the string every quote is escaped: a bare one opens or closes the string, and
    // what lies outside it (`log: "`) is not dump text.
    if (c === '"') {
      parts.push(cur);
      cur = { text: "", cols: [] };
      continue;
    }
    if (c === "\\" && i + 1 < t.length) {
      const n = t[i + 1]!;
      if (n === "n") {
        parts.push(cur);
        cur = { text: "", cols: [] };
        i++;
        continue;
      }
      const un = n === '"' || n === "\\" || n === "'" || n === "/" ? n : n === "t" ? "\t" : undefined;
      if (un !== undefined) {
        cur.text += un;
        cur.cols.push(col);
        i++;
        continue;
      }
    }
    cur.text += c;
    cur.cols.push(col);
  }
  parts.push(cur);
  if (parts.filter((p) => strongFamily(p.text) !== undefined).length < 2) return undefined;
  return parts.filter((p) => p.cols.length > 0).map((p) => ({
    text: p.text,
    origin: { line: b.line, col: p.cols[0] ?? b.col + t.length, cols: p.cols },
    wrapper: "escaped-string",
    prefix: b.prefix,
  }));
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " ", "#39": "'", "#34": '"' };

/** A dump rendered as HTML by a syntax highlighter: tags removed, entities decoded. */
function stripHtml(b: Base): Piece[] | undefined {
  const t = b.text;
  if (!/^\s*<[A-Za-z/!]/.test(t)) return undefined;
  let text = "";
  const cols: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c === "<") {
      const end = t.indexOf(">", i);
      // A tag cut off by the end of the line is removed too: it cannot be dump text.
      i = end < 0 ? t.length : end;
      continue;
    }
    if (c === "&") {
      const m = /^&(#?\w+);/.exec(t.slice(i, i + 10));
      if (m && ENTITIES[m[1]!] !== undefined) {
        text += ENTITIES[m[1]!];
        cols.push(b.col + i);
        i += m[0].length - 1;
        continue;
      }
    }
    text += c;
    cols.push(b.col + i);
  }
  const lead = /^\s*/.exec(text)![0].length;
  text = text.slice(lead);
  cols.splice(0, lead);
  if (strongFamily(text) === undefined) return undefined;
  return [{ text, origin: { line: b.line, col: cols[0] ?? b.col, cols }, wrapper: "html", prefix: b.prefix }];
}

// ---------------------------------------------------------------------------------------
// Blocks

interface Span {
  fam: DumpFamily | "json";
  from: number;
  to: number;
}

type Kind = "blank" | "stop" | "other" | DumpFamily;

function kindOf(p: Piece): Kind {
  if (p.barrier || p.markup) return "stop";
  const t = p.text;
  if (t.trim() === "") return "blank";
  if (isFence(t) || promptCommand(t) !== undefined || isNoise(t)) return "stop";
  return strongFamily(t) ?? "other";
}

/** What iptables itself prints beside a dump that is not part of it. */
function isNoise(t: string): boolean {
  return /^Warning: iptables-legacy tables present/.test(t);
}

function segment(pieces: Piece[]): Span[] {
  const out: Span[] = [];
  const kinds = pieces.map(kindOf);
  let floor = 0; // pieces before this index belong to an earlier block
  for (let i = 0; i < pieces.length; ) {
    const start = blockStart(pieces, kinds, i);
    if (!start) {
      i++;
      continue;
    }
    let from = i;
    if (start === "listing") from = extendListingBack(pieces, kinds, i, floor);
    if (start === "ipset-list" && i > floor && /^Name: \S/.test(pieces[i - 1]!.text)) from = i - 1;
    const to = start === "json" ? jsonEnd(pieces, i)! : grow(pieces, kinds, start, i);
    out.push({ fam: start, from, to });
    floor = to + 1;
    i = to + 1;
  }
  return out;
}

function blockStart(pieces: Piece[], kinds: Kind[], i: number): Span["fam"] | undefined {
  const k = kinds[i]!;
  if (k !== "blank" && k !== "stop" && k !== "other") return k;
  if (k !== "other") return undefined;
  const t = pieces[i]!.text;
  if (LISTING_COLUMNS.test(t)) return "listing";
  // Rule rows of a listing whose chain header was cut off: two in a row are enough to tell.
  if (looksLikeListingRule(t) && i + 1 < pieces.length && kinds[i + 1] === "other" && looksLikeListingRule(pieces[i + 1]!.text)) return "listing";
  if (/^\s*(?:\{|\[\s*(?:\{|$))/.test(t) && jsonEnd(pieces, i) !== undefined) return "json";
  return undefined;
}

/** Rows (and a stray chain header) of a listing that started before the first header seen. */
function extendListingBack(pieces: Piece[], kinds: Kind[], i: number, floor: number): number {
  let from = i;
  for (let j = i - 1; j >= floor; j--) {
    const t = pieces[j]!.text;
    if (kinds[j] === "blank") continue;
    if (kinds[j] !== "other" || !(looksLikeListingRule(t) || LISTING_COLUMNS.test(t) || /^\S?Chain \S/.test(t))) break;
    from = j;
  }
  return from;
}

function grow(pieces: Piece[], kinds: Kind[], fam: DumpFamily, start: number): number {
  let end = start;
  let members = /^Members:/.test(pieces[start]!.text);
  // Inside `*table` ... `COMMIT`, a `# iptables -A ...` line is a restore-file comment, not a
  // root prompt: nothing but the dump can come before its COMMIT.
  let openTable = /^\*/.test(pieces[start]!.text);
  for (let j = start + 1; j < pieces.length; j++) {
    const k = kinds[j]!;
    const p = pieces[j]!;
    const t = p.text;
    if (fam === "iptables" && openTable && k === "stop" && !p.barrier && !p.markup && t.startsWith("#")) {
      end = j;
      continue;
    }
    if (fam === "iptables" && k !== "blank") {
      if (/^\*/.test(t)) openTable = true;
      else if (/^COMMIT\b/.test(t)) openTable = false;
    }
    if (k === "stop") break;
    if (k === "blank") {
      let b = j;
      while (b < pieces.length && kinds[b] === "blank") b++;
      if (b < pieces.length && continuesAfterBlank(fam, pieces, kinds, b)) {
        j = b - 1;
        members = false;
        continue;
      }
      break;
    }
    if (k !== "other" && k !== fam) break;
    if (k === fam || fits(fam, t, members)) {
      end = j;
      if (/^Members:/.test(t)) members = true;
      continue;
    }
    if (fam === "iptables") {
      // Inside a save dump, a line that is not shaped like one is kept when the dump goes
      // on right after it (a line broken in two), or when it carries options (a rule cut
      // off at the start): the parser then says what is wrong with it, where it is.
      const next = j + 1 < pieces.length ? pieces[j + 1]! : undefined;
      const sandwiched = next !== undefined && kinds[j + 1] !== "blank" && kinds[j + 1] !== "stop" && isSaveShaped(next.text);
      if (!looksLikeProse(t) && (sandwiched || /(?:^|\s)--?[a-zA-Z][\w-]*\s+\S/.test(t))) {
        end = j;
        continue;
      }
      break;
    }
    // ip output is self-describing: a line that does not fit is not part of it.
    if (fam === "ip-route" || fam === "ip-addr" || looksLikeProse(t)) break;
    end = j;
  }
  return end;
}

function fits(fam: DumpFamily, t: string, members: boolean): boolean {
  switch (fam) {
    case "iptables":
      return isSaveShaped(t);
    case "listing":
      return /^\S?Chain\b/.test(t) || LISTING_COLUMNS.test(t) || looksLikeListingRule(t);
    case "ipset-list":
      return isIpsetListField(t) || members;
    case "ipset-save":
      return /^(?:create|add) /.test(t);
    case "ip-addr":
      return /^\d+: |^\s/.test(t);
    case "route-n":
      return /^Destination\s+(?:Gateway|Next Hop)\s/.test(t) || /^\S+\s+\S+\s+\S+\s+[A-Z!]+\s+\d+\s/.test(t) || /^\S+\s+\S+\s+[A-Z!]+\s+\d+\s+\d+/.test(t);
    case "ip-route":
      // A route (maybe cut off) starts with its type or destination; nexthops are indented.
      return /^\s+\S/.test(t) || /^(?:default|local|broadcast|unreachable|blackhole|prohibit|throw|multicast|anycast|nat|[\d.]+|[0-9a-f]*:[0-9a-f:]*)(?:\/\d+)?(?:\s|$)/.test(t);
  }
}

function continuesAfterBlank(fam: DumpFamily, pieces: Piece[], kinds: Kind[], at: number): boolean {
  const k = kinds[at]!;
  const t = pieces[at]!.text;
  if (k === "stop") return false;
  switch (fam) {
    case "iptables": {
      if (!isSaveShaped(t)) return false;
      if (k === "iptables" || !t.startsWith("#")) return true;
      // A `#` line after a blank one is a restore-file comment when the dump goes on after
      // it, and a markdown heading when it does not.
      for (let j = at + 1; j < pieces.length; j++) {
        if (kinds[j] === "blank" || (kinds[j] === "other" && pieces[j]!.text.startsWith("#"))) continue;
        return kinds[j] !== "stop" && isSaveShaped(pieces[j]!.text);
      }
      return false;
    }
    case "listing":
      return /^\S?Chain\b/.test(t) || LISTING_COLUMNS.test(t) || looksLikeListingRule(t);
    case "ipset-list":
      return /^Name: \S/.test(t) || k === "ipset-list";
    case "ipset-save":
      return /^(?:create|add) /.test(t);
    case "ip-addr":
    case "ip-route":
      return k === fam;
    case "route-n":
      return false;
  }
}

/** The last piece of a JSON value starting at `start`, if it is one (within one fence). */
function jsonEnd(pieces: Piece[], start: number): number | undefined {
  let depth = 0;
  let inString = false;
  let text = "";
  for (let j = start; j < pieces.length && j < start + 100_000; j++) {
    const p = pieces[j]!;
    if (p.barrier || p.markup || isFence(p.text)) return undefined;
    text += p.text + "\n";
    for (let i = 0; i < p.text.length; i++) {
      const c = p.text[i]!;
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") depth--;
    }
    if (depth <= 0) {
      try {
        JSON.parse(text);
        return j;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

const FAMILY_FORMAT: Record<Span["fam"], InputFormat> = {
  iptables: "save",
  listing: "list",
  "ipset-list": "ipset-list",
  "ipset-save": "ipset-save",
  "ip-addr": "ip-addr",
  "ip-route": "ip-route",
  "route-n": "route-n",
  json: "node-json",
};

const WRAPPER_NOTE: Record<WrapperKind, string> = {
  journald: "log prefix removed from each line",
  comment: "comment prefix removed from each line",
  indent: "indentation removed from each line",
  quote: "quoting removed from each line",
  "escaped-string": "escaped string split at \\n and unescaped",
  html: "HTML tags removed",
  "diff-old": "the removed (<) side of diff output",
  "diff-new": "the added (>) side of diff output",
};

function buildBlock(pieces: Piece[], s: Span): DumpBlock {
  const ps = pieces.slice(s.from, s.to + 1);
  const text = ps.map((p) => p.text).join("\n") + "\n";
  const origins = ps.map((p) => p.origin);
  let firstLine = Infinity;
  let lastLine = 0;
  for (const o of origins) {
    if (o.line < firstLine) firstLine = o.line;
    if (o.line > lastLine) lastLine = o.line;
  }
  const d = detectFormat(text);
  // The block decides its family; detectFormat tells save from -S and names the reason.
  const fallback = FAMILY_FORMAT[s.fam];
  const agrees = d.format !== undefined && d.format !== "mixed" && FAMILY_FORMAT[familyOfFormat(d.format)] === FAMILY_FORMAT[familyOfFormat(fallback)];
  const format = agrees ? d.format! : fallback;
  const hints = commandHints(pieces, s.from);
  const wrapper = ps.find((p) => p.wrapper)?.wrapper;
  const why = agrees ? d.reason.replace(/^line (\d+)/, (_, n: string) => `line ${origins[Number(n) - 1]?.line ?? n}`) : describeFamily(s.fam);
  const parts = [`lines ${firstLine}-${lastLine}: ${format} (${why})`];
  if (wrapper) {
    const w = ps.find((p) => p.wrapper)!;
    parts.push(`${WRAPPER_NOTE[wrapper]}${w.prefix && wrapper !== "escaped-string" && wrapper !== "html" ? ` (${JSON.stringify(w.prefix)})` : ""}`);
  }
  if (hints.command) parts.push(`after \`${hints.command}\` on line ${hints.commandLine}${hints.table ? ` (table ${hints.table})` : ""}`);
  const block: DumpBlock = { format, text, firstLine, lastLine, note: parts.join("; "), origins, hints };
  const first = ps[0]!;
  if (first.wrapper) block.wrapper = first.wrapper;
  else if (wrapper) block.wrapper = wrapper;
  if (first.prefix) block.prefix = first.prefix;
  return block;
}

function familyOfFormat(f: InputFormat): Span["fam"] {
  switch (f) {
    case "save":
    case "S":
      return "iptables";
    case "list":
      return "listing";
    case "ipset-list":
    case "ipset-save":
    case "ip-addr":
    case "ip-route":
    case "route-n":
      return f;
    default:
      return "json";
  }
}

function describeFamily(fam: Span["fam"]): string {
  switch (fam) {
    case "iptables":
      return "iptables-save / -S lines";
    case "listing":
      return "rows of an iptables -L listing";
    case "json":
      return "a JSON value";
    default:
      return `${fam} lines`;
  }
}

// A command named in running text (`iptables -t nat -L`, "### Output of ip6tables -L -vn:"):
// the name must be followed by an option, a subcommand, a closing backtick or the end, so
// that "iptables for chain X" or "iptables-1.8.8" is not taken for one.
const COMMAND_IN_TEXT =
  /\b(?:sudo\s+)?(?:ip6?tables(?:-legacy|-nft)?(?:-save)?|ipset)(?=\s+-|\s+(?:list|save)\b|\s*`|\s*[:.]?\s*$)[^`\n]*/;

/**
 * The command that printed a dump, from the prompt (or a heading naming the command) in the
 * few lines just before it: `-t nat` says the table, `ip6tables` the family.
 */
function commandHints(pieces: Piece[], from: number): BlockHints {
  let seen = 0;
  for (let j = from - 1; j >= 0 && seen < 3; j--) {
    const p = pieces[j]!;
    if (p.barrier) break;
    const t = p.text.trim();
    if (t === "" || isFence(t)) continue;
    seen++;
    const cmd = promptCommand(t) ?? COMMAND_IN_TEXT.exec(t)?.[0];
    if (!cmd) continue;
    const m = COMMAND_IN_TEXT.exec(cmd);
    if (!m) continue;
    const command = m[0].replace(/[\s:;.,]+$/, "");
    const hints: BlockHints = { command, commandLine: p.origin.line };
    const table = /(?:^|\s)(?:-t\s*|--table[=\s]+)([a-z]+)\b/.exec(command)?.[1];
    if (table && isTableName(table)) hints.table = table;
    if (/\bip6tables/.test(command)) hints.family = "ipv6";
    else if (/\biptables/.test(command)) hints.family = "ipv4";
    return hints;
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// Skipped lines

interface Skipped {
  lines: number[];
  /** Lines of which another part is in a block (an escaped string's text before its quote). */
  partial: Set<number>;
}

function skippedLines(pieces: Piece[], spans: Span[], raw: Lines): Skipped {
  const inBlock = new Uint8Array(pieces.length);
  for (const s of spans) inBlock.fill(1, s.from, s.to + 1);
  // One flag per line kept, not sets of line numbers: 20 million lines are more than a Set
  // can hold (exit 70, "Set maximum size exceeded").
  const SKIPPED = 1;
  const USED = 2;
  const SEEN = 4;
  const n = raw.texts.length;
  const flags = new Uint8Array(n);
  let last = -1;
  pieces.forEach((p, i) => {
    // Pieces come in line order, mostly one per line: the next line is the likely one.
    const l = p.origin.line;
    const at = last + 1 < n && raw.numbers[last + 1] === l ? last + 1 : last >= 0 && raw.numbers[last] === l ? last : indexOfLine(raw, l);
    if (at < 0) return;
    last = at;
    flags[at]! |= SEEN;
    if (inBlock[i]) flags[at]! |= USED;
    else if (!p.barrier && p.text.trim() !== "") flags[at]! |= SKIPPED;
  });
  // A line whose visible text is all wrapper (a bare journald prefix) is skipped text too.
  for (let k = 0; k < n; k++) if (!(flags[k]! & SEEN) && raw.texts[k]!.trim() !== "") flags[k]! |= SKIPPED;
  const lines: number[] = [];
  const partial = new Set<number>();
  for (let k = 0; k < n; k++) {
    if (!(flags[k]! & SKIPPED)) continue;
    lines.push(raw.numbers[k]!);
    if (flags[k]! & USED) partial.add(raw.numbers[k]!);
  }
  return { lines, partial };
}

/** `1-6, 9, 12-14, 20 (part)`; ranges separated only by blank lines are joined. */
function lineRanges(sk: Skipped, raw: Lines): string[] {
  const out: string[] = [];
  // Lines left out of `raw` are blank; x and y, skipped lines, are in it.
  const blankBetween = (x: number, y: number) => {
    const iy = indexOfLine(raw, y);
    for (let k = indexOfLine(raw, x) + 1; k < iy; k++) if (raw.texts[k]!.trim() !== "") return false;
    return true;
  };
  let run: [number, number] | undefined;
  const flush = () => {
    if (run) out.push(run[0] === run[1] ? `${run[0]}` : `${run[0]}-${run[1]}`);
    run = undefined;
  };
  for (const l of sk.lines) {
    if (sk.partial.has(l)) {
      flush();
      out.push(`${l} (part)`);
    } else if (run && blankBetween(run[1], l)) run[1] = l;
    else {
      flush();
      run = [l, l];
    }
  }
  flush();
  return out;
}

// ---------------------------------------------------------------------------------------
// Positions

/** The original line and column of a position (1-based) in a block's text. */
export function mapPosition(block: DumpBlock, line: number, col: number): { line: number; col: number } {
  const n = block.origins.length;
  const o = block.origins[Math.min(Math.max(line, 1), n) - 1]!;
  const i = Math.max(col, 1) - 1;
  if (o.cols && o.cols.length) {
    if (i < o.cols.length) return { line: o.line, col: o.cols[i]! };
    const last = o.cols.length - 1;
    return { line: o.line, col: o.cols[last]! + (i - last) };
  }
  return { line: o.line, col: o.col + i };
}

/** True when the block is a verbatim, contiguous slice of the original lines. */
export function isVerbatim(block: DumpBlock): boolean {
  return block.origins.every((o, i) => o.col === 1 && !o.cols && o.line === block.firstLine + i);
}

/** Diagnostics a parser gave for a block's text, moved to where the text is in the file. */
export function mapDiagnostics(block: DumpBlock, diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics.map((d) => ({ ...d, ...mapPosition(block, d.line, d.col) }));
}

/**
 * Moves source spans (`{line, col, len}`) from a block's positions to the file's, in place.
 * A reader given one (src/syntax/save-dump.ts, listing.ts) moves each span it made once
 * nothing will report it any more (diagnostics are moved on their own, by mapDiagnostics):
 * tables and chains when the dump is read, rules when they are bound, so that rules bound on
 * first use are moved then and nothing binds them early.
 */
export class SpanMover {
  /** Most blocks are whole lines moved down: then a span only needs its line shifted. */
  private readonly shift: number | undefined;

  constructor(private readonly block: DumpBlock) {
    this.shift = isVerbatim(block) ? block.firstLine - 1 : undefined;
  }

  /**
   * Moves every span in `value`, a tree of plain data (an array of rules, of spans...). Spans
   * shared between nodes are moved once; frozen ones (the "no span" constant) are left alone.
   */
  move(value: unknown): void {
    const moved = new Set<object>();
    const visit = (v: unknown, depth: number): void => {
      if (typeof v !== "object" || v === null || depth > 200) return;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) visit(v[i], depth + 1);
        return;
      }
      if (v instanceof Map || v instanceof Set) {
        for (const x of v.values()) visit(x, depth + 1);
        return;
      }
      const o = v as Record<string, unknown>;
      if (typeof o.line === "number" && typeof o.col === "number" && typeof o.len === "number") {
        if (o.line < 1 || moved.has(o) || Object.isFrozen(o)) return;
        moved.add(o);
        if (this.shift !== undefined) o.line += this.shift;
        else Object.assign(o, mapPosition(this.block, o.line, o.col));
        return;
      }
      for (const k in o) visit(o[k], depth + 1);
    };
    visit(value, 0);
  }
}

/** What moves a block's spans to the file's, or undefined when they are there already. */
export function spanMoverOf(block: DumpBlock): SpanMover | undefined {
  return isVerbatim(block) && block.firstLine === 1 ? undefined : new SpanMover(block);
}
