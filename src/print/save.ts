/** AST → the canonical text iptables-save (1.8.9) prints, and `iptables -S` lines. */
import type { Chain, Counters, Family, MatchNode, RawOption, Rule, Ruleset, Table, TargetNode } from "../model/ast.js";
import { isUnknown } from "../model/ast.js";
import { findMatch, findTarget } from "../extensions/registry.js";
import type { PrintContext } from "../extensions/types.js";
import { addressText } from "../model/address.js";

/** Quotes a value of a generic option only when restore would otherwise split or unescape it. */
export function shellWord(v: string): string {
  if (v !== "" && !/[\s"'\\]/.test(v)) return v;
  return '"' + v.replace(/[\\"]/g, (c) => "\\" + c) + '"';
}

function rawOptions(opts: RawOption[]): string {
  let s = "";
  for (const o of opts) {
    s += (o.negated ? " !" : "") + " " + o.flag;
    for (const v of o.values) s += " " + shellWord(v);
  }
  return s;
}

export function matchSaveText(m: MatchNode, ctx: PrintContext): string {
  switch (m.kind) {
    case "match": {
      const ext = findMatch(m.name, ctx.family);
      return ` -m ${m.name}${ext ? ext.save(m.data, ctx) : ""}`;
    }
    case "generic-match":
      return ` -m ${m.name}${rawOptions(m.options)}`;
    case "unparsed":
      return "";
  }
}

export function targetSaveText(t: TargetNode, goto: boolean, ctx: PrintContext): string {
  switch (t.kind) {
    case "standard":
      return ` -j ${t.verdict}`;
    case "chain":
      return ` ${goto ? "-g" : "-j"} ${t.chain}`;
    case "target": {
      const ext = findTarget(t.name, ctx.family);
      return ` -j ${t.name}${ext ? ext.save(t.data, ctx) : ""}`;
    }
    case "generic-target":
      return ` -j ${t.name}${rawOptions(t.options)}`;
  }
}

/** The rule's options after `-A CHAIN`, in iptables-save's order: -s -d -i -o -p -f, matches, target. */
export function ruleSpecText(r: Rule, family: Family): string {
  let s = "";
  const addr = (flag: string, a: Rule["source"]) => {
    if (!a) return;
    if (isUnknown(a)) return;
    if ("hostname" in a) s += `${a.negated ? " !" : ""} ${flag} ${a.hostname}${a.prefixLength !== null ? "/" + a.prefixLength : ""}`;
    else s += `${a.negated ? " !" : ""} ${flag} ${addressText(a)}`;
  };
  addr("-s", r.source);
  addr("-d", r.destination);
  if (r.inInterface && !isUnknown(r.inInterface)) s += `${r.inInterface.negated ? " !" : ""} -i ${r.inInterface.name}`;
  if (r.outInterface && !isUnknown(r.outInterface)) s += `${r.outInterface.negated ? " !" : ""} -o ${r.outInterface.name}`;
  if (r.protocol) s += `${r.protocol.negated ? " !" : ""} -p ${r.protocol.name}`;
  if (r.fragment) s += `${r.fragment.negated ? " !" : ""} -f`;
  const ctx: PrintContext = { family, protocol: r.protocol, numeric: true };
  for (const m of r.matches) s += matchSaveText(m, ctx);
  if (r.target) s += targetSaveText(r.target, r.goto, ctx);
  return s;
}

function countersText(c: Counters | undefined): string {
  return c ? `[${c.packets}:${c.bytes}]` : "[0:0]";
}

export function ruleSaveLine(chain: string, r: Rule, family: Family, withCounters: boolean): string {
  const prefix = withCounters && r.counters ? `[${r.counters.packets}:${r.counters.bytes}] ` : "";
  return `${prefix}-A ${chain}${ruleSpecText(r, family)}`;
}

/** Byte-wise order, as iptables sorts user chains (C strcmp). */
function byName(a: Chain, b: Chain): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function orderedChains(t: Table): Chain[] {
  const builtin = t.chains.filter((c) => c.builtin);
  const user = t.chains.filter((c) => !c.builtin).sort(byName);
  return [...builtin, ...user];
}

export interface SaveOptions {
  /** Print `[packets:bytes]` before rules that have counters (`iptables-save -c`). */
  counters?: boolean;
  /** Print the `# Generated`/`# Completed` lines the input had. */
  comments?: boolean;
}

export function tableSaveText(t: Table, family: Family, opts: SaveOptions = {}): string {
  const out: string[] = [];
  if (opts.comments !== false && t.generated) out.push(t.generated);
  out.push(`*${t.name}`);
  const chains = orderedChains(t);
  for (const c of chains) {
    // A policy the input did not say is printed `-`, which iptables-restore accepts and which
    // keeps whatever policy the kernel has: printing ACCEPT would state a guess.
    const policy = c.builtin && c.policy !== null && !isUnknown(c.policy) ? c.policy : "-";
    out.push(`:${c.name} ${policy} ${countersText(c.counters)}`);
  }
  for (const c of chains) for (const r of c.rules.load()) out.push(ruleSaveLine(c.name, r, family, opts.counters ?? true));
  out.push("COMMIT");
  if (opts.comments !== false && t.completed) out.push(t.completed);
  return out.join("\n") + "\n";
}

/** The whole dump as iptables-save prints it. */
export function saveText(rs: Ruleset, opts: SaveOptions = {}): string {
  let s = opts.comments === false ? "" : rs.preamble.map((l) => l + "\n").join("");
  for (const t of rs.tables) s += tableSaveText(t, rs.family, opts);
  return s;
}

/** `iptables -t T -S`: policies, new chains, then rules. */
export function tableSpecText(t: Table, family: Family, opts: { counters?: boolean } = {}): string {
  const out: string[] = [];
  const chains = orderedChains(t);
  for (const c of chains) {
    if (c.builtin) {
      const pol = c.policy === null || isUnknown(c.policy) ? "ACCEPT" : c.policy;
      out.push(`-P ${c.name} ${pol}${opts.counters && c.counters ? ` -c ${c.counters.packets} ${c.counters.bytes}` : ""}`);
    } else out.push(`-N ${c.name}`);
  }
  for (const c of chains) {
    for (const r of c.rules.load()) {
      const cnt = opts.counters && r.counters ? ` -c ${r.counters.packets} ${r.counters.bytes}` : "";
      out.push(`-A ${c.name}${ruleSpecText(r, family)}${cnt}`);
    }
  }
  return out.join("\n") + "\n";
}
