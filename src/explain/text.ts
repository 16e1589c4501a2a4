/** Human-readable traces and why-dropped answers, readable in 80 columns. */
import type { Evaluation } from "../netfilter/model.js";
import type { Outcome, Step } from "../netfilter/types.js";
import type { Palette } from "./colour.js";
import { fateText, isDrop, packetText, probabilityText, snapshotText, stepRuleText } from "./describe.js";

export interface TextOptions {
  palette: Palette;
  /** Renders a rule the way `iptables -nvL` shows it, when a listing printer is available. */
  listingLine?: (s: Step) => string | undefined;
}

function fateColour(o: Outcome, c: Palette): (s: string) => string {
  if (isDrop(o)) return c.red;
  if (o.fate.kind === "indeterminate" || o.fate.kind === "error" || o.fate.kind === "unroutable") return c.yellow;
  return c.green;
}

function stepLine(s: Step, family: "ipv4" | "ipv6", c: Palette): string[] {
  const where = `${s.hook.padEnd(11)} ${s.table.padEnd(8)} ${s.chain}`;
  const num = s.rule === "policy" ? "policy" : `#${s.rule}`;
  const head = `  ${where} ${c.dim(num)}  ${s.matched ? c.bold(s.verdict) : c.dim(`no match: ${s.failed ?? ""}`)}`;
  const lines = [head];
  if (s.ruleNode && s.matched) lines.push(`      ${c.dim(stepRuleText(s, family))}`);
  if (s.branch) lines.push(`      ${c.yellow("⑂ " + s.branch)}`);
  for (const r of s.rewrites ?? []) lines.push(`      ${c.cyan("→ " + r)}`);
  if (s.log) lines.push(`      ${c.dim("log: " + s.log)}`);
  return lines;
}

export function traceText(e: Evaluation, o: TextOptions): string {
  const c = o.palette;
  const fam = e.packet.family;
  const out: string[] = [c.bold(packetText(e.packet)), ""];
  const n = e.outcomes.length;
  e.outcomes.forEach((oc, i) => {
    const prob = n > 1 || oc.probability !== 1 ? ` — probability ${probabilityText(oc.probability)}` : "";
    out.push(`${c.bold(`Outcome ${i + 1} of ${n}`)}${prob}: ${fateColour(oc, c)(fateText(oc.fate))}`);
    for (const s of oc.steps) out.push(...stepLine(s, fam, c));
    out.push(`  final packet: ${snapshotText(oc.final)}`);
    for (const enc of oc.encapsulated ?? []) {
      out.push(`  ${c.cyan("encapsulated")} by ${oc.final.outIface ?? "the tunnel"}: outer packet ${snapshotText(enc.final)} — ${fateColour(enc, c)(fateText(enc.fate))}`);
      for (const s of enc.steps) out.push(...stepLine(s, fam, c).map((l) => "  " + l));
    }
    if (oc.assumptions.length) {
      out.push(`  ${c.yellow("assuming:")}`);
      for (const a of oc.assumptions) out.push(`    - ${a}`);
    }
    out.push("");
  });
  for (const p of e.problems) out.push(c.yellow(`note: ${p.table} ${p.chain}${p.rule ? ` rule ${p.rule}` : ""}: ${p.message}`));
  return out.join("\n").replace(/\n+$/, "") + "\n";
}

/** The short answer: is it dropped, by which rule, along which path, and what nearly let it through. */
export function whyDroppedText(e: Evaluation, o: TextOptions): string {
  const c = o.palette;
  const fam = e.packet.family;
  const out: string[] = [c.bold(packetText(e.packet))];
  const drops = e.outcomes.filter(isDrop);
  const total = drops.reduce((s, x) => s + x.probability, 0);
  if (drops.length === 0) {
    out.push(c.green("Not dropped."));
    for (const oc of e.outcomes) {
      const prob = e.outcomes.length > 1 ? ` (probability ${probabilityText(oc.probability)})` : "";
      out.push(`  ${fateText(oc.fate)}${prob}`);
    }
  } else {
    const all = drops.length === e.outcomes.length;
    out.push(c.red(all ? "Dropped." : `Dropped in ${drops.length} of ${e.outcomes.length} outcomes (probability ${probabilityText(total)}).`));
    for (const d of drops) {
      const last = [...d.steps].reverse().find((s) => s.matched)!;
      out.push("");
      out.push(`  ${c.red(fateText(d.fate))}${drops.length > 1 ? ` — probability ${probabilityText(d.probability)}` : ""}`);
      if (last) {
        out.push(`    ${stepRuleText(last, fam)}`);
        const l = o.listingLine?.(last);
        if (l) out.push(`    ${c.dim(l)}`);
      }
      const path = d.steps.filter((s) => s.matched).map((s) => `${s.table} ${s.chain}${s.rule === "policy" ? " policy" : ` #${s.rule}`}`);
      out.push(`  path: ${path.join(" → ")}`);
      const near = d.steps.filter((s) => !s.matched && s.ruleNode && /ACCEPT|JUMP|GOTO|DNAT|RETURN/.test(stepRuleText(s, fam)));
      if (near.length) {
        out.push("  nearly let through by:");
        for (const s of near.slice(-5)) out.push(`    ${stepRuleText(s, fam)}\n      ${c.dim(`failed: ${s.failed}`)}`);
      }
      if (d.assumptions.length) {
        out.push(`  ${c.yellow("assuming:")}`);
        for (const a of d.assumptions) out.push(`    - ${a}`);
      }
    }
  }
  return out.join("\n") + "\n";
}
