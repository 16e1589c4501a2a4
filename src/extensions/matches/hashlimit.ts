/**
 * `-m hashlimit`: a token bucket per flow (per source address, destination port... as
 * `--hashlimit-mode` says), in packets or bytes. Parsed into what the kernel keeps (revision 3:
 * token interval in microseconds, or a byte cost) and printed back from that, the way
 * iptables 1.8.9 does. Whether a flow's bucket has tokens left depends on past traffic.
 *
 * `-L` does not show `--hashlimit-name`, so a rule read back from a listing has no name.
 */
import type { MatchExtension, OptionSpec } from "../types.js";
import { isUnknown, unknown, type RawOption, type Unknown } from "../../model/ast.js";
import { collectOptions, parseUnsigned, underAssumption } from "../util.js";
import { listingPattern } from "../listing-scanner.js";
import { EXHAUSTED, parseRateText, QUIET_NODE, RATE_STATE, rateText } from "./limit.js";

const MODES = ["srcip", "srcport", "dstip", "dstport"] as const;
type Mode = (typeof MODES)[number];

export interface HashlimitData {
  /** `--hashlimit-above` (or `! --hashlimit-upto`): matches when over the rate. */
  above: boolean;
  /** A byte rate (`NNNb/s`): `avg` is then the kernel's per-byte cost. */
  bytes: boolean;
  /** Token interval in 1e-6 s, or the byte cost. */
  avg: number;
  /** Packets, or in byte mode how many rate-quanta (0: none given). */
  burst: number;
  modes: Mode[];
  name: string | Unknown;
  size: number;
  max: number;
  gcInterval: number;
  /** Milliseconds. */
  expire: number;
  srcmask: number;
  dstmask: number;
  rateMatch: boolean;
  interval: number;
}

/** XT_HASHLIMIT_SCALE_v2: one second. */
const SCALE = 1_000_000;
const BYTE_SHIFT = 4;
const U32 = 0xffffffff;
const DEFAULT_BURST = 5;
const BURST_MAX = 1_000_000;
const GC_INTERVAL = 1000;
/** Bucket expiry (s) for byte rates, without and with a burst. */
const BYTE_EXPIRE = 15;
const BYTE_EXPIRE_BURST = 60;
/** NAME_MAX less the NUL. */
const NAME_MAX = 254;

const OPTIONS: readonly OptionSpec[] = [
  { flags: ["--hashlimit-upto", "--hashlimit"], args: 1, negatable: true },
  { flags: ["--hashlimit-above"], args: 1, negatable: true },
  { flags: ["--hashlimit-srcmask"], args: 1 },
  { flags: ["--hashlimit-dstmask"], args: 1 },
  { flags: ["--hashlimit-burst"], args: 1 },
  { flags: ["--hashlimit-htable-size"], args: 1 },
  { flags: ["--hashlimit-htable-max"], args: 1 },
  { flags: ["--hashlimit-htable-gcinterval"], args: 1 },
  { flags: ["--hashlimit-htable-expire"], args: 1 },
  { flags: ["--hashlimit-mode"], args: 1 },
  { flags: ["--hashlimit-name"], args: 1 },
  { flags: ["--hashlimit-rate-match"], args: 0 },
  { flags: ["--hashlimit-rate-interval"], args: 1 },
];

const costToBytes = (cost: number) => ((cost ? Math.floor(U32 / cost) : U32) - 1) * 2 ** BYTE_SHIFT;
const bytesToCost = (bytes: number) => Math.floor(U32 / (Math.floor(bytes / 2 ** BYTE_SHIFT) + 1));
const factor = (c: string | undefined) => (c === "m" ? 1024 * 1024 : c === "k" ? 1024 : 1);
const UNITS: ReadonlyArray<readonly [string, number]> = [["m", 1024 * 1024], ["k", 1024], ["", 1]];

/** `N[k|m]b/s`: the byte cost, or undefined when the text is not a byte rate. */
function parseBytes(text: string): number | "too-high" | undefined {
  const at = text.indexOf("b/s");
  if (at <= 0) return undefined;
  const m = /^\s*\+?(\d+)/.exec(text);
  const r = m ? Number(m[1]) : 0;
  if (r === 0) return undefined;
  const total = r * factor(text[at - 1]);
  if (!Number.isSafeInteger(total)) return "too-high";
  const cost = bytesToCost(total);
  return cost === 0 ? "too-high" : cost;
}

/** The byte rate (and burst) as iptables prints them; returns the default expiry (ms). */
function bytesText(avg: number, burst: number, burstPrefix: string): { text: string; quantum: number } {
  const r = costToBytes(avg);
  const [name, thresh] = UNITS.find(([, t]) => t === 1 || (r >= t && bytesToCost(r - (r % t)) === avg))!;
  let text = ` ${Math.floor(r / thresh)}${name}b/s`;
  if (burst === 0) return { text, quantum: BYTE_EXPIRE * 1000 };
  const total = r * burst;
  const [bname, bthresh] = UNITS.find(([, t]) => total >= t)!;
  text += ` ${burstPrefix}burst ${Math.floor(total / bthresh)}${bname}b`;
  return { text, quantum: BYTE_EXPIRE_BURST * 1000 };
}

function packetRate(period: number): { text: string; quantum: number } {
  const r = rateText(period, SCALE);
  return { text: ` ${r.text}`, quantum: r.unitSeconds * 1000 };
}

/** Both printings share one layout; `save` adds the name and spells options out. */
function render(d: HashlimitData, family: "ipv4" | "ipv6", save: boolean): string {
  const p = save ? "--hashlimit-" : "";
  let s = save ? ` --hashlimit-${d.above ? "above" : "upto"}` : ` limit: ${d.above ? "above" : "up to"}`;
  let quantum: number;
  if (d.bytes) {
    const b = bytesText(d.avg, d.burst, p);
    s += b.text;
    quantum = b.quantum;
  } else {
    const r = packetRate(!save && d.interval ? d.avg * d.interval : d.avg);
    s += `${r.text} ${p}burst ${d.burst}`;
    quantum = r.quantum;
  }
  if (d.modes.length) s += ` ${p}mode ${d.modes.join(save ? "," : "-")}`;
  if (save) s += ` --hashlimit-name ${isUnknown(d.name) ? "?" : d.name}`;
  const htable = save ? "--hashlimit-htable-" : "htable-";
  if (d.size) s += ` ${htable}size ${d.size}`;
  if (d.max) s += ` ${htable}max ${d.max}`;
  if (d.gcInterval !== GC_INTERVAL) s += ` ${htable}gcinterval ${d.gcInterval}`;
  if (d.expire !== quantum) s += ` ${htable}expire ${d.expire}`;
  const full = family === "ipv4" ? 32 : 128;
  if (d.srcmask !== full) s += ` ${p}srcmask ${d.srcmask}`;
  if (d.dstmask !== full) s += ` ${p}dstmask ${d.dstmask}`;
  if (d.rateMatch) s += ` ${p}rate-match`;
  if (d.rateMatch && d.interval !== 1) s += ` ${p}rate-interval ${d.interval}`;
  return s;
}

export const hashlimit: MatchExtension<HashlimitData> = {
  type: "match",
  name: "hashlimit",
  reads: () => ["state"],
  state: RATE_STATE,
  printPrefixes: ["limit: up to", "limit: above"],
  options: OPTIONS,
  parse(options, ctx, span) {
    const o = collectOptions(OPTIONS, options, ctx, "hashlimit");
    const full = ctx.family === "ipv4" ? 32 : 128;
    const d: HashlimitData = {
      above: false, bytes: false, avg: 0, burst: DEFAULT_BURST, modes: [], name: "", size: 0, max: 0, gcInterval: GC_INTERVAL,
      expire: 0, srcmask: full, dstmask: full, rateMatch: o.has("--hashlimit-rate-match"), interval: 0,
    };
    const upto = o.get("--hashlimit-upto");
    const above = o.get("--hashlimit-above");
    if (upto && above) return void ctx.error(above.span, "hashlimit: --hashlimit-above cannot be used together with --hashlimit-upto");
    const rate = upto ?? above;
    if (!rate) return void ctx.error(span, "hashlimit: you have to specify --hashlimit-upto or --hashlimit-above", "--hashlimit-upto RATE");
    d.above = (rate === above) !== rate.negated;
    const bad = (x: RawOption, expected: string) => void ctx.error(x.span, `hashlimit: bad value for ${x.flag}`, expected, x.values[0]);
    const v = rate.values[0] ?? "";
    // Seconds per unit of the rate as written: the default bucket expiry.
    let unitSeconds: number;
    const cost = parseBytes(v);
    if (cost === "too-high") return void ctx.error(rate.span, `hashlimit: rate too high "${v}"`, "a lower byte rate", v);
    if (cost !== undefined) {
      d.bytes = true;
      d.avg = cost;
      unitSeconds = BYTE_EXPIRE;
    } else {
      const r = parseRateText(v);
      if (!r) return bad(rate, "N/sec|/min|/hour|/day or N[k|m]b/s");
      d.avg = Math.floor((SCALE * r.seconds) / r.count);
      if (d.avg === 0) return void ctx.error(rate.span, `hashlimit: rate too fast "${v}"`, "at most 1000000/second", v);
      unitSeconds = r.seconds;
    }
    const burst = o.get("--hashlimit-burst");
    if (burst) {
      // A number as C's strtoul reads it (base 0), then an optional k/m byte factor.
      const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)(.*)$/.exec(burst.values[0] ?? "");
      const n = m ? parseUnsigned(m[1]!, Number.MAX_SAFE_INTEGER) ?? 0 : 0;
      if (!m || n < 1 || (m[2] === "" && n > BURST_MAX)) return bad(burst, `a number 1-${BURST_MAX}, or bytes with k/m`);
      d.burst = n * factor(m[2]![0]);
    }
    for (const [flag, key] of [["--hashlimit-srcmask", "srcmask"], ["--hashlimit-dstmask", "dstmask"]] as const) {
      const x = o.get(flag);
      if (!x) continue;
      const t = x.values[0] ?? "";
      const n = parseUnsigned(t, full);
      if (n === undefined) return bad(x, `a prefix length 0-${full}`);
      d[key] = n;
    }
    for (const [flag, key] of [
      ["--hashlimit-htable-size", "size"], ["--hashlimit-htable-max", "max"], ["--hashlimit-htable-gcinterval", "gcInterval"], ["--hashlimit-htable-expire", "expire"],
    ] as const) {
      const x = o.get(flag);
      if (!x) continue;
      const t = x.values[0] ?? "";
      const n = parseUnsigned(t, U32);
      if (n === undefined) return bad(x, "a number 0-4294967295");
      d[key] = n;
    }
    const mode = o.get("--hashlimit-mode");
    if (mode) {
      const words = (mode.values[0] ?? "").split(/[,|]/).filter((w) => w !== "");
      const wrong = words.find((w) => !(MODES as readonly string[]).includes(w));
      if (wrong !== undefined) return bad(mode, "srcip, srcport, dstip, dstport separated by commas");
      d.modes = MODES.filter((m) => words.includes(m));
    }
    const name = o.get("--hashlimit-name");
    if (!name) return void ctx.error(span, "hashlimit: --hashlimit-name is required", "--hashlimit-name NAME");
    const nv = name.values[0] ?? "";
    if (nv === "" || nv.length > NAME_MAX) return bad(name, `a name of 1-${NAME_MAX} characters`);
    d.name = nv;
    const interval = o.get("--hashlimit-rate-interval");
    if (interval) {
      const m = /^\s*\+?(\d+)/.exec(interval.values[0] ?? "");
      if (!m || Number(m[1]) <= 0 || Number(m[1]) > 0x7fffffff) return bad(interval, "a number of seconds above 0");
      d.interval = Number(m[1]);
    }
    // iptables' final check: default expiry, byte bursts in quanta, rate-match interval.
    if (!o.has("--hashlimit-htable-expire")) d.expire = unitSeconds * 1000;
    if (d.bytes) {
      let quanta = 0;
      if (burst) {
        const q = costToBytes(d.avg);
        if (d.burst < q) return void ctx.error(burst.span, `hashlimit: burst cannot be smaller than ${q}b`, `at least ${q}b`, burst.values[0]);
        quanta = Math.ceil(d.burst / q);
        if (!o.has("--hashlimit-htable-expire")) d.expire = BYTE_EXPIRE_BURST * 1000;
      }
      d.burst = quanta;
    } else if (d.burst > BURST_MAX) return bad(burst!, `a number 1-${BURST_MAX}`);
    if (d.rateMatch) {
      if (!d.bytes) d.avg = Math.floor(d.avg / unitSeconds);
      if (d.interval === 0) d.interval = d.bytes ? 1 : unitSeconds;
    }
    return d;
  },
  save(d, ctx) {
    return render(d, ctx.family, true);
  },
  print(d, ctx) {
    return render(d, ctx.family, false);
  },
  parsePrint(s, ctx) {
    const head = s.match(/limit: (up to|above) (?:(\d+)\/(day|hour|min|sec) burst (\d+)|(\d+)([km]?)b\/s(?: burst (\d+)([km]?)b)?)(?=\s|$)/);
    if (!head) return undefined;
    const full = ctx.family === "ipv4" ? 32 : 128;
    const d: HashlimitData = {
      above: head[1] === "above", bytes: head[5] !== undefined, avg: 0, burst: 0, modes: [], name: unknown("the listing does not show --hashlimit-name"),
      size: 0, max: 0, gcInterval: GC_INTERVAL, expire: 0, srcmask: full, dstmask: full, rateMatch: false, interval: 0,
    };
    let quantum: number;
    if (d.bytes) {
      const cost = parseBytes(`${head[5]}${head[6]}b/s`);
      if (typeof cost !== "number") return undefined;
      d.avg = cost;
      d.burst = head[7] !== undefined ? Math.ceil((Number(head[7]) * factor(head[8])) / costToBytes(cost)) : 0;
      quantum = (d.burst ? BYTE_EXPIRE_BURST : BYTE_EXPIRE) * 1000;
    } else {
      const r = parseRateText(`${head[2]}/${head[3]}`)!;
      d.avg = Math.floor((SCALE * r.seconds) / r.count);
      d.burst = Number(head[4]);
      quantum = r.seconds * 1000;
    }
    d.expire = quantum;
    const mode = s.match(/mode (\S+)(?=\s|$)/);
    if (mode) {
      const words = mode[1]!.split("-");
      if (!words.every((w) => (MODES as readonly string[]).includes(w))) return undefined;
      d.modes = MODES.filter((m) => words.includes(m));
    }
    for (const [word, key] of [["htable-size", "size"], ["htable-max", "max"], ["htable-gcinterval", "gcInterval"], ["htable-expire", "expire"], ["srcmask", "srcmask"], ["dstmask", "dstmask"]] as const) {
      const m = s.match(listingPattern(`${word} (\\d+)(?=\\s|$)`));
      if (m) d[key] = Number(m[1]);
    }
    if (s.literal("rate-match")) {
      d.rateMatch = true;
      const m = s.match(/rate-interval (\d+)(?=\s|$)/);
      d.interval = m ? Number(m[1]) : 1;
      // -L shows the rate over the interval; the kernel keeps it per interval unit.
      if (!d.bytes) d.avg = Math.floor(d.avg / d.interval);
    }
    return d;
  },
  evaluate(d, env) {
    // A flow's bucket is created full when its first packet arrives (a quiet node): `--hashlimit-upto`
    // matches it, `--hashlimit-above` does not.
    return underAssumption(env, RATE_STATE, { matched: !d.above, assuming: QUIET_NODE }, { matched: d.above, assuming: EXHAUSTED });
  },
};
