/** `-j CLASSIFY --set-class MAJOR:MINOR`: sets skb->priority, which tc classifies on. */
import type { TargetExtension } from "../types.js";

export interface ClassifyData {
  major: number;
  minor: number;
}

const hex4 = (n: number) => n.toString(16).padStart(4, "0");
const C_SPACE = /[ \t\n\v\f\r]/;
const HEX_DIGIT = /[0-9a-fA-F]/;

/**
 * One half of the class as libxt_CLASSIFY reads it, with C's sscanf("%x:%x"): blanks, a
 * sign, an optional 0x (alone it reads as 0), then any number of hex digits; strtoul clamps
 * past 64 bits and makes "-n" 2^64 - n. TC_H_MAKE keeps the low 16 bits, so that is the value;
 * `fits` says whether that is what was written. Asked of iptables 1.8.9: "10000:1" is 0:1,
 * "-1:1" is ffff:1, "0x:1" is 0:1, "1:2:3" is 1:2, "1 :2" is refused.
 */
function scanHalf(text: string, from: number): { value: number; fits: boolean; end: number } | undefined {
  let i = from;
  while (i < text.length && C_SPACE.test(text[i]!)) i++;
  const negative = text[i] === "-";
  if (text[i] === "+" || text[i] === "-") i++;
  let digits = "";
  if (text[i] === "0" && (text[i + 1] === "x" || text[i + 1] === "X")) {
    digits = "0";
    i += 2;
  }
  const start = i;
  while (i < text.length && HEX_DIGIT.test(text[i]!)) i++;
  digits = (digits + text.slice(start, i)).replace(/^0+(?=.)/, "");
  if (digits === "") return undefined;
  if (digits.length > 16) return { value: 0xffff, fits: false, end: i };
  const low = parseInt(digits.slice(-4), 16);
  const value = negative ? (0x10000 - low) & 0xffff : low;
  return { value, fits: digits.length <= 4 && (!negative || low === 0), end: i };
}

export const CLASSIFY: TargetExtension<ClassifyData> = {
  type: "target",
  name: "CLASSIFY",
  reads: () => [],
  options: [{ flags: ["--set-class"], args: 1 }],
  parse(options, ctx, span) {
    if (options.length > 1) return void ctx.error(options[1]!.span, "CLASSIFY: --set-class given more than once");
    const o = options[0];
    if (!o) return void ctx.error(span, "CLASSIFY: --set-class is required", "--set-class MAJOR:MINOR");
    // Both halves are hexadecimal, whatever they look like (tc's convention).
    const v = o.values[0] ?? "";
    const major = scanHalf(v, 0);
    const minor = major && v[major.end] === ":" ? scanHalf(v, major.end + 1) : undefined;
    if (!major || !minor) return void ctx.error(o.span, "CLASSIFY: bad class value", "MAJOR:MINOR in hexadecimal, each 0-ffff", v);
    const d = { major: major.value, minor: minor.value };
    if (!major.fits || !minor.fits || minor.end < v.length) {
      ctx.warning(o.span, `CLASSIFY: iptables reads ${v} as ${d.major.toString(16)}:${d.minor.toString(16)} (16 bits each, the rest ignored)`);
    }
    return d;
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
