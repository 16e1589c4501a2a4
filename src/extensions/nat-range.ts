/** The address/port ranges DNAT, SNAT and friends take: `[IP[-IP]][:PORT[-PORT][/BASE]]`. */
import type { Family, ProtocolMatch } from "../model/ast.js";
import type { Span } from "../model/span.js";
import type { BindContext } from "./types.js";
import { inetPton6, ipToNum, numText } from "../model/address.js";
import { cNumber } from "../model/c-number.js";

export interface NatRange {
  /** Absent when only ports are given (`:5353`). */
  minAddr?: string;
  maxAddr?: string;
  minPort?: number;
  maxPort?: number;
  /** `/BASE` after a port range (DNAT's "shifted" port mapping). */
  base?: number;
}

/**
 * Protocols libxt_NAT accepts ports for (its `portok`, measured on 1.8.9: tcp, udp, sctp,
 * dccp and, oddly, icmp; not udplite, gre, ipv6-icmp). It looks at the number only, not at `!`.
 */
function natPortsAllowed(p: ProtocolMatch | undefined): boolean {
  return p !== undefined && [6, 17, 132, 33, 1].includes(p.number);
}

/**
 * The one check of DNAT, SNAT, MASQUERADE and REDIRECT ports: iptables refuses them without a
 * port protocol, in the same words for each (iptables-restore 1.8.9, both backends, both
 * families; test/unit/extensions-nat.test.ts). False after reporting.
 */
export function natPortsChecked(ctx: BindContext, span: Span, target: string): boolean {
  if (natPortsAllowed(ctx.protocol)) return true;
  ctx.error(span, `${target}: Need TCP, UDP, SCTP or DCCP with port specification`, "-p tcp, udp, sctp or dccp before -j");
  return false;
}

/**
 * The port a NAT port range gives a connection whose port (the one it translates) is `port`:
 * undefined when the connection keeps its own, in the range; else the range's first. The
 * kernel keeps an in-range port whose tuple is free and otherwise tries the range from its
 * start for DNAT and REDIRECT (nf_nat_get_unique_tuple; at random with --random, and always
 * at random for SNAT and MASQUERADE, whose first port then stands for the kernel's pick).
 * Measured in a network namespace: DNAT to :5000-5100 keeps 5050 and turns 7000 into 5000;
 * SNAT to :6000-6100 keeps 6050. A port not given is taken as outside the range.
 */
export function natPort(port: number | undefined, range: { minPort?: number; maxPort?: number }): number | undefined {
  if (range.minPort === undefined) return undefined;
  return port === undefined || port < range.minPort || port > range.maxPort! ? range.minPort : undefined;
}

/**
 * The words for an outcome whose translated port the kernel picks at random (undefined when
 * the port netfate gives is the kernel's: kept, or a destination range's first). The kernel
 * (nf_nat_get_unique_tuple, nf_nat_l4proto_unique_tuple) keeps a source port only without
 * --random/--random-fully (nft: random, fully-random) and inside the range when one is given;
 * any other it takes at random from the range, or without a range from the original port's
 * class: 1–511, 600–1023 or 1024–65535. A destination port changes only within a given range,
 * and at random only under --random. Measured in a network namespace: MASQUERADE
 * --random-fully turned 40000 into 58699 and 1000 into 734; SNAT to :6000-6100 kept 6050 and
 * turned 40000 into 6062 (test/kernel/nat-ports.test.ts). The words name no port of the
 * packet: they hold for every port the rule treats alike (its `reads`).
 */
export function randomPortNote(side: "source" | "destination", port: number | undefined, range: { minPort?: number; maxPort?: number }, random: boolean): string | undefined {
  if (port === undefined) return undefined;
  const { minPort, maxPort } = range;
  if (minPort !== undefined && minPort === maxPort) return undefined;
  const inRange = minPort !== undefined && port >= minPort && port <= maxPort!;
  if (side === "destination" ? !random || minPort === undefined : !random && (minPort === undefined || inRange)) return undefined;
  // Without a range (only a source port, above: kube-proxy's masquerade, every packet it translates) the words are always the same.
  if (minPort === undefined) return SOURCE_CLASS_NOTE;
  return pickNote(side, `${minPort}–${maxPort}`);
}

const pickNote = (side: string, from: string) => `the translated ${side} port is the kernel's random pick from ${from}; the port shown stands for it`;
const SOURCE_CLASS_NOTE = pickNote("source", "the original port's class (1–511, 600–1023 or 1024–65535)");

/** libxt_NAT reads addresses strictly: a plain dotted quad, or IPv6 as inet_pton reads it. */
function canonicalIp(text: string, family: Family): string | undefined {
  // A valid dotted quad (no leading zeros) is its own canonical text.
  if (family === "ipv4") return ipToNum(text, "ipv4") === undefined ? undefined : text;
  const n = inetPton6(text);
  return n ? numText(n) : undefined;
}

/** libxt_NAT reads ports base 0 (`017620` and `0x1f90` are 8080; `08080` is refused), addresses strictly. */
function port(text: string): number | undefined {
  return cNumber(text, 65535);
}

/** Parses a range; returns a message saying what was expected when it is not one. */
export function parseNatRange(text: string, family: Family): NatRange | { error: string } {
  let addrPart: string;
  let portPart: string | undefined;
  if (family === "ipv6" && text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return { error: "[IPv6]:PORT" };
    addrPart = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return { error: "[IPv6]:PORT" };
    portPart = rest === "" ? undefined : rest.slice(1);
  } else if (family === "ipv6") {
    addrPart = text;
  } else {
    const colon = text.indexOf(":");
    addrPart = colon < 0 ? text : text.slice(0, colon);
    portPart = colon < 0 ? undefined : text.slice(colon + 1);
  }
  const r: NatRange = {};
  if (addrPart !== "") {
    const dash = addrPart.indexOf("-");
    const lo = canonicalIp(dash < 0 ? addrPart : addrPart.slice(0, dash), family);
    const hi = dash < 0 ? lo : canonicalIp(addrPart.slice(dash + 1), family);
    if (!lo || !hi) return { error: family === "ipv4" ? "IP[-IP][:PORT[-PORT]]" : "IPv6[-IPv6] or [IPv6[-IPv6]]:PORT[-PORT]" };
    r.minAddr = lo;
    r.maxAddr = hi;
  }
  if (portPart !== undefined) {
    const slash = portPart.indexOf("/");
    const ports = slash < 0 ? portPart : portPart.slice(0, slash);
    const dash = ports.indexOf("-");
    const lo = port(dash < 0 ? ports : ports.slice(0, dash));
    const hi = dash < 0 ? lo : port(ports.slice(dash + 1));
    if (lo === undefined || hi === undefined || hi < lo) return { error: "PORT[-PORT] (numbers, low first)" };
    r.minPort = lo;
    r.maxPort = hi;
    if (slash >= 0) {
      const b = port(portPart.slice(slash + 1));
      if (b === undefined) return { error: "PORT-PORT/BASE" };
      r.base = b;
    }
  }
  if (r.minAddr === undefined && r.minPort === undefined) return { error: "an address or :PORT" };
  return r;
}

/** The text iptables prints for a range, in save and after `to:` in `-L`. */
export function natRangeText(r: NatRange, family: Family): string {
  let s = "";
  if (r.minAddr !== undefined) {
    s = r.minAddr === r.maxAddr ? r.minAddr : `${r.minAddr}-${r.maxAddr}`;
  }
  if (r.minPort !== undefined) {
    const ports = r.minPort === r.maxPort ? `${r.minPort}` : `${r.minPort}-${r.maxPort}`;
    const withBase = r.base !== undefined ? `${ports}/${r.base}` : ports;
    s = family === "ipv6" && r.minAddr !== undefined ? `[${s}]:${withBase}` : `${s}:${withBase}`;
  }
  return s;
}
