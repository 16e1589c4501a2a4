/** `-j DSCP`: sets the 6-bit DiffServ code point of the TOS / traffic class byte. */
import type { TargetExtension } from "../types.js";
import { parseUnsigned } from "../util.js";

export interface DscpData {
  dscp: number;
}

/** RFC 2474/2597/3246 class names, as libxt_DSCP knows them. */
export const DSCP_CLASSES: ReadonlyArray<readonly [string, number]> = [
  ["CS0", 0x00], ["CS1", 0x08], ["CS2", 0x10], ["CS3", 0x18], ["CS4", 0x20], ["CS5", 0x28], ["CS6", 0x30], ["CS7", 0x38],
  ["BE", 0x00], ["AF11", 0x0a], ["AF12", 0x0c], ["AF13", 0x0e], ["AF21", 0x12], ["AF22", 0x14], ["AF23", 0x16],
  ["AF31", 0x1a], ["AF32", 0x1c], ["AF33", 0x1e], ["AF41", 0x22], ["AF42", 0x24], ["AF43", 0x26], ["EF", 0x2e],
];

/**
 * The class a name stands for. iptables compares only the class name's length, ignoring
 * case, so `af41x` is AF41 too.
 */
export function dscpClass(name: string): number | undefined {
  const upper = name.toUpperCase();
  return DSCP_CLASSES.find(([n]) => upper.startsWith(n))?.[1];
}

const hex2 = (n: number) => "0x" + n.toString(16).padStart(2, "0");

export const DSCP: TargetExtension<DscpData> = {
  type: "target",
  name: "DSCP",
  reads: () => [],
  tables: ["mangle"],
  options: [
    { flags: ["--set-dscp"], args: 1 },
    { flags: ["--set-dscp-class"], args: 1 },
  ],
  parse(options, ctx, span) {
    if (options.length === 0) return void ctx.error(span, "DSCP target: Parameter --set-dscp is required", "--set-dscp VALUE or --set-dscp-class CLASS");
    if (options.length > 1) return void ctx.error(options[1]!.span, "DSCP: --set-dscp and --set-dscp-class are mutually exclusive, and each is given once");
    const o = options[0]!;
    const v = o.values[0] ?? "";
    const dscp = o.flag === "--set-dscp" ? parseUnsigned(v, 0x3f) : dscpClass(v);
    if (dscp === undefined) {
      const expected = o.flag === "--set-dscp" ? "a number 0-63 (0x3f)" : DSCP_CLASSES.map(([n]) => n).join(", ");
      return void ctx.error(o.span, `DSCP: bad value for ${o.flag}`, expected, v);
    }
    return { dscp };
  },
  save(d) {
    return ` --set-dscp ${hex2(d.dscp)}`;
  },
  print(d) {
    return ` DSCP set ${hex2(d.dscp)}`;
  },
  parsePrint(s) {
    const m = s.match(/DSCP set (0x[0-9a-f]+)(?=\s|$)/);
    const n = m ? parseUnsigned(m[1]!, 0x3f) : undefined;
    return n === undefined ? undefined : { dscp: n };
  },
  apply(d, env, fx) {
    const tos = env.packet.tos;
    fx.rewrite("tos", tos === undefined ? `DSCP ${hex2(d.dscp)}` : ((tos & 0x03) | (d.dscp << 2)));
    return { verdict: "CONTINUE" };
  },
};
