/**
 * `-j NFLOG`: hands the packet to a netlink log group (ulogd and the like) and lets it continue.
 *
 * `--nflog-range` has never had an effect and only legacy iptables keeps it: iptables-nft
 * stores NFLOG as an nft `log` statement, which has no place for it, so nft dumps drop it.
 * The binder keeps it (the legacy behaviour); see the reference README.
 */
import { listingPattern, type ListingScanner } from "../listing-scanner.js";
import type { BindContext, TargetExtension } from "../types.js";
import type { RawOption } from "../../model/ast.js";
import { collectOptions, parseUnsigned, quote } from "../util.js";

export interface NflogData {
  group: number;
  /** Empty when none was given. */
  prefix: string;
  /** Bytes to copy (`--nflog-size` when `copyLen`, else the inert `--nflog-range`; 0 = none). */
  len: number;
  copyLen: boolean;
  threshold: number;
}

/** XT_NFLOG_DEFAULT_THRESHOLD: not printed when unchanged. */
const DEFAULT_THRESHOLD = 1;
/** xt_nflog_info.prefix is 64 bytes with its NUL. */
const PREFIX_MAX = 63;

/**
 * Reads a value printed by xtables_save_string: bare when it is only `[A-Za-z0-9_-]`, else
 * double-quoted with `\"`, `\\` and `\'` escaped. Returns undefined if none is there.
 */
export function readSavedString(s: ListingScanner): string | undefined {
  s.skipSpaces();
  const t = s.text;
  let p = s.pos;
  if (t[p] !== '"') {
    const w = s.peekWord();
    if (w === undefined || !/^[A-Za-z0-9_-]+$/.test(w)) return undefined;
    s.word();
    return w;
  }
  let out = "";
  for (p++; p < t.length; p++) {
    const c = t[p]!;
    if (c === "\\" && p + 1 < t.length && `"\\'`.includes(t[p + 1]!)) out += t[++p];
    else if (c === '"') {
      s.pos = p + 1;
      return out;
    } else out += c;
  }
  return undefined;
}

function uint(o: RawOption, ctx: BindContext, max: number): number | undefined {
  const n = parseUnsigned(o.values[0] ?? "", max);
  if (n === undefined) ctx.error(o.span, `NFLOG: bad value for ${o.flag}`, `a number 0-${max}`, o.values[0]);
  return n;
}

function text(d: NflogData, dashes: string): string {
  let s = "";
  if (d.prefix !== "") s += ` ${dashes}nflog-prefix ${quote(d.prefix)}`;
  if (d.group !== 0) s += ` ${dashes}nflog-group ${d.group}`;
  if (d.copyLen) s += ` ${dashes}nflog-size ${d.len}`;
  else if (d.len !== 0) s += ` ${dashes}nflog-range ${d.len}`;
  if (d.threshold !== DEFAULT_THRESHOLD) s += ` ${dashes}nflog-threshold ${d.threshold}`;
  return s;
}

export const NFLOG: TargetExtension<NflogData> = {
  type: "target",
  name: "NFLOG",
  reads: () => [],
  options: [
    { flags: ["--nflog-group"], args: 1 },
    { flags: ["--nflog-prefix"], args: 1 },
    { flags: ["--nflog-range"], args: 1 },
    { flags: ["--nflog-size"], args: 1 },
    { flags: ["--nflog-threshold"], args: 1 },
  ],
  parse(options, ctx) {
    const byFlag = collectOptions(NFLOG.options, options, ctx, "NFLOG");
    const d: NflogData = { group: 0, prefix: "", len: 0, copyLen: false, threshold: DEFAULT_THRESHOLD };
    const range = byFlag.get("--nflog-range");
    const size = byFlag.get("--nflog-size");
    if (range && size) return void ctx.error(size.span, "NFLOG: --nflog-size cannot be combined with --nflog-range");
    for (const o of byFlag.values()) {
      switch (o.flag) {
        case "--nflog-group": {
          const n = uint(o, ctx, 0xffff);
          if (n === undefined) return undefined;
          d.group = n;
          break;
        }
        case "--nflog-threshold": {
          const n = uint(o, ctx, 0xffff);
          if (n === undefined) return undefined;
          d.threshold = n;
          break;
        }
        case "--nflog-range":
        case "--nflog-size": {
          const n = uint(o, ctx, 0xffffffff);
          if (n === undefined) return undefined;
          d.len = n;
          d.copyLen = o.flag === "--nflog-size";
          break;
        }
        case "--nflog-prefix": {
          const p = o.values[0] ?? "";
          if (p === "") return void ctx.error(o.span, "NFLOG: --nflog-prefix must not be empty", "1 to 63 characters");
          if (p.includes("\n")) return void ctx.error(o.span, "NFLOG: newlines not allowed in --nflog-prefix");
          if (p.length > PREFIX_MAX) ctx.warning(o.span, `NFLOG: --nflog-prefix is cut to ${PREFIX_MAX} characters, as iptables does`);
          d.prefix = p.slice(0, PREFIX_MAX);
          break;
        }
      }
    }
    return d;
  },
  save(d) {
    return text(d, "--");
  },
  print(d) {
    return text(d, "");
  },
  parsePrint(s) {
    const d: NflogData = { group: 0, prefix: "", len: 0, copyLen: false, threshold: DEFAULT_THRESHOLD };
    if (s.literal("nflog-prefix")) {
      const p = readSavedString(s);
      if (p === undefined) return undefined;
      d.prefix = p;
    }
    const num = (word: string): number | undefined => {
      const m = s.match(listingPattern(`${word} (\\d+)(?=\\s|$)`));
      return m ? Number(m[1]) : undefined;
    };
    d.group = num("nflog-group") ?? 0;
    const size = num("nflog-size");
    if (size !== undefined) Object.assign(d, { len: size, copyLen: true });
    else d.len = num("nflog-range") ?? 0;
    d.threshold = num("nflog-threshold") ?? DEFAULT_THRESHOLD;
    return d;
  },
  apply(d, _env, fx) {
    fx.log(`${d.prefix}(NFLOG group ${d.group})`);
    return { verdict: "CONTINUE" };
  },
};
