/**
 * `trace`/`why-dropped` across nodes: with `--cluster` the packet crosses the cluster's nodes
 * and pods; with `--reply` (on a cluster, or the one node the input flags give) its reply is
 * followed back to the sender through each node's own conntrack.
 */
import { nodeInputsOf } from "../../assemble.js";
import { buildCluster, type ClusterInputs, type ClusterMember } from "../../netfilter/cluster.js";
import { buildNode } from "../../netfilter/model.js";
import { emptyFacts } from "../../facts/model.js";
import { inferPods } from "../../facts/pods.js";
import { formatDiagnostic, type Diagnostic } from "../../model/diagnostics.js";
import type { Place } from "../../model/cluster.js";
import type { PacketSpec } from "../../model/packet.js";
import { clusterTraceText, clusterWhyDroppedText } from "../../explain/cluster-text.js";
import { clusterEvaluationJson } from "../../explain/cluster-json.js";
import { clusterHtmlPage } from "../../explain/cluster-html.js";
import { clusterVerdict } from "../../explain/cluster-describe.js";
import { problemNote } from "../../explain/text.js";
import { flagSet, flagValue, flagValues, UsageError, type ParsedArgs } from "../args.js";
import { InputReader, loadInputs } from "../load.js";
import { clusterDiagnostics, type AssembledCluster } from "../../assemble-cluster.js";
import { loadCluster } from "../cluster-load.js";
import { toJson } from "../render-json.js";
import { assumptionsOf } from "../assume.js";
import type { CommandIO } from "../io.js";
import { leftOut, refusedForErrors, textOptions, verdictExit, writeAnswer } from "../answer-out.js";


/** The flags that give one node's inputs: the cluster gives every node its own. */
const NODE_INPUT_FLAGS = ["rules", "ipsets", "node", "ipvs", "bundle", "iface", "local-addr", "route", "table"];

/** The name a lone node goes by when the input does not give one. */
const LONE_NODE = "node";


export function runClusterTrace(kind: "trace" | "why-dropped", args: ParsedArgs, packet: PacketSpec, packetNotes: readonly string[], io: CommandIO): number {
  const quiet = flagSet(args, "quiet");
  const loaded = loadClusterInputs(args, io);
  if (!quiet) {
    for (const n of loaded.notes) io.err(`note: ${n}\n`);
    for (const n of packetNotes) io.err(`note: ${n}\n`);
  }
  const errors = loaded.diagnostics.filter((d) => d.diagnostic.severity === "error").map((d) => d.diagnostic);
  for (const { node, diagnostic } of loaded.diagnostics) {
    if (diagnostic.severity === "error" || (!quiet && diagnostic.severity === "warning")) io.err(`${node ? `[${node}] ` : ""}${formatDiagnostic(diagnostic)}\n`);
  }
  const refused = refusedForErrors(args, io, errors.length);
  if (refused !== undefined) return refused;
  const cluster = buildCluster(loaded.inputs);
  const start = startOf(args, cluster, packet);
  const assume = assumptionsOf(args);
  // why-dropped asks whether the connection works: a request whose reply is lost fails too.
  const reply = flagSet(args, "reply") || kind === "why-dropped";
  const ev = cluster.evaluate(packet, start, { verbose: kind === "why-dropped" || flagSet(args, "verbose"), reply, ...(assume ? { assume } : {}) });
  if (errors.length) {
    const left = leftOut(errors);
    for (const o of ev.outcomes) o.assumptions.push(left);
  }
  if (!quiet) for (const p of ev.problems) io.err(`[${p.node}] ${problemNote(p.problem)}\n`);
  const format = flagSet(args, "json") ? "json" : flagValue(args, "format") ?? "text";
  let text: string;
  switch (format) {
    case "json":
      text = toJson(clusterEvaluationJson(ev)) + "\n";
      break;
    case "html":
      text = clusterHtmlPage(ev);
      break;
    case "text": {
      const { palette, width } = textOptions(args, io);
      text = kind === "trace" ? clusterTraceText(ev, { palette, width, notes: false }) : clusterWhyDroppedText(ev, { palette, width });
      break;
    }
    default:
      throw new UsageError(`--format ${format} does not draw a cluster; one of text, json, html`);
  }
  writeAnswer(args, io, text);
  return kind === "why-dropped" ? verdictExit(clusterVerdict(ev)) : 0;
}

export interface LoadedCluster {
  inputs: ClusterInputs;
  diagnostics: Array<{ node?: string; diagnostic: Diagnostic }>;
  notes: string[];
}

/** The cluster the flags give: --cluster, or the one node the input flags give (--reply). */
export function loadClusterInputs(args: ParsedArgs, io: CommandIO): LoadedCluster {
  const path = flagValue(args, "cluster");
  if (path !== undefined) {
    const mixed = NODE_INPUT_FLAGS.filter((f) => flagValues(args, f).length > 0);
    if (mixed.length) throw new UsageError(`--cluster gives every node its own inputs; --${mixed[0]} cannot be combined with it (put the file in the node's directory or cluster.json)`);
    const assembled: AssembledCluster = loadCluster(path, { limit: new InputReader(io, args).limit });
    return { inputs: assembled.inputs, diagnostics: clusterDiagnostics(assembled), notes: [...assembled.notes, ...assembled.nodes.flatMap((n) => n.notes)] };
  }
  // --reply on one node: a cluster of that node alone.
  const one = loadInputs(args, io);
  const facts = one.facts ?? emptyFacts();
  const node = buildNode(nodeInputsOf(one));
  const member: ClusterMember = { name: LONE_NODE, node, facts };
  const pods = inferPods(LONE_NODE, facts);
  return { inputs: { nodes: [member], pods: pods.pods }, diagnostics: one.diagnostics.map((diagnostic) => ({ diagnostic })), notes: [...one.notes, ...pods.notes] };
}

/** Where the packet starts: --at, else the pod or node holding a local packet's source, else the only node. */
export function startOf(args: ParsedArgs, cluster: ReturnType<typeof buildCluster>, packet: PacketSpec): Place {
  const at = flagValue(args, "at");
  if (at !== undefined) {
    const p = cluster.placeNamed(at);
    if (typeof p === "string") throw new UsageError(`--at ${at}: ${p}`);
    return p;
  }
  if (packet.from === "local" && packet.src !== undefined) {
    const p = cluster.placeOf(packet.src);
    if (p) return p;
  }
  if (cluster.members.size === 1) return { node: [...cluster.members.keys()][0]! };
  throw new UsageError(packet.from === "local"
    ? `say where the packet starts (--at NODE or --at POD): ${packet.src === undefined ? "it gives no source" : `no node or pod of the cluster holds its source ${packet.src}`}`
    : `say which node the packet arrives at on ${packet.from} (--at NODE)`);
}
