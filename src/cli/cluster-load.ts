/**
 * `--cluster PATH`: a cluster's inputs from files.
 *
 * - A directory: each sub-directory is one node, read as `--bundle` reads a `netfate collect`
 *   bundle (or dumps under the bundle's file names), named by its hostname.txt when it has
 *   one, else by the directory's name; `pods.txt` at the top declares pods. A cluster.json at
 *   the top is read instead, when there is one (it says what the directory holds).
 * - A file: cluster.json (src/facts/cluster-json.ts), its paths relative to itself.
 *
 * Nodes are read and built one at a time, so only one node's texts are held at once. What
 * cannot be read at all is a UsageError (one line, exit 2) naming the file, and where it is
 * named in cluster.json; located problems are diagnostics, kept with the node's name.
 */
import { readdirSync, statSync, type Dirent } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { ClusterAssembly, MAX_CLUSTER_NODES, type AssembledCluster, type ClusterNodeTexts } from "../assemble-cluster.js";
import { InputError, type TextInput } from "../assemble.js";
import { appendAll } from "../append-all.js";
import { readClusterJson, type NamedPath } from "../facts/cluster-json.js";
import type { SourceAt } from "../facts/pod-line.js";
import { UsageError } from "./args.js";
import { DEFAULT_MAX_INPUT, readRegularFile, sizeText } from "./bounded-read.js";
import { readBundle, type BundleFileReader } from "./bundle.js";

export const CLUSTER_JSON = "cluster.json";
export const PODS_FILE = "pods.txt";

export interface ClusterLoadOptions {
  /** The most one file may hold (--max-input-size). */
  limit?: number;
  /** The most all of the cluster's files together may hold; default 8 times `limit`. */
  totalLimit?: number;
}

/** Reads files within the per-file limit and, all together, the total one. */
class ClusterFiles {
  readonly limit: number;
  private readonly totalLimit: number;
  private total = 0;
  constructor(o: ClusterLoadOptions) {
    this.limit = o.limit ?? DEFAULT_MAX_INPUT;
    this.totalLimit = o.totalLimit ?? 8 * this.limit;
  }

  /** For readBundle: a bundle's files are regular files, never followed through a link. */
  readonly bundleFile: BundleFileReader = (path, limit) => this.counted(readRegularFile(path, { limit: limit ?? this.limit, noFollow: true }), path);

  read(path: string): string {
    return this.counted(readRegularFile(path, { limit: this.limit }), path);
  }

  private counted(text: string, path: string): string {
    this.total += Buffer.byteLength(text, "utf8");
    if (this.total > this.totalLimit) {
      throw new UsageError(`${path}: the cluster's files together are larger than ${sizeText(this.totalLimit)}, the cluster's input size limit (8 times --max-input-size; raise that)`);
    }
    return text;
  }
}

/** A cluster directory or a cluster.json file. */
export function loadCluster(path: string, opts: ClusterLoadOptions = {}): AssembledCluster {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new UsageError(`--cluster ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const files = new ClusterFiles(opts);
  try {
    if (!st.isDirectory()) return loadClusterJson(path, files);
    if (isFile(join(path, CLUSTER_JSON))) {
      const c = loadClusterJson(join(path, CLUSTER_JSON), files);
      const pods = isFile(join(path, PODS_FILE)) ? `, and its ${PODS_FILE} is not read (${CLUSTER_JSON}'s "pods" are the pods)` : "";
      c.notes.unshift(`--cluster ${path}: read as its ${CLUSTER_JSON} says (its sub-directories are nodes only where ${CLUSTER_JSON} names them${pods})`);
      return c;
    }
    return loadClusterDirectory(path, files);
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(e.message);
    throw e;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** An entry that is a directory, or a link to one (a node directory may be a link the user made). */
function isDirectory(dir: string, e: Dirent): boolean {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return statSync(join(dir, e.name)).isDirectory();
  } catch {
    return false;
  }
}

function loadClusterDirectory(dir: string, files: ClusterFiles): AssembledCluster {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new UsageError(`--cluster ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const nodeDirs: string[] = [];
  const skipped: string[] = [];
  let pods: TextInput | undefined;
  for (const e of entries) {
    // A hidden directory is not a node: `.NAME.tmp-…` is what an interrupted collect leaves.
    if (e.name.startsWith(".")) skipped.push(e.name);
    else if (isDirectory(dir, e)) nodeDirs.push(e.name);
    else if (e.name === PODS_FILE) pods = { file: join(dir, PODS_FILE), text: files.read(join(dir, PODS_FILE)) };
    else skipped.push(e.name);
  }
  if (nodeDirs.length === 0) throw new UsageError(`--cluster ${dir}: no node directories in it (expected one sub-directory per node, each a netfate collect bundle, or a ${CLUSTER_JSON})`);
  if (nodeDirs.length > MAX_CLUSTER_NODES) throw new UsageError(`--cluster ${dir}: ${nodeDirs.length} node directories; a cluster has at most ${MAX_CLUSTER_NODES}`);
  const assembly = new ClusterAssembly();
  for (const name of nodeDirs) {
    const path = join(dir, name);
    const b = readBundle(path, files.bundleFile, { allowNoRules: true, label: `--cluster ${dir}: node ${name}/` });
    assembly.add({
      name, named: "directory", at: { file: `${path}/`, line: 1, col: 1 },
      rules: b.rules, ipsets: b.ipsets, node: b.node, ipvs: b.ipvs, notes: b.notes, ...(b.hostname ? { hostname: b.hostname } : {}),
    });
  }
  const c = assembly.finish(pods ? { files: [pods] } : {});
  if (skipped.length) c.notes.unshift(`--cluster ${dir}: not read: ${skipped.slice(0, 8).join(", ")}${skipped.length > 8 ? ` and ${skipped.length - 8} more` : ""} (only sub-directories, one per node, and ${PODS_FILE} are)`);
  return c;
}

const whereText = (a: SourceAt) => `${a.file}:${a.line}:${a.col}`;

/** A path of cluster.json, resolved against its directory; a failure to read it is said where it is written. */
function located<T>(p: NamedPath, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(`${whereText(p.at)}: ${e.message}`);
    throw e;
  }
}

function loadClusterJson(file: string, files: ClusterFiles): AssembledCluster {
  const cj = readClusterJson(files.read(file), file);
  if (cj.nodes.length > MAX_CLUSTER_NODES) throw new UsageError(`${file}: ${cj.nodes.length} nodes; a cluster has at most ${MAX_CLUSTER_NODES}`);
  const base = dirname(file);
  const resolved = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const assembly = new ClusterAssembly();
  for (const n of cj.nodes) {
    let spec: ClusterNodeTexts;
    if (n.dir) {
      const dir = n.dir;
      const path = resolved(dir.path);
      const b = located(dir, () => readBundle(path, files.bundleFile, { allowNoRules: true, label: `node ${n.name}: ${path}` }));
      spec = { name: n.name, named: "given", at: n.at, rules: b.rules, ipsets: b.ipsets, node: b.node, ipvs: b.ipvs, notes: b.notes, ...(b.hostname ? { hostname: b.hostname } : {}) };
    } else {
      const texts = (list: readonly NamedPath[]): TextInput[] => list.map((p) => located(p, () => ({ file: resolved(p.path), text: files.read(resolved(p.path)) })));
      const f = n.files!;
      spec = { name: n.name, named: "given", at: n.at, rules: texts(f.rules), ipsets: texts(f.ipsets), node: texts(f.node), ipvs: texts(f.ipvs) };
    }
    assembly.add(spec);
  }
  const c = assembly.finish({ declared: cj.pods });
  const diagnostics = [...cj.diagnostics];
  appendAll(diagnostics, c.diagnostics);
  return { ...c, diagnostics };
}
