/**
 * A cluster from texts: each node's dumps and facts assembled as a single node's are
 * (assembleInputs, buildNode), the pods declared and those the nodes' routes show, checked
 * against each other. The CLI (src/cli/cluster-load.ts) reads the files and hands them here
 * one node at a time, so a node's texts can be let go once it is built.
 *
 * Every node's diagnostics and notes stay with its name. A node is left out, with an error
 * at where it is given, when its name is taken or it has nothing to read; a node with facts
 * and no rules is kept (a cluster's pods-only or tunnel-only node), and a note says so.
 */
import type { PodSpec } from "./model/cluster.js";
import { DiagnosticSink, type Diagnostic } from "./model/diagnostics.js";
import type { ClusterInputs, ClusterMember } from "./netfilter/cluster.js";
import { buildNode } from "./netfilter/model.js";
import { assembleInputs, InputError, nodeFromInputs, type TextInput, nodeInputsOf } from "./assemble.js";
import { emptyFacts } from "./facts/model.js";
import { readHostname } from "./facts/cluster-name.js";
import { parsePodLines, type DeclaredPod, type SourceAt } from "./facts/pod-line.js";
import { inferPods, mergePods } from "./facts/pods.js";
import { appendAll } from "./append-all.js";
import { fillUdpPeers } from "./facts/udp-leases.js";

/** Far above any real cluster (Kubernetes supports 5,000 nodes); more is refused before reading. */
export const MAX_CLUSTER_NODES = 10_000;

/** One node's texts, as its directory or cluster.json entry gives them. */
export interface ClusterNodeTexts {
  name: string;
  /**
   * "given": the name is cluster.json's for it. "directory": the name is its directory's,
   * used when the node does not say its own (`hostname`).
   */
  named: "given" | "directory";
  /** What the node called itself (a bundle's hostname.txt). */
  hostname?: TextInput;
  /** Where the node is given: problems of the whole node are reported here. */
  at: SourceAt;
  rules: TextInput[];
  ipsets?: TextInput[];
  node?: TextInput[];
  /** ipvsadm output (a bundle's ipvsadm.txt). */
  ipvs?: TextInput[];
  /** What reading its files had to say (a bundle's notes). */
  notes?: string[];
}

/** What was read for one node, kept with its name. */
export interface ClusterNodeReport {
  name: string;
  at: SourceAt;
  /** False for a node given facts and no rules: its tables are empty to the evaluator. */
  hasRules: boolean;
  diagnostics: Diagnostic[];
  notes: string[];
}

export interface AssembledCluster {
  inputs: ClusterInputs;
  /** One per node of `inputs.nodes`, in the same order. */
  nodes: ClusterNodeReport[];
  /** Problems of the cluster's own inputs (pod declarations, cluster.json) and between nodes. */
  diagnostics: Diagnostic[];
  notes: string[];
}

export interface ClusterPodInputs {
  /** Pod declaration files (`pod NAME ADDRESS on NODE via IFACE [gw GATEWAY]` lines). */
  files?: readonly TextInput[];
  /** Pods already read (cluster.json's `pods`). */
  declared?: readonly DeclaredPod[];
}

const whereText = (a: SourceAt) => `${a.file}:${a.line}:${a.col}`;

function error(at: SourceAt, message: string, expected?: string, found?: string): Diagnostic {
  return { severity: "error", file: at.file, line: at.line, col: at.col, message, ...(expected !== undefined ? { expected } : {}), ...(found !== undefined ? { found } : {}) };
}

/** Builds a cluster node by node; `finish` adds the pods. */
export class ClusterAssembly {
  private readonly members: ClusterMember[] = [];
  private readonly reports: ClusterNodeReport[] = [];
  private readonly byName = new Map<string, ClusterNodeReport>();
  private readonly diagnostics: Diagnostic[] = [];
  private readonly notes: string[] = [];

  get size(): number {
    return this.members.length;
  }

  /** Assembles one node. Throws InputError, naming the node, for an input that cannot be used at all. */
  add(spec: ClusterNodeTexts): void {
    const report: ClusterNodeReport = { name: spec.name, at: spec.at, hasRules: spec.rules.length > 0, diagnostics: [], notes: [...(spec.notes ?? [])] };
    let at = spec.at;
    if (spec.hostname) {
      const sink = new DiagnosticSink(spec.hostname.file);
      const own = readHostname(spec.hostname.text, sink);
      appendAll(report.diagnostics, sink.items);
      if (own === undefined) report.notes.push(`${spec.hostname.file} does not give a name: the node is named ${spec.name} after its ${spec.named === "given" ? "entry" : "directory"}`);
      else if (spec.named === "directory") {
        report.name = own;
        at = { file: spec.hostname.file, line: 1, col: 1 };
      } else if (own !== spec.name) report.notes.push(`${spec.hostname.file} says the node is ${own}; it is named ${spec.name}, as given`);
    }
    const before = this.byName.get(report.name);
    if (before) {
      this.diagnostics.push(error(at, `a second node named ${report.name} (the first is given at ${whereText(before.at)}): this one is left out`, "each node name once", report.name));
      return;
    }
    const node = spec.node ?? [];
    if (spec.rules.length === 0 && node.length === 0) {
      this.diagnostics.push(error(spec.at, `node ${report.name} has no rules and no node facts: it is left out`, "iptables-save output, node facts, or both"));
      return;
    }
    report.at = at;
    const member = this.build(report, spec.rules, spec.ipsets ?? [], node, spec.ipvs ?? []);
    this.byName.set(report.name, report);
    this.reports.push(report);
    this.members.push(member);
  }

  private build(report: ClusterNodeReport, rules: TextInput[], ipsets: TextInput[], node: TextInput[], ipvs: TextInput[]): ClusterMember {
    try {
      if (rules.length === 0) {
        const n = nodeFromInputs(node, { ifaces: [], localAddrs: [], routes: [] });
        appendAll(report.diagnostics, n.diagnostics);
        if (ipsets.length) report.notes.push(`node ${report.name}: its ipsets are not read (it has no rules to use them)`);
        report.notes.push(`node ${report.name}: no rules given, only node facts: its iptables tables are taken as empty (every packet accepted)`);
        return { name: report.name, node: buildNode({ rulesets: [], ...(n.view ? { node: n.view } : {}) }), facts: n.facts ?? emptyFacts() };
      }
      const a = assembleInputs({ rules, ipsets, node, ...(ipvs.length ? { ipvs } : {}) });
      appendAll(report.diagnostics, a.diagnostics);
      appendAll(report.notes, a.notes);
      const built = buildNode(nodeInputsOf(a));
      return { name: report.name, node: built, facts: a.facts ?? emptyFacts() };
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`node ${report.name}: ${e.message}`);
      throw e;
    }
  }

  /** The cluster: its nodes and pods, declared ones checked against the nodes, the others inferred. */
  finish(pods: ClusterPodInputs = {}): AssembledCluster {
    // flannel's UDP backend learns the other nodes' leases from its subnet manager, which no
    // node's dump holds: the nodes' own leases are each other's peers.
    fillUdpPeers(this.members.map((m) => m.facts));
    const declared: DeclaredPod[] = [...(pods.declared ?? [])];
    for (const f of pods.files ?? []) {
      const r = parsePodLines(f.text, f.file);
      appendAll(this.diagnostics, r.diagnostics);
      appendAll(declared, r.pods);
    }
    const kept = this.checkDeclared(declared);
    const inferred: PodSpec[] = [];
    for (const m of this.members) {
      const r = inferPods(m.name, m.facts);
      appendAll(inferred, r.pods);
      appendAll(this.notes, r.notes);
    }
    const merged = mergePods(kept, inferred);
    appendAll(this.notes, merged.notes);
    return { inputs: { nodes: this.members, pods: merged.pods }, nodes: this.reports, diagnostics: this.diagnostics, notes: this.notes };
  }

  /** Declarations on a node of the cluster, each name and address once; the others left out with an error. */
  private checkDeclared(declared: readonly DeclaredPod[]): PodSpec[] {
    const names = new Map<string, DeclaredPod>();
    const addresses = new Map<string, DeclaredPod>();
    const ifaces = new Map<string, Set<string>>();
    const members = new Map(this.members.map((m) => [m.name, m]));
    // A few names to say what a node of the cluster looks like: the first five, named once.
    const some = this.members.slice(0, 5).map((m) => m.name);
    const known = some.length ? `a node of the cluster (${some.join(", ")}${members.size > some.length ? ", …" : ""})` : "a node of the cluster (it has none)";
    const kept: PodSpec[] = [];
    for (const d of declared) {
      const { pod, at } = d;
      const first = names.get(pod.name);
      if (first) {
        this.diagnostics.push(error(at.name, `pod ${pod.name} is declared twice (first at ${whereText(first.at.name)}): this one is left out`, "each pod name once", pod.name));
        continue;
      }
      const holder = addresses.get(pod.address);
      if (holder) {
        this.diagnostics.push(error(at.address, `${pod.address} is already the address of pod ${holder.pod.name} (at ${whereText(holder.at.address)}): pod ${pod.name} is left out`, "each address on one pod", pod.address));
        continue;
      }
      const m = members.get(pod.node);
      if (!m) {
        this.diagnostics.push(error(at.node, `pod ${pod.name} is on node ${pod.node}, which is not a node of the cluster: it is left out`, known, pod.node));
        continue;
      }
      names.set(pod.name, d);
      addresses.set(pod.address, d);
      kept.push(pod);
      // The node's facts list its links when they list any: a pod on a link the node lacks is a typo, or stale facts.
      let own = ifaces.get(m.name);
      if (!own) ifaces.set(m.name, (own = new Set(m.facts.interfaces.map((i) => i.name))));
      if (own.size > 0 && !own.has(pod.nodeIface)) {
        this.diagnostics.push({ severity: "warning", file: at.via.file, line: at.via.line, col: at.via.col, message: `node ${m.name} has no interface ${pod.nodeIface} in its facts`, expected: "one of the node's interfaces", found: pod.nodeIface });
      }
    }
    return kept;
  }
}

/** A whole cluster from texts in memory (the CLI adds nodes one at a time instead). */
export function assembleCluster(spec: { nodes: readonly ClusterNodeTexts[]; pods?: ClusterPodInputs }): AssembledCluster {
  if (spec.nodes.length > MAX_CLUSTER_NODES) throw new InputError(`${spec.nodes.length} nodes: a cluster has at most ${MAX_CLUSTER_NODES}`);
  const c = new ClusterAssembly();
  for (const n of spec.nodes) c.add(n);
  return c.finish(spec.pods);
}

/** Every diagnostic of a cluster, each with the node whose inputs it is about (none for the cluster's own). */
export function clusterDiagnostics(c: AssembledCluster): Array<{ node?: string; diagnostic: Diagnostic }> {
  const out: Array<{ node?: string; diagnostic: Diagnostic }> = c.diagnostics.map((diagnostic) => ({ diagnostic }));
  for (const n of c.nodes) for (const diagnostic of n.diagnostics) out.push({ node: n.name, diagnostic });
  return out;
}
