/**
 * `-m devgroup [!] --src-group G[/MASK] [!] --dst-group G[/MASK]`: the device group of the
 * input / output interface. Printed in hex (`0x1`, `0x2/0xf`); a group without mask that
 * /etc/iproute2/group names is printed by name in save and `-L` (not in `-nL`). Names are
 * Debian's file, written out so output does not depend on the machine netfate runs on
 * (checked with iptables 1.8.9: `--src-group 0` saves as `--src-group default`).
 */
import type { MatchExtension } from "../types.js";
import type { RawOption } from "../../model/ast.js";
import { collectOptions, parseUnsigned } from "../util.js";

export interface GroupTest {
  negated: boolean;
  group: number;
  mask: number;
}

export interface DevgroupData {
  src?: GroupTest;
  dst?: GroupTest;
}

/** Debian 12's /etc/iproute2/group. */
const GROUP_NAMES = new Map<string, number>([["default", 0]]);
const nameOf = (n: number) => [...GROUP_NAMES].find(([, v]) => v === n)?.[0];

const OPTIONS = [
  { flags: ["--src-group"], args: 1, negatable: true },
  { flags: ["--dst-group"], args: 1, negatable: true },
];

function parseGroup(o: RawOption): GroupTest | undefined {
  const v = o.values[0] ?? "";
  // Like xtables_parse_val_mask: a number with optional /mask, or a name without one.
  const named = GROUP_NAMES.get(v);
  if (named !== undefined) return { negated: o.negated, group: named, mask: 0xffffffff };
  const [g, m, extra] = v.split("/");
  if (extra !== undefined) return undefined;
  const group = parseUnsigned(g ?? "");
  const mask = m === undefined ? 0xffffffff : parseUnsigned(m);
  return group === undefined || mask === undefined ? undefined : { negated: o.negated, group, mask };
}

function groupText(t: GroupTest, numeric: boolean): string {
  if (t.mask !== 0xffffffff) return `0x${t.group.toString(16)}/0x${t.mask.toString(16)}`;
  return (numeric ? undefined : nameOf(t.group)) ?? `0x${t.group.toString(16)}`;
}

function show(d: DevgroupData, prefix: string, numeric: boolean): string {
  let s = "";
  for (const [which, t] of [["src", d.src], ["dst", d.dst]] as const) {
    if (t) s += `${t.negated ? " !" : ""} ${prefix}${which}-group ${groupText(t, numeric)}`;
  }
  return s;
}

function readGroup(text: string): { group: number; mask: number } | undefined {
  const named = GROUP_NAMES.get(text);
  if (named !== undefined) return { group: named, mask: 0xffffffff };
  const m = /^0x([0-9a-f]+)(?:\/0x([0-9a-f]+))?$/.exec(text);
  return m ? { group: parseInt(m[1]!, 16), mask: m[2] === undefined ? 0xffffffff : parseInt(m[2], 16) } : undefined;
}

export const devgroup: MatchExtension<DevgroupData> = {
  type: "match",
  name: "devgroup",
  reads: () => [],
  printPrefixes: ["src-group", "! src-group", "dst-group", "! dst-group"],
  options: OPTIONS,
  parse(options, ctx, span) {
    const o = collectOptions(OPTIONS, options, ctx, "devgroup");
    if (o.size === 0) return void ctx.error(span, "devgroup match: You must specify either '--src-group' or '--dst-group'", "--src-group or --dst-group");
    const d: DevgroupData = {};
    for (const [key, which] of [["--src-group", "src"], ["--dst-group", "dst"]] as const) {
      const x = o.get(key);
      if (!x) continue;
      const t = parseGroup(x);
      if (!t) return void ctx.error(x.span, `devgroup: could not map name ${x.values[0]} to an integer value for option "${key}"`, "GROUP[/MASK] as numbers, or a group name", x.values[0]);
      d[which] = t;
    }
    return d;
  },
  save(d) {
    return show(d, "--", false);
  },
  print(d, ctx) {
    return show(d, "", ctx.numeric);
  },
  parsePrint(s) {
    const m = s.match(/(?:(! )?src-group (\S+))?(?: ?(! )?dst-group (\S+))?(?= |$)/);
    if (!m || (m[2] === undefined && m[4] === undefined)) return undefined;
    const d: DevgroupData = {};
    if (m[2] !== undefined) {
      const g = readGroup(m[2]);
      if (!g) return undefined;
      d.src = { negated: m[1] !== undefined, ...g };
    }
    if (m[4] !== undefined) {
      const g = readGroup(m[4]);
      if (!g) return undefined;
      d.dst = { negated: m[3] !== undefined, ...g };
    }
    return d;
  },
  evaluate(d, env) {
    const which = [d.src && `input interface ${env.packet.inIface ?? "(none)"}`, d.dst && `output interface ${env.packet.outIface ?? "(none)"}`].filter(Boolean).join(" and ");
    return { indeterminate: `devgroup: the device group of the ${which} is not known (node facts do not give device groups)` };
  },
};
