/**
 * A node for a test in one call: the dumps and facts of a real node, read from files the
 * way the CLI reads them. A dump with errors fails the test at once with every located
 * error, rather than evaluating half a ruleset.
 */
import { readTextFile } from "../text-file.js";
import { assembleInputs, type TextInput } from "../assemble.js";
import type { TableName } from "../model/ast.js";
import { formatDiagnostic } from "../model/diagnostics.js";
import type { PacketSpec } from "../model/packet.js";
import { buildNode, type NetfilterNode } from "../netfilter/model.js";
import { parsePacketText } from "../packet/parse.js";

type Files = string | readonly string[];

export interface NodeFiles {
  /** Rule dumps in any format netfate reads (iptables-save, -S, -L, ip6tables-save...). */
  rules: Files;
  ipsets?: Files;
  /** node.json, `ip -j addr`, `ip -j route`, `ip route`, `route -n`... */
  node?: Files;
  /** Shortcuts for node facts: "eth0=192.168.0.11/24". */
  ifaces?: readonly string[];
  /** `ip route` lines. */
  routes?: readonly string[];
  localAddrs?: readonly string[];
  table?: TableName;
}

const many = (f: Files | undefined): readonly string[] => (f === undefined ? [] : typeof f === "string" ? [f] : f);

/** Builds the node from files; throws with every error found in them. */
export function loadNode(files: NodeFiles): NetfilterNode {
  const read = (f: Files | undefined): TextInput[] => many(f).map((file) => ({ file, text: readTextFile(file) }));
  return nodeFromTexts({ rules: read(files.rules), ipsets: read(files.ipsets), node: read(files.node) }, files);
}

/** The same from texts already in memory (`file` names them in error messages). */
export function nodeFromTexts(
  texts: { rules: TextInput[]; ipsets?: TextInput[]; node?: TextInput[] },
  options: Omit<NodeFiles, "rules" | "ipsets" | "node"> = {},
): NetfilterNode {
  const a = assembleInputs({
    ...texts,
    shortcuts: { ifaces: [...(options.ifaces ?? [])], routes: [...(options.routes ?? [])], localAddrs: [...(options.localAddrs ?? [])] },
    ...(options.table ? { table: options.table } : {}),
  });
  const errors = a.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(`the inputs have ${errors.length} error(s):\n${errors.map(formatDiagnostic).join("\n")}`);
  return buildNode({ rulesets: a.rulesets, ...(a.node ? { node: a.node } : {}), ...(a.ipsets ? { ipsets: a.ipsets } : {}) });
}

/** A packet from its text form (`tcp 10.244.1.5:43512 -> 10.96.0.10:80 in eth0`), JSON or a log line. */
export function packet(text: string): PacketSpec {
  const p = parsePacketText(text);
  if (!p.ok) throw new Error(`bad packet ${JSON.stringify(text)}: ${p.error}`);
  return p.packet;
}
