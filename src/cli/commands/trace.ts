/**
 * `netfate trace` and `netfate why-dropped`: one packet through the node. trace prints every
 * outcome in full; why-dropped answers in a few lines and exits 1 when any outcome drops it.
 */
import { nodeInputsOf } from "../../assemble.js";
import type { Evaluation, NodeInputs } from "../../netfilter/model.js";
import { buildNode } from "../../netfilter/model.js";
import { formatDiagnostic } from "../../model/diagnostics.js";
import { parsePacketText, type PacketParse } from "../../packet/parse.js";
import { evaluationJson } from "../../explain/json.js";
import { loadProblems, problemNote, traceText, whyDroppedText } from "../../explain/text.js";
import { answerVerdict, outcomeVerdict } from "../../explain/text.js";
import type { Outcome } from "../../model/evaluation.js";
import { flagSet, flagValue, helpText, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from "../args.js";
import { INPUT_FLAGS, loadInputs } from "../load.js";
import { toJson } from "../render-json.js";
import type { CommandIO } from "../io.js";
import { leftOut, refusedForErrors, textOptions, verdictExit, writeAnswer } from "../answer-out.js";
import { ASSUME_FLAG, assumptionsOf } from "../assume.js";
import { CLUSTER_FLAGS, wantsCluster } from "./cluster-flags.js";

export const TRACE_FLAGS: FlagSpec[] = [
  ...INPUT_FLAGS,
  ...CLUSTER_FLAGS,
  { name: "packet", short: "p", value: true, help: "the packet (instead of the last argument)" },
  { name: "json", help: "print the versioned JSON shape (see src/explain/trace.schema.json)" },
  { name: "format", short: "f", value: true, help: "text (default), json, html (one self-contained page), mermaid or dot" },
  { name: "output", short: "o", value: true, help: "write to this file instead of stdout" },
  { name: "interactive", help: "with --format html: a page that carries the node and netfate, to trace further packets in the browser (as `netfate explore`)" },
  { name: "verbose", short: "v", help: "also list the rules tried that did not match" },
  ASSUME_FLAG,
  { name: "quiet", short: "q", help: "do not print notes and warnings on stderr" },
  { name: "keep-going", help: "evaluate even when the inputs have errors, without the lines they are on (every outcome lists them)" },
  { name: "help", short: "h", help: "show this help" },
];

const EXIT_CODES = `

Exit codes:
  0  every outcome gets through (delivered, forwarded or sent)
  1  some outcome loses the packet: dropped, rejected, or unroutable (the kernel discards it)
  2  bad usage or input (with errors in the inputs, unless --keep-going)
  3  no outcome loses it, but some cannot be told: indeterminate (the input does not say
     something the answer depends on), an error in the rules, or queued to a program`;

export function readPacket(text: string): PacketParse & { ok: true } {
  const r = parsePacketText(text);
  if (!r.ok) throw new UsageError(`bad packet${r.col ? ` at column ${r.col}` : ""}: ${r.error}`);
  return r;
}

async function run(kind: "trace" | "why-dropped", argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, TRACE_FLAGS);
  if (flagSet(args, "help")) {
    io.out(helpText(`usage: netfate ${kind} [inputs] PACKET\n\nPACKET: "tcp 10.244.1.5:43512 -> 10.96.0.10:80 in eth0", a kernel LOG line, or JSON.${kind === "why-dropped" ? EXIT_CODES : ""}`, TRACE_FLAGS));
    return 0;
  }
  const packetText = flagValue(args, "packet") ?? args.positionals.join(" ");
  if (!packetText.trim()) throw new UsageError(`${kind} needs a PACKET, e.g. "tcp 10.0.0.1:40000 -> 10.0.0.2:80 in eth0"`);
  const pk = readPacket(packetText);
  if (flagSet(args, "interactive")) return runInteractive(kind, args, io, packetText);
  // The cluster evaluator, the pictures and the explore page are imported when asked for: one
  // node's text answer, what most runs want, does not load them (start-up, cli/build-cli.mjs).
  if (wantsCluster(args)) return (await import("./cluster-trace.js")).runClusterTrace(kind, args, pk.packet, pk.notes, io);
  if (flagValue(args, "at") !== undefined) throw new UsageError("--at says where in a cluster the packet starts: give --cluster");
  const inputs = loadInputs(args, io);
  const quiet = flagSet(args, "quiet");
  if (!quiet) {
    for (const n of inputs.notes) io.err(`note: ${n}\n`);
    for (const n of pk.notes) io.err(`note: ${n}\n`);
  }
  for (const d of inputs.diagnostics) if (d.severity === "error" || (!quiet && d.severity === "warning")) io.err(formatDiagnostic(d) + "\n");
  const errors = inputs.diagnostics.filter((d) => d.severity === "error");
  const refused = refusedForErrors(args, io, errors.length);
  if (refused !== undefined) return refused;
  const nodeInputs = nodeInputsOf(inputs);
  const node = buildNode(nodeInputs);
  if (!node.hasRules(pk.packet.family)) {
    const v6 = pk.packet.family === "ipv6";
    throw new UsageError(`the packet is ${v6 ? "IPv6" : "IPv4"} but the rules given are all ${v6 ? "IPv4" : "IPv6"} rules; give ${v6 ? "ip6tables-save output (or nft tables of family ip6 or inet)" : "iptables-save output (or nft tables of family ip or inet)"} too`);
  }
  const assume = assumptionsOf(args);
  const format = flagSet(args, "json") ? "json" : flagValue(args, "format") ?? "text";
  const evaluate = (verbose: boolean, byIndex = false) => node.evaluate(pk.packet, { verbose, ...(byIndex ? { byIndex } : {}), ...(assume ? { assume } : {}) });
  let e: Evaluation;
  if (kind === "why-dropped" && format === "text" && byIndexAlike(nodeInputs)) {
    // Its text names rules tried that did not match only for an outcome that loses the packet
    // ("nearly let through by"), from the table that dropped it (any table when it was lost
    // otherwise). One walk goes by the chains' indexes and records the rules it tries: where
    // those tables have no index, that is every rule. Only where they have one does the walk
    // that tries every rule (and so binds long chains whole) run as well.
    e = evaluate(true, true);
    if (e.outcomes.some((o) => outcomeVerdict(o) === "lost" && !node.triesEveryRule(pk.packet.family, nearMissTable(o)))) e = evaluate(true);
  } else e = evaluate(kind === "why-dropped" || flagSet(args, "verbose"));
  if (errors.length) {
    const left = leftOut(errors);
    for (const o of e.outcomes) o.assumptions.push(left);
  }
  // Notes are for the person, on stderr; stdout holds the answer only.
  if (!quiet) for (const p of loadProblems(e)) io.err(problemNote(p) + "\n");
  let text: string;
  switch (format) {
    case "json":
      text = toJson(evaluationJson(e)) + "\n";
      break;
    case "html":
      text = await (await import("../../explain/html.js")).htmlPage(e);
      break;
    case "mermaid":
      text = (await import("../../explain/graph.js")).mermaidText(e);
      break;
    case "dot":
      text = (await import("../../explain/graph.js")).dotText(e);
      break;
    case "text": {
      const { palette, width } = textOptions(args, io);
      text = kind === "trace" ? traceText(e, { palette, width, notes: false }) : whyDroppedText(e, { palette, width });
      break;
    }
    default:
      throw new UsageError(`unknown --format ${format}; one of text, json, html, mermaid, dot`);
  }
  writeAnswer(args, io, text);
  if (kind === "why-dropped") return whyDroppedExit(e.outcomes);
  return 0;
}

/** `--format html --interactive`: the explore page, opened on the packet. */
async function runInteractive(kind: "trace" | "why-dropped", args: ParsedArgs, io: CommandIO, packetText: string): Promise<number> {
  if (kind !== "trace" || (flagSet(args, "json") ? "json" : flagValue(args, "format")) !== "html") throw new UsageError("--interactive goes with trace --format html");
  if (wantsCluster(args)) throw new UsageError("--interactive takes one node's inputs, not --cluster");
  const r = await (await import("./explore.js")).explorePageOf(args, io, packetText);
  if ("exit" in r) return r.exit;
  writeAnswer(args, io, r.page);
  return 0;
}

/**
 * Whether a walk that goes by the chains' indexes finds the outcomes that trying every rule
 * finds, steps aside: it skips only rules that cannot match, and testing such a rule changes
 * the history only where a listing hides its interfaces (traverse.ts HIDDEN_IFACES, assumed
 * by each rule tested). So: iptables-save dumps only, and no nft ruleset (its walk is its own).
 */
function byIndexAlike(inputs: NodeInputs): boolean {
  return !inputs.nft?.length && inputs.rulesets.every((rs) => rs.tables.every((t) => (t.format ?? rs.format) === "save"));
}

/** The table whose rules a lost outcome's near misses are read from (lostDetailLines); undefined: every table. */
function nearMissTable(o: Outcome): string | undefined {
  return o.fate.kind === "dropped" || o.fate.kind === "rejected" ? o.fate.table : undefined;
}

/** why-dropped's exit code for a node's outcomes (see verdictExit). */
export function whyDroppedExit(outcomes: readonly Outcome[]): number {
  return verdictExit(answerVerdict(outcomes.map(outcomeVerdict)));
}

export const runTrace = (argv: string[], io: CommandIO) => run("trace", argv, io);
export const runWhyDropped = (argv: string[], io: CommandIO) => run("why-dropped", argv, io);
