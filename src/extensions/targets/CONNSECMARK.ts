/** `-j CONNSECMARK --save|--restore`: copies the SELinux security mark between packet and connection. */
import type { TargetExtension } from "../types.js";

export interface ConnsecmarkData {
  mode: "save" | "restore";
}

export const CONNSECMARK: TargetExtension<ConnsecmarkData> = {
  type: "target",
  name: "CONNSECMARK",
  reads: () => [],
  needsConntrack: true,
  tables: ["mangle", "security"],
  options: [
    { flags: ["--save"], args: 0 },
    { flags: ["--restore"], args: 0 },
  ],
  parse(options, ctx, span) {
    if (options.length === 0) return void ctx.error(span, "CONNSECMARK target: parameter required", "--save or --restore");
    if (options.length > 1) return void ctx.error(options[1]!.span, `CONNSECMARK: ${options[1]!.flag} cannot be combined with ${options[0]!.flag}`);
    return { mode: options[0]!.flag === "--save" ? "save" : "restore" };
  },
  save(d) {
    return ` --${d.mode}`;
  },
  print(d) {
    return ` CONNSECMARK ${d.mode}`;
  },
  parsePrint(s) {
    const m = s.match(/CONNSECMARK (save|restore)(?=\s|$)/);
    return m ? { mode: m[1] as ConnsecmarkData["mode"] } : undefined;
  },
  apply() {
    // Security marks are not modelled: the packet goes on unchanged as far as filtering sees.
    return { verdict: "CONTINUE" };
  },
};
