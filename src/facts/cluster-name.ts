/**
 * Names of a cluster's nodes and pods: in pod declarations, in cluster.json and in a bundle's
 * hostname.txt (`uname -n`). Kubernetes names are DNS subdomains, but netfate only needs a
 * name to be one word it can print and look up: any printable text without spaces, of at most
 * 253 characters (a DNS name's limit, which Kubernetes holds node and pod names to).
 */
import type { DiagnosticSink } from "../model/diagnostics.js";
import { withoutBom } from "../syntax/bom.js";

export const MAX_NAME_LENGTH = 253;

/** Why `name` cannot name a node or pod of a cluster, or undefined when it can. */
export function clusterNameProblem(name: string, what: "node" | "pod"): string | undefined {
  if (name === "") return `a ${what} name cannot be empty`;
  if (name.length > MAX_NAME_LENGTH) return `${what} name ${JSON.stringify(name.slice(0, 40) + "…")} is ${name.length} characters long; at most ${MAX_NAME_LENGTH}`;
  // `#` starts a comment in a declarations file: a name holding one could not be written there.
  const bad = /[\s#\p{Cc}]/u.exec(name);
  if (bad) return `${what} name ${JSON.stringify(name)} contains ${JSON.stringify(bad[0])}`;
  return undefined;
}

/**
 * The node's name from `uname -n` output: one name on one line. Anything else is an error
 * located in the file, and no name (the caller names the node otherwise, and says so).
 */
export function readHostname(text: string, sink: DiagnosticSink): string | undefined {
  const lines = withoutBom(text).split("\n");
  // `uname -n` ends its line with a newline: one line, then an empty rest.
  const extra = lines.findIndex((l, i) => i > 0 && l.trim() !== "");
  if (extra > 0) {
    sink.error({ line: extra + 1, col: 1, len: 0 }, "more than one line in a hostname file", "one line, the node's name (uname -n)", lines[extra]!.trim().slice(0, 40));
    return undefined;
  }
  const first = lines[0]!;
  const name = first.trim();
  const problem = clusterNameProblem(name, "node");
  if (problem) {
    sink.error({ line: 1, col: first.length - first.trimStart().length + 1, len: name.length }, problem, "the node's name (uname -n)", name.slice(0, 40));
    return undefined;
  }
  return name;
}
