/**
 * One `-j TARGET` rule through the target's whole contract: bind its options (errors as
 * iptables-restore reports them), print it as iptables-save and as `-L`/`-nL`, read both
 * back, and trace a packet through it. The match side of this is extension-roundtrip.ts.
 */
import { expect } from "vitest";
import type { ExtensionTarget, Family, Rule, TableName } from "../../src/model/ast.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { parseRules } from "../../src/parse.js";
import { listText } from "../../src/print/listing.js";
import { ruleSpecText } from "../../src/print/save.js";
import { parseListing } from "../../src/syntax/listing.js";
import { DiagnosticSink } from "../../src/model/diagnostics.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { IpsetView, NodeView, Outcome, RouteDecision } from "../../src/model/evaluation.js";
import { simpleNode } from "./simple-node.js";
import { readShared, sections } from "./shared.js";

const BUILTIN: Record<TableName, string[]> = {
  raw: ["PREROUTING", "OUTPUT"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  security: ["INPUT", "FORWARD", "OUTPUT"],
};

export interface Where {
  family?: Family;
  table?: TableName;
  chain?: string;
}

/** A restore input of one table holding `rules` (`-A CHAIN ...` lines). */
export function tableText(table: TableName, rules: readonly string[]): string {
  return `*${table}\n${BUILTIN[table].map((c) => `:${c} ACCEPT [0:0]`).join("\n")}\n${rules.map((r) => `${r}\n`).join("")}COMMIT\n`;
}

function parseOne(spec: string, w: Where) {
  const table = w.table ?? "filter";
  return parseRules(tableText(table, [`-A ${w.chain ?? BUILTIN[table][0]} ${spec}`]), { family: w.family ?? "ipv4" });
}

/** The error messages binding `spec` reports (empty when it binds). */
export function targetErrors(spec: string, w: Where = {}): string[] {
  return parseOne(spec, w).diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
}

/** The warnings binding `spec` reports. */
export function targetWarnings(spec: string, w: Where = {}): string[] {
  return parseOne(spec, w).diagnostics.filter((d) => d.severity === "warning").map((d) => d.message);
}

const targetOf = (r: Rule | undefined): ExtensionTarget | undefined => (r?.target?.kind === "target" ? r.target : undefined);

export interface TargetPrinted {
  /** iptables-save's text after `-A CHAIN`. */
  save: string;
  /** The rule's `-L` and `-nL` rows. */
  L: string;
  nL: string;
  /** What the target bound its options to. */
  data: unknown;
}

/**
 * Binds `spec` (no errors allowed), prints it, and checks that the save text and both
 * listings read back to the same target data. `lossy`: iptables prints this rule in a form
 * that does not read back to the same data (iptables itself loses it, or refuses it), so that
 * printing is not read back here; the test says what becomes of it.
 */
export function targetPrinted(spec: string, name: string, w: Where = {}, opts: { lossy?: "save" | "save and listing" } = {}): TargetPrinted {
  const family = w.family ?? "ipv4";
  const table = w.table ?? "filter";
  const chain = w.chain ?? BUILTIN[table][0]!;
  const r = parseOne(spec, { ...w, chain });
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message), spec).toEqual([]);
  const rule = r.value.tables[0]!.chains.find((c) => c.name === chain)!.rules.load()[0]!;
  const target = targetOf(rule);
  expect(target?.name, `${spec} binds -j ${name}`).toBe(name);
  const save = ruleSpecText(rule, family);
  const again = parseOne(save.trim(), { ...w, chain }).value.tables[0]!.chains.find((c) => c.name === chain)!.rules.load()[0];
  if (!opts.lossy) expect(targetOf(again)?.data, `save text read back: ${save}`).toEqual(target!.data);
  const rowOf = (numeric: boolean) => {
    const text = listText(r.value, { numeric });
    const back = parseListing(text, new DiagnosticSink("listing"), { family, table });
    const backRule = back.tables[0]!.chains.find((c) => c.name === chain)!.rules.load()[0];
    if (opts.lossy !== "save and listing") expect(targetOf(backRule)?.data, `-L${numeric ? "n" : ""} read back:\n${text}`).toEqual(target!.data);
    const lines = text.split("\n");
    return lines[lines.findIndex((l) => l.startsWith(`Chain ${chain} `)) + 2]!;
  };
  return { save, L: rowOf(false), nL: rowOf(true), data: target!.data };
}

/** The rows of section `section` of reference file `file` (iptables 1.8.9) that contain `text`. */
export function referenceRows(file: string, section: string, text: string): string[] {
  const body = sections(readShared("reference", "iptables", file)).get(section) ?? "";
  return body.split("\n").filter((l) => l.includes(text));
}

const v4 = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], eth1: ["10.0.0.1/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });

/**
 * A node with 192.168.0.11/24 on eth0, 10.0.0.1/24 on eth1 (IPv4 default via eth0) and
 * 2001:db8::11 on eth0 (IPv6: everything else leaves by eth0).
 */
export const node: NodeView = {
  ...v4,
  isLocal: (ip, family) => (family === "ipv6" ? ip === "2001:db8::11" : v4.isLocal(ip, family)),
  addressType: (ip, family, dev) => (family === "ipv6" ? (ip === "2001:db8::11" ? "LOCAL" : "UNICAST") : v4.addressType(ip, family, dev)),
  routeInput: (q): RouteDecision =>
    q.family === "ipv6" ? (q.dst === "2001:db8::11" ? { kind: "local", dev: "lo" } : { kind: "unicast", dev: "eth0" }) : v4.routeInput(q),
  routeOutput: (q): RouteDecision =>
    q.family === "ipv6" ? (q.dst === "2001:db8::11" ? { kind: "local", dev: "lo" } : { kind: "unicast", dev: "eth0", src: "2001:db8::11" }) : v4.routeOutput(q),
};

/** A TCP SYN from 10.2.3.4:40000 arriving on eth0 for this node's 192.168.0.11:80. */
export const tcpIn: PacketSpec = { family: "ipv4", from: "eth0", src: "10.2.3.4", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 80, tcpFlags: 2, mark: 0 };

/** Every outcome of `packet` through the rules (restore text), which must bind without errors. */
export function outcomes(rules: string, packet: PacketSpec, ipsets?: IpsetView): Outcome[] {
  const r = parseRules(rules, { family: packet.family });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return buildNode({ rulesets: [r.value], node, ...(ipsets ? { ipsets } : {}) }).evaluate(packet).outcomes;
}
