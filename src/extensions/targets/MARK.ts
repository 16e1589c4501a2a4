/**
 * `-j MARK`: every form is stored as the kernel does, as an xset: mark = (mark & ~mask) ^ value.
 * `--set-mark X` is X/0xffffffff, `--or-mark X` is X/X, `--and-mark X` is 0/~X, `--xor-mark X` is X/0.
 */
import type { TargetExtension } from "../types.js";
import { hex, parseUnsigned, parseValueMask } from "../util.js";

export interface MarkTargetData {
  value: number;
  mask: number;
}

/** The kernel's xset, shared by MARK and CONNMARK --set-xmark. */
export function applyXmark(current: number, d: MarkTargetData): number {
  return ((current & ~d.mask) ^ d.value) >>> 0;
}

/** `-L` wording for an xset, as libxt_MARK chooses it. */
export function xmarkWords(d: MarkTargetData): string {
  if (d.mask === 0xffffffff) return `set ${hex(d.value)}`;
  if (d.value === 0) return `and ${hex(~d.mask)}`;
  if (d.value === d.mask) return `or ${hex(d.value)}`;
  if (d.mask === 0) return `xor ${hex(d.value)}`;
  return `xset ${hex(d.value)}/${hex(d.mask)}`;
}

export function parseXmarkWords(op: string, arg: string): MarkTargetData | undefined {
  if (op === "xset") {
    const vm = parseValueMask(arg);
    return vm ? { value: vm.value, mask: vm.mask } : undefined;
  }
  const v = parseUnsigned(arg);
  if (v === undefined) return undefined;
  switch (op) {
    case "set": return { value: v, mask: 0xffffffff };
    case "and": return { value: 0, mask: ~v >>> 0 };
    case "or": return { value: v, mask: v };
    case "xor": return { value: v, mask: 0 };
    default: return undefined;
  }
}

export const MARK: TargetExtension<MarkTargetData> = {
  type: "target",
  name: "MARK",
  reads: () => [],
  options: [
    { flags: ["--set-xmark"], args: 1 },
    { flags: ["--set-mark"], args: 1 },
    { flags: ["--and-mark"], args: 1 },
    { flags: ["--or-mark"], args: 1 },
    { flags: ["--xor-mark"], args: 1 },
  ],
  parse(options, ctx, span) {
    if (options.length !== 1) {
      ctx.error(options[1]?.span ?? span, "MARK: exactly one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark is required");
      return undefined;
    }
    const o = options[0]!;
    const text = o.values[0] ?? "";
    const bad = () => {
      ctx.error(o.span, `MARK: bad value for ${o.flag}`, o.flag === "--set-xmark" || o.flag === "--set-mark" ? "VALUE[/MASK]" : "VALUE", text);
      return undefined;
    };
    if (o.flag === "--set-xmark" || o.flag === "--set-mark") {
      const vm = parseValueMask(text);
      if (!vm) return bad();
      // --set-mark V/M means "set the bits of M to V": mask M, value V (xset with value & mask).
      return { value: vm.value, mask: vm.mask };
    }
    const v = parseUnsigned(text);
    if (v === undefined) return bad();
    if (o.flag === "--and-mark") return { value: 0, mask: ~v >>> 0 };
    if (o.flag === "--or-mark") return { value: v, mask: v };
    return { value: v, mask: 0 };
  },
  save(d) {
    return ` --set-xmark ${hex(d.value)}/${hex(d.mask)}`;
  },
  print(d) {
    return ` MARK ${xmarkWords(d)}`;
  },
  apply(d, env, fx) {
    fx.setMark(applyXmark(env.packet.mark, d));
    return { verdict: "CONTINUE" };
  },
  parsePrint(s) {
    const m = s.match(/MARK (set|and|or|xor|xset) (\S+)/);
    if (!m) return undefined;
    return parseXmarkWords(m[1]!, m[2]!);
  },
};
