/** `-j CLASSIFY --set-class MAJOR:MINOR`: sets skb->priority, which tc classifies on. */
import type { TargetExtension } from "../types.js";

export interface ClassifyData {
  major: number;
  minor: number;
}

const hex4 = (n: number) => n.toString(16).padStart(4, "0");
const CLASS = /^(?:0[xX])?([0-9a-fA-F]{1,4}):(?:0[xX])?([0-9a-fA-F]{1,4})$/;

export const CLASSIFY: TargetExtension<ClassifyData> = {
  type: "target",
  name: "CLASSIFY",
  options: [{ flags: ["--set-class"], args: 1 }],
  parse(options, ctx, span) {
    if (options.length > 1) return void ctx.error(options[1]!.span, "CLASSIFY: --set-class given more than once");
    const o = options[0];
    if (!o) return void ctx.error(span, "CLASSIFY: --set-class is required", "--set-class MAJOR:MINOR");
    // Both halves are hexadecimal, whatever they look like (tc's convention).
    const m = CLASS.exec(o.values[0] ?? "");
    if (!m) return void ctx.error(o.span, "CLASSIFY: bad class value", "MAJOR:MINOR in hexadecimal, each 0-ffff", o.values[0]);
    return { major: parseInt(m[1]!, 16), minor: parseInt(m[2]!, 16) };
  },
  save(d) {
    return ` --set-class ${hex4(d.major)}:${hex4(d.minor)}`;
  },
  print(d) {
    return ` CLASSIFY set ${d.major.toString(16)}:${d.minor.toString(16)}`;
  },
  parsePrint(s) {
    const m = s.match(/CLASSIFY set ([0-9a-f]{1,4}):([0-9a-f]{1,4})(?=\s|$)/);
    return m ? { major: parseInt(m[1]!, 16), minor: parseInt(m[2]!, 16) } : undefined;
  },
  apply(d, _env, fx) {
    fx.rewrite("class", `${d.major.toString(16)}:${d.minor.toString(16)}`);
    return { verdict: "CONTINUE" };
  },
};
