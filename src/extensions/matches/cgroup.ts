/**
 * `-m cgroup [!] --cgroup CLASSID` or `[!] --path PATH`: the cgroup of the socket that sent
 * the packet. The class id prints in decimal (`0x100001` saves as `1048577`), the path quoted.
 * The kernel refuses both at once (checked with iptables 1.8.9: "Invalid argument").
 */
import type { MatchExtension, OptionSpec } from "../types.js";
import { collectOptions, parseUnsigned } from "../util.js";

export interface CgroupData {
  negated: boolean;
  classid?: number;
  path?: string;
}

const OPTIONS: readonly OptionSpec[] = [
  { flags: ["--cgroup"], args: 1, negatable: true },
  { flags: ["--path"], args: 1, negatable: true },
];

/** xtables_save_string: always double-quoted, `"` and `\` escaped. */
const savedString = (s: string) => `"${s.replace(/["\\]/g, (c) => "\\" + c)}"`;

export const cgroup: MatchExtension<CgroupData> = {
  type: "match",
  name: "cgroup",
  reads: () => [],
  printPrefixes: ["cgroup"],
  options: OPTIONS,
  parse(options, ctx, span) {
    const o = collectOptions(OPTIONS, options, ctx, "cgroup");
    const id = o.get("--cgroup");
    const path = o.get("--path");
    if (id && path) return void ctx.error(path.span, "cgroup: the kernel refuses --path together with --cgroup");
    if (path) {
      const p = path.values[0] ?? "";
      // XT_CGROUP_PATH_MAX, with its NUL.
      if (p.length === 0 || p.length > 4095) return void ctx.error(path.span, "cgroup: bad --path", "a path of 1-4095 bytes", p);
      return { negated: path.negated, path: p };
    }
    if (!id) return void ctx.error(span, "cgroup: --cgroup or --path is required", "--cgroup CLASSID or --path PATH");
    const n = parseUnsigned(id.values[0] ?? "");
    if (n === undefined) return void ctx.error(id.span, "cgroup: bad --cgroup", "a class id 0-4294967295", id.values[0]);
    return { negated: id.negated, classid: n };
  },
  save(d) {
    return `${d.negated ? " !" : ""} ${d.path !== undefined ? `--path ${savedString(d.path)}` : `--cgroup ${d.classid}`}`;
  },
  print(d) {
    return ` cgroup ${d.negated ? "! " : ""}${d.path ?? d.classid}`;
  },
  parsePrint(s) {
    const m = s.match(/cgroup (! )?(\S+)(?= |$)/);
    if (!m) return undefined;
    const negated = m[1] !== undefined;
    return /^[0-9]+$/.test(m[2]!) ? { negated, classid: Number(m[2]) } : { negated, path: m[2]! };
  },
  evaluate(d, env) {
    // The kernel matches only a packet with a full socket; nothing has one before routing,
    // and a forwarded packet never does.
    if (env.hook === "PREROUTING" || env.hook === "FORWARD") return false;
    return { indeterminate: `cgroup: the sending socket's cgroup (${d.path !== undefined ? `path ${d.path}` : `class id ${d.classid}`}) is not known` };
  },
};
