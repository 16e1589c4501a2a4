/**
 * The versioned JSON shape of an evaluation (documented by trace.schema.json beside this
 * file, and checked by test/unit/json-schema.test.ts). Other programs rely on it: add fields,
 * never change or remove them without bumping `version`.
 */
import type { Evaluation } from "../netfilter/model.js";
import type { Outcome, Step } from "../model/evaluation.js";
import type { PacketSpec } from "../model/packet.js";
import { stepRuleText } from "./describe.js";
import { loadProblems } from "./text.js";

export const TRACE_JSON_VERSION = 1;

export interface JsonStep {
  hook: string;
  table: string;
  chain: string;
  rule: number | "policy";
  text: string;
  verdict: string;
  matched?: false;
  failed?: string;
  rewrites?: string[];
  packet?: Record<string, unknown>;
  log?: string;
  branch?: string;
  uncertain?: string[];
  ipvs?: Record<string, unknown>;
  nft?: Record<string, unknown>;
  legacy?: true;
}

/** Where a step happened, for steps of a cluster trace: the node (and pod) of its hop. */
export interface StepPlace {
  node: string;
  pod?: string;
}

function stepJson(s: Step, family: "ipv4" | "ipv6", at?: StepPlace): JsonStep {
  const j: JsonStep = { ...at, hook: s.hook, table: s.table, chain: s.chain, rule: s.rule, text: stepRuleText(s, family), verdict: s.verdict };
  if (!s.matched) {
    j.matched = false;
    if (s.failed !== undefined) j.failed = s.failed;
  }
  if (s.rewrites) j.rewrites = s.rewrites;
  if (s.packet) j.packet = { ...s.packet };
  if (s.log) j.log = s.log;
  if (s.branch) j.branch = s.branch;
  if (s.uncertain) j.uncertain = s.uncertain;
  if (s.ipvs) j.ipvs = { ...s.ipvs };
  if (s.nft) j.nft = { ...s.nft };
  if (s.legacy) j.legacy = true;
  return j;
}

/** An outcome's JSON; `at`, in a cluster trace, is put on every step (encapsulated legs' too). */
export function outcomeJson(o: Outcome, family: "ipv4" | "ipv6", at?: StepPlace): Record<string, unknown> {
  return {
    probability: o.probability,
    assumptions: o.assumptions,
    given: o.given ?? [],
    fate: o.fate,
    steps: o.steps.map((s) => stepJson(s, family, at)),
    final: o.final,
    ...(o.routing ? { routing: o.routing } : {}),
    ...(o.encapsulated ? { encapsulated: o.encapsulated.map((e) => outcomeJson(e, family, at)) } : {}),
  };
}

/** The packet as given (addresses canonical; mark in hex). */
export function packetJson(p: PacketSpec): Record<string, unknown> {
  return {
    family: p.family, from: p.from, ...(p.src ? { src: p.src } : {}), dst: p.dst, proto: p.proto,
    ...(p.sport !== undefined ? { sport: p.sport } : {}), ...(p.dport !== undefined ? { dport: p.dport } : {}),
    ...(p.tcpFlags !== undefined ? { tcp_flags: p.tcpFlags } : {}), ...(p.icmpType !== undefined ? { icmp_type: p.icmpType } : {}),
    mark: `0x${(p.mark ?? 0).toString(16)}`, state: p.state ?? "new",
  };
}

export function evaluationJson(e: Evaluation): Record<string, unknown> {
  const p = e.packet;
  return {
    version: TRACE_JSON_VERSION,
    packet: packetJson(p),
    outcomes: e.outcomes.map((o) => outcomeJson(o, p.family)),
    problems: loadProblems(e),
  };
}
