/**
 * `-j LOG`: writes a kernel log line and lets the packet continue. The line is reproduced
 * in the kernel's `IN= OUT= ... SRC= DST= ...` format so it can be compared with dmesg.
 */
import type { TargetExtension } from "../types.js";
import { collectOptions, parseUnsigned, quote } from "../util.js";

/** What --log-level accepts besides 0-7: exact, lower-case (xtables' syslog level table). */
const LEVEL_NAMES: Readonly<Record<string, number>> = {
  alert: 1, crit: 2, debug: 7, emerg: 0, error: 3, info: 6, notice: 5, panic: 0, warning: 4,
};
/** What `-L` prints for each level (measured: "err", "warn"). */
const SHORT = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"];
/** xt_log_info.prefix is 30 bytes with its NUL; iptables cuts longer prefixes. */
const PREFIX_MAX = 29;
const FLAGS: ReadonlyArray<readonly [string, number, string]> = [
  ["--log-tcp-sequence", 0x01, "tcp-sequence"], ["--log-tcp-options", 0x02, "tcp-options"],
  ["--log-ip-options", 0x04, "ip-options"], ["--log-uid", 0x08, "uid"], ["--log-macdecode", 0x20, "macdecode"],
];

export interface LogData {
  level: number;
  prefix?: string;
  flags: number;
}

export const LOG: TargetExtension<LogData> = {
  type: "target",
  name: "LOG",
  // The log line names the addresses, but only the described trace shows it: the flow memo keeps lean answers only.
  reads: () => [],
  options: [
    { flags: ["--log-level"], args: 1 },
    { flags: ["--log-prefix"], args: 1 },
    ...FLAGS.map(([f]) => ({ flags: [f], args: 0 })),
  ],
  parse(options, ctx) {
    const d: LogData = { level: 4, flags: 0 };
    for (const o of collectOptions(LOG.options, options, ctx, "LOG").values()) {
      if (o.flag === "--log-level") {
        const v = o.values[0] ?? "";
        const n = parseUnsigned(v, 7) ?? (Object.hasOwn(LEVEL_NAMES, v) ? LEVEL_NAMES[v] : undefined);
        if (n === undefined) return void ctx.error(o.span, `LOG: log level "${v}" unknown`, "0-7 or " + Object.keys(LEVEL_NAMES).join(", "), v);
        d.level = n;
      } else if (o.flag === "--log-prefix") {
        const p = o.values[0] ?? "";
        if (p === "") return void ctx.error(o.span, "LOG: --log-prefix must not be empty", "1 to 29 characters");
        if (p.includes("\n")) return void ctx.error(o.span, "LOG: newlines not allowed in --log-prefix");
        if (p.length > PREFIX_MAX) ctx.warning(o.span, `LOG: --log-prefix is cut to ${PREFIX_MAX} characters, as iptables does`);
        d.prefix = p.slice(0, PREFIX_MAX);
      } else {
        d.flags |= FLAGS.find(([f]) => f === o.flag)![1];
      }
    }
    return d;
  },
  save(d) {
    let s = "";
    if (d.prefix !== undefined) s += ` --log-prefix ${quote(d.prefix)}`;
    if (d.level !== 4) s += ` --log-level ${d.level}`;
    for (const [f, bit] of FLAGS) if (d.flags & bit) s += ` ${f}`;
    return s;
  },
  print(d, ctx) {
    if (ctx.numeric) return ` LOG flags ${d.flags} level ${d.level}${d.prefix !== undefined ? ` prefix "${d.prefix}"` : ""}`;
    let s = ` LOG level ${SHORT[d.level]}`;
    for (const [, bit, word] of FLAGS) if (d.flags & bit) s += ` ${word}`;
    if (d.prefix !== undefined) s += ` prefix "${d.prefix}"`;
    return s;
  },
  parsePrint(s) {
    // Old iptables print the numeric form even without -n, so accept both forms.
    const d: LogData = { level: 4, flags: 0 };
    const num = s.match(/LOG flags (\d+) level (\d+)/);
    if (num) {
      d.flags = Number(num[1]);
      d.level = Number(num[2]);
    } else {
      const m = s.match(/LOG level (\w+)/);
      if (!m) return undefined;
      d.level = SHORT.indexOf(m[1]!);
      if (d.level < 0) return undefined;
      for (const [, bit, word] of FLAGS) if (s.literal(word)) d.flags |= bit;
    }
    // The prefix is printed raw between quotes and may itself hold quotes: take the rest.
    const rest = s.rest();
    const p = /^prefix "(.*)"$/.exec(rest);
    if (p) d.prefix = p[1]!;
    return d;
  },
  apply(d, env, fx) {
    const p = env.packet;
    const proto = p.proto === 6 ? "TCP" : p.proto === 17 ? "UDP" : p.proto === 1 ? "ICMP" : p.proto === 58 ? "ICMPv6" : String(p.proto);
    let line = `${d.prefix ?? ""}IN=${p.inIface ?? ""} OUT=${p.outIface ?? ""} SRC=${p.src} DST=${p.dst}`;
    if (p.length !== undefined) line += ` LEN=${p.length}`;
    if (p.ttl !== undefined) line += ` TTL=${p.ttl}`;
    line += ` PROTO=${proto}`;
    if (p.sport !== undefined) line += ` SPT=${p.sport}`;
    if (p.dport !== undefined) line += ` DPT=${p.dport}`;
    if (p.proto === 6 && p.tcpFlags !== undefined) {
      const names: Array<[number, string]> = [[0x20, "URG"], [0x10, "ACK"], [0x08, "PSH"], [0x04, "RST"], [0x02, "SYN"], [0x01, "FIN"]];
      for (const [b, n] of names) if (p.tcpFlags & b) line += ` ${n}`;
    }
    if (p.icmpType !== undefined) line += ` TYPE=${p.icmpType} CODE=${p.icmpCode ?? 0}`;
    if (p.mark) line += ` MARK=0x${p.mark.toString(16)}`;
    fx.log(line);
    return { verdict: "CONTINUE" };
  },
};
