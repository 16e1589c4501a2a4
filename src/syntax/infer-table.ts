/**
 * Which table a dump without `*table` lines (`iptables -S`, a pasted fragment, a listing)
 * belongs to, from what its rules use. Used only when the user did not say; the answer is
 * reported as inferred.
 */
import type { TableName } from "../model/ast.js";

const NAT_TARGETS = new Set(["DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP"]);
const RAW_TARGETS = new Set(["CT", "NOTRACK"]);
const MANGLE_TARGETS = new Set(["TPROXY", "TOS", "DSCP", "TTL", "HL", "TCPMSS", "CHECKSUM", "ECN", "TCPOPTSTRIP", "HMARK", "CLASSIFY"]);

export interface TableGuess {
  table: TableName;
  reason: string;
}

/** Looks at target names, chain names and built-in chains mentioned in the lines. */
export function inferTableFromNames(targets: Iterable<string>, chains: Iterable<string>): TableGuess {
  const t = new Set(targets);
  const c = new Set(chains);
  for (const x of t) if (NAT_TARGETS.has(x)) return { table: "nat", reason: `uses -j ${x}` };
  for (const x of t) if (RAW_TARGETS.has(x)) return { table: "raw", reason: `uses -j ${x}` };
  for (const x of t) if (MANGLE_TARGETS.has(x)) return { table: "mangle", reason: `uses -j ${x}` };
  for (const x of c) {
    if (/^KUBE-(SEP|SVC|EXT|FW|XLB|MARK-MASQ|POSTROUTING|NODEPORTS|SERVICES)/.test(x) && !c.has("FORWARD")) {
      if (x === "KUBE-SERVICES" || x === "KUBE-NODEPORTS") continue;
      return { table: "nat", reason: `has kube-proxy chain ${x}` };
    }
  }
  const hasPre = c.has("PREROUTING");
  const hasPost = c.has("POSTROUTING");
  const hasFwd = c.has("FORWARD");
  const hasIn = c.has("INPUT");
  if ((hasPre || hasPost) && !hasFwd) return { table: "nat", reason: "has PREROUTING/POSTROUTING but no FORWARD" };
  if ((hasPre || hasPost) && hasFwd) return { table: "mangle", reason: "has PREROUTING/POSTROUTING and FORWARD" };
  if (hasFwd || hasIn) return { table: "filter", reason: "has INPUT/FORWARD and no PREROUTING/POSTROUTING" };
  return { table: "filter", reason: "nothing table-specific found; filter is iptables' default" };
}

export function inferTable(lines: ReadonlyArray<{ kind: string; args?: ReadonlyArray<{ value: string }>; name?: string }>): TableGuess {
  const targets: string[] = [];
  const chains: string[] = [];
  for (const l of lines) {
    if (l.kind === "chain" && l.name) chains.push(l.name);
    if (l.kind === "command" && l.args) {
      const a = l.args;
      if (a[1]) chains.push(a[1].value);
      for (let i = 0; i + 1 < a.length; i++) if (a[i]!.value === "-j" || a[i]!.value === "--jump") targets.push(a[i + 1]!.value);
    }
  }
  return inferTableFromNames(targets, chains);
}
