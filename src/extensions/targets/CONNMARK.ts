/**
 * `-j CONNMARK`: sets the connection's mark, or copies it to/from the packet mark through
 * masks. Every spelling is bound the way libxt_CONNMARK revision 2 stores it (the revision
 * this kernel loads): `--set-mark V/M` is the xset V/(V|M), `--and-mark X` is 0/~X, and
 * `--save-mark`/`--restore-mark` carry both masks, all-ones unless given.
 */
import type { RawOption } from "../../model/ast.js";
import type { BindContext, TargetExtension } from "../types.js";
import { hex, parseUnsigned, parseValueMask } from "../util.js";

export type ConnmarkMode = "set" | "save" | "restore";

export interface ConnmarkData {
  mode: ConnmarkMode;
  /** The value XORed into the ctmark (set mode only). */
  ctmark: number;
  ctmask: number;
  nfmask: number;
  shiftDir: "left" | "right";
  /** 0 when no shift was asked for. */
  shiftBits: number;
}

const OPERATIONS = ["--set-xmark", "--set-mark", "--and-mark", "--or-mark", "--xor-mark", "--save-mark", "--restore-mark"];
const ALL_ONES = 0xffffffff;

/**
 * `-L` wording for an xset: libxt_CONNMARK (like libxt_MARK) tests "and" first, so 0/ffffffff
 * reads `and 0x0` and 0/0 reads `and 0xffffffff`.
 */
export function connmarkSetWords(ctmark: number, ctmask: number): string {
  if (ctmark === 0) return `and ${hex(~ctmask)}`;
  if (ctmark === ctmask) return `or ${hex(ctmark)}`;
  if (ctmask === 0) return `xor ${hex(ctmark)}`;
  if (ctmask === ALL_ONES) return `set ${hex(ctmark)}`;
  return `xset ${hex(ctmark)}/${hex(ctmask)}`;
}

function shiftText(d: ConnmarkData, dashes: string): string {
  return d.shiftBits !== 0 ? ` ${dashes}${d.shiftDir}-shift-mark ${d.shiftBits}` : "";
}

function u32(o: RawOption, ctx: BindContext): number | undefined {
  const n = parseUnsigned(o.values[0] ?? "");
  if (n === undefined) ctx.error(o.span, `CONNMARK: bad value for ${o.flag}`, "a number 0-0xffffffff", o.values[0]);
  return n;
}

export const CONNMARK: TargetExtension<ConnmarkData> = {
  type: "target",
  name: "CONNMARK",
  reads: () => [],
  needsConntrack: true,
  options: [
    ...OPERATIONS.map((f) => ({ flags: [f], args: f === "--save-mark" || f === "--restore-mark" ? 0 : 1 })),
    { flags: ["--ctmask"], args: 1 },
    { flags: ["--nfmask"], args: 1 },
    { flags: ["--mask"], args: 1 },
    { flags: ["--left-shift-mark"], args: 1 },
    { flags: ["--right-shift-mark"], args: 1 },
  ],
  parse(options, ctx, span) {
    const d: ConnmarkData = { mode: "set", ctmark: 0, ctmask: ALL_ONES, nfmask: ALL_ONES, shiftDir: "left", shiftBits: 0 };
    let operation: RawOption | undefined;
    let maskOption: RawOption | undefined;
    let ctOrNfmask: RawOption | undefined;
    const seen = new Set<string>();
    // Options apply in order, as libxt_CONNMARK's parser writes them into one struct:
    // a later --ctmask overrides the mask of an earlier --set-xmark.
    for (const o of options) {
      if (seen.has(o.flag)) return void ctx.error(o.span, `CONNMARK: ${o.flag} given more than once`);
      seen.add(o.flag);
      if (OPERATIONS.includes(o.flag)) {
        if (operation) return void ctx.error(o.span, `CONNMARK: ${o.flag} cannot be combined with ${operation.flag}`, "one of " + OPERATIONS.join(", "));
        operation = o;
      }
      switch (o.flag) {
        case "--set-xmark":
        case "--set-mark": {
          const vm = parseValueMask(o.values[0] ?? "");
          if (!vm) return void ctx.error(o.span, `CONNMARK: bad value for ${o.flag}`, "VALUE[/MASK]", o.values[0]);
          d.mode = "set";
          d.ctmark = vm.value;
          d.ctmask = o.flag === "--set-mark" ? (vm.value | vm.mask) >>> 0 : vm.mask;
          break;
        }
        case "--and-mark":
        case "--or-mark":
        case "--xor-mark": {
          const v = u32(o, ctx);
          if (v === undefined) return undefined;
          d.mode = "set";
          if (o.flag === "--and-mark") Object.assign(d, { ctmark: 0, ctmask: ~v >>> 0 });
          else if (o.flag === "--or-mark") Object.assign(d, { ctmark: v, ctmask: v });
          else Object.assign(d, { ctmark: v, ctmask: 0 });
          break;
        }
        case "--save-mark":
          d.mode = "save";
          break;
        case "--restore-mark":
          d.mode = "restore";
          break;
        case "--ctmask":
        case "--nfmask": {
          if (maskOption) return void ctx.error(o.span, `CONNMARK: ${o.flag} cannot be combined with --mask`);
          const v = u32(o, ctx);
          if (v === undefined) return undefined;
          if (o.flag === "--ctmask") d.ctmask = v;
          else d.nfmask = v;
          ctOrNfmask = o;
          break;
        }
        case "--mask": {
          if (ctOrNfmask) return void ctx.error(o.span, `CONNMARK: --mask cannot be combined with ${ctOrNfmask.flag}`);
          const v = u32(o, ctx);
          if (v === undefined) return undefined;
          d.ctmask = v;
          d.nfmask = v;
          maskOption = o;
          break;
        }
        case "--left-shift-mark":
        case "--right-shift-mark": {
          const n = parseUnsigned(o.values[0] ?? "", 32);
          if (n === undefined) return void ctx.error(o.span, `CONNMARK: bad value for ${o.flag}`, "0-31", o.values[0]);
          // iptables takes 32 but the kernel refuses it (measured: RULE_APPEND failed).
          if (n > 31) return void ctx.error(o.span, `CONNMARK: the kernel refuses a shift of ${n}`, "0-31", o.values[0]);
          d.shiftDir = o.flag === "--left-shift-mark" ? "left" : "right";
          d.shiftBits = n;
          break;
        }
      }
    }
    if (!operation) return void ctx.error(span, "CONNMARK target: No operation specified", OPERATIONS.join(", "));
    return d;
  },
  save(d) {
    const body = d.mode === "set"
      ? ` --set-xmark ${hex(d.ctmark)}/${hex(d.ctmask)}`
      : ` --${d.mode}-mark --nfmask ${hex(d.nfmask)} --ctmask ${hex(d.ctmask)}`;
    return body + shiftText(d, "--");
  },
  print(d) {
    let s: string;
    if (d.mode === "set") s = ` CONNMARK ${connmarkSetWords(d.ctmark, d.ctmask)}`;
    else {
      // save copies nfmark → ctmark, restore the other way: each names its source mask first.
      const [first, firstMask, second, secondMask] = d.mode === "save"
        ? (["nfmask", d.nfmask, "ctmask", d.ctmask] as const)
        : (["ctmask", d.ctmask, "nfmask", d.nfmask] as const);
      if (d.nfmask === ALL_ONES && d.ctmask === ALL_ONES) s = ` CONNMARK ${d.mode}`;
      else if (d.nfmask === d.ctmask) s = ` CONNMARK ${d.mode} mask ${hex(d.nfmask)}`;
      else s = ` CONNMARK ${d.mode} ${first} ${hex(firstMask)} ${second} ~${hex(secondMask)}`;
    }
    return s + shiftText(d, "");
  },
  parsePrint(s) {
    if (!s.literal("CONNMARK")) return undefined;
    const d: ConnmarkData = { mode: "set", ctmark: 0, ctmask: ALL_ONES, nfmask: ALL_ONES, shiftDir: "left", shiftBits: 0 };
    const op = s.match(/(and|or|xor|set|xset|save|restore)(?=\s|$)/);
    if (!op) return undefined;
    const HEX = /(0x[0-9a-f]+)(?=\s|$)/;
    switch (op[1]) {
      case "and": case "or": case "xor": case "set": {
        const v = s.match(HEX);
        if (!v) return undefined;
        const n = parseUnsigned(v[1]!)!;
        const [ctmark, ctmask] = op[1] === "and" ? [0, ~n >>> 0] : op[1] === "or" ? [n, n] : op[1] === "xor" ? [n, 0] : [n, ALL_ONES];
        Object.assign(d, { ctmark, ctmask });
        break;
      }
      case "xset": {
        const v = s.match(/(0x[0-9a-f]+)\/(0x[0-9a-f]+)(?=\s|$)/);
        if (!v) return undefined;
        Object.assign(d, { ctmark: parseUnsigned(v[1]!)!, ctmask: parseUnsigned(v[2]!)! });
        break;
      }
      default: {
        d.mode = op[1] as ConnmarkMode;
        const both = s.match(/mask (0x[0-9a-f]+)(?=\s|$)/);
        if (both) {
          d.nfmask = d.ctmask = parseUnsigned(both[1]!)!;
          break;
        }
        const two = s.match(/(nfmask|ctmask) (0x[0-9a-f]+) (nfmask|ctmask) ~(0x[0-9a-f]+)(?=\s|$)/);
        if (two) {
          if (two[1] === two[3]) return undefined;
          d[two[1] as "nfmask"] = parseUnsigned(two[2]!)!;
          d[two[3] as "ctmask"] = parseUnsigned(two[4]!)!;
        }
      }
    }
    const shift = s.match(/(left|right)-shift-mark (\d+)(?=\s|$)/);
    if (shift) {
      d.shiftDir = shift[1] as "left" | "right";
      d.shiftBits = Number(shift[2]);
    }
    return d;
  },
  apply(d, env, fx) {
    const p = env.packet;
    // Without a conntrack entry there is no ctmark to read or write (xt_connmark returns early).
    if (p.ct.state === "UNTRACKED" || p.ct.state === "INVALID") return { verdict: "CONTINUE" };
    const shift = (v: number) => (d.shiftDir === "right" ? v >>> d.shiftBits : v << d.shiftBits) >>> 0;
    switch (d.mode) {
      case "set":
        fx.setCtMark(shift(((p.ct.mark & ~d.ctmask) ^ d.ctmark) >>> 0));
        break;
      case "save":
        fx.setCtMark(((p.ct.mark & ~d.ctmask) ^ shift(p.mark & d.nfmask)) >>> 0);
        break;
      case "restore":
        fx.setMark(((p.mark & ~d.nfmask) ^ shift(p.ct.mark & d.ctmask)) >>> 0);
        break;
    }
    return { verdict: "CONTINUE" };
  },
};
