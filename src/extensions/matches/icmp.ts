/**
 * `-m icmp` (loaded by `-p icmp`) and `-m icmp6` (by `-p ipv6-icmp`): type and code ranges.
 * Type 255 with codes 0-255 is iptables' "any".
 */
import type { MatchExtension, BindContext, Witness } from "../types.js";
import type { RawOption } from "../../model/ast.js";
import type { Family } from "../../model/ast.js";
import { icmpTypeNames } from "../../model/icmp-names.js";
import { listingPattern, type ListingScanner } from "../listing-scanner.js";
import { parseUnsigned } from "../util.js";

export interface IcmpData {
  negated: boolean;
  type: number;
  codeMin: number;
  codeMax: number;
}

function parseType(o: RawOption | undefined, ctx: BindContext, name: string): IcmpData | undefined {
  if (!o) return { negated: false, type: 255, codeMin: 0, codeMax: 255 };
  const v = o.values[0] ?? "";
  if (v === "any") return { negated: o.negated, type: 255, codeMin: 0, codeMax: 255 };
  // TYPE[/CODE], each base 0 (`010` is 8, echo-request; `08` is refused).
  const m = /^([0-9][0-9a-fA-FxX]*)(?:\/([0-9][0-9a-fA-FxX]*))?$/.exec(v);
  if (m) {
    const t = parseUnsigned(m[1]!, 0xffffffff);
    const c = m[2] !== undefined ? parseUnsigned(m[2], 0xffffffff) : undefined;
    if (t === undefined || (m[2] !== undefined && c === undefined)) return void ctx.error(o.span, `${name}: unknown type`, "a type name, N or N/CODE", v);
    if (t > 255 || (c !== undefined && c > 255)) return void ctx.error(o.span, `${name}: type or code out of range`, "0-255", v);
    return { negated: o.negated, type: t, codeMin: c ?? 0, codeMax: c ?? 255 };
  }
  const hit = icmpTypeNames(ctx.family).find(([n]) => n.toLowerCase() === v.toLowerCase());
  if (!hit) return void ctx.error(o.span, `${name}: unknown type`, "a type name, N or N/CODE", v);
  return { negated: o.negated, type: hit[1], codeMin: hit[2] ?? 0, codeMax: hit[2] ?? 255 };
}

function saveText(d: IcmpData, flag: string): string {
  const any = d.type === 255 && d.codeMin === 0 && d.codeMax === 255;
  const v = any ? "any" : d.codeMin === 0 && d.codeMax === 255 ? `${d.type}` : `${d.type}/${d.codeMin}`;
  return `${d.negated ? " !" : ""} ${flag} ${v}`;
}

/** `-L` names the type when it can; `-n` prints "type N code C" glued to the match name, as iptables does. */
function printText(d: IcmpData, family: Family, numeric: boolean, word: string): string {
  if (!numeric) {
    const any = d.type === 255 && d.codeMin === 0 && d.codeMax === 255;
    const hit = any ? ["any"] : icmpTypeNames(family).find(([, t, c]) => t === d.type && (c === undefined ? d.codeMin === 0 && d.codeMax === 255 : d.codeMin === c && d.codeMax === c));
    if (hit) return ` ${word} ${d.negated ? "!" : ""}${hit[0]}`;
  }
  let s = ` ${word}${d.negated ? " !" : ""}type ${d.type}`;
  if (d.codeMin === d.codeMax) s += ` code ${d.codeMin}`;
  else if (d.codeMin !== 0 || d.codeMax !== 255) s += ` codes ${d.codeMin}-${d.codeMax}`;
  return s;
}

function readPrint(s: ListingScanner, word: string, family: Family): IcmpData | undefined {
  const num = s.match(listingPattern(`${word}(?: (!))?type (\\d+)(?: code (\\d+)| codes (\\d+)-(\\d+))?`));
  if (num) {
    const t = Number(num[2]);
    const lo = num[3] ?? num[4];
    const hi = num[3] ?? num[5];
    return { negated: num[1] === "!", type: t, codeMin: lo !== undefined ? Number(lo) : 0, codeMax: hi !== undefined ? Number(hi) : 255 };
  }
  const named = s.match(listingPattern(`${word} (!?)([A-Za-z-]+)`));
  if (!named) return undefined;
  if (named[2] === "any") return { negated: named[1] === "!", type: 255, codeMin: 0, codeMax: 255 };
  const hit = icmpTypeNames(family).find(([n]) => n === named[2]);
  if (!hit) return undefined;
  return { negated: named[1] === "!", type: hit[1], codeMin: hit[2] ?? 0, codeMax: hit[2] ?? 255 };
}

function matches(d: IcmpData, type: number | undefined, code: number | undefined): boolean | { indeterminate: string } {
  if (d.type === 255 && d.codeMin === 0 && d.codeMax === 255) return !d.negated;
  if (type === undefined) return { indeterminate: "the packet's ICMP type is not given" };
  const hit = type === d.type && (code ?? 0) >= d.codeMin && (code ?? 0) <= d.codeMax;
  return hit !== d.negated;
}

/** The packets to try: of the protocol, with the type (unless negated), and the type after it. */
function witnesses(d: IcmpData, proto: number): Witness[] {
  if (d.type === 255) return [];
  return [{ kind: "fields", want: d.negated ? { proto } : { proto, icmpType: d.type }, tries: [{ icmpType: d.type }, { icmpType: (d.type + 1) & 255 }] }];
}

export const icmp: MatchExtension<IcmpData> = {
  type: "match",
  name: "icmp",
  reads: () => [],
  families: ["ipv4"],
  implicitForProtocol: true,
  implicitProtocol: 1,
  printPrefixes: ["icmp"],
  options: [{ flags: ["--icmp-type"], args: 1, negatable: true }],
  parse(options, ctx) {
    return parseType(options.find((o) => o.flag === "--icmp-type"), ctx, "icmp");
  },
  save: (d) => saveText(d, "--icmp-type"),
  print: (d, ctx) => printText(d, "ipv4", ctx.numeric, "icmp"),
  parsePrint: (s) => readPrint(s, "icmp", "ipv4"),
  witnesses: (d) => witnesses(d, 1),
  evaluate(d, env) {
    const p = env.packet;
    if (p.proto !== 1 || p.fragment) return false;
    return matches(d, p.icmpType, p.icmpCode);
  },
};

export const icmp6: MatchExtension<IcmpData> = {
  type: "match",
  name: "icmp6",
  reads: () => [],
  aliases: ["ipv6-icmp", "icmpv6"],
  families: ["ipv6"],
  implicitForProtocol: true,
  implicitProtocol: 58,
  printPrefixes: ["ipv6-icmp"],
  options: [{ flags: ["--icmpv6-type"], args: 1, negatable: true }],
  parse(options, ctx) {
    return parseType(options.find((o) => o.flag === "--icmpv6-type"), ctx, "icmp6");
  },
  save: (d) => saveText(d, "--icmpv6-type"),
  print: (d, ctx) => printText(d, "ipv6", ctx.numeric, "ipv6-icmp"),
  parsePrint: (s) => readPrint(s, "ipv6-icmp", "ipv6"),
  witnesses: (d) => witnesses(d, 58),
  evaluate(d, env) {
    const p = env.packet;
    if (p.proto !== 58 || p.fragment) return false;
    return matches(d, p.icmpType, p.icmpCode);
  },
};
