/**
 * `-m dscp --dscp N` or `--dscp-class CLASS`: the DiffServ code point, the upper six bits of
 * the IPv4 TOS / IPv6 traffic class. A class is saved and listed as its number.
 */
import type { MatchExtension } from "../types.js";
import { parseUnsigned } from "../util.js";
import { DSCP_CLASSES, dscpClass } from "../targets/DSCP.js";

export interface DscpData {
  negated: boolean;
  dscp: number;
}

const hex2 = (n: number) => "0x" + n.toString(16).padStart(2, "0");

export const dscp: MatchExtension<DscpData> = {
  type: "match",
  name: "dscp",
  reads: () => [],
  printPrefixes: ["DSCP match"],
  options: [
    { flags: ["--dscp"], args: 1, negatable: true },
    { flags: ["--dscp-class"], args: 1, negatable: true },
  ],
  parse(options, ctx, span) {
    if (options.length === 0) return void ctx.error(span, "DSCP match: parameter --dscp is required", "--dscp N or --dscp-class CLASS");
    if (options.length > 1) {
      const [a, b] = options as [typeof options[0], typeof options[0]];
      return void ctx.error(b.span, a.flag === b.flag ? `dscp: ${b.flag} given more than once` : "dscp: --dscp and --dscp-class cannot be combined");
    }
    const o = options[0]!;
    const v = o.values[0] ?? "";
    if (o.flag === "--dscp") {
      const n = parseUnsigned(v, 63);
      if (n === undefined) return void ctx.error(o.span, `dscp: bad value for option "--dscp", or out of range (0-63)`, "0-63", v);
      return { negated: o.negated, dscp: n };
    }
    const n = dscpClass(v);
    if (n === undefined) return void ctx.error(o.span, `dscp: invalid DSCP value \`${v}'`, DSCP_CLASSES.map(([n]) => n).join(", "), v);
    return { negated: o.negated, dscp: n };
  },
  save(d) {
    return `${d.negated ? " !" : ""} --dscp ${hex2(d.dscp)}`;
  },
  print(d) {
    return ` DSCP match ${d.negated ? "!" : ""}${hex2(d.dscp)}`;
  },
  parsePrint(s) {
    const m = s.match(/DSCP match (!?)(0x[0-9a-f]{2})(?=\s|$)/);
    if (!m) return undefined;
    const n = parseInt(m[2]!.slice(2), 16);
    return n <= 63 ? { negated: m[1] === "!", dscp: n } : undefined;
  },
  evaluate(d, env) {
    const t = env.packet.tos;
    if (t === undefined) return { indeterminate: "the packet's TOS / traffic class (DSCP) is not given" };
    return (t >> 2 === d.dscp) !== d.negated;
  },
};
