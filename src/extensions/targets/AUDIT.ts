/** `-j AUDIT --type accept|drop|reject`: writes an audit record and lets the packet continue. */
import type { TargetExtension } from "../types.js";

const TYPES = ["accept", "drop", "reject"] as const;

export interface AuditData {
  type: (typeof TYPES)[number];
}

export const AUDIT: TargetExtension<AuditData> = {
  type: "target",
  name: "AUDIT",
  reads: () => [],
  options: [{ flags: ["--type"], args: 1 }],
  parse(options, ctx, span) {
    if (options.length > 1) return void ctx.error(options[1]!.span, "AUDIT: --type given more than once");
    const o = options[0];
    if (!o) return void ctx.error(span, "AUDIT: --type is required", "--type accept|drop|reject");
    // libxt_AUDIT compares without regard to case.
    const t = TYPES.find((x) => x === (o.values[0] ?? "").toLowerCase());
    if (!t) return void ctx.error(o.span, "AUDIT: bad action type", TYPES.join(", "), o.values[0]);
    return { type: t };
  },
  save(d) {
    return ` --type ${d.type}`;
  },
  print(d) {
    return ` AUDIT ${d.type}`;
  },
  parsePrint(s) {
    const m = s.match(/AUDIT (accept|drop|reject)(?=\s|$)/);
    return m ? { type: m[1] as AuditData["type"] } : undefined;
  },
  apply() {
    // The record goes to the audit subsystem; the verdict is left to the rules that follow.
    return { verdict: "CONTINUE" };
  },
};
