/**
 * `-m owner`: the user, group or mere existence of the local socket that sent the packet.
 * The kernel loads it only in OUTPUT and POSTROUTING. A forwarded packet has no socket, and
 * then the kernel's answer is certain: the match holds exactly when every test in it is
 * negated (`! --uid-owner 33` holds, `--uid-owner 0` and `--socket-exists` fail). For a
 * packet this node sends, which process sent it is not something netfate is told.
 */
import type { MatchExtension, OptionSpec } from "../types.js";
import type { RawOption } from "../../model/ast.js";
import { collectOptions } from "../util.js";

/**
 * An id range, or an account name netfate cannot resolve: iptables asks the host it runs on
 * (`-L` without `-n` prints the host's names, a restore file may use them), and netfate reads
 * dumps away from that host. Such a name is kept as written, never guessed into an id.
 */
type IdRange = { negated: boolean; min: number; max: number } | { negated: boolean; name: string };

export interface OwnerData {
  socketExists?: { negated: boolean };
  uid?: IdRange;
  gid?: IdRange;
  /** `--suppl-groups`: the gid test also looks at the supplementary groups. */
  supplGroups: boolean;
}

/**
 * Account names as `-L` prints them and as iptables accepts them: Debian's base-passwd users
 * and groups, plus uid 1000 `cloudsdk`, the first user on the machine the reference outputs
 * (../shared/reference) were recorded on. iptables asks the machine it runs on, so names
 * beyond these vary from host to host; netfate keeps one table so its output does not.
 */
const USERS = new Map<number, string>([
  [0, "root"], [1, "daemon"], [2, "bin"], [3, "sys"], [4, "sync"], [5, "games"], [6, "man"], [7, "lp"], [8, "mail"],
  [9, "news"], [10, "uucp"], [13, "proxy"], [33, "www-data"], [34, "backup"], [38, "list"], [39, "irc"], [41, "gnats"],
  [1000, "cloudsdk"], [65534, "nobody"],
]);
const GROUPS = new Map<number, string>([
  [0, "root"], [1, "daemon"], [2, "bin"], [3, "sys"], [4, "adm"], [5, "tty"], [6, "disk"], [7, "lp"], [8, "mail"],
  [9, "news"], [10, "uucp"], [12, "man"], [13, "proxy"], [15, "kmem"], [20, "dialout"], [21, "fax"], [22, "voice"],
  [24, "cdrom"], [25, "floppy"], [26, "tape"], [27, "sudo"], [29, "audio"], [30, "dip"], [33, "www-data"], [34, "backup"],
  [37, "operator"], [38, "list"], [39, "irc"], [40, "src"], [41, "gnats"], [42, "shadow"], [43, "utmp"], [44, "video"],
  [45, "sasl"], [46, "plugdev"], [50, "staff"], [60, "games"], [100, "users"], [65534, "nogroup"],
]);

function byName(table: Map<number, string>, name: string): number | undefined {
  for (const [id, n] of table) if (n === name) return id;
  return undefined;
}

/** The largest id iptables takes: -1 is reserved. */
const ID_MAX = 0xfffffffe;

/** `NAME`, `ID` or `ID-ID` (also `ID:ID`), ids in C's base-0 notation as iptables reads them. */
function parseIds(text: string, table: Map<number, string>): { min: number; max: number } | { name: string } | undefined {
  const named = byName(table, text);
  if (named !== undefined) return { min: named, max: named };
  const num = String.raw`(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)`;
  const m = new RegExp(`^${num}(?:[-:]${num})?$`).exec(text);
  // A name as useradd allows one (a letter or _ first); only the host knows its id.
  if (!m) return /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/.test(text) ? { name: text } : undefined;
  const value = (t: string) => (/^0[xX]/.test(t) ? parseInt(t.slice(2), 16) : /^0\d/.test(t) ? parseInt(t, 8) : Number(t));
  const min = value(m[1]!);
  const max = m[2] !== undefined ? value(m[2]) : min;
  return min <= ID_MAX && max <= ID_MAX ? { min, max } : undefined;
}

function idText(r: IdRange, table: Map<number, string>, numeric: boolean): string {
  if ("name" in r) return r.name;
  if (r.min !== r.max) return `${r.min}-${r.max}`;
  return (!numeric && table.get(r.min)) || String(r.min);
}

const OPTIONS: readonly OptionSpec[] = [
  { flags: ["--uid-owner"], args: 1, negatable: true },
  { flags: ["--gid-owner"], args: 1, negatable: true },
  { flags: ["--socket-exists"], args: 0, negatable: true },
  { flags: ["--suppl-groups"], args: 0 },
];

function print(d: OwnerData, labels: readonly [string, string, string, string], numeric: boolean): string {
  const n = (x: { negated: boolean }) => (x.negated ? " !" : "");
  let s = "";
  if (d.socketExists) s += `${n(d.socketExists)} ${labels[0]}`;
  if (d.uid) s += `${n(d.uid)} ${labels[1]} ${idText(d.uid, USERS, numeric)}`;
  if (d.gid) s += `${n(d.gid)} ${labels[2]} ${idText(d.gid, GROUPS, numeric)}`;
  if (d.supplGroups) s += ` ${labels[3]}`;
  return s;
}

export const owner: MatchExtension<OwnerData> = {
  type: "match",
  name: "owner",
  reads: () => [],
  printPrefixes: ["owner ", "! owner "],
  options: OPTIONS,
  parse(options, ctx, span) {
    const o = collectOptions(OPTIONS, options, ctx, "owner");
    const d: OwnerData = { supplGroups: false };
    const ids = (x: RawOption, table: Map<number, string>, what: string) => {
      const r = parseIds(x.values[0] ?? "", table);
      if (!r) ctx.error(x.span, `owner: bad value for ${x.flag}`, `a ${what} name, an id or a range ID-ID (0-${ID_MAX})`, x.values[0]);
      // iptables-restore on the node looks the name up there; netfate cannot, so it says so.
      else if ("name" in r) ctx.warning(x.span, `owner: ${what} ${r.name} is resolved by the node that loads the rules; netfate keeps the name and cannot tell its id`);
      return r && { negated: x.negated, ...r };
    };
    for (const x of options) {
      if (x.flag === "--uid-owner" && !(d.uid = ids(x, USERS, "user"))) return undefined;
      if (x.flag === "--gid-owner" && !(d.gid = ids(x, GROUPS, "group"))) return undefined;
      if (x.flag === "--socket-exists") d.socketExists = { negated: x.negated };
      if (x.flag === "--suppl-groups") {
        if (!d.gid) return void ctx.error(x.span, "owner: --suppl-groups needs --gid-owner first", "--gid-owner before --suppl-groups");
        d.supplGroups = true;
      }
    }
    if (o.size === 0) return void ctx.error(span, "owner: at least one of --uid-owner, --gid-owner or --socket-exists is required", "--uid-owner, --gid-owner or --socket-exists");
    return d;
  },
  save(d) {
    return print(d, ["--socket-exists", "--uid-owner", "--gid-owner", "--suppl-groups"], true);
  },
  print(d, ctx) {
    return print(d, ["owner socket exists", "owner UID match", "owner GID match", "incl. suppl. groups"], ctx.numeric);
  },
  parsePrint(s) {
    const d: OwnerData = { supplGroups: false };
    let any = false;
    for (;;) {
      const m = s.match(/(! )?owner (?:(socket exists)|(UID|GID) match (\S+))(?=\s|$)/);
      if (!m) break;
      const negated = m[1] !== undefined;
      if (m[2]) {
        if (d.socketExists) return undefined;
        d.socketExists = { negated };
      } else {
        const key = m[3] === "UID" ? "uid" : "gid";
        const r = parseIds(m[4]!, key === "uid" ? USERS : GROUPS);
        if (!r || d[key]) return undefined;
        d[key] = { negated, ...r };
      }
      any = true;
    }
    if (d.gid && s.literal("incl. suppl. groups", false)) d.supplGroups = true;
    return any ? d : undefined;
  },
  evaluate(d, env) {
    if (env.hook !== "OUTPUT" && env.hook !== "POSTROUTING") {
      return { indeterminate: `owner in ${env.hook}: the kernel accepts the owner match only in OUTPUT and POSTROUTING, so this ruleset would not load` };
    }
    if (env.packet.inIface !== undefined) {
      // Forwarded: no local socket. The kernel then matches iff every test is negated
      // (its match and invert flag sets are equal); --suppl-groups cannot be negated.
      return !d.supplGroups && [d.socketExists, d.uid, d.gid].every((x) => x === undefined || x.negated);
    }
    const parts = print(d, ["--socket-exists", "--uid-owner", "--gid-owner", "--suppl-groups"], true).trim();
    return { indeterminate: `owner ${parts}: which socket (and user) sent this local packet is not known` };
  },
};
