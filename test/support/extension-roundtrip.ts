/**
 * One rule through an extension's whole contract: bind its options (errors as iptables-restore
 * reports them), print it as iptables-save and as `-L`/`-nL`, and read both back.
 */
import { expect } from "vitest";
import type { ExtensionMatch, Family, Rule } from "../../src/model/ast.js";
import { parseRules } from "../../src/parse.js";
import { listText } from "../../src/print/listing.js";
import { ruleSpecText } from "../../src/print/save.js";
import { parseListing } from "../../src/syntax/listing.js";
import { DiagnosticSink } from "../../src/model/diagnostics.js";
import { findMatch } from "../../src/extensions/registry.js";
import type { Hook, IpsetView, MatchResult, NodeView, PacketState } from "../../src/model/evaluation.js";

export interface Printed {
  /** iptables-save's text after `-A CHAIN`. */
  save: string;
  /** The rule's `-L` and `-nL` rows. */
  L: string;
  nL: string;
  rule: Rule;
}

function parseOne(spec: string, family: Family, chain: string) {
  const table = `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A ${chain} ${spec}\nCOMMIT\n`;
  return parseRules(table, { family });
}

/** The error messages binding `spec` reports (empty when it binds). */
export function bindErrors(spec: string, family: Family = "ipv4", chain = "INPUT"): string[] {
  return parseOne(spec, family, chain).diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
}

const extensionMatches = (r: Rule, name: string) => r.matches.filter((m): m is ExtensionMatch => m.kind === "match" && m.name === name).map((m) => m.data);

/**
 * Binds `spec` (no errors allowed), prints it, and checks that the save text and both
 * listings read back to the same data for extension `name`.
 */
export function printed(spec: string, name: string, family: Family = "ipv4", chain = "INPUT", opts: { lossySave?: boolean } = {}): Printed {
  const r = parseOne(spec, family, chain);
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  const rule = r.value.tables[0]!.chains.find((c) => c.name === chain)!.rules.load()[0]!;
  expect(rule.matches.some((m) => m.kind === "match" && m.name === name), `${spec} binds -m ${name}`).toBe(true);
  const save = ruleSpecText(rule, family);
  const again = parseOne(save.trim(), family, chain).value.tables[0]!.chains.find((c) => c.name === chain)!.rules.load()[0]!;
  // Some stored forms print back as another (iptables itself loses them): those say so.
  if (!opts.lossySave) expect(extensionMatches(again, name), `save text read back: ${save}`).toEqual(extensionMatches(rule, name));
  const rowOf = (numeric: boolean) => {
    const text = listText(r.value, { numeric });
    const back = parseListing(text, new DiagnosticSink("listing"), { family, table: "filter" });
    const backRule = back.tables[0]!.chains.find((c) => c.name === chain)!.rules.load()[0]!;
    expect(extensionMatches(backRule, name), `-L${numeric ? "n" : ""} read back:\n${text}`).toEqual(extensionMatches(rule, name));
    const lines = text.split("\n");
    return lines[lines.findIndex((l) => l.startsWith(`Chain ${chain} `)) + 2]!;
  };
  return { save, L: rowOf(false), nL: rowOf(true), rule };
}

/**
 * What the match of extension `name` in `spec` answers for a packet at `hook`, asked
 * directly (no routing): for questions about header fields the evaluator would route first.
 */
export function matchAnswer(spec: string, name: string, packet: Partial<PacketState>, family: Family = "ipv4", hook: Hook = "INPUT"): MatchResult | undefined {
  const r = parseOne(spec, family, hook === "INPUT" || hook === "FORWARD" || hook === "OUTPUT" ? hook : "INPUT");
  const rule = r.value.tables[0]!.chains.find((c) => c.rules.count > 0)!.rules.load()[0]!;
  const data = extensionMatches(rule, name)[0];
  const base: PacketState = {
    family, src: family === "ipv4" ? "10.0.0.2" : "2001:db8::2", dst: family === "ipv4" ? "10.0.0.1" : "2001:db8::1", proto: 6,
    fragment: false, mark: 0,
    ct: { state: "NEW", dir: "ORIGINAL", mark: 0, zone: 0, orig: { src: "", dst: "" }, reply: { src: "", dst: "" }, status: new Set() },
  } as PacketState;
  return findMatch(name, family)!.evaluate?.(data, { packet: { ...base, ...packet }, hook, table: "filter", node: {} as NodeView, ipsets: {} as IpsetView, assumed: {} });
}
