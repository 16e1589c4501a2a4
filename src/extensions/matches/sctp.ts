/**
 * `-m sctp` (also loaded by `-p sctp`): source and destination ports as tcp/udp take them, and
 * `--chunk-types any|all|only TYPES` with per-chunk flags. The packet model carries no SCTP
 * chunks, so a chunk test is indeterminate unless its answer does not depend on them.
 */
import type { RawOption } from "../../model/ast.js";
import type { BindContext, MatchExtension } from "../types.js";
import type { ListingScanner } from "../listing-scanner.js";
import { collectOptions, neg, parseUnsigned, savePortRange } from "../util.js";
import { bindPorts, parsePortField, portIn, portWitnesses, printPortField, type NegPortRange } from "./tcp.js";

/**
 * The chunk names libxt_sctp knows, in its table order, with the letters of each flag bit from
 * bit 7 down to bit 0 (`-` where the chunk defines none).
 */
const CHUNKS: ReadonlyArray<readonly [name: string, type: number, letters: string]> = [
  ["DATA", 0, "----IUBE"], ["INIT", 1, "--------"], ["INIT_ACK", 2, "--------"], ["SACK", 3, "--------"],
  ["HEARTBEAT", 4, "--------"], ["HEARTBEAT_ACK", 5, "--------"], ["ABORT", 6, "-------T"],
  ["SHUTDOWN", 7, "--------"], ["SHUTDOWN_ACK", 8, "--------"], ["ERROR", 9, "--------"],
  ["COOKIE_ECHO", 10, "--------"], ["COOKIE_ACK", 11, "--------"], ["ECN_ECNE", 12, "--------"],
  ["ECN_CWR", 13, "--------"], ["SHUTDOWN_COMPLETE", 14, "-------T"], ["I_DATA", 64, "----IUBE"],
  ["RE_CONFIG", 130, "--------"], ["PAD", 132, "--------"], ["ASCONF", 193, "--------"],
  ["ASCONF_ACK", 128, "--------"], ["FORWARD_TSN", 192, "--------"], ["I_FORWARD_TSN", 194, "--------"],
];

/** The kernel holds flag tests for at most this many chunk types. */
const MAX_FLAG_CHUNKS = 4;

export interface SctpChunkFlags {
  /**
   * The chunk type the kernel compares: libxt_sctp stores the name's position in its table,
   * which is the type itself for DATA..SHUTDOWN_COMPLETE (0-14) and not for the later ones.
   */
  chunk: number;
  flags: number;
  mask: number;
}

export interface SctpChunkTest {
  negated: boolean;
  match: "any" | "all" | "only";
  /** `ALL`: every one of the 256 types; otherwise the listed types, ascending (empty is `NONE`). */
  all: boolean;
  types: number[];
  flags: SctpChunkFlags[];
}

export interface SctpData {
  sport?: NegPortRange;
  dport?: NegPortRange;
  chunks?: SctpChunkTest;
}

/** One `NAME[:FLAGS]` item; numbers (`0x0001`, as `-nL` prints) only when reading a listing. */
function chunkItem(text: string, t: SctpChunkTest, numbers: boolean): string | undefined {
  const colon = text.indexOf(":");
  const name = colon < 0 ? text : text.slice(0, colon);
  let idx = CHUNKS.findIndex(([n]) => n === name.toUpperCase());
  let type: number | undefined = CHUNKS[idx]?.[1];
  if (idx < 0 && numbers) {
    type = parseUnsigned(name, 255);
    // `-nL` prints flags against the type, with the letters of the table entry at that position.
    if (type !== undefined) idx = type;
  }
  if (type === undefined) return `Unknown sctp chunk \`${name}'`;
  if (!t.types.includes(type)) t.types.push(type);
  if (colon < 0) return undefined;
  const letters = CHUNKS[idx]?.[2];
  for (const c of text.slice(colon + 1)) {
    const at = letters?.indexOf(c.toUpperCase()) ?? -1;
    if (at < 0) return `Invalid flags for chunk type ${idx}`;
    let f = t.flags.find((x) => x.chunk === idx);
    if (!f) {
      if (t.flags.length === MAX_FLAG_CHUNKS) return `Number of chunk types with flags exceeds the limit of ${MAX_FLAG_CHUNKS}`;
      f = { chunk: idx, flags: 0, mask: 0 };
      t.flags.push(f);
    }
    const bit = 1 << (7 - at);
    f.mask |= bit;
    // An upper-case letter asks for the flag set, lower-case (and `-`) for it clear.
    if (c !== c.toLowerCase()) f.flags |= bit;
  }
  return undefined;
}

/** `any|all|only` and `ALL|NONE|NAME[:FLAGS],...`, or what is wrong with them. */
function chunkTest(kind: string, list: string, negated: boolean, numbers: boolean): SctpChunkTest | string {
  const match = kind.toLowerCase();
  if (match !== "any" && match !== "all" && match !== "only") return 'Match type has to be one of "ALL", "ANY" or "ONLY"';
  const t: SctpChunkTest = { negated, match, all: false, types: [], flags: [] };
  if (list.toUpperCase() === "ALL") t.all = true;
  else if (list.toUpperCase() !== "NONE") {
    for (const item of list.split(",")) {
      if (item === "") continue;
      const err = chunkItem(item, t, numbers);
      if (err) return err;
    }
  }
  t.types.sort((a, b) => a - b);
  return t;
}

function bindChunks(o: RawOption, ctx: BindContext): SctpChunkTest | undefined {
  const [kind = "", list = ""] = o.values;
  if (list === "" || list.startsWith("-") || list.startsWith("!")) {
    ctx.error(o.span, "sctp: --chunk-types requires two args", "any|all|only and a chunk list", list);
    return undefined;
  }
  const t = chunkTest(kind, list, o.negated, false);
  if (typeof t === "string") {
    ctx.error(o.span, `sctp: ${t}`, "any|all|only, then ALL, NONE or NAME[:FLAGS],...", o.values.join(" "));
    return undefined;
  }
  return t;
}

function flagText(t: SctpChunkTest, type: number): string {
  const f = t.flags.find((x) => x.chunk === type);
  const letters = CHUNKS[type]?.[2];
  if (!f || !f.mask || !letters) return "";
  let s = ":";
  for (let bit = 7; bit >= 0; bit--) {
    if (!(f.mask & (1 << bit))) continue;
    const c = letters[7 - bit]!;
    s += f.flags & (1 << bit) ? c : c.toLowerCase();
  }
  return s;
}

/** ` any INIT,DATA:Ie` as both printings write it; `-nL` writes types as `0x0001`. */
function chunksText(t: SctpChunkTest, numeric: boolean): string {
  let s = ` ${t.match}`;
  if (t.all) return s + " ALL";
  if (t.types.length === 0) return s + " NONE";
  const name = (type: number) => (numeric ? "0x" + type.toString(16).toUpperCase().padStart(4, "0") : CHUNKS.find(([, n]) => n === type)?.[0] ?? "");
  return s + " " + t.types.map((type) => name(type) + flagText(t, type)).join(",");
}

/**
 * What the kernel's chunk walk answers without looking at the chunks: every packet has at
 * least one, so "any of none" and "only none" fail, "all of none" holds, and with every type
 * listed "any" and "only" hold.
 */
function chunksWithoutChunks(t: SctpChunkTest): boolean | undefined {
  if (t.types.length === 0 && !t.all) return t.match === "all";
  if (t.all && t.match !== "all") return true;
  return undefined;
}

function portsHold(d: SctpData, sport: number | undefined, dport: number | undefined): boolean {
  return (!d.sport || portIn(d.sport, sport)) && (!d.dport || portIn(d.dport, dport));
}

export const sctp: MatchExtension<SctpData> = {
  type: "match",
  name: "sctp",
  reads: (d) => (d.sport ? ["sport", "dport"] : ["dport"]),
  implicitForProtocol: true,
  witnesses: portWitnesses,
  printPrefixes: ["sctp"],
  options: [
    { flags: ["--sport", "--source-port"], args: 1, negatable: true },
    { flags: ["--dport", "--destination-port"], args: 1, negatable: true },
    { flags: ["--chunk-types"], args: 2, negatable: true },
  ],
  parse(options, ctx) {
    const o = collectOptions(this.options, options, ctx, "sctp");
    const d: SctpData = {};
    if (!bindPorts(o, ctx, "sctp", d, "refuse", "base0")) return undefined;
    const ct = o.get("--chunk-types");
    if (ct) {
      const t = bindChunks(ct, ctx);
      if (!t) return undefined;
      d.chunks = t;
    }
    return d;
  },
  save(d) {
    let s = "";
    if (d.sport) s += `${neg(d.sport)} --sport ${savePortRange(d.sport)}`;
    if (d.dport) s += `${neg(d.dport)} --dport ${savePortRange(d.dport)}`;
    if (d.chunks) s += `${neg(d.chunks)} --chunk-types${chunksText(d.chunks, false)}`;
    return s;
  },
  print(d, ctx) {
    let s = " sctp";
    // A port test over the whole range, not inverted, is not printed.
    const shown = (r: NegPortRange) => r.negated || r.lo !== 0 || r.hi !== 65535;
    if (d.sport && shown(d.sport)) s += printPortField("spt", d.sport, ctx.numeric, "sctp");
    if (d.dport && shown(d.dport)) s += printPortField("dpt", d.dport, ctx.numeric, "sctp");
    if (d.chunks) s += `${neg(d.chunks)}${chunksText(d.chunks, ctx.numeric)}`;
    return s;
  },
  evaluate(d, env) {
    const p = env.packet;
    if (p.proto !== 132 || p.fragment) return false;
    if ((d.sport && p.sport === undefined) || (d.dport && p.dport === undefined)) return { indeterminate: "the packet's SCTP ports are not given" };
    if (!portsHold(d, p.sport, p.dport)) return false;
    if (!d.chunks) return true;
    const c = chunksWithoutChunks(d.chunks);
    if (c === undefined) return { indeterminate: `sctp --chunk-types ${d.chunks.match}: the packet's SCTP chunks are not modelled` };
    return c !== d.chunks.negated;
  },
  parsePrint(s: ListingScanner) {
    if (!s.literal("sctp")) return undefined;
    const d: SctpData = {};
    const sp = parsePortField(s, "spt");
    if (sp) d.sport = sp;
    const dp = parsePortField(s, "dpt");
    if (dp) d.dport = dp;
    const m = s.attempt(() => s.match(/(!\s+)?(any|all|only)\s+(\S+)/));
    if (m) {
      const t = chunkTest(m[2]!, m[3]!, m[1] !== undefined, true);
      if (typeof t !== "string") d.chunks = t;
    }
    return d;
  },
};
