/**
 * `netfate explore` (and `netfate trace --format html --interactive`): one self-contained
 * HTML page that carries the node's inputs, as read here, and netfate's engine, so that a
 * person traces further packets, searches the rules and opens chains in the browser, offline.
 * The inputs are read and checked as `trace` reads them (same flags, same refusal of inputs
 * with errors unless --keep-going); the page then parses them again itself.
 */
import { figureScript, figureStyle } from "../../explain/page/figure.js";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { formatDiagnostic } from "../../model/diagnostics.js";
import { explorePage } from "../../explore/page.js";
import { ExploreSession, type ExploreData } from "../../explore/session.js";
import { traceReply } from "../../explore/engine.js";
import { flagSet, flagValue, helpText, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from "../args.js";
import { assembleTexts, INPUT_FLAGS, InputReader, readInputTexts } from "../load.js";
import type { CommandIO } from "../io.js";
import { leftOut, refusedForErrors, writeAnswer } from "../answer-out.js";
import { ASSUME_FLAG, assumptionsOf } from "../assume.js";
import { parsePacketText } from "../../packet/parse.js";

export const EXPLORE_FLAGS: FlagSpec[] = [
  ...INPUT_FLAGS,
  { name: "packet", short: "p", value: true, help: "the packet the page opens on (instead of the last argument)" },
  { name: "output", short: "o", value: true, help: "write the page to this file instead of stdout" },
  ASSUME_FLAG,
  { name: "quiet", short: "q", help: "do not print notes and warnings on stderr" },
  { name: "keep-going", help: "write the page even when the inputs have errors, without the lines they are on (every outcome lists them)" },
  { name: "help", short: "h", help: "show this help" },
];

/** The page's scripts, as `npm run build` wrote them (src/explore/build-browser.mjs). */
function browserScripts(): { engine: string; ui: string; elk: string } {
  // From dist/src/cli/commands/ (built) the bundles are in dist/browser/; from src/cli/commands/ (tests run the sources) in dist/browser/ too;
  // from dist/chunks/ (the shipped CLI, src/cli/build-cli.mjs) in dist/browser/ as well.
  for (const dir of ["../../../browser/", "../../../dist/browser/", "../browser/"]) {
    const engine = fileURLToPath(new URL(`${dir}explore-engine.js`, import.meta.url));
    const ui = fileURLToPath(new URL(`${dir}explore-ui.js`, import.meta.url));
    const elk = fileURLToPath(new URL(`${dir}explore-elk.js`, import.meta.url));
    if (existsSync(engine) && existsSync(ui) && existsSync(elk)) return { engine: readFileSync(engine, "utf8"), ui: readFileSync(ui, "utf8"), elk: readFileSync(elk, "utf8") };
  }
  throw new UsageError("the interactive page's scripts are not built: run `npm run build` in netfate's checkout");
}

/**
 * The page for the inputs the flags name, opened on `packetText` when given (checked here, so
 * a typo is said now rather than in the page). Notes and diagnostics go to stderr as trace's
 * do; undefined with the exit code when the inputs have errors and --keep-going was not given.
 */
export async function explorePageOf(args: ParsedArgs, io: CommandIO, packetText: string | undefined): Promise<{ page: string } | { exit: number }> {
  // Parsed as trace parses it (trace.ts imports this module, so its readPacket is not imported back).
  const pk = packetText?.trim() ? parsePacketText(packetText) : undefined;
  if (pk && !pk.ok) throw new UsageError(`bad packet${pk.col ? ` at column ${pk.col}` : ""}: ${pk.error}`);
  const texts = readInputTexts(args, new InputReader(io, args));
  const inputs = assembleTexts(texts);
  const quiet = flagSet(args, "quiet");
  if (!quiet) {
    for (const n of inputs.notes) io.err(`note: ${n}\n`);
    for (const n of pk?.ok ? pk.notes : []) io.err(`note: ${n}\n`);
  }
  for (const d of inputs.diagnostics) if (d.severity === "error" || (!quiet && d.severity === "warning")) io.err(formatDiagnostic(d) + "\n");
  const errors = inputs.diagnostics.filter((d) => d.severity === "error");
  const refused = refusedForErrors(args, io, errors.length);
  if (refused !== undefined) return { exit: refused };
  const assume = assumptionsOf(args);
  const data: ExploreData = {
    rules: texts.rules, ipsets: texts.ipsets, node: texts.node, ...(texts.ipvs ? { ipvs: texts.ipvs } : {}),
    shortcuts: texts.shortcuts, ...(texts.table ? { table: texts.table } : {}),
    notes: texts.bundle?.notes ?? [],
    ...(assume ? { assume } : {}),
    ...(errors.length ? { leftOut: leftOut(errors) } : {}),
    ...(packetText?.trim() ? { packet: packetText.trim() } : {}),
  };
  const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("base64");
  const scripts = browserScripts();
  // The first trace, drawn here as the page's engine would draw it, is in the page's markup:
  // shown at once, while the page's engine loads the node for the next packet.
  const first = data.packet ? await traceReply(new ExploreSession(data, inputs), 0, data.packet, false) : undefined;
  return { page: explorePage({ ...scripts, data, sha256, figure: { style: figureStyle, script: figureScript }, ...(first?.ok ? { first: { ...first, text: data.packet! } } : {}) }) };
}

export async function runExplore(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, EXPLORE_FLAGS);
  if (flagSet(args, "help")) {
    io.out(helpText(`usage: netfate explore [inputs] [PACKET] [-o FILE]\n\nWrites one HTML page that carries the node's inputs and netfate itself: open it in a browser\nto trace packets (typed, or a pasted kernel LOG line), search the rules and see whole chains,\noffline; nothing leaves the page. PACKET, when given, is the one it opens on.`, EXPLORE_FLAGS));
    return 0;
  }
  const r = await explorePageOf(args, io, flagValue(args, "packet") ?? (args.positionals.length ? args.positionals.join(" ") : undefined));
  if ("exit" in r) return r.exit;
  writeAnswer(args, io, r.page);
  return 0;
}
