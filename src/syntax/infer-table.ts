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

/**
 * What the lines outside any table say about their table, gathered a line at a time so that
 * the lines need not be kept (an `iptables -S` of 10k services is 160k of them).
 */
export class TableEvidence {
  private readonly targets = new Set<string>();
  private readonly chains = new Set<string>();

  add(l: { kind: string; args?: ReadonlyArray<{ value: string }>; name?: string }): void {
    if (l.kind === "chain" && l.name) this.chains.add(l.name);
    if (l.kind === "command" && l.args) {
      const a = l.args;
      if (a[1]) this.chains.add(a[1].value);
      for (let i = 0; i + 1 < a.length; i++) if (a[i]!.value === "-j" || a[i]!.value === "--jump") this.targets.add(a[i + 1]!.value);
    }
  }

  guess(): TableGuess {
    return inferTableFromNames(this.targets, this.chains);
  }
}
