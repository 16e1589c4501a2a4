/**
 * `-j TOS`: rewrites the TOS byte as mask/xor (libxt_TOS revision 1): tos = (tos & ~mask) ^ value.
 * `--set-tos 0x10` keeps the whole byte (mask 0xff); a symbolic name only touches the low
 * six bits (mask 0x3f); `--and-tos`, `--or-tos`, `--xor-tos` are rewritten into value/mask.
 */
import type { TargetExtension } from "../types.js";
import { parseUnsigned } from "../util.js";

export interface TosData {
  value: number;
  mask: number;
}

/** The RFC 1349 names, their TOS values (iptables' tos_values.c order). */
export const TOS_NAMES: ReadonlyArray<readonly [string, number]> = [
  ["Minimize-Delay", 0x10], ["Maximize-Throughput", 0x08], ["Maximize-Reliability", 0x04],
  ["Minimize-Cost", 0x02], ["Normal-Service", 0x00],
];
const SYMBOL_MASK = 0x3f;

const hex2 = (n: number) => "0x" + n.toString(16).padStart(2, "0");

/** `VALUE[/MASK]` or a symbolic name, as xtables' TOS-mask option type reads it (shared with `-m tos`). */
export function parseSetTos(text: string): TosData | undefined {
  const slash = text.indexOf("/");
  const value = parseUnsigned(slash < 0 ? text : text.slice(0, slash), 0xff);
  if (value !== undefined) {
    if (slash < 0) return { value, mask: 0xff };
    const mask = parseUnsigned(text.slice(slash + 1), 0xff);
    return mask === undefined ? undefined : { value, mask };
  }
  if (slash >= 0) return undefined;
  const sym = TOS_NAMES.find(([n]) => n.toLowerCase() === text.toLowerCase());
  return sym ? { value: sym[1], mask: SYMBOL_MASK } : undefined;
}

export const TOS: TargetExtension<TosData> = {
  type: "target",
  name: "TOS",
  reads: () => [],
  tables: ["mangle"],
  options: [
    { flags: ["--set-tos"], args: 1 },
    { flags: ["--and-tos"], args: 1 },
    { flags: ["--or-tos"], args: 1 },
    { flags: ["--xor-tos"], args: 1 },
  ],
  parse(options, ctx, span) {
    if (options.length === 0) return void ctx.error(span, "TOS: An action is required", "--set-tos, --and-tos, --or-tos or --xor-tos");
    if (options.length > 1) return void ctx.error(options[1]!.span, `TOS: ${options[1]!.flag} cannot be combined with ${options[0]!.flag}`);
    const o = options[0]!;
    const text = o.values[0] ?? "";
    if (o.flag === "--set-tos") {
      const d = parseSetTos(text);
      if (!d) return void ctx.error(o.span, "TOS: bad --set-tos", `VALUE[/MASK] (0-0xff) or ${TOS_NAMES.map(([n]) => n).join(", ")}`, text);
      return d;
    }
    const bits = parseUnsigned(text, 0xff);
    if (bits === undefined) return void ctx.error(o.span, `TOS: bad value for ${o.flag}`, "a number 0-0xff", text);
    if (o.flag === "--and-tos") return { value: 0, mask: ~bits & 0xff };
    if (o.flag === "--or-tos") return { value: bits, mask: bits };
    return { value: bits, mask: 0 };
  },
  save(d) {
    return ` --set-tos ${hex2(d.value)}/${hex2(d.mask)}`;
  },
  print(d, ctx) {
    if (ctx.numeric) return ` TOS set ${hex2(d.value)}/${hex2(d.mask)}`;
    const sym = d.mask === SYMBOL_MASK ? TOS_NAMES.find(([, v]) => v === d.value) : undefined;
    // libxt_TOS prints " %s%s" with prefix " TOS set": two spaces, no space before the name.
    if (sym) return `  TOS set${sym[0]}`;
    if (d.value === 0) return ` TOS and ${hex2(~d.mask & 0xff)}`;
    if (d.value === d.mask) return ` TOS or ${hex2(d.value)}`;
    if (d.mask === 0) return ` TOS xor ${hex2(d.value)}`;
    return ` TOS set ${hex2(d.value)}/${hex2(d.mask)}`;
  },
  parsePrint(s) {
    const sym = s.match(/TOS set(Minimize-Delay|Maximize-Throughput|Maximize-Reliability|Minimize-Cost|Normal-Service)(?=\s|$)/);
    if (sym) return { value: TOS_NAMES.find(([n]) => n === sym[1])![1], mask: SYMBOL_MASK };
    const vm = s.match(/TOS set (0x[0-9a-f]+)\/(0x[0-9a-f]+)(?=\s|$)/);
    if (vm) return { value: parseUnsigned(vm[1]!)! & 0xff, mask: parseUnsigned(vm[2]!)! & 0xff };
    const op = s.match(/TOS (and|or|xor) (0x[0-9a-f]+)(?=\s|$)/);
    if (!op) return undefined;
    const n = parseUnsigned(op[2]!)! & 0xff;
    if (op[1] === "and") return { value: 0, mask: ~n & 0xff };
    return op[1] === "or" ? { value: n, mask: n } : { value: n, mask: 0 };
  },
  apply(d, env, fx) {
    const tos = env.packet.tos;
    fx.rewrite("tos", tos === undefined ? `(tos & ${hex2(~d.mask & 0xff)}) ^ ${hex2(d.value)}` : ((tos & ~d.mask) ^ d.value) & 0xff);
    return { verdict: "CONTINUE" };
  },
};
