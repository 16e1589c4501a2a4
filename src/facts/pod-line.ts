/**
 * Pods a user declares, one per line:
 *
 *   pod NAME ADDRESS on NODE via IFACE [gw GATEWAY]
 *   pod net-test1 10.200.226.132 on node-01 via cali073b411309a
 *   pod web 10.244.1.12 on k8s-node1 via cni0 gw 10.244.1.1
 *
 * IFACE is the node's end of the pod's link (its veth, or the bridge it hangs on); GATEWAY is
 * the pod's default gateway. `#` starts a comment. The same fields as JSON objects make the
 * `pods` list of cluster.json. Each problem is located at its word; a pod with one is left out.
 * Whether NODE is a node of the cluster, and whether a name or an address is declared twice,
 * is for the cluster to say (src/assemble-cluster.ts): only it sees every declaration.
 */
import type { Family } from "../model/ast.js";
import type { PodSpec } from "../model/cluster.js";
import { DiagnosticSink, type Diagnostic } from "../model/diagnostics.js";
import { addressFamily, canonicalAddress } from "../model/address.js";
import { clusterNameProblem } from "./cluster-name.js";
import { interfaceNameProblem } from "./interface-name.js";
import type { JsonInput } from "./json-input.js";
import type { JsonNode } from "./located-json.js";
import { withoutBom } from "../syntax/bom.js";

/** A place in an input file. */
export interface SourceAt {
  file: string;
  line: number;
  col: number;
}

export type PodField = "name" | "address" | "node" | "via" | "gw";

/** A declared pod, with where each of its fields was written (for the cluster's checks). */
export interface DeclaredPod {
  pod: PodSpec;
  at: Record<Exclude<PodField, "gw">, SourceAt> & { gw?: SourceAt };
}

export const POD_LINE = "pod NAME ADDRESS on NODE via IFACE [gw GATEWAY]";

interface Word {
  text: string;
  line: number;
  col: number;
}

type Report = (w: { line: number; col: number }, message: string, expected?: string, found?: string) => void;

const familyName = (f: Family) => (f === "ipv4" ? "IPv4" : "IPv6");

/** A pod from its fields, each already one word; undefined after reporting what is wrong. */
function podOf(f: Record<Exclude<PodField, "gw">, Word> & { gw?: Word }, file: string, report: Report): DeclaredPod | undefined {
  let ok = true;
  const fail: Report = (...a) => {
    ok = false;
    report(...a);
  };
  for (const [field, what] of [["name", "pod"], ["node", "node"]] as const) {
    const bad = clusterNameProblem(f[field].text, what);
    if (bad) fail(f[field], bad, `a ${what} name`, f[field].text);
  }
  const family = addressFamily(f.address.text);
  if (!family) fail(f.address, `bad pod address ${JSON.stringify(f.address.text)}`, "the pod's IPv4 or IPv6 address (no prefix length)", f.address.text);
  const badIface = interfaceNameProblem(f.via.text);
  if (badIface) fail(f.via, badIface, "the node's end of the pod's link (its veth or bridge)", f.via.text);
  let gateway: string | undefined;
  if (f.gw) {
    const gf = addressFamily(f.gw.text);
    if (!gf) fail(f.gw, `bad gateway ${JSON.stringify(f.gw.text)}`, "the pod's default gateway, an address", f.gw.text);
    else if (family && gf !== family) fail(f.gw, `the gateway ${f.gw.text} is ${familyName(gf)} but the pod's address is ${familyName(family)}`, `an ${familyName(family)} address`, f.gw.text);
    else gateway = canonicalAddress(f.gw.text, gf);
  }
  if (!ok || !family) return undefined;
  const pod: PodSpec = { name: f.name.text, node: f.node.text, family, address: canonicalAddress(f.address.text, family), nodeIface: f.via.text };
  if (gateway !== undefined) pod.gateway = gateway;
  const at = (w: Word): SourceAt => ({ file, line: w.line, col: w.col });
  return { pod, at: { name: at(f.name), address: at(f.address), node: at(f.node), via: at(f.via), ...(f.gw ? { gw: at(f.gw) } : {}) } };
}

/** The words of one line before its comment, each with its column. */
function wordsOf(raw: string, line: number): Word[] {
  const words: Word[] = [];
  for (const m of raw.matchAll(/\S+/g)) {
    if (m[0].startsWith("#")) break;
    words.push({ text: m[0], line, col: m.index! + 1 });
  }
  return words;
}

/** The declarations of a file in `pod NAME ADDRESS on NODE via IFACE [gw GATEWAY]` lines. */
export function parsePodLines(text: string, file: string): { pods: DeclaredPod[]; diagnostics: Diagnostic[] } {
  const sink = new DiagnosticSink(file);
  const report: Report = (w, message, expected, found) => sink.error({ line: w.line, col: w.col, len: 0 }, message, expected, found);
  const pods: DeclaredPod[] = [];
  const lines = withoutBom(text).split("\n");
  for (let k = 0; k < lines.length; k++) {
    const raw = lines[k]!;
    const words = wordsOf(raw, k + 1);
    if (words.length === 0) continue;
    const end = { line: k + 1, col: raw.replace(/\s+$/, "").length + 1 };
    // The keywords where the grammar has them: each missing or wrong one is said at its place.
    const want = (i: number, keyword: string, what: string): boolean => {
      const w = words[i];
      if (w?.text === keyword) return true;
      report(w ?? end, w ? `expected ${JSON.stringify(keyword)} ${what}` : `the line ends before ${JSON.stringify(keyword)} ${what}`, `${POD_LINE}`, w?.text ?? "the end of the line");
      return false;
    };
    const value = (i: number, what: string): Word | undefined => {
      const w = words[i];
      if (!w) report(end, `the line ends before ${what}`, POD_LINE, "the end of the line");
      return w;
    };
    if (!want(0, "pod", "at the start of a declaration")) continue;
    const name = value(1, "the pod's name");
    const address = name && value(2, "the pod's address");
    if (!address || !want(3, "on", "before the node's name")) continue;
    const node = value(4, "the node's name");
    if (!node || !want(5, "via", "before the node's interface to the pod")) continue;
    const via = value(6, "the node's interface to the pod");
    if (!via) continue;
    let gw: Word | undefined;
    if (words.length > 7) {
      if (!want(7, "gw", "before the pod's gateway, or the end of the line")) continue;
      gw = value(8, "the pod's gateway");
      if (!gw) continue;
      if (words.length > 9) {
        report(words[9]!, `unexpected ${JSON.stringify(words[9]!.text)} after the gateway`, "the end of the line (or a # comment)", words[9]!.text);
        continue;
      }
    }
    const p = podOf({ name: name!, address, node, via, ...(gw ? { gw } : {}) }, file, report);
    if (p) pods.push(p);
  }
  return { pods, diagnostics: sink.items };
}

const POD_KEYS: readonly PodField[] = ["name", "address", "node", "via", "gw"];

/**
 * A JSON list of `{"name", "address", "node", "via", "gw"}` objects (cluster.json's `pods`),
 * read with the same checks as the lines; problems go to `sink` through `j`.
 */
export function readPodObjects(list: JsonNode, j: JsonInput, file: string, sink: DiagnosticSink): DeclaredPod[] {
  const pods: DeclaredPod[] = [];
  const example = '{"name": "web", "address": "10.244.1.12", "node": "k8s-node1", "via": "cni0"}';
  for (const n of j.list(list, '"pods"', `a list of pods, such as ${example}`) ?? []) {
    const fields = j.fields(n, "a pod", POD_KEYS);
    // An unknown key is a field misspelt (`gateway`): the pod without it would not be the one meant.
    if (!fields || [...fields.keys()].some((k) => !POD_KEYS.includes(k as PodField))) continue;
    const missing = POD_KEYS.filter((k) => k !== "gw" && !fields.has(k));
    if (missing.length) {
      j.error(n.at, `a pod without ${missing.map((k) => JSON.stringify(k)).join(", ")}`, example);
      continue;
    }
    const words: Partial<Record<PodField, Word>> = {};
    let ok = true;
    for (const [key, f] of fields) {
      const text = j.string(f.value, `the pod's ${JSON.stringify(key)}`);
      if (text === undefined) ok = false;
      // The string's first character, one after its opening quote.
      else words[key as PodField] = { text, ...j.where(f.value.at + 1) };
    }
    if (!ok) continue;
    const report: Report = (w, message, expected, found) => sink.error({ line: w.line, col: w.col, len: 0 }, message, expected, found);
    const p = podOf(words as Record<Exclude<PodField, "gw">, Word> & { gw?: Word }, file, report);
    if (p) pods.push(p);
  }
  return pods;
}
