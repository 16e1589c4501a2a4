/**
 * `-j SET`: adds the packet's tuple to an ipset, deletes it, or (`--map-set`) copies mark,
 * priority or queue from the set's entry onto the packet. Stored as libxt_SET revision 3.
 */
import type { RawOption } from "../../model/ast.js";
import type { BindContext, TargetExtension } from "../types.js";
import { collectOptions, parseUnsigned } from "../util.js";
import { listingPattern } from "../listing-scanner.js";

export type SetDir = "src" | "dst";

export interface SetRef {
  name: string;
  flags: SetDir[];
}

export interface SetTargetData {
  add?: SetRef;
  del?: SetRef;
  map?: SetRef;
  exist: boolean;
  /** Seconds for added entries; absent: the set's default. */
  timeout?: number;
  mapMark: boolean;
  mapPrio: boolean;
  mapQueue: boolean;
}

/** IPSET_MAXNAMELEN is 32 with the NUL; IPSET_DIM_MAX is 6. */
const NAME_MAX = 31;
const DIM_MAX = 6;

function setRef(o: RawOption, ctx: BindContext): SetRef | undefined {
  const [name = "", dirs = ""] = o.values;
  if (dirs.startsWith("-") || dirs.startsWith("!")) return void ctx.error(o.span, `SET: ${o.flag} requires two args`, "NAME src|dst[,...]", dirs);
  if (name.length > NAME_MAX) return void ctx.error(o.span, `SET: setname \`${name}' too long, max ${NAME_MAX} characters`);
  const flags = dirs.split(",");
  if (flags.length > DIM_MAX) return void ctx.error(o.span, `SET: can't be more src/dst options than ${DIM_MAX}`, undefined, dirs);
  if (flags.some((f) => f !== "src" && f !== "dst")) {
    return void ctx.error(o.span, "SET: you must specify (the comma separated list of) 'src' or 'dst'", "src or dst, comma-separated", dirs);
  }
  return { name, flags: flags as SetDir[] };
}

function refText(word: string, r: SetRef | undefined): string {
  return r ? ` ${word} ${r.name} ${r.flags.join(",")}` : "";
}

function text(d: SetTargetData, dashes: string): string {
  let s = refText(`${dashes}add-set`, d.add);
  if (d.exist) s += ` ${dashes}exist`;
  if (d.timeout !== undefined) s += ` ${dashes}timeout ${d.timeout}`;
  s += refText(`${dashes}del-set`, d.del) + refText(`${dashes}map-set`, d.map);
  if (d.mapMark) s += ` ${dashes}map-mark`;
  if (d.mapPrio) s += ` ${dashes}map-prio`;
  if (d.mapQueue) s += ` ${dashes}map-queue`;
  return s;
}

export const SET: TargetExtension<SetTargetData> = {
  type: "target",
  name: "SET",
  reads: () => ["state"],
  options: [
    { flags: ["--add-set"], args: 2 },
    { flags: ["--del-set"], args: 2 },
    { flags: ["--exist"], args: 0 },
    { flags: ["--timeout"], args: 1 },
    { flags: ["--map-set"], args: 2 },
    { flags: ["--map-mark"], args: 0 },
    { flags: ["--map-prio"], args: 0 },
    { flags: ["--map-queue"], args: 0 },
  ],
  parse(options, ctx, span) {
    const o = collectOptions(SET.options, options, ctx, "SET");
    const d: SetTargetData = { exist: o.has("--exist"), mapMark: o.has("--map-mark"), mapPrio: o.has("--map-prio"), mapQueue: o.has("--map-queue") };
    for (const [flag, key] of [["--add-set", "add"], ["--del-set", "del"], ["--map-set", "map"]] as const) {
      const opt = o.get(flag);
      if (!opt) continue;
      const r = setRef(opt, ctx);
      if (!r) return undefined;
      d[key] = r;
    }
    const timeout = o.get("--timeout");
    if (timeout) {
      const n = parseUnsigned(timeout.values[0] ?? "", 0xfffffffe);
      if (n === undefined) return void ctx.error(timeout.span, "SET: invalid value for option --timeout", "0-4294967294", timeout.values[0]);
      d.timeout = n;
    }
    if (!d.add && !d.del && !d.map) return void ctx.error(span, "SET: you must specify either --add-set, --del-set or --map-set", "--add-set NAME src|dst[,...]");
    if (!d.add) {
      for (const f of ["--exist", "--timeout"]) {
        if (o.has(f)) return void ctx.error(o.get(f)!.span, `SET: ${f} can be used with --add-set only`);
      }
    }
    const mapFlags = ["--map-mark", "--map-prio", "--map-queue"].filter((f) => o.has(f));
    if (!d.map && mapFlags.length) return void ctx.error(o.get(mapFlags[0]!)!.span, `SET: ${mapFlags[0]} can be used with --map-set only`);
    if (d.map && !mapFlags.length) return void ctx.error(o.get("--map-set")!.span, "SET: --map-set needs --map-mark, --map-prio or --map-queue");
    // xt_SET's checkentry: "--map-set only usable from mangle table" (EINVAL at load, 1.8.9).
    if (d.map && ctx.table !== undefined && ctx.table !== "mangle") return void ctx.error(o.get("--map-set")!.span, "SET: --map-set is only valid in the mangle table");
    return d;
  },
  save(d) {
    return text(d, "--");
  },
  print(d) {
    return text(d, "");
  },
  parsePrint(s) {
    const d: SetTargetData = { exist: false, mapMark: false, mapPrio: false, mapQueue: false };
    const ref = (word: string): SetRef | undefined | null => {
      const m = s.match(listingPattern(`${word} (\\S+) ((?:src|dst)(?:,(?:src|dst))*)(?=\\s|$)`));
      return m ? { name: m[1]!, flags: m[2]!.split(",") as SetDir[] } : null;
    };
    const add = ref("add-set");
    if (add) d.add = add;
    d.exist = s.literal("exist");
    const t = s.match(/timeout (\d+)(?=\s|$)/);
    if (t) d.timeout = Number(t[1]);
    const del = ref("del-set");
    if (del) d.del = del;
    const map = ref("map-set");
    if (map) d.map = map;
    d.mapMark = s.literal("map-mark");
    d.mapPrio = s.literal("map-prio");
    d.mapQueue = s.literal("map-queue");
    return d.add || d.del || d.map ? d : undefined;
  },
  apply(d, _env, fx) {
    if (d.add) fx.setAdd(d.add.name, d.add.flags, false);
    if (d.del) fx.setAdd(d.del.name, d.del.flags, true);
    if (d.map) return { indeterminate: `SET --map-set ${d.map.name}: the skbinfo of the set's entries is not modelled` };
    return { verdict: "CONTINUE" };
  },
};
