/**
 * netfate as a library: parse dumps, describe the node, evaluate packets.
 *
 *   const rules = parseRules(text, { file });
 *   const { facts } = factsFromTexts([{ text: nodeJson, file: "node.json" }]);
 *   const node = buildNode({ rulesets: [rules.value], node: nodeViewFromFacts(facts) });
 *   const { outcomes } = node.evaluate(packet);
 *
 * nftables rulesets (`nft list ruleset` text, `nft -j` JSON) go in beside the iptables ones:
 *   buildNode({ rulesets: [], nft: [parseNftText(text, file).ruleset], node: ... })
 */
export type * from "./model/ast.js";
export type * from "./model/nft.js";
export { boundRules } from "./model/chain-rules.js";
export type { Diagnostic, Severity } from "./model/diagnostics.js";
export { formatDiagnostic } from "./model/diagnostics.js";
export type { PacketSpec, CtState } from "./model/packet.js";
export { parseRules, type ParseRulesOptions, type ParseResult } from "./parse.js";
export { readInput, rulesetsOf, ipvsOf, nftOf, type ParsedInput, type InputResult } from "./inputs.js";
export { parseNftText, printNftRuleset, printNftRule } from "./nft/index.js";
export { parseNftJson } from "./nft/json/index.js";
export { detectFormat, type InputFormat } from "./detect.js";
export { saveText, tableSaveText, tableSpecText, ruleSaveLine, ruleSpecText } from "./print/save.js";
export { buildNode, NetfilterNode, type Evaluation, type EvaluateOptions, type NodeInputs } from "./netfilter/model.js";
export type { Outcome, Step, Fate, NodeView, IpsetView, PacketSnapshot, Hook, StepTable, IpvsStepDetail } from "./model/evaluation.js";
export type { IpvsTable, IpvsService, IpvsRealServer, IpvsServiceKey, IpvsForward, IpvsProtocol } from "./model/ipvs.js";
export { parseIpvs, ipvsSaveText, type IpvsParse } from "./ipvs/index.js";
export { nodeViewFromFacts } from "./netfilter/node-view.js";
export { buildCluster, Cluster, type ClusterInputs, type ClusterMember, type ClusterEvaluateOptions, type ClusterEvaluation } from "./netfilter/cluster.js";
export type { PodSpec, Place, Arrival, ClusterHop, ClusterOutcome } from "./model/cluster.js";
export { factsFromTexts, readFacts } from "./facts/parse.js";
export { emptyFacts, type NodeFacts } from "./facts/model.js";
export { parsePacketText, parsePacketJson, parseLogLine } from "./packet/parse.js";
export { evaluationJson, TRACE_JSON_VERSION } from "./explain/json.js";
export { traceText, whyDroppedText } from "./explain/text.js";
export { htmlPage } from "./explain/html.js";
export { mermaidText, dotText } from "./explain/graph.js";
export { clusterTraceText, clusterWhyDroppedText } from "./explain/cluster-text.js";
export { clusterEvaluationJson } from "./explain/cluster-json.js";
export { clusterHtmlPage } from "./explain/cluster-html.js";
export { clusterVerdict, clusterOutcomeVerdict, placeText, arrivalText } from "./explain/cluster-describe.js";
export { outcomeVerdict, type Verdict, type TextOptions } from "./explain/text.js";
export { MATCHES, TARGETS, findMatch, findTarget } from "./extensions/registry.js";
export { diffRulesets, summarise, type DiffOptions, type DiffSide, type DiffResult, type FateDifference, type OutcomeSummary } from "./diff/compare.js";
