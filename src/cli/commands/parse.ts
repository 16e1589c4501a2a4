/** `netfate parse FILE...`: read dumps, print their canonical text, AST (--json) or counts. */
import { printNftRuleset } from "../../nft/print/index.js";
import { ipvsSaveText } from "../../ipvs/print.js";
import { formatDiagnostic, type Diagnostic } from "../../model/diagnostics.js";
import { isTableName, type Ruleset } from "../../model/ast.js";
import { INPUT_FORMATS, type InputFormat } from "../../detect.js";
import { parsedDumps, readInput, type ParsedDump, type ParsedInput } from "../../inputs.js";
import { saveText } from "../../print/save.js";
import { ipsetSaveText } from "../../ipset/index.js";
import { flagSet, flagValue, helpText, parseArgs, UsageError, type FlagSpec } from "../args.js";
import { toJson } from "../render-json.js";
import { unknownExtensions } from "../../model/chain-rules.js";
import type { CommandIO } from "../io.js";
import { CACHE_FLAG, InputReader, MAX_INPUT_FLAG, refuseSecondStdin } from "../load.js";
import { storedTableCounts } from "../cache-format.js";
import { withReadingInlining } from "../parse-inlining.js";

export const parseFlags: FlagSpec[] = [
  { name: "format", value: true, help: `input format: auto (default), ${INPUT_FORMATS.join(", ")}` },
  { name: "table", short: "t", value: true, help: "table for dumps that do not name it (-S, -L output)" },
  { name: "ipv6", short: "6", help: "the dump is from ip6tables" },
  { name: "json", help: "print the AST as JSON" },
  { name: "summary", help: "print only counts: tables, chains, rules, sets, unknown extensions, diagnostics" },
  MAX_INPUT_FLAG,
  CACHE_FLAG,
  { name: "quiet", short: "q", help: "do not print notes and warnings" },
  { name: "help", short: "h", help: "show this help" },
];

export interface Summary {
  file: string;
  format: string;
  tables: number;
  chains: number;
  rules: number;
  sets: number;
  unknownExtensions: string[];
  errors: number;
  warnings: number;
}

function rulesetCounts(rs: Ruleset): Pick<Summary, "tables" | "chains" | "rules" | "unknownExtensions"> {
  let chains = 0;
  let rules = 0;
  const unknown = new Set<string>();
  for (const t of rs.tables) {
    // A table read from --cache is counted from its stored form, without making its chains.
    const stored = storedTableCounts(t);
    if (stored) {
      chains += stored.chains;
      rules += stored.rules;
      for (const u of stored.unknown) unknown.add(u);
      continue;
    }
    chains += t.chains.length;
    for (const c of t.chains) {
      // Answered without binding deferred rules, or making their digests.
      rules += c.rules.count;
      for (const u of unknownExtensions(c.rules)) unknown.add(u);
    }
  }
  return { tables: rs.tables.length, chains, rules, unknownExtensions: [...unknown].sort() };
}

export function summarize(file: string, input: ParsedInput, diags: Diagnostic[]): Summary {
  const base: Summary = {
    file, format: input.format ?? "unknown", tables: 0, chains: 0, rules: 0, sets: 0, unknownExtensions: [],
    errors: diags.filter((d) => d.severity === "error").length,
    warnings: diags.filter((d) => d.severity === "warning").length,
  };
  // A mixed text counts what all its dumps hold together.
  const unknown = new Set<string>();
  for (const d of parsedDumps(input)) {
    if (d.kind === "sets") base.sets += d.sets.sets.length;
    if (d.kind === "nft") {
      for (const t of d.nft.tables) {
        base.tables++;
        base.chains += t.chains.length;
        base.sets += t.sets.length;
        for (const c of t.chains) base.rules += c.rules.length;
      }
      continue;
    }
    if (d.kind !== "rules") continue;
    const c = rulesetCounts(d.ruleset);
    base.tables += c.tables;
    base.chains += c.chains;
    base.rules += c.rules;
    for (const u of c.unknownExtensions) unknown.add(u);
  }
  base.unknownExtensions = [...unknown].sort();
  return base;
}

function dumpText(input: ParsedDump): string {
  switch (input.kind) {
    case "rules":
      return saveText(input.ruleset);
    case "sets":
      return ipsetSaveText(input.sets);
    case "ipvs":
      return ipvsSaveText(input.ipvs);
    case "nft":
      return printNftRuleset(input.nft);
    case "unparsed":
      return "";
  }
}

export function canonicalText(input: ParsedInput): string {
  if (input.kind !== "mixed") return dumpText(input);
  // Each dump under a comment saying where it was; `#` lines are comments to iptables-restore.
  return input.blocks.map((b) => `# lines ${b.firstLine}-${b.lastLine}: ${b.format}\n${dumpText(b.input)}`).join("");
}

export function runParse(argv: string[], io: CommandIO): number {
  const args = parseArgs(argv, parseFlags);
  if (flagSet(args, "help")) {
    io.out(helpText("usage: netfate parse FILE... [options]\n\nReads rule, ipset and node dumps and prints them back in canonical form.", parseFlags));
    return 0;
  }
  if (args.positionals.length === 0) throw new UsageError("parse needs at least one FILE (use - for stdin)");
  const format = flagValue(args, "format") ?? "auto";
  if (format !== "auto" && !(INPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`unknown format ${format}; one of auto, ${INPUT_FORMATS.join(", ")}`);
  }
  const table = flagValue(args, "table");
  if (table !== undefined && !isTableName(table)) throw new UsageError(`unknown table ${table}; one of raw, mangle, nat, filter, security`);
  refuseSecondStdin(args, args.positionals);
  const reader = new InputReader(io, args);
  // Every file is read and parsed before anything is printed (app.ts may run a command again).
  const results = withReadingInlining(() => args.positionals.map((file) => {
    const text = reader.read(file);
    const res = readInput(text, {
      file, format: format as InputFormat | "auto",
      // Printing reads every rule: bind them while parsing rather than check them twice.
      ...(flagSet(args, "summary") ? {} : { deferRules: false }),
      ...(flagSet(args, "ipv6") ? { family: "ipv6" as const } : {}),
      ...(table ? { table } : {}),
      ...(reader.cache ? { cache: reader.cache } : {}),
    });
    return { file, res };
  }));
  let failed = false;
  const summaries: Summary[] = [];
  const asts: unknown[] = [];
  for (const { file, res } of results) {
    if (!flagSet(args, "quiet")) io.err(`${file}: ${res.formatNote}\n`);
    for (const d of res.diagnostics) {
      if (d.severity === "error" || !flagSet(args, "quiet")) io.err(formatDiagnostic(d) + "\n");
    }
    if (res.diagnostics.some((d) => d.severity === "error")) failed = true;
    if (flagSet(args, "summary")) summaries.push(summarize(file, res.input, res.diagnostics));
    else if (flagSet(args, "json")) asts.push({ file, ...res.input, diagnostics: res.diagnostics });
    else io.out(canonicalText(res.input));
  }
  if (flagSet(args, "summary")) {
    if (flagSet(args, "json")) io.out(toJson(summaries) + "\n");
    else {
      for (const s of summaries) {
        io.out(
          `${s.file}: ${s.format}, ${s.tables} tables, ${s.chains} chains, ${s.rules} rules, ${s.sets} sets, ` +
            `${s.unknownExtensions.length} unknown extensions${s.unknownExtensions.length ? ` (${s.unknownExtensions.join(", ")})` : ""}, ` +
            `${s.errors} errors, ${s.warnings} warnings\n`,
        );
      }
    }
  } else if (flagSet(args, "json")) io.out(toJson(asts.length === 1 ? asts[0] : asts) + "\n");
  return failed ? 2 : 0;
}
