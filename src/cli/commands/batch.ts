/**
 * `netfate batch --packets FILE.jsonl`: one JSON result per input line on stdout, a progress
 * bar on stderr when it is a terminal, and summary counts at the end (stderr).
 */
import { buildNode } from "../../netfilter/model.js";
import { formatDiagnostic } from "../../model/diagnostics.js";
import { parsePacketJson, parsePacketText } from "../../packet/parse.js";
import { evaluationJson } from "../../explain/json.js";
import { flagSet, flagValue, helpText, parseArgs, UsageError, type FlagSpec } from "../args.js";
import { INPUT_FLAGS, InputReader, loadInputs, refuseSecondStdin } from "../load.js";
import type { CommandIO } from "../io.js";
import { ASSUME_FLAG, assumptionsOf } from "../assume.js";

export const BATCH_FLAGS: FlagSpec[] = [
  ...INPUT_FLAGS,
  { name: "packets", value: true, help: "packets, one per line: JSON objects or the text form (- for stdin)" },
  { name: "verbose", short: "v", help: "include the rules tried that did not match" },
  ASSUME_FLAG,
  { name: "quiet", short: "q", help: "no progress, notes or summary on stderr" },
  { name: "help", short: "h", help: "show this help" },
];

export function runBatch(argv: string[], io: CommandIO): number {
  const args = parseArgs(argv, BATCH_FLAGS);
  if (flagSet(args, "help")) {
    io.out(helpText("usage: netfate batch [inputs] --packets FILE.jsonl", BATCH_FLAGS));
    return 0;
  }
  const file = flagValue(args, "packets") ?? args.positionals[0];
  if (!file) throw new UsageError("batch needs --packets FILE (one packet per line)");
  refuseSecondStdin(args, flagValue(args, "packets") === undefined ? [file] : []);
  const reader = new InputReader(io, args);
  const text = reader.read(file);
  const inputs = loadInputs(args, io, reader);
  const quiet = flagSet(args, "quiet");
  if (!quiet) for (const n of inputs.notes) io.err(`note: ${n}\n`);
  for (const d of inputs.diagnostics) if (d.severity === "error") io.err(formatDiagnostic(d) + "\n");
  const node = buildNode({ rulesets: inputs.rulesets, ...(inputs.node ? { node: inputs.node } : {}), ...(inputs.ipsets ? { ipsets: inputs.ipsets } : {}), ...(inputs.ipvs ? { ipvs: inputs.ipvs } : {}) });
  const lines = text.split("\n");
  const counts = new Map<string, number>();
  let bad = 0;
  let done = 0;
  const total = lines.filter((l) => l.trim()).length;
  const progress = io.isTTY && !quiet && total >= 1000;
  const verbose = flagSet(args, "verbose");
  const assume = assumptionsOf(args);
  let chunk = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    const r = line.startsWith("{") ? parsePacketJson(line) : parsePacketText(line);
    const wrongFamily = r.ok && !inputs.rulesets.some((rs) => rs.family === r.packet.family);
    if (!r.ok || wrongFamily) {
      bad++;
      const error = r.ok ? `an ${r.packet.family === "ipv6" ? "IPv6" : "IPv4"} packet, but no rules of that family were given` : r.error;
      chunk += JSON.stringify({ version: 1, line: i + 1, error }) + "\n";
    } else {
      const e = node.evaluate(r.packet, { verbose, ...(assume ? { assume } : {}) });
      const j = evaluationJson(e);
      (j as Record<string, unknown>).line = i + 1;
      chunk += JSON.stringify(j) + "\n";
      for (const o of e.outcomes) counts.set(o.fate.kind, (counts.get(o.fate.kind) ?? 0) + 1);
    }
    done++;
    if (chunk.length > 1 << 16) {
      io.out(chunk);
      chunk = "";
    }
    if (progress && done % 1000 === 0) io.err(`\r${progressBar(done, total)}`);
  }
  io.out(chunk);
  if (progress) io.err(`\r${progressBar(total, total)}\n`);
  if (!quiet) {
    const parts = [...counts].sort().map(([k, v]) => `${k} ${v}`);
    io.err(`${done} packets${bad ? `, ${bad} unreadable` : ""}; outcomes: ${parts.join(", ") || "none"}\n`);
  }
  return bad > 0 ? 2 : 0;
}

function progressBar(done: number, total: number): string {
  const w = 30;
  const f = Math.round((done / Math.max(1, total)) * w);
  return `[${"#".repeat(f)}${".".repeat(w - f)}] ${done}/${total}`;
}
