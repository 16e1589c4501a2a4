/**
 * cluster.json: which files make each node of a cluster, and the pods on them.
 *
 *   { "nodes": { "node-01": "node-01/",
 *                "node-02": { "rules": ["n2/iptables.save"], "ipsets": [], "node": ["n2/node.json"] } },
 *     "pods": [ {"name": "web", "address": "10.244.1.12", "node": "node-01", "via": "cni0"} ] }
 *
 * A node is a directory (a `netfate collect` bundle, or dumps under the bundle's file names)
 * or its files by kind. Paths are as written, for the loader to resolve against the file's
 * directory. Every problem is located in the text.
 */
import { DiagnosticSink, type Diagnostic } from "../model/diagnostics.js";
import { clusterNameProblem } from "./cluster-name.js";
import { JsonInput } from "./json-input.js";
import type { JsonNode } from "./located-json.js";
import { readPodObjects, type DeclaredPod, type SourceAt } from "./pod-line.js";
import { withoutBom } from "../syntax/bom.js";

export interface NamedPath {
  path: string;
  /** Where the path is written: a file that cannot be read is reported here. */
  at: SourceAt;
}

export type ClusterFileKind = "rules" | "ipsets" | "node" | "ipvs";

export interface ClusterJsonNode {
  name: string;
  /** Where the node is named (its key). */
  at: SourceAt;
  /** `"node-01": "DIR"`: the node's directory. */
  dir?: NamedPath;
  /** `"node-01": {...}`: its files by kind. */
  files?: Record<ClusterFileKind, NamedPath[]>;
}

export interface ClusterJson {
  nodes: ClusterJsonNode[];
  pods: DeclaredPod[];
  diagnostics: Diagnostic[];
}

const KINDS: readonly ClusterFileKind[] = ["rules", "ipsets", "node", "ipvs"];
const NODE_EXAMPLE = '"node-01": "node-01/" (a collect bundle) or "node-01": {"rules": [FILES], "ipsets": [FILES], "node": [FILES], "ipvs": [FILES]}';

export function readClusterJson(text: string, file: string): ClusterJson {
  const sink = new DiagnosticSink(file);
  const j = new JsonInput(withoutBom(text), sink);
  const out: ClusterJson = { nodes: [], pods: [], diagnostics: sink.items };
  const root = j.parse();
  const top = root && j.fields(root, "cluster.json", ["nodes", "pods"]);
  if (!root || !top) return out;
  const at = (offset: number): SourceAt => ({ file, ...j.where(offset) });
  const nodes = top.get("nodes");
  if (!nodes) j.error(root.at, 'cluster.json without "nodes"', `"nodes": {${NODE_EXAMPLE}}`);
  const byName = nodes && j.fields(nodes.value, '"nodes"');
  if (nodes && byName?.size === 0) j.error(nodes.value.at, "a cluster without nodes", NODE_EXAMPLE);
  for (const [name, f] of byName ?? []) {
    const bad = clusterNameProblem(name, "node");
    if (bad) {
      j.error(f.keyAt, bad, "a node name");
      continue;
    }
    const node: ClusterJsonNode = { name, at: at(f.keyAt) };
    const path = (n: JsonNode, what: string): NamedPath | undefined => {
      const p = j.string(n, what, "a path, relative to cluster.json");
      if (p === "") j.error(n.at, `${what} is empty`, "a path, relative to cluster.json");
      return p ? { path: p, at: at(n.at) } : undefined;
    };
    if (f.value.kind === "string") {
      const dir = path(f.value, `the directory of node ${name}`);
      if (!dir) continue;
      node.dir = dir;
    } else {
      if (f.value.kind !== "object") {
        j.wrong(f.value, `node ${name}`, "its directory (a string) or its files by kind (an object)");
        continue;
      }
      const kinds = j.fields(f.value, `node ${name}`, KINDS);
      if (!kinds) continue;
      const files: Record<ClusterFileKind, NamedPath[]> = { rules: [], ipsets: [], node: [], ipvs: [] };
      for (const kind of KINDS) {
        const list = kinds.get(kind);
        for (const n of (list && j.list(list.value, `the ${kind} files of node ${name}`, "a list of paths")) ?? []) {
          const p = path(n, `a ${kind} file of node ${name}`);
          if (p) files[kind].push(p);
        }
      }
      node.files = files;
    }
    out.nodes.push(node);
  }
  const pods = top.get("pods");
  if (pods) out.pods = readPodObjects(pods.value, j, file, sink);
  return out;
}
