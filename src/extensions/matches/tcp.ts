/** `-m tcp` (also loaded by `-p tcp`): ports, flags, `--syn`, `--tcp-option`. */
import type { RawOption } from "../../model/ast.js";
import type { MatchExtension, BindContext, Witness } from "../types.js";
import { listingPattern, type ListingScanner } from "../listing-scanner.js";
import { collectOptions, neg, parsePortRange, parseUnsigned, printPort, savePortRange, type PortDigits, type PortRange } from "../util.js";

export interface NegPortRange extends PortRange {
  negated: boolean;
}

export interface TcpData {
  sport?: NegPortRange;
  dport?: NegPortRange;
  /** `--tcp-flags MASK COMP` (`--syn` is FIN,SYN,RST,ACK SYN); bit values as in the TCP header. */
  flags?: { negated: boolean; mask: number; comp: number };
  option?: { negated: boolean; number: number };
}

export const TCP_FLAG_BITS: ReadonlyArray<readonly [string, number]> = [
  ["FIN", 0x01], ["SYN", 0x02], ["RST", 0x04], ["PSH", 0x08], ["ACK", 0x10], ["URG", 0x20],
];

export function parseTcpFlagList(text: string): number | undefined {
  let v = 0;
  for (const part of text.split(",")) {
    const p = part.toUpperCase();
    if (p === "ALL") v |= 0x3f;
    else if (p === "NONE") continue;
    else {
      const bit = TCP_FLAG_BITS.find(([n]) => n === p);
      if (!bit) return undefined;
      v |= bit[1];
    }
  }
  return v;
}

/** iptables-save spells flag sets out by name, in header order; the empty set is NONE. */
export function tcpFlagListText(v: number): string {
  if (v === 0) return "NONE";
  return TCP_FLAG_BITS.filter(([, b]) => v & b).map(([n]) => n).join(",");
}

export function bindPort(o: RawOption, ctx: BindContext, ext: string, digits: PortDigits): NegPortRange | undefined {
  const r = parsePortRange(o.values[0] ?? "", digits);
  if (!r) {
    ctx.error(o.span, `${ext}: bad port for ${o.flag}`, "a port, a port name or LO:HI", o.values[0]);
    return undefined;
  }
  // Spelled out: a spread here gave each of a dump's 20k port ranges a hidden class of its own.
  return { lo: r.lo, hi: r.hi, negated: o.negated };
}

/**
 * The `--sport`/`--dport` pair tcp, udp and sctp share; false after reporting an error.
 * `reversed`: whether a range LO:HI with LO > HI is refused. iptables 1.8.9 refuses it for tcp
 * and sctp ("invalid portrange (min > max)") but takes it for udp, whose range then matches no
 * port (both backends; test/kernel/restore-refusals.test.ts). `digits`: how its numbers read
 * (base 0 for tcp and sctp, decimal for udp: PortDigits).
 */
export function bindPorts(
  o: Map<string, RawOption>, ctx: BindContext, ext: string, d: { sport?: NegPortRange; dport?: NegPortRange }, reversed: "refuse" | "keep",
  digits: PortDigits,
): boolean {
  for (const k of ["sport", "dport"] as const) {
    const opt = o.get(`--${k}`);
    if (!opt) continue;
    const r = bindPort(opt, ctx, ext, digits);
    if (!r) return false;
    if (reversed === "refuse" && r.lo > r.hi) {
      ctx.error(opt.span, `${ext}: invalid portrange (min > max)`, "LO:HI with LO <= HI", opt.values[0]);
      return false;
    }
    d[k] = r;
  }
  return true;
}

export function printPortField(label: string, r: NegPortRange, numeric: boolean, proto = "tcp"): string {
  const inv = r.negated ? "!" : "";
  if (r.lo === r.hi) return ` ${label}:${inv}${printPort(r.lo, numeric, proto)}`;
  return ` ${label}s:${inv}${printPort(r.lo, numeric, proto)}:${printPort(r.hi, numeric, proto)}`;
}

/** Reads `spt:..`/`spts:..:..` back (names allowed, `!` after the colon). */
export function parsePortField(s: ListingScanner, label: string): NegPortRange | undefined {
  // iptables 1.4.x glued tcp's `flags:` to the field before it (`dpt:9050flags: SYN/SYN`).
  const start = s.pos;
  const m = s.match(listingPattern(`${label}(s?):(!?)([^\\s:]+?)(?::([^\\s:]+?))?(?=\\s|$|flags:)`));
  if (!m) return undefined;
  const lo = parsePortRange(m[3]!);
  const hi = m[4] !== undefined ? parsePortRange(m[4]) : lo;
  if (!lo || !hi) {
    // A service name netfate does not know: leave the text for the caller to report, never skip it.
    s.pos = start;
    return undefined;
  }
  return { lo: lo.lo, hi: hi.hi, negated: m[2] === "!" };
}

/** A port test as tcp/udp/sctp do it: inside [lo, hi], inverted by `!`. */
export function portIn(r: NegPortRange, port: number | undefined): boolean {
  if (port === undefined) return false;
  return (port >= r.lo && port <= r.hi) !== r.negated;
}

/** The port a `--dport` requires, when it is one port and not negated (a chain index key). */
export function exactDport(d: { dport?: NegPortRange }): number | undefined {
  const r = d.dport;
  return r && !r.negated && r.lo === r.hi ? r.lo : undefined;
}

/** What the packet search should try for a `--sport`/`--dport` pair. */
export function portWitnesses(d: { sport?: NegPortRange; dport?: NegPortRange }): Witness[] {
  const out: Witness[] = [];
  if (d.sport) out.push({ kind: "ports", field: "sport", ranges: [d.sport], negated: d.sport.negated });
  if (d.dport) out.push({ kind: "ports", field: "dport", ranges: [d.dport], negated: d.dport.negated });
  return out;
}

export const tcp: MatchExtension<TcpData> = {
  type: "match",
  name: "tcp",
  reads: (d) => (d.sport ? ["sport", "dport"] : ["dport"]),
  implicitForProtocol: true,
  indexDport: exactDport,
  witnesses: portWitnesses,
  printPrefixes: ["tcp"],
  options: [
    { flags: ["--sport", "--source-port"], args: 1, negatable: true },
    { flags: ["--dport", "--destination-port"], args: 1, negatable: true },
    { flags: ["--tcp-flags"], args: 2, negatable: true },
    { flags: ["--syn"], args: 0, negatable: true },
    { flags: ["--tcp-option"], args: 1, negatable: true },
  ],
  parse(options, ctx) {
    const o = collectOptions(this.options, options, ctx, "tcp");
    const d: TcpData = {};
    if (!bindPorts(o, ctx, "tcp", d, "refuse", "base0")) return undefined;
    const syn = o.get("--syn");
    const fl = o.get("--tcp-flags");
    if (syn && fl) {
      ctx.error(syn.span, "tcp: --syn and --tcp-flags cannot both be given");
      return undefined;
    }
    if (syn) d.flags = { negated: syn.negated, mask: 0x17, comp: 0x02 };
    if (fl) {
      const mask = parseTcpFlagList(fl.values[0] ?? "");
      const comp = parseTcpFlagList(fl.values[1] ?? "");
      if (mask === undefined || comp === undefined) {
        ctx.error(fl.span, "tcp: bad --tcp-flags", "comma-separated flags among FIN,SYN,RST,PSH,ACK,URG,ALL,NONE", fl.values.join(" "));
        return undefined;
      }
      d.flags = { negated: fl.negated, mask, comp };
    }
    const op = o.get("--tcp-option");
    if (op) {
      const n = parseUnsigned(op.values[0] ?? "", 255);
      if (n === undefined) {
        ctx.error(op.span, "tcp: bad --tcp-option", "a TCP option number 0-255", op.values[0]);
        return undefined;
      }
      d.option = { negated: op.negated, number: n };
    }
    return d;
  },
  save(d) {
    let s = "";
    if (d.sport) s += `${neg(d.sport)} --sport ${savePortRange(d.sport)}`;
    if (d.dport) s += `${neg(d.dport)} --dport ${savePortRange(d.dport)}`;
    if (d.option) s += `${neg(d.option)} --tcp-option ${d.option.number}`;
    if (d.flags) s += `${neg(d.flags)} --tcp-flags ${tcpFlagListText(d.flags.mask)} ${tcpFlagListText(d.flags.comp)}`;
    return s;
  },
  print(d, ctx) {
    let s = " tcp";
    if (d.sport) s += printPortField("spt", d.sport, ctx.numeric);
    if (d.dport) s += printPortField("dpt", d.dport, ctx.numeric);
    if (d.option) s += ` option=${d.option.negated ? "!" : ""}${d.option.number}`;
    if (d.flags) {
      // -n prints the bits in hex, -L by name.
      const h = (n: number) => (ctx.numeric ? "0x" + n.toString(16).toUpperCase().padStart(2, "0") : tcpFlagListText(n));
      s += ` flags:${d.flags.negated ? "!" : ""}${h(d.flags.mask)}/${h(d.flags.comp)}`;
    }
    return s;
  },
  evaluate(d, env) {
    const p = env.packet;
    // The kernel's tcp match never matches a non-first fragment or another protocol.
    if (p.proto !== 6 || p.fragment) return false;
    if ((d.sport && p.sport === undefined) || (d.dport && p.dport === undefined)) {
      return { indeterminate: `the packet's ${d.sport && p.sport === undefined ? "source" : "destination"} port is not given` };
    }
    if (d.sport && !portIn(d.sport, p.sport)) return false;
    if (d.dport && !portIn(d.dport, p.dport)) return false;
    if (d.flags) {
      if (p.tcpFlags === undefined) return { indeterminate: "the packet's TCP flags are not given" };
      if (((p.tcpFlags & d.flags.mask) === d.flags.comp) === d.flags.negated) return false;
    }
    if (d.option) return { indeterminate: "TCP options are not modelled" };
    return true;
  },
  parsePrint(s) {
    if (!s.match(/tcp(?=\s|$|flags:)/)) return undefined;
    const d: TcpData = {};
    const sp = parsePortField(s, "spt");
    if (sp) d.sport = sp;
    const dp = parsePortField(s, "dpt");
    if (dp) d.dport = dp;
    const op = s.match(/option=(!?)([0-9]+)/);
    if (op) d.option = { negated: op[1] === "!", number: Number(op[2]) };
    // 1.4.x printed a space after `flags:` (and `!`): `flags:! FIN,SYN/SYN`.
    const fl = s.match(/flags:(!?) ?0x([0-9A-Fa-f]{2})\/0x([0-9A-Fa-f]{2})/);
    if (fl) d.flags = { negated: fl[1] === "!", mask: parseInt(fl[2]!, 16), comp: parseInt(fl[3]!, 16) };
    else {
      const named = s.match(/flags:(!?) ?([A-Z,]+)\/([A-Z,]+)/);
      const mask = named ? parseTcpFlagList(named[2]!) : undefined;
      const comp = named ? parseTcpFlagList(named[3]!) : undefined;
      if (named && mask !== undefined && comp !== undefined) d.flags = { negated: named[1] === "!", mask, comp };
    }
    return d;
  },
};
