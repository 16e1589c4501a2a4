/**
 * A node for a test in one call: the dumps and facts of a real node, read from files the
 * way the CLI reads them. A dump with errors fails the test at once with every located
 * error, rather than evaluating half a ruleset.
 */
import { readTextFile } from "../text-file.js";
import { assembleInputs, type TextInput, nodeInputsOf } from "../assemble.js";
import type { TableName } from "../model/ast.js";
import { formatDiagnostic } from "../model/diagnostics.js";
import type { PacketSpec } from "../model/packet.js";
import { buildNode, type NetfilterNode } from "../netfilter/model.js";
import { parsePacketText } from "../packet/parse.js";
import { checkOptions, type OptionNames } from "./options.js";

type Files = string | readonly string[];

export interface NodeFiles {
  /** Rule dumps in any format netfate reads (iptables-save, -S, -L, ip6tables-save...). */
  rules: Files;
  ipsets?: Files;
  /** node.json, `ip -j addr`, `ip -j route`, `ip route`, `route -n`... */
  node?: Files;
  /** ipvsadm-save -n or ipvsadm -Ln output. */
  ipvs?: Files;
  /** Shortcuts for node facts: "eth0=192.168.0.11/24". */
  ifaces?: readonly string[];
  /** `ip route` lines. */
  routes?: readonly string[];
  localAddrs?: readonly string[];
  table?: TableName;
}

/** What nodeFromTexts reads: the files' texts, already in memory. */
export interface NodeTexts {
  rules: TextInput[];
  ipsets?: TextInput[];
  node?: TextInput[];
  ipvs?: TextInput[];
}

type NodeOptions = Omit<NodeFiles, "rules" | "ipsets" | "node" | "ipvs">;
const NODE_OPTIONS = { ifaces: true, routes: true, localAddrs: true, table: true } satisfies OptionNames<NodeOptions>;
const NODE_FILES = { rules: true, ipsets: true, node: true, ipvs: true, ...NODE_OPTIONS } satisfies OptionNames<NodeFiles>;
const TEXTS = { rules: true, ipsets: true, node: true, ipvs: true } satisfies OptionNames<NodeTexts>;

const many = (f: Files | undefined): readonly string[] => (f === undefined ? [] : typeof f === "string" ? [f] : f);

/** Builds the node from files; throws with every error found in them. */
export function loadNode(files: NodeFiles): NetfilterNode {
  checkOptions("loadNode", files, NODE_FILES);
  const { rules, ipsets, node, ipvs, ...options } = files;
  const read = (f: Files | undefined): TextInput[] => many(f).map((file) => ({ file, text: readTextFile(file) }));
  return nodeFromTexts({ rules: read(rules), ipsets: read(ipsets), node: read(node), ...(ipvs !== undefined ? { ipvs: read(ipvs) } : {}) }, options);
}

/** The same from texts already in memory (`file` names them in error messages). */
export function nodeFromTexts(
  texts: NodeTexts,
  options: NodeOptions = {},
): NetfilterNode {
  checkOptions("nodeFromTexts", texts, TEXTS);
  checkOptions("nodeFromTexts options", options, NODE_OPTIONS);
  const a = assembleInputs({
    ...texts,
    shortcuts: { ifaces: [...(options.ifaces ?? [])], routes: [...(options.routes ?? [])], localAddrs: [...(options.localAddrs ?? [])] },
    ...(options.table ? { table: options.table } : {}),
  });
  const errors = a.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(`the inputs have ${errors.length} error(s):\n${errors.map(formatDiagnostic).join("\n")}`);
  return buildNode(nodeInputsOf(a));
}

/** A packet from its text form (`tcp 10.244.1.5:43512 -> 10.96.0.10:80 in eth0`), JSON or a log line. */
export function packet(text: string): PacketSpec {
  const p = parsePacketText(text);
  if (!p.ok) throw new Error(`bad packet ${JSON.stringify(text)}: ${p.error}`);
  return p.packet;
}
