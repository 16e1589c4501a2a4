/**
 * Reads one input file in any supported format (detected or given) into the AST it belongs
 * to: a ruleset or a set collection. This is where the CLI and library users meet the rule
 * and set parsers. Node facts are not read here but by src/facts/parse.ts (readFacts): a
 * facts text given here comes back unparsed, with an error saying its format is not read.
 *
 * A text that is more than one bare dump (an issue comment, a log, a markdown page) is read
 * as "mixed": src/syntax/extract.ts finds the dumps in it, each is parsed by its own parser,
 * and everything reported is moved back to where it is in the file.
 */
import type { Family, Ruleset, TableName } from "./model/ast.js";
import { DiagnosticSink, type Diagnostic } from "./model/diagnostics.js";
import { detectFormat, isBlankLine, LISTING_CHAIN_HEADER, LISTING_COLUMNS, looksLikeListingRule, type InputFormat } from "./detect.js";
import { parseBareSaveDump, parseSaveDump } from "./syntax/save-dump.js";
import { parseListing } from "./syntax/listing.js";
import { isToolWarning } from "./syntax/tool-warnings.js";
import { parseIpsetText, type IpSetCollection } from "./ipset/index.js";
import { extractDumps, isVerbatim, mapDiagnostics, spanMoverOf, type DumpBlock, type SpanMover } from "./syntax/extract.js";
import { withoutBom } from "./syntax/bom.js";
import { parseIpvsText } from "./ipvs/parse.js";
import type { IpvsTable } from "./model/ipvs.js";
import type { NftRuleset } from "./model/nft.js";
import { parseNftText } from "./nft/text/index.js";
import { parseNftJson } from "./nft/json/index.js";

/** One dump, parsed. */
export type ParsedDump =
  | { kind: "rules"; format: InputFormat; ruleset: Ruleset }
  | { kind: "sets"; format: "ipset-save" | "ipset-list"; sets: IpSetCollection }
  | { kind: "ipvs"; format: "ipvsadm"; ipvs: IpvsTable }
  | { kind: "nft"; format: "nft" | "nft-json"; nft: NftRuleset }
  | { kind: "unparsed"; format: InputFormat | undefined };

/** One dump found in a mixed text, with where it is. */
export interface ParsedBlock {
  format: InputFormat;
  /** Original lines the dump spans (1-based, inclusive). */
  firstLine: number;
  lastLine: number;
  /** The wrapper removed from the first line, if any. */
  prefix?: string;
  /** What the dump is and how that was told (extraction note). */
  note: string;
  input: ParsedDump;
}

export type ParsedInput = ParsedDump | { kind: "mixed"; format: "mixed"; blocks: ParsedBlock[] };

export interface ReadInputOptions {
  file: string;
  format?: InputFormat | "auto";
  family?: Family;
  table?: TableName;
  /**
   * False binds every rule of an iptables-save dump while parsing, for callers that read them
   * all (printing, diff); by default each chain's rules are bound when first read.
   */
  deferRules?: boolean;
  /** Where results are kept between runs (cli/cache.ts): a result found there is not parsed again. */
  cache?: InputCache;
}

/**
 * Results of reading inputs, kept between runs. A result it gives must be the one reading
 * the same text with the same options gives (its key is the text's content and the options).
 */
export interface InputCache {
  get(text: string, opts: ReadInputOptions): InputResult | undefined;
  /** Keeps `result` if it is one the cache stores; never throws. */
  put(text: string, opts: ReadInputOptions, result: InputResult): void;
}

export interface InputResult {
  input: ParsedInput;
  diagnostics: Diagnostic[];
  /** How the format was chosen, for the user. */
  formatNote: string;
}

/** The parsed dumps of an input, one for a single-format file, each block's for a mixed one. */
export function parsedDumps(input: ParsedInput): ParsedDump[] {
  return input.kind === "mixed" ? input.blocks.map((b) => b.input) : [input];
}

/** Every set collection an input holds, in file order. */
export function ipsetsOf(input: ParsedInput): IpSetCollection[] {
  return parsedDumps(input).flatMap((d) => (d.kind === "sets" ? [d.sets] : []));
}

/** Every IPVS table (ipvsadm output) an input holds, in file order. */
export function ipvsOf(input: ParsedInput): IpvsTable[] {
  return parsedDumps(input).flatMap((d) => (d.kind === "ipvs" ? [d.ipvs] : []));
}

/** Every nftables ruleset an input holds, in file order. */
export function nftOf(input: ParsedInput): NftRuleset[] {
  return parsedDumps(input).flatMap((d) => (d.kind === "nft" ? [d.nft] : []));
}

/** Every ruleset an input holds, in file order. */
export function rulesetsOf(input: ParsedInput): Ruleset[] {
  return parsedDumps(input).flatMap((d) => (d.kind === "rules" ? [d.ruleset] : []));
}

const IPV4 = /(?:^|[\s,=!(])\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?(?=$|[\s,:)])/g;
const IPV6 = /(?:^|[\s,=!(])((?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4})(?:\/\d{1,3})?(?=$|[\s,)])/g;

/** IPv4 or IPv6 from the addresses a dump holds, when it holds only one kind. */
function familyFromAddresses(text: string): Family | undefined {
  const head = text.length > 200_000 ? text.slice(0, 200_000) : text;
  const v4 = head.match(IPV4)?.length ?? 0;
  let v6 = 0;
  for (const m of head.matchAll(IPV6)) {
    const a = m[1]!;
    // Times (11:06:11) and MAC addresses have colons too; an IPv6 address has `::` or 8 groups.
    if (a.includes("::") || a.split(":").length === 8) v6++;
  }
  if (v6 > 0 && v4 === 0) return "ipv6";
  if (v4 > 0 && v6 === 0) return "ipv4";
  return undefined;
}

/**
 * IPv6 when the header says so (ip6tables-save), else from the addresses in the dump, else
 * from the file name, else IPv4.
 */
export function guessFamily(file: string, text: string): Family {
  return familyWithReason(file, text).family;
}

function familyWithReason(file: string, text: string): { family: Family; reason: string } {
  const head = text.slice(0, 4000);
  if (/^\s*#\s*Generated by ip6tables/m.test(head)) return { family: "ipv6", reason: "ip6tables-save header" };
  if (/^\s*#\s*Generated by iptables/m.test(head)) return { family: "ipv4", reason: "iptables-save header" };
  const byAddress = familyFromAddresses(text);
  if (byAddress) return { family: byAddress, reason: `only ${byAddress === "ipv6" ? "IPv6" : "IPv4"} addresses` };
  if (/ip6|ipv6|\.rules6$/i.test(file.split("/").pop() ?? "")) return { family: "ipv6", reason: "file name" };
  return { family: "ipv4", reason: "default" };
}

export function readInput(fileText: string, opts: ReadInputOptions): InputResult {
  const { cache, ...uncached } = opts;
  if (!cache) return readUncached(fileText, opts);
  const kept = cache.get(fileText, uncached);
  if (kept) return kept;
  const r = readUncached(fileText, uncached);
  cache.put(fileText, uncached, r);
  return r;
}

function readUncached(fileText: string, opts: ReadInputOptions): InputResult {
  const text = withoutBom(fileText);
  if (opts.format && opts.format !== "auto" && opts.format !== "mixed") {
    const sink = new DiagnosticSink(opts.file);
    const input = parseDump(text, opts.format, sink, {
      family: opts.family ?? guessFamily(opts.file, text),
      ...(opts.table ? { table: opts.table } : {}),
      ...deferral(opts),
    });
    return { input, diagnostics: sink.items, formatNote: `format ${opts.format} (given)` };
  }
  if (/^\s*$/.test(text)) {
    // Nothing to find (a file of 20 million blank lines, too): said without reading it line by line.
    const sink = new DiagnosticSink(opts.file);
    sink.error({ line: 1, col: 1, len: 0 }, "the input is empty", "iptables-save, iptables -S or -L output, ipset save/list, ip addr/route, route -n or node.json");
    return { input: { kind: "unparsed", format: undefined }, diagnostics: sink.items, formatNote: "format unknown: the input is empty" };
  }
  const detected = detectFormat(text);
  // JSON is read whole by its parser, which locates its own errors better than any split.
  if (opts.format !== "mixed" && /^(?:node-json|ip-addr-json|ip-route-json)$/.test(detected.format ?? "")) {
    const sink = new DiagnosticSink(opts.file);
    const input = parseDump(text, detected.format!, sink, { family: opts.family ?? guessFamily(opts.file, text) });
    return { input, diagnostics: sink.items, formatNote: `format ${detected.format} (detected: ${detected.reason})` };
  }
  // An issue or a log that pastes an nft listing and iptables or ipset dumps together: each
  // reader takes its own lines, and neither's "set aside" lines are the other's loss. Asked only
  // of texts that are not one bare dump (a 17 MB iptables-save file never pays for the look).
  const nftAndMore = () => opts.format !== "mixed" && NFT_TABLE_ANYWHERE.test(text) && OTHER_DUMP_ANYWHERE.test(text);
  if (detected.format === "nft" && nftAndMore()) return nftAndOthers(text, opts, detected.reason);
  if (opts.format !== "mixed" && (detected.format === "ipvsadm" || detected.format === "nft" || detected.format === "nft-json")) {
    // ipvsadm and nft output are read whole: their readers tell their own lines apart (a prompt,
    // a fence, prose around the ruleset) and locate what they do not read.
    const sink = new DiagnosticSink(opts.file);
    const input = parseDump(text, detected.format, sink, { family: opts.family ?? guessFamily(opts.file, text) });
    return { input, diagnostics: sink.items, formatNote: `format ${detected.format} (detected: ${detected.reason})` };
  }
  if (opts.format !== "mixed" && (detected.format === "save" || detected.format === "S")) {
    const read = readBareSave(text, detected.format, opts, detected.reason);
    if (read) return read;
  }
  const bare = BARE_LINE[detected.format ?? ""];
  if (opts.format !== "mixed" && bare && everyLine(text, bare)) {
    // The common case, a file straight from the tool that printed it: skip the extractor's
    // full scan (a third of the time of reading a 10k-service listing).
    const format = detected.format!;
    const sink = new DiagnosticSink(opts.file);
    const input = parseDump(text, format, sink, { family: opts.family ?? guessFamily(opts.file, text), ...(opts.table ? { table: opts.table } : {}), ...deferral(opts) });
    return { input, diagnostics: sink.items, formatNote: `format ${format} (detected: ${detected.reason})` };
  }
  if (nftAndMore()) return nftAndOthers(text, opts, detected.reason);
  const ex = extractDumps(text, opts.file);
  const only = ex.blocks.length === 1 ? ex.blocks[0]! : undefined;
  if (opts.format !== "mixed" && only && ex.diagnostics.length === 0 && isVerbatim(only)) {
    // A bare dump: parsed as it is, exactly as with --format.
    const sink = new DiagnosticSink(opts.file);
    const input = parseDump(text, only.format, sink, {
      family: opts.family ?? guessFamily(opts.file, text),
      ...(opts.table ? { table: opts.table } : {}),
      ...deferral(opts),
    });
    const why = detected.format === only.format ? detected.reason : only.note;
    return { input, diagnostics: sink.items, formatNote: `format ${only.format} (detected: ${why})` };
  }
  if (ex.blocks.length === 0) {
    const sink = new DiagnosticSink(opts.file);
    sink.error(
      { line: 1, col: 1, len: 0 },
      text.trim() === "" ? "the input is empty" : "cannot tell what format this is: no line looks like part of a dump",
      "iptables-save, iptables -S or -L output, ipset save/list, ip addr/route, route -n or node.json",
    );
    return { input: { kind: "unparsed", format: undefined }, diagnostics: [...sink.items, ...ex.diagnostics], formatNote: `format unknown: ${detected.reason}` };
  }
  const diagnostics: Diagnostic[] = [...ex.diagnostics];
  const blocks: ParsedBlock[] = [];
  for (const b of ex.blocks) {
    const { parsed, diagnostics: ds } = parseBlock(b, opts);
    diagnostics.push(...ds);
    blocks.push(parsed);
  }
  const why = detected.format === "mixed" ? detected.reason : mixedReason(ex.blocks, ex.diagnostics.length > 0);
  const formatNote = `format mixed (detected: ${why}); ${blocks.length} dump${blocks.length === 1 ? "" : "s"}: ${blocks.map((b) => b.note).join(" | ")}`;
  return { input: { kind: "mixed", format: "mixed", blocks }, diagnostics, formatNote };
}

/**
 * The common case, a file straight from iptables-save or `iptables -S`, read as one dump as
 * with --format, without the extractor's scan. Its reader checks that every line starts as such
 * a file's lines do while it reads them (a pass of its own over a 17 MB dump cost 1% of the
 * first answer); undefined, and what it read so far dropped, at the first line that does not:
 * the extractor then finds the dumps in the text.
 */
function readBareSave(text: string, format: "save" | "S", opts: ReadInputOptions, reason: string): InputResult | undefined {
  const sink = new DiagnosticSink(opts.file);
  const ruleset = parseBareSaveDump(text, sink, { family: opts.family ?? guessFamily(opts.file, text), format, ...(opts.table ? { table: opts.table } : {}), ...deferral(opts) });
  if (!ruleset) return undefined;
  return { input: { kind: "rules", format, ruleset }, diagnostics: sink.items, formatNote: `format ${format} (detected: ${reason})` };
}

/** An nft table block anywhere in a text, as listed or pasted (after a prompt or quoting). */
const NFT_TABLE_ANYWHERE = /^[^\S\n]*(?:[>#$][^\S\n]*)?table (?:ip|ip6|inet|arp|bridge|netdev) \S+ \{/m;
/** A line only an iptables-save, -L listing or ipset dump has, anywhere in a text. */
const OTHER_DUMP_ANYWHERE = /^[^\S\n]*(?:\*(?:raw|mangle|nat|filter|security)[^\S\n]*$|(?:\[\d+:\d+\] )?-A \S+ |Chain \S+ \((?:policy|\d+ references)|create \S+ (?:hash|bitmap|list):|Name: \S+$)/m;

/** What each reader says of the lines it set aside: in a text of both kinds, the other reader's. */
const SET_ASIDE = /^(?:skipped \d+ lines? that belongs? to no dump|\d+ line\(s\) around the nft text were set aside)/;

/** A text holding both an nft ruleset and other dumps: the nft reader and the extractor each take theirs. */
function nftAndOthers(text: string, opts: ReadInputOptions, why: string): InputResult {
  const nft = parseNftText(text, opts.file);
  const others = readInput(text, { ...opts, format: "mixed" });
  const blocks = others.input.kind === "mixed" ? [...others.input.blocks] : [];
  const lines = nft.ruleset.tables.map((t) => t.span.line);
  const lastLine = Math.max(...nft.ruleset.tables.flatMap((t) => [t.span.line, ...t.chains.flatMap((c) => [c.span.line, ...c.rules.map((r) => r.span.line)])]));
  if (lines.length) {
    blocks.push({ format: "nft", firstLine: Math.min(...lines), lastLine, note: `nft ruleset (${lines.length} table${lines.length === 1 ? "" : "s"})`, input: { kind: "nft", format: "nft", nft: nft.ruleset } });
    blocks.sort((a, b) => a.firstLine - b.firstLine);
  }
  const keep = (ds: Diagnostic[]) => ds.filter((d) => !(d.severity === "info" && SET_ASIDE.test(d.message)));
  const diagnostics = [...keep(nft.diagnostics), ...keep(others.diagnostics)];
  return {
    input: { kind: "mixed", format: "mixed", blocks },
    diagnostics,
    formatNote: `format mixed (detected: an nft ruleset and other dumps in one text; ${why}); ${blocks.length} dump${blocks.length === 1 ? "" : "s"}: ${blocks.map((b) => b.note).join(" | ")}`,
  };
}

/** True when `ok` holds for every line of the text (its start and end offsets, newline excluded). */
function everyLine(text: string, ok: (text: string, start: number, end: number) => boolean): boolean {
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    if (!ok(text, start, end)) return false;
    start = end + 1;
  }
  return true;
}

/** The same for `ipset save` output: `create` and `add` lines (or their -N/-A forms), comments, blanks. */
function isBareIpsetSave(text: string, start: number, end: number): boolean {
  return isBlankLine(text, start, end) || text.startsWith("add ", start) || text.startsWith("create ", start) ||
    text.startsWith("-A ", start) || text.startsWith("-N ", start) || text.charCodeAt(start) === 35;
}

/** The same for an `iptables -L` listing: chain headers, column headers, rule rows, blanks. */
function isBareListing(text: string, start: number, end: number): boolean {
  if (isBlankLine(text, start, end)) return true;
  if (text.startsWith("Chain ", start)) return LISTING_CHAIN_HEADER.test(text.slice(start, end));
  const line = text.slice(start, end);
  return LISTING_COLUMNS.test(line) || looksLikeListingRule(line) || isToolWarning(line);
}

/**
 * The line check of each format whose files can skip the extractor when every line passes it
 * (iptables-save and -S output are checked by their reader as it reads: readBareSave).
 */
const BARE_LINE: Record<string, (text: string, start: number, end: number) => boolean> = {
  "ipset-save": isBareIpsetSave,
  list: isBareListing,
};

function mixedReason(blocks: DumpBlock[], skipped: boolean): string {
  if (skipped) return "text around the dumps";
  if (blocks.length > 1) return `${blocks.length} dumps`;
  return `${blocks[0]!.wrapper ?? "wrapped"} lines`;
}

/** Parses one block of a mixed text; everything it reports is moved to file positions. */
function parseBlock(block: DumpBlock, opts: ReadInputOptions): { parsed: ParsedBlock; diagnostics: Diagnostic[] } {
  const sink = new DiagnosticSink(opts.file);
  const fam = opts.family
    ? { family: opts.family, reason: "given" }
    : block.hints.family
      ? { family: block.hints.family, reason: `command on line ${block.hints.commandLine}` }
      : familyWithReason(opts.file, block.text);
  const table = opts.table ?? block.hints.table;
  // The rule readers move what they make as they make it; the others' results are moved here.
  const spans = spanMoverOf(block);
  const input = parseDump(block.text, block.format, sink, { family: fam.family, ...(table ? { table } : {}), ...deferral(opts), ...(spans ? { spans } : {}) });
  if (input.kind !== "rules") spans?.move(input);
  const famNote = block.format === "save" || block.format === "S" || block.format === "list" ? `; ${fam.family === "ipv6" ? "IPv6" : "IPv4"} (${fam.reason})` : "";
  const parsed: ParsedBlock = { format: block.format, firstLine: block.firstLine, lastLine: block.lastLine, note: block.note + famNote, input };
  if (block.prefix !== undefined) parsed.prefix = block.prefix;
  return { parsed, diagnostics: mapDiagnostics(block, sink.items) };
}

interface DumpOptions {
  family: Family;
  table?: TableName;
  deferRules?: boolean;
  /** For a block of a larger text: moves the AST's spans to where the block is. */
  spans?: SpanMover;
}

/** The caller's choice of deferral, passed on only when it is not the default. */
function deferral(opts: { deferRules?: boolean }): { deferRules?: false } {
  return opts.deferRules === false ? { deferRules: false } : {};
}

/** One dump in a known format → its AST; problems go to the sink with positions in `text`. */
function parseDump(text: string, format: InputFormat, sink: DiagnosticSink, opts: DumpOptions): ParsedDump {
  switch (format) {
    case "save":
    case "S": {
      const ruleset = parseSaveDump(text, sink, { family: opts.family, format, ...(opts.table ? { table: opts.table } : {}), ...deferral(opts), ...(opts.spans ? { spans: opts.spans } : {}) });
      return { kind: "rules", format, ruleset };
    }
    case "list": {
      const ruleset = parseListing(text, sink, { family: opts.family, ...(opts.table ? { table: opts.table } : {}), ...deferral(opts), ...(opts.spans ? { spans: opts.spans } : {}) });
      return { kind: "rules", format, ruleset };
    }
    case "ipset-save":
    case "ipset-list":
      return { kind: "sets", format, sets: parseIpsetText(text, sink) };
    case "ipvsadm":
      return { kind: "ipvs", format, ipvs: parseIpvsText(text, sink) };
    case "nft":
    case "nft-json": {
      const r = format === "nft" ? parseNftText(text, sink.file) : parseNftJson(text, sink.file);
      sink.take(r.diagnostics);
      return { kind: "nft", format, nft: r.ruleset };
    }
    case "mixed":
      // Only reachable with an explicit --format mixed handled above; kept for exhaustiveness.
      sink.error({ line: 1, col: 1, len: 0 }, "a mixed text cannot be one block");
      return { kind: "unparsed", format };
    default:
      sink.error(
        { line: 1, col: 1, len: 0 },
        `format ${format} is not readable yet`,
        "iptables-save, iptables -S or -L output, ipset save/list, ip addr/route, route -n or node.json",
      );
      return { kind: "unparsed", format };
  }
}
