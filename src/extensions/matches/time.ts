/**
 * `-m time`: day time, weekdays, month days and a date range. iptables stores seconds and
 * bit masks and prints them back in full: `09:00` saves as `09:00:00`, a negated weekday list
 * as the days left, and the default end date always (`--datestop 2038-01-19T03:14:07`, the
 * kernel's INT_MAX). `-L` shows weekdays before month days, save the other way round.
 * Checked with iptables 1.8.9. The time a packet passes is not in the inputs: a rule that
 * restricts the time is indeterminate.
 */
import type { BindContext, MatchExtension, OptionSpec } from "../types.js";
import type { RawOption } from "../../model/ast.js";
import { collectOptions } from "../util.js";

export interface TimeData {
  /** Seconds since midnight. */
  timeStart: number;
  timeStop: number;
  /** Bit i for day i (1-31). */
  monthdays: number;
  /** Bit i for Mon (1) ... Sun (7). */
  weekdays: number;
  /** Seconds since the epoch, UTC. */
  dateStart: number;
  dateStop: number;
  kerneltz: boolean;
  contiguous: boolean;
}

const ALL_MONTHDAYS = 0xfffffffe;
const ALL_WEEKDAYS = 0xfe;
const MAX_DAYTIME = 24 * 3600 - 1;
const INT_MAX = 0x7fffffff;
const WEEK_DAYS = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

const OPTIONS: readonly OptionSpec[] = [
  { flags: ["--datestart"], args: 1 },
  { flags: ["--datestop"], args: 1 },
  { flags: ["--timestart"], args: 1 },
  { flags: ["--timestop"], args: 1 },
  { flags: ["--contiguous"], args: 0 },
  { flags: ["--weekdays"], args: 1, negatable: true },
  { flags: ["--monthdays"], args: 1, negatable: true },
  { flags: ["--localtz"], args: 0 },
  { flags: ["--utc"], args: 0 },
  { flags: ["--kerneltz"], args: 0 },
];

const pad = (n: number) => String(n).padStart(2, "0");

function dayTime(s: number): string {
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

function dateText(secs: number, sep: string): string {
  const t = new Date(secs * 1000);
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}${sep}${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
}

/** YYYY[-MM[-DD[Thh[:mm[:ss]]]]], years 1970-2038, as UTC seconds. */
export function parseDate(text: string): number | undefined {
  const m = /^(\d+)(?:-(\d+)(?:-(\d+)(?:T(\d+)(?::(\d+)(?::(\d+))?)?)?)?)?$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [m[1], m[2] ?? "1", m[3] ?? "1", m[4] ?? "0", m[5] ?? "0", m[6] ?? "0"].map(Number) as [number, number, number, number, number, number];
  if (y < 1970 || y > 2038 || mo > 12 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

/** hh:mm[:ss] as seconds since midnight. */
export function parseDayTime(text: string): number | undefined {
  const m = /^(\d+):(\d+)(?::(\d+))?$/.exec(text);
  if (!m) return undefined;
  const [h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return h > 23 || mi > 59 || s > 59 ? undefined : h * 3600 + mi * 60 + s;
}

/** Weekdays by number (1-7) or by their first two letters (iptables compares only those). */
function parseWeekdays(text: string): number | string {
  let mask = 0;
  for (const day of text.split(",")) {
    if (/^[0-9]+$/.test(day)) {
      const n = Number(day);
      if (n === 0) return "No, the week does NOT begin with Sunday.";
      // iptables shifts a bit by any number; past 7 it is lost in the kernel's 8-bit mask.
      if (n > 7) return `${day} is not a valid day specifier`;
      mask |= 1 << n;
      continue;
    }
    const i = WEEK_DAYS.findIndex((w, k) => k > 0 && day.length >= 2 && w.startsWith(day.slice(0, 2)));
    if (i < 0) return `${day} is not a valid day specifier`;
    mask |= 1 << i;
  }
  return mask;
}

function parseMonthdays(text: string): number | string {
  let mask = 0;
  for (const day of text.split(",")) {
    const n = /^[0-9]+$/.test(day) ? Number(day) : NaN;
    if (!(n <= 31)) return `${day} is not a valid day for --monthdays`;
    mask |= 1 << n;
  }
  return mask >>> 0;
}

function monthdayList(mask: number, ordinal: boolean): string {
  const out: string[] = [];
  const suffix = (i: number) => (i % 10 === 1 ? "st" : i % 10 === 2 ? "nd" : i % 10 === 3 ? "rd" : "th");
  for (let i = 1; i <= 31; i++) if (mask & (1 << i)) out.push(ordinal ? `${i}${suffix(i)}` : String(i));
  return out.join(",");
}

function weekdayList(mask: number): string {
  return WEEK_DAYS.filter((_, i) => i > 0 && mask & (1 << i)).join(",");
}

function field<T>(o: RawOption | undefined, ctx: BindContext, parse: (s: string) => T | undefined | string, expected: string, fallback: T): T | undefined {
  if (!o) return fallback;
  const r = parse(o.values[0] ?? "");
  if (r === undefined || typeof r === "string") return void ctx.error(o.span, `time: ${typeof r === "string" ? r : `bad value for ${o.flag}`}`, expected, o.values[0]);
  return r;
}

export const time: MatchExtension<TimeData> = {
  type: "match",
  name: "time",
  reads: () => ["state"],
  printPrefixes: ["TIME"],
  options: OPTIONS,
  parse(options, ctx) {
    const o = collectOptions(OPTIONS, options, ctx, "time");
    const utc = o.get("--utc");
    const local = o.get("--localtz") ?? o.get("--kerneltz");
    if (utc && local) return void ctx.error(utc.span, `time: --utc cannot be used together with ${local.flag}`);
    const dateStart = field(o.get("--datestart"), ctx, parseDate, "YYYY[-MM[-DD[Thh[:mm[:ss]]]]]", 0);
    const dateStop = field(o.get("--datestop"), ctx, parseDate, "YYYY[-MM[-DD[Thh[:mm[:ss]]]]]", INT_MAX);
    const timeStart = field(o.get("--timestart"), ctx, parseDayTime, "hh:mm[:ss] within 00:00:00-23:59:59", 0);
    const timeStop = field(o.get("--timestop"), ctx, parseDayTime, "hh:mm[:ss] within 00:00:00-23:59:59", MAX_DAYTIME);
    const wd = o.get("--weekdays");
    const weekdays = field(wd, ctx, parseWeekdays, "Mon,Tue,...,Sun or 1-7, comma-separated", ALL_WEEKDAYS);
    const md = o.get("--monthdays");
    const monthdays = field(md, ctx, parseMonthdays, "days 1-31, comma-separated", ALL_MONTHDAYS);
    if (dateStart === undefined || dateStop === undefined || timeStart === undefined || timeStop === undefined || weekdays === undefined || monthdays === undefined) return undefined;
    const contiguous = o.get("--contiguous");
    if (contiguous && timeStart < timeStop) return void ctx.error(contiguous.span, "time: --contiguous only makes sense when stoptime is smaller than starttime");
    if (o.has("--localtz")) ctx.warning(o.get("--localtz")!.span, "time: --localtz is being replaced by --kerneltz");
    return {
      timeStart, timeStop, dateStart, dateStop,
      weekdays: wd?.negated ? weekdays ^ ALL_WEEKDAYS : weekdays,
      monthdays: md?.negated ? (monthdays ^ ALL_MONTHDAYS) >>> 0 : monthdays,
      kerneltz: local !== undefined, contiguous: contiguous !== undefined,
    };
  },
  save(d) {
    let s = "";
    if (d.timeStart !== 0 || d.timeStop !== MAX_DAYTIME) s += ` --timestart ${dayTime(d.timeStart)} --timestop ${dayTime(d.timeStop)}`;
    if (d.monthdays !== ALL_MONTHDAYS) s += ` --monthdays ${monthdayList(d.monthdays, false)}`;
    if (d.weekdays !== ALL_WEEKDAYS) s += ` --weekdays ${weekdayList(d.weekdays)}`;
    // iptables compares the dates with 0 and LONG_MAX, so the default end (INT_MAX) is printed.
    if (d.dateStart !== 0) s += ` --datestart ${dateText(d.dateStart, "T")}`;
    if (d.dateStop !== 0) s += ` --datestop ${dateText(d.dateStop, "T")}`;
    if (d.kerneltz) s += " --kerneltz";
    return d.contiguous ? s + " --contiguous" : s;
  },
  print(d) {
    let s = " TIME";
    if (d.timeStart !== 0 || d.timeStop !== MAX_DAYTIME) s += ` from ${dayTime(d.timeStart)} to ${dayTime(d.timeStop)}`;
    if (d.weekdays !== ALL_WEEKDAYS) s += ` on ${weekdayList(d.weekdays)}`;
    if (d.monthdays !== ALL_MONTHDAYS) s += ` on ${monthdayList(d.monthdays, true)}`;
    if (d.dateStart !== 0) s += ` starting from ${dateText(d.dateStart, " ")}`;
    if (d.dateStop !== INT_MAX) s += ` until date ${dateText(d.dateStop, " ")}`;
    if (!d.kerneltz) s += " UTC";
    return d.contiguous ? s + " contiguous" : s;
  },
  parsePrint(s) {
    const m = s.match(
      /TIME(?: from (\d\d:\d\d:\d\d) to (\d\d:\d\d:\d\d))?(?: on ((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)(?:,(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun))*))?(?: on (\d+(?:st|nd|rd|th)(?:,\d+(?:st|nd|rd|th))*))?(?: starting from (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d))?(?: until date (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d))?( UTC)?( contiguous)?(?= |$)/,
    );
    if (!m) return undefined;
    const date = (t: string | undefined, dflt: number) => (t === undefined ? dflt : parseDate(t.replace(" ", "T")));
    const weekdays = m[3] === undefined ? ALL_WEEKDAYS : parseWeekdays(m[3]);
    const monthdays = m[4] === undefined ? ALL_MONTHDAYS : parseMonthdays(m[4].replace(/st|nd|rd|th/g, ""));
    const d: TimeData = {
      timeStart: m[1] === undefined ? 0 : parseDayTime(m[1])!, timeStop: m[2] === undefined ? MAX_DAYTIME : parseDayTime(m[2])!,
      weekdays: weekdays as number, monthdays: monthdays as number,
      dateStart: date(m[5], 0)!, dateStop: date(m[6], INT_MAX)!, kerneltz: m[7] === undefined, contiguous: m[8] !== undefined,
    };
    return [d.timeStart, d.timeStop, d.dateStart, d.dateStop].some((x) => x === undefined) || typeof weekdays === "string" || typeof monthdays === "string" ? undefined : d;
  },
  evaluate(d) {
    const always = d.timeStart === 0 && d.timeStop === MAX_DAYTIME && d.weekdays === ALL_WEEKDAYS && d.monthdays === ALL_MONTHDAYS && d.dateStart === 0 && d.dateStop === INT_MAX;
    return always ? { matched: true, assuming: "time: the packet passes before 2038-01-19 03:14:07 UTC" } : { indeterminate: "time: when the packet passes is not given" };
  },
};
