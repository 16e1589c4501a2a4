/** `-j SECMARK --selctx CONTEXT`: labels the packet with an SELinux security context. */
import type { TargetExtension } from "../types.js";

export interface SecmarkData {
  selctx: string;
}

/** xt_secmark_target_info.secctx holds 256 bytes with the NUL. */
const SELCTX_MAX = 255;

export const SECMARK: TargetExtension<SecmarkData> = {
  type: "target",
  name: "SECMARK",
  reads: () => [],
  tables: ["mangle", "security"],
  options: [{ flags: ["--selctx"], args: 1 }],
  parse(options, ctx, span) {
    if (options.length > 1) return void ctx.error(options[1]!.span, "SECMARK: --selctx given more than once");
    const o = options[0];
    if (!o) return void ctx.error(span, "SECMARK: --selctx is required", "--selctx CONTEXT");
    const v = o.values[0] ?? "";
    if (v.length > SELCTX_MAX) ctx.warning(o.span, `SECMARK: --selctx is cut to ${SELCTX_MAX} characters, as iptables does`);
    return { selctx: v.slice(0, SELCTX_MAX) };
  },
  save(d) {
    // Printed raw, unquoted, as libxt_SECMARK does.
    return ` --selctx ${d.selctx}`;
  },
  print(d) {
    return ` SECMARK selctx ${d.selctx}`;
  },
  parsePrint(s) {
    if (!s.literal("SECMARK selctx")) return undefined;
    const rest = s.rest();
    return rest ? { selctx: rest } : undefined;
  },
  apply() {
    return { verdict: "CONTINUE" };
  },
};
