/** AST → `iptables -L` family output, column for column as iptables 1.8.9 prints it. */
import { isUnknown, type Chain, type Counters, type Family, type Rule, type Ruleset, type Table } from "../model/ast.js";
import { findMatch, findTarget } from "../extensions/registry.js";
import type { PrintContext } from "../extensions/types.js";
import { networkName } from "../extensions/services.js";

export interface ListOptions {
  /** -n: numbers instead of names. */
  numeric?: boolean;
  /** -v: counters and interface columns. */
  verbose?: boolean;
  /** -x: exact counters. */
  exact?: boolean;
  /** --line-numbers */
  lineNumbers?: boolean;
}

const U64 = (1n << 64n) - 1n;

/** iptables' counter column: plain up to 99999, then K/M/G/T with its rounding (and u64 wrap). */
export function countText(n: bigint, exact: boolean, width: boolean): string {
  if (exact) return width ? String(n).padStart(8) : String(n);
  if (n <= 99999n) return width ? String(n).padStart(5) : String(n);
  let v = n;
  for (const unit of ["K", "M", "G", "T"]) {
    v = ((v + 500n) & U64) / 1000n;
    if (v <= 9999n || unit === "T") return (width ? String(v).padStart(4) : String(v)) + unit;
  }
  return String(v);
}

function addrColumn(a: Rule["source"], family: Family, numeric: boolean): string {
  const full = family === "ipv4" ? 32 : 128;
  if (!a) return numeric ? (family === "ipv4" ? "0.0.0.0/0" : "::/0") : "anywhere";
  if (isUnknown(a)) return "?";
  if ("hostname" in a) return `${a.negated ? "!" : ""}${a.hostname}${a.prefixLength !== null ? "/" + a.prefixLength : ""}`;
  const host = !numeric && a.prefixLength !== full ? networkName(a.address) ?? a.address : a.address;
  const text = a.prefixLength === full ? a.address : a.prefixLength !== null ? `${host}/${a.prefixLength}` : `${host}/${a.mask}`;
  return `${a.negated ? "!" : ""}${text}`;
}

function targetName(r: Rule, family: Family): string {
  const t = r.target;
  if (!t) return "";
  if (t.kind === "standard") return t.verdict;
  if (t.kind === "chain") return t.chain;
  return (t.kind === "target" && findTarget(t.name, family)?.listingName) || t.name;
}

/** The last column: every match's text then the target's, then `[goto]`. */
export function extrasText(r: Rule, family: Family, numeric: boolean): string {
  const ctx: PrintContext = { family, protocol: r.protocol, numeric };
  let s = "";
  for (const m of r.matches) {
    if (m.kind === "match") s += findMatch(m.name, family)?.print(m.data, ctx) ?? "";
    else if (m.kind === "unparsed") s += " " + m.text;
    else s += ` ${m.name}`;
  }
  const t = r.target;
  if (t?.kind === "target") s += findTarget(t.name, family)?.print(t.data, ctx) ?? "";

  return s;
}

export function ruleListLine(r: Rule, family: Family, o: ListOptions, num: number): string {
  const numeric = o.numeric ?? false;
  let s = "";
  if (o.lineNumbers) s += `${String(num).padEnd(4)} `;
  if (o.verbose) {
    const c = r.counters ?? { packets: 0n, bytes: 0n, exact: true };
    s += `${countText(c.packets, o.exact ?? false, true)} ${countText(c.bytes, o.exact ?? false, true)} `;
  }
  s += `${targetName(r, family).padEnd(9)} `;
  s += r.protocol?.negated ? "!" : " ";
  const proto = r.protocol ? (numeric ? String(r.protocol.number) : r.protocol.name) : numeric ? "0" : "all";
  s += `${proto.padEnd(4)} `;
  s += r.fragment ? (r.fragment.negated ? "!f" : "-f") : "--";
  s += " ";
  if (o.verbose) {
    // iptables glues `!` to the name and pads the pair: " %-6s " for in, "%-6s " for out.
    // No interface prints as `*` with -n and as `any` without (iptables 1.8.9, measured).
    const name = (i: Rule["inInterface"]) => (i && !isUnknown(i) ? `${i.negated ? "!" : ""}${i.name}` : numeric ? "*" : "any");
    s += ` ${name(r.inInterface).padEnd(6)} ${name(r.outInterface).padEnd(6)} `;
  }
  for (const a of [r.source, r.destination]) {
    const text = addrColumn(a, family, numeric);
    const neg = text.startsWith("!");
    s += `${neg ? "!" : " "}${(neg ? text.slice(1) : text).padEnd(19)} `;
  }
  // iptables 1.8.9 prints "[goto] " right after the address columns, before the matches.
  if (r.goto) s += "[goto] ";
  return s + extrasText(r, family, numeric);
}

/** How many rules of the table jump or go to each chain, counted once for the whole table. */
function referenceCounts(t: Table): Map<string, number> {
  const n = new Map<string, number>();
  for (const c of t.chains) for (const r of c.rules.load()) if (r.target?.kind === "chain") n.set(r.target.chain, (n.get(r.target.chain) ?? 0) + 1);
  return n;
}

function chainHeader(c: Chain, o: ListOptions, refs: () => Map<string, number>): string {
  if (!c.builtin) return `Chain ${c.name} (${c.references ?? refs().get(c.name) ?? 0} references)`;
  const pol = c.policy === null || isUnknown(c.policy) ? "ACCEPT" : c.policy;
  if (!o.verbose) return `Chain ${c.name} (policy ${pol})`;
  const cnt: Counters = c.counters ?? { packets: 0n, bytes: 0n, exact: true };
  return `Chain ${c.name} (policy ${pol} ${countText(cnt.packets, o.exact ?? false, false)} packets, ${countText(cnt.bytes, o.exact ?? false, false)} bytes)`;
}

export function columnHeader(o: ListOptions): string {
  let s = "";
  if (o.lineNumbers) s += "num  ";
  if (o.verbose) s += o.exact ? "    pkts      bytes " : " pkts bytes ";
  s += "target     prot opt ";
  if (o.verbose) s += "in     out     ";
  s += "source               destination         ";
  return s;
}

/** One table as `iptables -t T -L [-n] [-v] [-x] [--line-numbers]` prints it. */
export function tableListText(t: Table, family: Family, o: ListOptions = {}): string {
  const blocks: string[] = [];
  const builtin = t.chains.filter((c) => c.builtin);
  const user = t.chains.filter((c) => !c.builtin).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Counted once, when a header first needs them: per chain it was a walk of every rule (42k
  // chains x 117k rules for a 10k-service dump: minutes).
  let counts: Map<string, number> | undefined;
  const refs = () => (counts ??= referenceCounts(t));
  for (const c of [...builtin, ...user]) {
    const lines = [chainHeader(c, o, refs), columnHeader(o)];
    c.rules.load().forEach((r, i) => lines.push(ruleListLine(r, family, o, i + 1)));
    blocks.push(lines.join("\n") + "\n");
  }
  return blocks.join("\n");
}

export function listText(rs: Ruleset, o: ListOptions = {}): string {
  return rs.tables.map((t) => tableListText(t, rs.family, o)).join("\n");
}
