/**
 * Node facts from what users have: netfate's node.json, `ip -j addr`, `ip -j route` (JSON),
 * `ip route` text, `sysctl` output, and the CLI shortcuts (--iface NAME=CIDR, --local-addr,
 * --route). Each problem is a located diagnostic; several inputs merge into one NodeFacts.
 */
import type { Family } from "../model/ast.js";
import { DiagnosticSink } from "../model/diagnostics.js";
import type { FactAddress, FactInterface, FactRoute, FactTunnel, NodeFacts } from "./model.js";
import { parseRouteLine } from "./route-line.js";
import { appendAll } from "../append-all.js";

function cidr(text: string): FactAddress | undefined {
  const m = /^([0-9a-fA-F:.]+)(?:\/(\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const family: Family = m[1]!.includes(":") ? "ipv6" : "ipv4";
  const max = family === "ipv4" ? 32 : 128;
  const len = m[2] === undefined ? max : Number(m[2]);
  if (len > max) return undefined;
  if (family === "ipv4" && !/^\d{1,3}(\.\d{1,3}){3}$/.test(m[1]!)) return undefined;
  return { address: m[1]!.toLowerCase(), prefixLength: len, family };
}

function iface(facts: NodeFacts, name: string): FactInterface {
  let i = facts.interfaces.find((x) => x.name === name);
  if (!i) {
    i = { name, addrs: [] };
    facts.interfaces.push(i);
  }
  return i;
}

/** Line of a JSON value's key in the text, for diagnostics about JSON inputs. */
function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  return at < 0 ? 1 : text.slice(0, at).split("\n").length;
}

export function addRouteLine(facts: NodeFacts, line: string, sink: DiagnosticSink, lineNo: number, colBase = 1): void {
  const r = parseRouteLine(line);
  if (!r.ok) sink.error({ line: lineNo, col: colBase + r.col - 1, len: 0 }, r.error);
  else facts.routes.push(r.route);
}

function readNodeJson(o: Record<string, unknown>, text: string, facts: NodeFacts, sink: DiagnosticSink): void {
  const known = new Set(["interfaces", "routes", "sysctl"]);
  for (const k of Object.keys(o)) if (!known.has(k)) sink.error({ line: lineOf(text, `"${k}"`), col: 1, len: 0 }, `unknown key ${JSON.stringify(k)} in node.json`, "interfaces, routes, sysctl");
  for (const raw of (o.interfaces as unknown[]) ?? []) {
    const x = raw as Record<string, unknown>;
    if (typeof x?.name !== "string") {
      sink.error({ line: lineOf(text, '"interfaces"'), col: 1, len: 0 }, "an interface needs a name");
      continue;
    }
    const i = iface(facts, x.name);
    for (const a of (x.addrs as unknown[]) ?? []) {
      const c = typeof a === "string" ? cidr(a) : undefined;
      if (!c) sink.error({ line: lineOf(text, JSON.stringify(a)), col: 1, len: 0 }, `bad address ${JSON.stringify(a)} of ${x.name}`, "ADDR/LEN");
      else i.addrs.push(c);
    }
    if (typeof x.kind === "string") i.kind = x.kind;
    if (typeof x.mac === "string") i.mac = x.mac;
    const t = x.vxlan ?? x.ipip;
    if (x.kind === "vxlan" || x.vxlan) {
      const v = (x.vxlan ?? {}) as { port?: number; peers?: Record<string, string> };
      const tun: FactTunnel = { kind: "vxlan" };
      if (v.port !== undefined) tun.port = v.port;
      if (v.peers) tun.peers = v.peers;
      i.tunnel = tun;
    } else if (x.kind === "ipip" || t) i.tunnel = { kind: "ipip" };
  }
  for (const r of (o.routes as unknown[]) ?? []) {
    if (typeof r !== "string") {
      sink.error({ line: lineOf(text, '"routes"'), col: 1, len: 0 }, "a route is an `ip route` line (a string)");
      continue;
    }
    addRouteLine(facts, r, sink, lineOf(text, JSON.stringify(r)));
  }
  for (const [k, v] of Object.entries((o.sysctl as Record<string, unknown>) ?? {})) facts.sysctl[k] = String(v);
}

function readIpAddrJson(list: unknown[], facts: NodeFacts): void {
  for (const raw of list) {
    const x = raw as { ifname?: string; addr_info?: Array<{ family?: string; local?: string; prefixlen?: number; scope?: string }>; address?: string; linkinfo?: { info_kind?: string; info_data?: { port?: number } } };
    if (!x.ifname) continue;
    const i = iface(facts, x.ifname);
    if (x.address) i.mac = x.address;
    for (const a of x.addr_info ?? []) {
      if (!a.local || a.prefixlen === undefined) continue;
      const fa: FactAddress = { address: a.local, prefixLength: a.prefixlen, family: a.family === "inet6" ? "ipv6" : "ipv4" };
      if (a.scope === "host" || a.scope === "link" || a.scope === "global" || a.scope === "site") fa.scope = a.scope;
      i.addrs.push(fa);
    }
    const kind = x.linkinfo?.info_kind;
    if (kind) i.kind = kind;
    if (kind === "vxlan") i.tunnel = { kind: "vxlan", ...(x.linkinfo?.info_data?.port ? { port: x.linkinfo.info_data.port } : {}) };
    if (kind === "ipip") i.tunnel = { kind: "ipip" };
  }
}

function readIpRouteJson(list: unknown[], facts: NodeFacts, sink: DiagnosticSink, text: string): void {
  for (const raw of list) {
    const x = raw as { type?: string; dst?: string; gateway?: string; dev?: string; prefsrc?: string; metric?: number; scope?: string; protocol?: string; flags?: string[]; table?: string };
    if (!x.dst) continue;
    const line = [x.type && x.type !== "unicast" ? x.type : "", x.dst, x.gateway ? `via ${x.gateway}` : "", x.dev ? `dev ${x.dev}` : "", x.prefsrc ? `src ${x.prefsrc}` : "", x.metric !== undefined ? `metric ${x.metric}` : "", x.table ? `table ${x.table}` : "", ...(x.flags ?? []).filter((f) => f === "onlink")].filter(Boolean).join(" ");
    addRouteLine(facts, line, sink, lineOf(text, `"${x.dst}"`));
  }
}

export type FactsFormat = "node-json" | "ip-addr-json" | "ip-route-json" | "ip-route" | "route-n" | "sysctl" | "ip-addr";

/**
 * `ip addr` / `ip a` text: `N: NAME[@PEER]: <FLAGS> ...` headers, then `link/ether MAC`,
 * `inet ADDR/LEN ... scope S`, `inet6 ...`, and with `-d` the link kind (`vxlan id 1 ...`).
 */
function readIpAddr(text: string, facts: NodeFacts, sink: DiagnosticSink): void {
  let current: FactInterface | undefined;
  text.split("\n").forEach((raw, k) => {
    const l = raw.trim();
    if (!l) return;
    const head = /^\d+:\s+([^:@\s]+)(?:@\S+)?:\s+</.exec(l);
    if (head) {
      current = iface(facts, head[1]!);
      return;
    }
    if (!current) {
      sink.error({ line: k + 1, col: 1, len: l.length }, "ip addr line before any interface header", "N: NAME: <FLAGS> ...", l.slice(0, 40));
      return;
    }
    const inet = /^(inet6?)\s+(\S+)(?:.*\bscope\s+(\S+))?/.exec(l);
    if (inet) {
      const c = cidr(inet[2]!);
      if (!c) {
        sink.error({ line: k + 1, col: raw.indexOf(inet[2]!) + 1, len: inet[2]!.length }, "bad address", "ADDR/LEN", inet[2]);
        return;
      }
      const sc = inet[3];
      if (sc === "host" || sc === "link" || sc === "global" || sc === "site") c.scope = sc;
      current.addrs.push(c);
      return;
    }
    const link = /^link\/(\S+)\s+(\S+)/.exec(l);
    if (link) {
      if (link[1] === "ether") current.mac = link[2]!.toLowerCase();
      return;
    }
    const vx = /^vxlan id \d+.*?\bdstport (\d+)/.exec(l);
    if (vx) {
      current.kind = "vxlan";
      current.tunnel = { kind: "vxlan", port: Number(vx[1]) };
      return;
    }
    if (/^ipip /.test(l)) {
      current.kind = "ipip";
      current.tunnel = { kind: "ipip" };
    }
    // valid_lft lines, altname, and the like carry nothing routing needs.
  });
}

/**
 * `route -n` (net-tools): Destination Gateway Genmask Flags Metric Ref Use Iface. A gateway
 * of 0.0.0.0 means on-link; flag `!` is a reject (unreachable) route.
 */
function readRouteN(text: string, facts: NodeFacts, sink: DiagnosticSink): void {
  const lines = text.split("\n");
  lines.forEach((raw, k) => {
    const l = raw.trim();
    if (!l) return;
    const header = /^(Kernel IP routing table|Destination\s+Gateway\s+Genmask\s+Flags\s+Metric\s+Ref\s+Use\s+Iface)/.exec(l);
    if (header) {
      if (l.length > header[0].length) {
        // A web page glued the table's lines together: say where, guess nothing.
        sink.error({ line: k + 1, col: raw.indexOf(l) + header[0].length + 1, len: 0 }, "text after the route -n header: lines glued together?", "one route per line", l.slice(header[0].length, header[0].length + 30).trim());
      }
      return;
    }
    const w = l.split(/\s+/);
    const col = (i: number) => raw.indexOf(w[i]!) + 1;
    if (w.length < 8) {
      sink.error({ line: k + 1, col: 1, len: l.length }, "route -n line with too few columns", "Destination Gateway Genmask Flags Metric Ref Use Iface", l);
      return;
    }
    const [dst, gw, mask, flags, metric, , , dev] = w as [string, string, string, string, string, string, string, string];
    const m = cidr(mask);
    const d = cidr(dst);
    if (!d || !m || m.family !== "ipv4") {
      sink.error({ line: k + 1, col: col(d ? 2 : 0), len: 0 }, "bad destination or genmask", "dotted quads", d ? mask : dst);
      return;
    }
    const bits = mask.split(".").reduce((a, b) => a * 256 + Number(b), 0).toString(2).replace(/0+$/, "");
    if (/0/.test(bits)) {
      sink.error({ line: k + 1, col: col(2), len: mask.length }, "non-contiguous genmask", "a netmask such as 255.255.255.0", mask);
      return;
    }
    const line = `${flags.includes("!") ? "unreachable " : ""}${dst}/${bits.length}${flags.includes("G") && gw !== "0.0.0.0" ? ` via ${gw}` : ""} dev ${dev} metric ${metric}`;
    addRouteLine(facts, line, sink, k + 1);
  });
}

export function detectFactsFormat(text: string): FactsFormat | undefined {
  const t = text.trimStart();
  if (t.startsWith("{")) return "node-json";
  if (t.startsWith("[")) return /"addr_info"|"ifname"/.test(t.slice(0, 4000)) ? "ip-addr-json" : "ip-route-json";
  if (/^net\.[\w.-]+\s*=/m.test(t)) return "sysctl";
  if (/^Kernel IP routing table/.test(t) || /^Destination\s+Gateway\s+Genmask/.test(t)) return "route-n";
  if (/^\d+:\s+\S+:\s+</.test(t)) return "ip-addr";
  if (/^(default|local|broadcast|blackhole|unreachable|prohibit|throw|[0-9a-f.:]+(\/\d+)?)\s/m.test(t)) return "ip-route";
  return undefined;
}

/** Reads one node-facts file into `facts`. */
export function readFacts(text: string, file: string, facts: NodeFacts, sink: DiagnosticSink): FactsFormat | undefined {
  const format = detectFactsFormat(text);
  switch (format) {
    case "node-json":
    case "ip-addr-json":
    case "ip-route-json": {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (e) {
        const m = /position (\d+)/.exec((e as Error).message);
        const pos = m ? Number(m[1]) : 0;
        const before = text.slice(0, pos);
        sink.error({ line: before.split("\n").length, col: pos - before.lastIndexOf("\n"), len: 0 }, `not valid JSON: ${(e as Error).message}`);
        return format;
      }
      if (format === "node-json") readNodeJson(v as Record<string, unknown>, text, facts, sink);
      else if (format === "ip-addr-json") readIpAddrJson(v as unknown[], facts);
      else readIpRouteJson(v as unknown[], facts, sink, text);
      return format;
    }
    case "sysctl":
      text.split("\n").forEach((l) => {
        const m = /^\s*([\w.-]+)\s*=\s*(.*?)\s*$/.exec(l);
        if (m) facts.sysctl[m[1]!] = m[2]!;
      });
      return format;
    case "route-n":
      readRouteN(text, facts, sink);
      return format;
    case "ip-addr":
      readIpAddr(text, facts, sink);
      return format;
    case "ip-route":
      text.split("\n").forEach((l, k) => {
        if (l.trim() && !l.trim().startsWith("#")) addRouteLine(facts, l.trim(), sink, k + 1, l.length - l.trimStart().length + 1);
      });
      return format;
    default:
      sink.error({ line: 1, col: 1, len: 0 }, `${file}: cannot tell what node facts these are`, "node.json, ip -j addr, ip -j route, ip route output or sysctl output");
      return undefined;
  }
}

/** `--iface eth0=192.168.0.11/24` and friends. */
export function applyShortcuts(facts: NodeFacts, s: { ifaces: string[]; localAddrs: string[]; routes: string[] }, sink: DiagnosticSink): void {
  for (const spec of s.ifaces) {
    const m = /^([^=]+)=(.+)$/.exec(spec);
    const c = m ? cidr(m[2]!) : undefined;
    if (!m || !c) sink.error({ line: 1, col: 1, len: 0 }, `bad --iface ${JSON.stringify(spec)}`, "NAME=ADDR/LEN, e.g. eth0=192.168.0.11/24");
    else iface(facts, m[1]!).addrs.push(c);
  }
  for (const a of s.localAddrs) {
    const c = cidr(a);
    if (!c) sink.error({ line: 1, col: 1, len: 0 }, `bad --local-addr ${JSON.stringify(a)}`, "an address");
    else iface(facts, "lo").addrs.push({ ...c, prefixLength: c.family === "ipv4" ? 32 : 128 });
  }
  s.routes.forEach((r) => addRouteLine(facts, r, sink, 1));
}

/** Reads several node-facts texts into one NodeFacts, with every diagnostic. */
export function factsFromTexts(inputs: ReadonlyArray<{ text: string; file: string }>): { facts: NodeFacts; diagnostics: DiagnosticSink["items"] } {
  const facts: NodeFacts = { interfaces: [], routes: [], sysctl: {} };
  const diagnostics: DiagnosticSink["items"] = [];
  for (const i of inputs) {
    const sink = new DiagnosticSink(i.file);
    readFacts(i.text, i.file, facts, sink);
    appendAll(diagnostics, sink.items);
  }
  return { facts, diagnostics };
}
