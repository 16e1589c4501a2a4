/**
 * `-j TPROXY`: hands the packet to a local socket (a transparent proxy) without rewriting it,
 * and marks it so policy routing delivers it locally. mangle PREROUTING, tcp or udp only.
 */
import type { Family } from "../../model/ast.js";
import type { TargetExtension } from "../types.js";
import { canonicalOf, numText, optionHost } from "../../model/address.js";
import { collectOptions, hex, parsePort, parseUnsigned, parseValueMask } from "../util.js";

export interface TproxyData {
  port: number;
  /** Canonical text; the unspecified address (`0.0.0.0`, `::`) keeps the packet's destination. */
  addr: string;
  markValue: number;
  markMask: number;
}

function anyAddress(family: Family): string {
  return family === "ipv4" ? "0.0.0.0" : "::";
}

export const TPROXY: TargetExtension<TproxyData> = {
  type: "target",
  name: "TPROXY",
  reads: () => ["dport"],
  tables: ["mangle"],
  options: [
    { flags: ["--on-port"], args: 1 },
    { flags: ["--on-ip"], args: 1 },
    { flags: ["--tproxy-mark"], args: 1 },
  ],
  parse(options, ctx, span) {
    const o = collectOptions(TPROXY.options, options, ctx, "TPROXY");
    const onPort = o.get("--on-port");
    if (!onPort) return void ctx.error(span, "TPROXY: --on-port is required", "--on-port PORT");
    // The option parser's port type: getaddrinfo, decimal (`06071` is 6071).
    const port = parsePort(onPort.values[0] ?? "", "decimal");
    if (port === undefined) return void ctx.error(onPort.span, "TPROXY: bad --on-port", "a port 0-65535 or a service name", onPort.values[0]);
    const d: TproxyData = { port, addr: anyAddress(ctx.family), markValue: 0, markMask: 0 };
    const onIp = o.get("--on-ip");
    if (onIp) {
      // The option parser's host type: getaddrinfo, so inet_aton for IPv4 (`0127.0.0.1` is 87.0.0.1).
      const n = optionHost(onIp.values[0] ?? "", ctx.family);
      const a = n === undefined ? undefined : numText(n);
      if (!a) return void ctx.error(onIp.span, "TPROXY: bad --on-ip", `a numeric ${ctx.family === "ipv4" ? "IPv4" : "IPv6"} address`, onIp.values[0]);
      d.addr = a;
    }
    const mark = o.get("--tproxy-mark");
    if (mark) {
      const vm = parseValueMask(mark.values[0] ?? "");
      if (!vm) return void ctx.error(mark.span, "TPROXY: bad --tproxy-mark", "VALUE[/MASK]", mark.values[0]);
      d.markValue = vm.value;
      d.markMask = vm.mask;
    }
    const p = ctx.protocol;
    if (!p || p.negated || (p.number !== 6 && p.number !== 17)) {
      return void ctx.error(span, "TPROXY: can be used only with -p tcp or -p udp (the kernel refuses it otherwise)");
    }
    return d;
  },
  save(d) {
    return ` --on-port ${d.port} --on-ip ${d.addr} --tproxy-mark ${hex(d.markValue)}/${hex(d.markMask)}`;
  },
  print(d) {
    return ` TPROXY redirect ${d.addr}:${d.port} mark ${hex(d.markValue)}/${hex(d.markMask)}`;
  },
  parsePrint(s, ctx) {
    // IPv6 addresses are printed bare before ":PORT", so the port is after the last colon.
    const m = s.match(/TPROXY redirect (\S+):(\d+) mark (0x[0-9a-f]+)\/(0x[0-9a-f]+)(?=\s|$)/);
    if (!m) return undefined;
    const addr = canonicalOf(m[1]!, ctx.family);
    if (!addr) return undefined;
    return { addr, port: Number(m[2]), markValue: parseUnsigned(m[3]!)!, markMask: parseUnsigned(m[4]!)! };
  },
  apply(d, env) {
    const where = `${d.addr === anyAddress(env.packet.family) ? "the packet's destination" : d.addr} port ${d.port || env.packet.dport}`;
    // The kernel marks and accepts the packet only when a socket is found, else drops it.
    return { indeterminate: `TPROXY: whether a transparent socket listens on ${where} is not known` };
  },
};
