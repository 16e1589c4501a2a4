/**
 * `-j ECN` (IPv4, mangle): clears or sets the ECE/CWR bits of TCP headers and the ECT code
 * point of the IP header. `--ecn-tcp-remove` is stored as "set ECE=0 and CWR=0".
 */
import type { TargetExtension } from "../types.js";
import { collectOptions, parseUnsigned } from "../util.js";

export interface EcnData {
  /** Value written to the TCP ECE bit, when it is written. */
  ece?: number;
  cwr?: number;
  /** IP ECT code point 0-3, when written. */
  ect?: number;
}

function isRemove(d: EcnData): boolean {
  return d.ece === 0 && d.cwr === 0 && d.ect === undefined;
}

export const ECN: TargetExtension<EcnData> = {
  type: "target",
  name: "ECN",
  reads: () => [],
  families: ["ipv4"],
  tables: ["mangle"],
  options: [
    { flags: ["--ecn-tcp-remove"], args: 0 },
    { flags: ["--ecn-tcp-cwr"], args: 1 },
    { flags: ["--ecn-tcp-ece"], args: 1 },
    { flags: ["--ecn-ip-ect"], args: 1 },
  ],
  parse(options, ctx, span) {
    const o = collectOptions(ECN.options, options, ctx, "ECN");
    if (o.size === 0) return void ctx.error(span, "ECN target: An operation is required", "--ecn-tcp-remove, --ecn-tcp-cwr, --ecn-tcp-ece or --ecn-ip-ect");
    const remove = o.get("--ecn-tcp-remove");
    const tcpBit = o.get("--ecn-tcp-cwr") ?? o.get("--ecn-tcp-ece");
    if (remove && tcpBit) return void ctx.error(tcpBit.span, `ECN: ${tcpBit.flag} cannot be combined with --ecn-tcp-remove`);
    const d: EcnData = remove ? { ece: 0, cwr: 0 } : {};
    for (const [flag, key, max] of [["--ecn-tcp-cwr", "cwr", 1], ["--ecn-tcp-ece", "ece", 1], ["--ecn-ip-ect", "ect", 3]] as const) {
      const opt = o.get(flag);
      if (!opt) continue;
      const n = parseUnsigned(opt.values[0] ?? "", max);
      if (n === undefined) return void ctx.error(opt.span, `ECN: bad value for ${flag}`, `0-${max}`, opt.values[0]);
      d[key] = n;
    }
    if (d.ece !== undefined || d.cwr !== undefined) {
      const p = ctx.protocol;
      if (!p || p.negated || p.number !== 6) return void ctx.error((remove ?? tcpBit)!.span, "ECN: cannot use TCP operations on a non-tcp rule (the kernel refuses it)", "-p tcp");
    }
    return d;
  },
  save(d) {
    if (isRemove(d)) return " --ecn-tcp-remove";
    return (d.ece !== undefined ? ` --ecn-tcp-ece ${d.ece}` : "") + (d.cwr !== undefined ? ` --ecn-tcp-cwr ${d.cwr}` : "")
      + (d.ect !== undefined ? ` --ecn-ip-ect ${d.ect}` : "");
  },
  print(d) {
    if (isRemove(d)) return " ECN TCP remove";
    return " ECN" + (d.ece !== undefined ? ` ECE=${d.ece}` : "") + (d.cwr !== undefined ? ` CWR=${d.cwr}` : "")
      + (d.ect !== undefined ? ` ECT codepoint=${d.ect}` : "");
  },
  parsePrint(s) {
    if (!s.literal("ECN")) return undefined;
    if (s.literal("TCP remove")) return { ece: 0, cwr: 0 };
    const d: EcnData = {};
    const ece = s.match(/ECE=([01])(?=\s|$)/);
    if (ece) d.ece = Number(ece[1]);
    const cwr = s.match(/CWR=([01])(?=\s|$)/);
    if (cwr) d.cwr = Number(cwr[1]);
    const ect = s.match(/ECT codepoint=([0-3])(?=\s|$)/);
    if (ect) d.ect = Number(ect[1]);
    return d;
  },
  apply(d, _env, fx) {
    fx.rewrite("ecn", isRemove(d) ? "TCP ECE/CWR cleared" : ECN.print(d, { family: "ipv4", protocol: undefined, numeric: true }).trim());
    return { verdict: "CONTINUE" };
  },
};
