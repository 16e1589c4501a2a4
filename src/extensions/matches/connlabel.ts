/**
 * `-m connlabel [!] --label LABEL [--set]`: a conntrack label bit. Without
 * /etc/xtables/connlabel.conf (as in the reference captures) iptables takes a bit number and
 * saves it quoted (`--label "1"`); a name is kept as written, since only that file could say
 * its bit. Labels are not in the inputs: evaluation is indeterminate.
 */
import type { MatchExtension, OptionSpec } from "../types.js";
import { collectOptions, parseUnsigned } from "../util.js";

export interface ConnlabelData {
  negated: boolean;
  /** A bit number, or a name from connlabel.conf. */
  label: number | string;
  set: boolean;
}

/** XT_CONNLABEL_MAXBIT. */
const MAX_BIT = 127;

const OPTIONS: readonly OptionSpec[] = [
  { flags: ["--label"], args: 1, negatable: true },
  { flags: ["--set"], args: 0 },
];

export const connlabel: MatchExtension<ConnlabelData> = {
  type: "match",
  name: "connlabel",
  reads: () => [],
  needsConntrack: true,
  printPrefixes: ["connlabel"],
  options: OPTIONS,
  parse(options, ctx, span) {
    const o = collectOptions(OPTIONS, options, ctx, "connlabel");
    const l = o.get("--label");
    if (!l) return void ctx.error(span, "connlabel: --label is required", "--label LABEL");
    const v = l.values[0] ?? "";
    if (v === "") return void ctx.error(l.span, "connlabel: empty --label", "a bit number or a label name", v);
    const n = /^[0-9]/.test(v) ? parseUnsigned(v) : undefined;
    if (/^[0-9]/.test(v) && (n === undefined || n > MAX_BIT)) return void ctx.error(l.span, `label '${v}' not found or invalid value`, `a bit number 0-${MAX_BIT}`, v);
    // iptables prints a name between double quotes as it is: one that needs escaping could not be read back.
    if (n === undefined && !/^[^\s"'\\]+$/.test(v)) return void ctx.error(l.span, `label '${v}' not found or invalid value`, "a bit number, or a label name without spaces, quotes or backslashes", v);
    return { negated: l.negated, label: n ?? v, set: o.has("--set") };
  },
  save(d) {
    return `${d.negated ? " !" : ""} --label "${d.label}"${d.set ? " --set" : ""}`;
  },
  print(d) {
    return ` connlabel${d.negated ? " !" : ""} ${typeof d.label === "number" ? d.label : `'${d.label}'`}${d.set ? " set" : ""}`;
  },
  parsePrint(s) {
    const m = s.match(/connlabel( !)? (?:(\d+)|'([^\s"'\\]+)')( set)?(?= |$)/);
    if (!m) return undefined;
    return { negated: m[1] !== undefined, label: m[2] !== undefined ? Number(m[2]) : m[3]!, set: m[4] !== undefined };
  },
  evaluate(d) {
    return { indeterminate: `connlabel: whether the connection has label ${d.label} is not known` };
  },
};
