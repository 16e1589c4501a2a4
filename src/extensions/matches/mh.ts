/**
 * `-m mh [!] --mh-type TYPE[:TYPE]` (IPv6, with `-p mh`): the Mobility Header type. Save
 * prints numbers (`binding-update` → `5`), `-L` names, `-nL` numbers. Checked with
 * ip6tables 1.8.9: the full range 0:255 prints nothing after `-m mh` in save, negated or
 * not (`-L` keeps `!0:255`).
 */
import type { MatchExtension } from "../types.js";
import { parseUnsigned } from "../util.js";

export interface MhData {
  negated: boolean;
  min: number;
  max: number;
}

/** libip6t_mh's names; the first of each type is the one printed. */
const MH_NAMES: ReadonlyArray<readonly [string, number]> = [
  ["binding-refresh-request", 0], ["brr", 0], ["home-test-init", 1], ["hoti", 1],
  ["careof-test-init", 2], ["coti", 2], ["home-test", 3], ["hot", 3], ["careof-test", 4], ["cot", 4],
  ["binding-update", 5], ["bu", 5], ["binding-acknowledgement", 6], ["ba", 6], ["binding-error", 7], ["be", 7],
];

/** A name (any unambiguous-first prefix, case-insensitive, an exact name wins) or a number 0-255. */
function mhType(text: string): number | undefined {
  const t = text.toLowerCase();
  let hit: readonly [string, number] | undefined;
  for (const e of MH_NAMES) if (e[0].startsWith(t) && (hit === undefined || e[0].length === t.length)) hit = e;
  if (hit) return hit[1];
  return parseUnsigned(text, 255);
}

const typeName = (n: number, numeric: boolean) => (numeric ? undefined : MH_NAMES.find(([, v]) => v === n)?.[0]) ?? String(n);

export const mh: MatchExtension<MhData> = {
  type: "match",
  name: "mh",
  reads: () => [],
  families: ["ipv6"],
  printPrefixes: ["mh"],
  options: [{ flags: ["--mh-type"], args: 1, negatable: true }],
  parse(options, ctx, span) {
    const p = ctx.protocol;
    if (!p || p.negated || p.number !== 135) return void ctx.error(options[0]?.span ?? span, "mh: only valid for protocol 135 (`-p mh`)", "-p mh");
    const o = options.find((x) => x.flag === "--mh-type");
    if (!o) return { negated: false, min: 0, max: 255 };
    const v = o.values[0] ?? "";
    const colon = v.indexOf(":");
    const a = colon < 0 ? v : v.slice(0, colon);
    const b = colon < 0 ? v : v.slice(colon + 1);
    const min = colon >= 0 && a === "" ? 0 : mhType(a);
    const max = colon >= 0 && b === "" ? 255 : mhType(b);
    if (min === undefined || max === undefined) return void ctx.error(o.span, `Invalid MH type \`${min === undefined ? a : b}'`, "a type name or 0-255, or a range TYPE:TYPE", v);
    if (min > max) return void ctx.error(o.span, "Invalid MH type range (min > max)", "MIN:MAX with MIN <= MAX", v);
    return { negated: o.negated, min, max };
  },
  save(d) {
    if (d.min === 0 && d.max === 255) return "";
    return `${d.negated ? " !" : ""} --mh-type ${d.min === d.max ? d.min : `${d.min}:${d.max}`}`;
  },
  print(d, ctx) {
    if (d.min === 0 && d.max === 255 && !d.negated) return " mh";
    const range = d.min === d.max ? typeName(d.min, ctx.numeric) : `${typeName(d.min, ctx.numeric)}:${typeName(d.max, ctx.numeric)}`;
    return ` mh ${d.negated ? "!" : ""}${range}`;
  },
  parsePrint(s) {
    const m = s.match(/mh(?: (!?)([a-z0-9-]+)(?::([a-z0-9-]+))?)?(?= |$)/);
    if (!m) return undefined;
    if (m[2] === undefined) return { negated: false, min: 0, max: 255 };
    const min = mhType(m[2]);
    const max = m[3] === undefined ? min : mhType(m[3]);
    return min === undefined || max === undefined ? undefined : { negated: m[1] === "!", min, max };
  },
  evaluate(d, env) {
    const p = env.packet;
    // The kernel never matches a non-first fragment, nor a packet that is not MH.
    if (p.fragment || p.proto !== 135) return false;
    if (d.min === 0 && d.max === 255) return !d.negated;
    return { indeterminate: "mh: the packet's Mobility Header type is not given" };
  },
};
