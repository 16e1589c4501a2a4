/**
 * What the packets of a differential run exercised, read from the kernel's own paths: how many
 * matched a rule other than a chain policy, took a goto, were NATed, and which kinds of target
 * and condition the rules they matched carry. A run whose packets only meet policies proves
 * nothing; the differential test asserts on these counts.
 */
import type { Rule, Ruleset } from "../../src/model/ast.js";
import type { KernelStep } from "./harness.js";

/** The target of a rule as one kind: ACCEPT, MARK, `-j CHAIN`, `-g CHAIN`, `(no target)`. */
export function targetKind(r: Rule): string {
  const t = r.target;
  if (!t) return "(no target)";
  if (t.kind === "standard") return t.verdict;
  if (t.kind === "chain") return r.goto ? "-g CHAIN" : "-j CHAIN";
  return t.kind === "target" ? t.name : t.kind;
}

/** The conditions of a rule as kinds: `-s`, `! -s`, `-i +` (a prefix), `-m mark`, `! --dport`… */
export function conditionKinds(r: Rule): string[] {
  const not = (negated: boolean | undefined) => (negated ? "! " : "");
  const out: string[] = [];
  if (r.source && "negated" in r.source) out.push(`${not(r.source.negated)}-s`);
  if (r.destination && "negated" in r.destination) out.push(`${not(r.destination.negated)}-d`);
  for (const [flag, i] of [["-i", r.inInterface], ["-o", r.outInterface]] as const) {
    if (i && "name" in i) out.push(`${not(i.negated)}${flag}${i.name.endsWith("+") ? " +" : ""}`);
  }
  if (r.protocol) out.push(`${not(r.protocol.negated)}-p`);
  if (r.fragment) out.push(`${not(r.fragment.negated)}-f`);
  for (const m of r.matches) {
    if (m.kind !== "match") continue;
    const d = m.data as { negated?: boolean; sport?: { negated: boolean }; dport?: { negated: boolean } };
    if (m.name === "tcp") {
      if (d.sport) out.push(`${not(d.sport.negated)}--sport`);
      if (d.dport) out.push(`${not(d.dport.negated)}--dport`);
    } else out.push(`${not(d.negated)}-m ${m.name}`);
  }
  return out;
}

export class PathCoverage {
  packets = 0;
  /** Packets whose kernel path matched a rule, not only chain policies. */
  matchedRule = 0;
  tookGoto = 0;
  tookJump = 0;
  tookReturn = 0;
  marked = 0;
  nated = 0;
  readonly kinds = new Map<string, number>();

  /** One packet's kernel path (steps of the dump's tables) through `rs`; `nated` from the outcome that agreed. */
  add(rs: Ruleset, steps: KernelStep[], nated: boolean): void {
    this.packets++;
    const rules = steps.flatMap((s) => {
      if (s.rule === "policy") return [];
      const r = rs.tables.find((t) => t.name === s.table)?.chains.find((c) => c.name === s.chain)?.rules.load()[s.rule - 1];
      return r ? [r] : [];
    });
    if (rules.length) this.matchedRule++;
    if (steps.some((s) => s.verdict.startsWith("GOTO "))) this.tookGoto++;
    if (steps.some((s) => s.verdict.startsWith("JUMP "))) this.tookJump++;
    if (steps.some((s) => s.verdict === "RETURN" && s.rule !== "policy")) this.tookReturn++;
    if (rules.some((r) => targetKind(r) === "MARK")) this.marked++;
    if (nated) this.nated++;
    for (const k of new Set(rules.flatMap((r) => [targetKind(r), ...conditionKinds(r)]))) this.kinds.set(k, (this.kinds.get(k) ?? 0) + 1);
  }

  summary(): string {
    const pct = (n: number) => `${n} (${this.packets ? Math.round((100 * n) / this.packets) : 0}%)`;
    const kinds = [...this.kinds].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, n]) => `${k}: ${n}`).join(", ");
    return `${this.packets} packets compared: ${pct(this.matchedRule)} matched a rule, ${pct(this.tookJump)} jumped, ${pct(this.tookGoto)} took a goto, ${pct(this.tookReturn)} returned, ${pct(this.marked)} were marked, ${pct(this.nated)} NATed\nkinds matched: ${kinds}`;
  }
}
