/**
 * `-m string --algo bm|kmp|fsm (--string TEXT | --hex-string TEXT) [--from N] [--to N] [--icase]`:
 * searches the payload for a byte pattern. iptables stores bytes, so a `--hex-string` whose
 * bytes are all printable saves as `--string`, and a pattern with any other byte (or ending
 * in a backslash) saves as `--hex-string "|..|"` in plain hex. The packet model has no payload:
 * evaluation is indeterminate.
 */
import type { BindContext, MatchExtension, OptionSpec } from "../types.js";
import type { RawOption } from "../../model/ast.js";
import { collectOptions } from "../util.js";

export interface StringData {
  negated: boolean;
  /** The pattern's bytes, as the kernel stores them. */
  pattern: number[];
  algo: string;
  from: number;
  to: number;
  icase: boolean;
}

/** XT_STRING_MAX_PATTERN_SIZE. */
const MAX_PATTERN = 128;
/** The kernel's textsearch algorithms; it refuses any other name (ENOENT). */
const ALGOS = ["bm", "kmp", "fsm"];

const OPTIONS: readonly OptionSpec[] = [
  { flags: ["--from"], args: 1 },
  { flags: ["--to"], args: 1 },
  { flags: ["--algo"], args: 1 },
  { flags: ["--string"], args: 1, negatable: true },
  { flags: ["--hex-string"], args: 1, negatable: true },
  { flags: ["--icase"], args: 0 },
];

const isPrint = (b: number) => b >= 0x20 && b <= 0x7e;
const isHexDigit = (b: number) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

/** Whether iptables prints the pattern in hex: a byte that is not printable ASCII, or a trailing backslash. */
function needsHex(p: number[]): boolean {
  return p.some((b) => !isPrint(b)) || p[p.length - 1] === 0x5c;
}

/** The pattern as save and `-L` print it, quotes included. */
export function patternText(p: number[]): string {
  if (needsHex(p)) return `"|${p.map((b) => b.toString(16).padStart(2, "0")).join("")}|"`;
  return `"${String.fromCharCode(...p).replace(/["\\]/g, (c) => "\\" + c)}"`;
}

/**
 * `--hex-string` as iptables reads it: text outside `|...|` is literal (a backslash takes the
 * next character literally), inside it pairs of hex digits, each optionally followed by one
 * space; spaces right after an opening `|` are skipped. Returns the bytes or the tool's error.
 */
export function parseHexString(text: string): number[] | string {
  const s = new TextEncoder().encode(text);
  const n = s.length;
  if (n === 0) return "STRING must contain at least one char";
  const out: number[] = [];
  let hexMode = false;
  let i = 0;
  while (i < n) {
    if (out.length >= MAX_PATTERN) return `STRING too long "${text}"`;
    let literal = false;
    if (s[i] === 0x5c && !hexMode) literal = true;
    else if (s[i] === 0x5c) return "Cannot include literals in hex data";
    else if (s[i] === 0x7c) {
      if (hexMode) hexMode = false;
      else {
        hexMode = true;
        while (s[i + 1] === 0x20) i++;
      }
      if (i + 1 >= n) break;
      i++;
    }
    if (literal) {
      if (i + 1 >= n) return "Bad literal placement at end of string";
      out.push(s[i + 1]!);
      i += 2;
    } else if (hexMode) {
      if (i + 1 >= n) return "Odd number of hex digits";
      if (i + 2 >= n) return "Invalid hex block";
      if (!isHexDigit(s[i]!)) return `Invalid hex char '${String.fromCharCode(s[i]!)}'`;
      if (!isHexDigit(s[i + 1]!)) return `Invalid hex char '${String.fromCharCode(s[i + 1]!)}'`;
      out.push(parseInt(String.fromCharCode(s[i]!, s[i + 1]!), 16));
      i += s[i + 2] === 0x20 ? 3 : 2;
    } else {
      out.push(s[i]!);
      i++;
    }
  }
  return out;
}

function offset(o: RawOption | undefined, ctx: BindContext, fallback: number): number | undefined {
  if (!o) return fallback;
  const v = o.values[0] ?? "";
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!(n <= 65535)) return void ctx.error(o.span, `string: bad value for ${o.flag}`, "a number 0-65535", v);
  return n;
}

export const string: MatchExtension<StringData> = {
  type: "match",
  name: "string",
  printPrefixes: ["STRING match"],
  options: OPTIONS,
  parse(options, ctx, span) {
    const o = collectOptions(OPTIONS, options, ctx, "string");
    const str = o.get("--string");
    const hexStr = o.get("--hex-string");
    if (str && hexStr) return void ctx.error(hexStr.span, "string: --hex-string cannot be used together with --string");
    const given = str ?? hexStr;
    if (!given) return void ctx.error(span, "STRING match: You must specify `--string' or `--hex-string'", "--string TEXT or --hex-string TEXT");
    const algo = o.get("--algo");
    if (!algo) return void ctx.error(span, "string: --algo is required", `--algo ${ALGOS.join("|")}`);
    const algoName = algo.values[0] ?? "";
    // iptables takes any name of up to 15 characters; the kernel loads only these.
    if (!ALGOS.includes(algoName)) return void ctx.error(algo.span, "string: the kernel has no such search algorithm", ALGOS.join(", "), algoName);
    let pattern: number[];
    if (str) {
      const bytes = [...new TextEncoder().encode(str.values[0] ?? "")];
      if (bytes.length > MAX_PATTERN) return void ctx.error(str.span, `STRING too long "${str.values[0]}"`, `at most ${MAX_PATTERN} bytes`);
      pattern = bytes;
    } else {
      const r = parseHexString(hexStr!.values[0] ?? "");
      if (typeof r === "string") return void ctx.error(hexStr!.span, `string: ${r}`, "bytes as |hex pairs| and literal text", hexStr!.values[0]);
      pattern = r;
    }
    // The kernel refuses an empty pattern (EINVAL from both backends, checked with 1.8.9): `--string ""`, `--hex-string "|"`.
    if (pattern.length === 0) return void ctx.error(given.span, "string: the pattern is empty", "at least one byte", given.values[0]);
    const from = offset(o.get("--from"), ctx, 0);
    const to = offset(o.get("--to"), ctx, 65535);
    if (from === undefined || to === undefined) return undefined;
    // The kernel refuses a window that ends before it starts (EINVAL).
    if (from > to) return void ctx.error(o.get("--from")!.span, "string: --from is after --to", `an offset <= ${to}`, String(from));
    return { negated: given.negated, pattern, algo: algoName, from, to, icase: o.has("--icase") };
  },
  save(d) {
    let s = `${d.negated ? " !" : ""} --${needsHex(d.pattern) ? "hex-string" : "string"} ${patternText(d.pattern)} --algo ${d.algo}`;
    if (d.from !== 0) s += ` --from ${d.from}`;
    if (d.to !== 65535) s += ` --to ${d.to}`;
    return d.icase ? s + " --icase" : s;
  },
  print(d) {
    let s = ` STRING match ${d.negated ? "!" : ""} ${patternText(d.pattern)} ALGO name ${d.algo}`;
    if (d.from !== 0) s += ` FROM ${d.from}`;
    if (d.to !== 65535) s += ` TO ${d.to}`;
    return d.icase ? s + " ICASE" : s;
  },
  parsePrint(s) {
    const m = s.match(/STRING match (!?) "((?:[^"\\]|\\.)*)" ALGO name (\S+)(?: FROM (\d+))?(?: TO (\d+))?( ICASE)?(?= |$)/);
    if (!m) return undefined;
    const body = m[2]!;
    const hexBody = /^\|((?:[0-9a-f]{2})+)\|$/.exec(body);
    let pattern: number[] | undefined;
    if (hexBody) {
      const bytes = hexBody[1]!.match(/../g)!.map((h) => parseInt(h, 16));
      // Printable text that happens to look like "|41|" is printed the same way; hex only when it needed to be.
      if (needsHex(bytes)) pattern = bytes;
    }
    pattern ??= [...body.replace(/\\(.)/g, "$1")].map((c) => c.charCodeAt(0));
    return { negated: m[1] === "!", pattern, algo: m[3]!, from: Number(m[4] ?? 0), to: Number(m[5] ?? 65535), icase: m[6] !== undefined };
  },
  evaluate(d) {
    return { indeterminate: `string: whether the payload contains ${patternText(d.pattern)} is not known (the packet is given without payload)` };
  },
};
