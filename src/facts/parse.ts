/**
 * Node facts from what users have: netfate's node.json, `ip -j addr`, `ip -j route` (JSON),
 * `ip route` text, `sysctl` output, and the CLI shortcuts (--iface NAME=CIDR, --local-addr,
 * --route). Each problem is a located diagnostic; several inputs merge into one NodeFacts.
 */
import type { Family } from "../model/ast.js";
import { DiagnosticSink } from "../model/diagnostics.js";
import type { FactAddress, FactInterface, NodeFacts } from "./model.js";
import { parseRouteLine, ROUTE_TYPES } from "./route-line.js";
import { JsonInput } from "./json-input.js";
import type { JsonField, JsonNode } from "./located-json.js";
import { interfaceNameProblem } from "./interface-name.js";
import { addressFamily, canonicalAddress, parseCidr } from "../model/address.js";
import { isEthernetAddress, isLinkAddress, wordsOf } from "./ip-text.js";
import { canonicalSysctlKey, sysctlValueProblem } from "./sysctl.js";
import { readIpRuleJson, readIpRuleText, readRuleTexts } from "./rule-input.js";
import { appendAll } from "../append-all.js";
import { mergeTunnel, TUNNEL_LINK_KINDS, tunnelOfInfoData, tunnelOfLinkWords } from "./tunnel-link.js";
import { NODE_JSON_TUNNEL_KEYS, readTunnelJson } from "./tunnel-json.js";
import { readBridgeFdbJson, readBridgeFdbText, readIpNeighJson, readIpNeighText, readWgDump } from "./tunnel-tables.js";

function iface(facts: NodeFacts, name: string): FactInterface {
  let i = facts.interfaces.find((x) => x.name === name);
  if (!i) {
    i = { name, addrs: [] };
    facts.interfaces.push(i);
  }
  return i;
}

export function addRouteLine(facts: NodeFacts, line: string, sink: DiagnosticSink, lineNo: number, colBase = 1, defaultFamily: Family = "ipv4"): void {
  const r = parseRouteLine(line, defaultFamily);
  if (!r.ok) sink.error({ line: lineNo, col: colBase + r.col - 1, len: 0 }, r.error);
  else facts.routes.push(r.route);
}

/**
 * netfate's own node.json: `{"interfaces": [{"name", "addrs", "kind", "mac", "vxlan", "ipip", "udp", "wireguard"}],
 * "routes": [...], "rules": [...], "rules6": [...], "sysctl": {...}}`. `rules` holds `ip rule`
 * lines, `rules6` `ip -6 rule` lines: a rule without addresses does not say its family.
 */
function readNodeJson(root: JsonNode, j: JsonInput, facts: NodeFacts, sink: DiagnosticSink): void {
  const top = j.fields(root, "node.json", ["interfaces", "routes", "rules", "rules6", "sysctl"]);
  if (!top) return;
  const ifs = top.get("interfaces");
  const seen = new Set<string>();
  if (ifs) for (const n of j.list(ifs.value, '"interfaces"', 'a list of interfaces ({"name": "eth0", "addrs": ["192.168.0.11/24"]})') ?? []) readNodeInterface(n, j, facts, seen);
  const routes = top.get("routes");
  if (routes) {
    for (const n of j.list(routes.value, '"routes"', "a list of `ip route` lines") ?? []) {
      const line = j.string(n, "a route", "an `ip route` line (a string)");
      if (line === undefined) continue;
      const at = j.where(n.at);
      addRouteLine(facts, line, sink, at.line, at.col + 1);
    }
  }
  for (const [name, family] of [["rules", "ipv4"], ["rules6", "ipv6"]] as const) {
    const list = top.get(name);
    if (!list) continue;
    const texts = [];
    for (const n of j.list(list.value, `"${name}"`, `a list of \`ip ${family === "ipv6" ? "-6 " : ""}rule\` lines`) ?? []) {
      const line = j.string(n, "a rule", `an \`ip ${family === "ipv6" ? "-6 " : ""}rule\` line (a string)`);
      // The line's column c is the string's character c, one after its opening quote.
      const at = j.where(n.at);
      if (line !== undefined) texts.push({ line, locate: (col: number) => ({ line: at.line, col: at.col + col }) });
    }
    readRuleTexts(texts, family, `"${name}"`, facts, sink);
  }
  const sysctl = top.get("sysctl");
  const values = sysctl && j.fields(sysctl.value, '"sysctl"');
  const given = new Map<string, string>();
  for (const [written, f] of values ?? []) {
    const key = canonicalSysctlKey(written);
    const v = f.value.kind === "number" ? String(f.value.value) : j.string(f.value, `sysctl ${written}`, "a string or a number");
    if (v === undefined) continue;
    const bad = sysctlValueProblem(key, v);
    if (bad) j.error(f.value.at, bad);
    // One key in sysctl's spelling and with the interface's dot: one value, or which holds is unsaid.
    else if (given.has(key) && facts.sysctl[key] !== v) j.error(f.keyAt, `sysctl ${written} given twice with different values (first as ${given.get(key)})`, "one value per key");
    else {
      given.set(key, written);
      facts.sysctl[key] = v;
    }
  }
}

/** A JSON value that must name a network device, or undefined after saying why it cannot. */
function deviceName(f: JsonField, j: JsonInput, what: string): string | undefined {
  const name = j.string(f.value, what, "an interface name");
  const bad = name === undefined ? undefined : interfaceNameProblem(name);
  if (bad) j.error(f.value.at, bad);
  return bad ? undefined : name;
}

function readNodeInterface(n: JsonNode, j: JsonInput, facts: NodeFacts, seen: Set<string>): void {
  const f = j.fields(n, "an interface", ["name", "addrs", "kind", "mac", ...NODE_JSON_TUNNEL_KEYS]);
  if (!f) return;
  const nameField = f.get("name");
  if (!nameField) {
    j.error(n.at, "an interface needs a name", '"name": "eth0"');
    return;
  }
  const name = deviceName(nameField, j, "name");
  if (name === undefined) return;
  if (seen.has(name)) j.error(nameField.value.at, `interface ${name} given twice`, "each interface once");
  seen.add(name);
  const i = iface(facts, name);
  const addrs = f.get("addrs");
  for (const a of (addrs && j.list(addrs.value, `addrs of ${name}`, 'a list of "ADDR/LEN" strings')) ?? []) {
    const text = j.string(a, `an address of ${name}`, '"ADDR/LEN"');
    if (text === undefined) continue;
    const c = parseCidr(text);
    if (typeof c === "string") j.error(a.at, `bad address ${JSON.stringify(text)} of ${name}: ${c}`, "ADDR/LEN");
    else i.addrs.push(c);
  }
  const kindField = f.get("kind");
  const kind = kindField && j.string(kindField.value, `kind of ${name}`, 'a link kind such as "vxlan" or "ipip"');
  if (kind !== undefined) i.kind = kind;
  const mac = f.get("mac");
  const macText = mac && j.string(mac.value, `mac of ${name}`, "a link address such as 52:54:00:8e:1a:11");
  if (mac && macText !== undefined) {
    if (isLinkAddress(macText)) i.mac = macText.toLowerCase();
    else j.error(mac.value.at, `bad mac ${JSON.stringify(macText)} of ${name}`, "hex bytes separated by colons, such as 52:54:00:8e:1a:11");
  }
  const tunnel = readTunnelJson(f, name, kind, j);
  if (tunnel) mergeTunnel(i, tunnel);
}

/** `ip -j addr` (and `ip -j -d addr`): links with their addresses, MACs and link kinds. */
function readIpAddrJson(root: JsonNode, j: JsonInput, facts: NodeFacts): void {
  for (const n of j.list(root, "ip -j addr output", "a list of links") ?? []) {
    const f = j.fields(n, "a link");
    if (!f) continue;
    const nameField = f.get("ifname");
    if (!nameField) {
      // `ip -j -4 addr` prints {} for each link it filtered out.
      if (f.size > 0) j.error(n.at, 'a link without "ifname"', '"ifname": "eth0"');
      continue;
    }
    const name = deviceName(nameField, j, "ifname");
    if (name === undefined) continue;
    const i = iface(facts, name);
    const flags = f.get("flags");
    const flagList = flags && j.list(flags.value, `flags of ${name}`, "a list of link flags");
    if (flagList) i.up = flagList.some((x) => x.kind === "string" && x.value === "UP");
    const linkType = f.get("link_type");
    const type = linkType && j.string(linkType.value, `link_type of ${name}`);
    const address = f.get("address");
    const lladdr = address && j.string(address.value, `address of ${name}`, "a link address");
    // Only an Ethernet address is a MAC: an ipip link's "address" is 0.0.0.0.
    if (lladdr !== undefined && (type === "ether" || (type === undefined && isEthernetAddress(lladdr)))) {
      if (isEthernetAddress(lladdr)) i.mac = lladdr.toLowerCase();
      else j.error(address!.value.at, `bad Ethernet address ${JSON.stringify(lladdr)} of ${name}`, "six hex bytes separated by colons");
    }
    const info = f.get("addr_info");
    for (const a of (info && j.list(info.value, `addr_info of ${name}`, "a list of addresses")) ?? []) readIpAddrInfo(a, name, j, i);
    const linkinfo = f.get("linkinfo");
    const li = linkinfo && j.fields(linkinfo.value, `linkinfo of ${name}`);
    const kindField = li?.get("info_kind");
    const kind = kindField && j.string(kindField.value, `info_kind of ${name}`, "a link kind");
    if (kind !== undefined) i.kind = kind;
    const data = kind !== undefined && TUNNEL_LINK_KINDS[kind] ? li?.get("info_data") : undefined;
    const tunnel = kind === undefined ? undefined : tunnelOfInfoData(kind, data && j.fields(data.value, `info_data of ${name}`), name, j);
    if (tunnel) mergeTunnel(i, tunnel);
  }
}

function readIpAddrInfo(n: JsonNode, name: string, j: JsonInput, i: FactInterface): void {
  const f = j.fields(n, `an address of ${name}`);
  if (!f) return;
  const familyField = f.get("family");
  const familyText = familyField && j.string(familyField.value, `family of an address of ${name}`, '"inet" or "inet6"');
  const family: Family | undefined = familyText === "inet" ? "ipv4" : familyText === "inet6" ? "ipv6" : undefined;
  if (!family) {
    if (!familyField) j.error(n.at, `an address of ${name} without "family"`, '"family": "inet" or "inet6"');
    else if (familyText !== undefined) j.error(familyField.value.at, `unknown address family ${JSON.stringify(familyText)} of ${name}`, '"inet" or "inet6"');
    return;
  }
  const local = f.get("local");
  const prefixlen = f.get("prefixlen");
  if (!local || !prefixlen) {
    j.error(n.at, `an address of ${name} without ${local ? '"prefixlen"' : '"local"'}`, '"local" and "prefixlen"');
    return;
  }
  const addr = j.string(local.value, `local address of ${name}`, `an ${family === "ipv4" ? "IPv4" : "IPv6"} address`);
  const goodAddr = addr !== undefined && addressFamily(addr) === family;
  if (addr !== undefined && !goodAddr) j.error(local.value.at, `${JSON.stringify(addr)} on ${name} is not an ${family === "ipv4" ? "IPv4" : "IPv6"} address (family ${familyText})`);
  const len = j.integer(prefixlen.value, `prefixlen of ${addr ?? "an address"} on ${name}`, 0, family === "ipv4" ? 32 : 128);
  if (!goodAddr || len === undefined) return;
  const fa: FactAddress = { address: canonicalAddress(addr, family), prefixLength: len, family };
  const scopeField = f.get("scope");
  const scope = scopeField && j.string(scopeField.value, `scope of ${addr} on ${name}`, "a scope name");
  if (scope === "host" || scope === "link" || scope === "global" || scope === "site") fa.scope = scope;
  i.addrs.push(fa);
}

/**
 * `ip -j route`: each object is turned into the `ip route` line it stands for and read as
 * one, so both forms mean the same. `ip route` does not print a route's family: a `default`
 * route without an IPv6 gateway takes the family of the other routes of the file.
 */
function readIpRouteJson(root: JsonNode, j: JsonInput, facts: NodeFacts, sink: DiagnosticSink): void {
  const list = j.list(root, "ip -j route output", "a list of routes") ?? [];
  let family: Family | undefined;
  const lines: Array<{ line: string; at: number }> = [];
  for (const n of list) {
    const r = ipRouteJsonLine(n, j);
    if (!r) continue;
    lines.push(r);
    family ??= fileFamilyHint(r.line);
  }
  for (const { line, at } of lines) {
    const r = parseRouteLine(line, family ?? "ipv4");
    const where = j.where(at);
    if (!r.ok) sink.error({ line: where.line, col: where.col, len: 0 }, `${r.error} (in the route ${JSON.stringify(line)})`);
    else facts.routes.push(r.route);
  }
}

/** The family a route line's destination or gateway shows, if it shows one. */
function fileFamilyHint(line: string): Family | undefined {
  for (const w of line.split(" ")) {
    const f = addressFamily(w.split("/")[0]!);
    if (f) return f;
  }
  return undefined;
}

function ipRouteJsonLine(n: JsonNode, j: JsonInput): { line: string; at: number } | undefined {
  const f = j.fields(n, "a route");
  if (!f) return undefined;
  const str = (k: string, expected: string): string | undefined => {
    const v = f.get(k);
    return v && j.string(v.value, `route ${k}`, expected);
  };
  const dstField = f.get("dst");
  if (!dstField) {
    j.error(n.at, 'a route without "dst"', '"dst": "default" or "ADDR/LEN"');
    return undefined;
  }
  const dst = j.string(dstField.value, "route dst", '"default" or "ADDR/LEN"');
  const type = str("type", "a route type");
  if (type !== undefined && !ROUTE_TYPES.has(type)) {
    j.error(f.get("type")!.value.at, `unknown route type ${JSON.stringify(type)}`, [...ROUTE_TYPES].join(", "));
    return undefined;
  }
  const words: string[] = [];
  if (type && type !== "unicast") words.push(type);
  if (dst === undefined || /\s/.test(dst) || dst === "") {
    if (dst !== undefined) j.error(dstField.value.at, `bad route dst ${JSON.stringify(dst)}`, '"default" or "ADDR/LEN"');
    return undefined;
  }
  words.push(dst);
  // A multipath route: the first next hop stands for the route (as in an `ip route` line).
  const hops = f.get("nexthops");
  const hopList = hops && j.list(hops.value, "route nexthops", "a list of next hops");
  const first = hopList?.[0] && j.fields(hopList[0], "a next hop");
  const pick = (k: string, expected: string): string | undefined => {
    const v = f.get(k) ?? first?.get(k);
    return v && j.string(v.value, `route ${k}`, expected);
  };
  const gateway = pick("gateway", "a gateway address");
  if (gateway !== undefined) words.push("via", gateway);
  const via = f.get("via") ?? first?.get("via");
  const viaFields = via && j.fields(via.value, "route via", ["family", "host"]);
  const viaHost = viaFields?.get("host");
  const host = viaHost && j.string(viaHost.value, "route via host", "a gateway address");
  if (gateway === undefined && host !== undefined) words.push("via", host);
  const dev = pick("dev", "an interface name");
  if (dev !== undefined) words.push("dev", dev);
  const prefsrc = str("prefsrc", "an address");
  if (prefsrc !== undefined) words.push("src", prefsrc);
  // As the text form has them, so both forms read the same.
  const scope = str("scope", "a scope name");
  if (scope !== undefined) words.push("scope", scope);
  const protocol = str("protocol", "a routing protocol name");
  if (protocol !== undefined) words.push("proto", protocol);
  const metric = f.get("metric");
  const m = metric && j.integer(metric.value, "route metric", 0, 0xffffffff);
  if (m !== undefined) words.push("metric", String(m));
  const table = str("table", "a table name or number");
  if (table !== undefined) words.push("table", table);
  // Only IPv6 routes have a preference: it tells an IPv6 `default` from an IPv4 one.
  const pref = str("pref", "a route preference");
  if (pref !== undefined) words.push("pref", pref);
  const flags = f.get("flags");
  for (const fl of (flags && j.list(flags.value, "route flags", "a list of flag names")) ?? []) {
    if (j.string(fl, "a route flag", "a flag name") === "onlink") words.push("onlink");
  }
  for (const w of words) {
    if (w === "" || /\s/.test(w)) {
      j.error(n.at, `bad value ${JSON.stringify(w)} in a route`, "one word");
      return undefined;
    }
  }
  return { line: words.join(" "), at: dstField.value.at };
}

export type FactsFormat =
  | "node-json" | "ip-addr-json" | "ip-route-json" | "ip-rule-json" | "ip-route" | "ip-rule" | "route-n" | "sysctl" | "ip-addr"
  | "bridge-fdb-json" | "bridge-fdb" | "ip-neigh-json" | "ip-neigh" | "wg-dump";

/** The NUD states `ip neigh` ends an entry with (ipneigh.c nud_state_a2n). */
const NEIGH_LINE = /^(?:[0-9a-fA-F.:]+)\s+dev\s+\S+.*\b(?:PERMANENT|REACHABLE|STALE|DELAY|PROBE|FAILED|INCOMPLETE|NOARP|NONE)\s*$/;
/** A line of `wg show all dump`: NAME, then a key (base64 of 32 bytes), `(none)` or `(hidden)`, tab-separated. */
const WG_DUMP_LINE = /^[^\t\n]+\t(?:[A-Za-z0-9+/]{43}=|\(none\)|\(hidden\))\t/;


/**
 * `ip addr` / `ip a` text: `N: NAME[@PEER]: <FLAGS> ...` headers, then `link/ether MAC`,
 * `inet ADDR/LEN ... scope S`, `inet6 ...`, and with `-d` the link kind (`vxlan id 1 ...`).
 */
function readIpAddr(text: string, facts: NodeFacts, sink: DiagnosticSink): void {
  let current: FactInterface | undefined;
  text.split("\n").forEach((raw, k) => {
    const l = raw.trim();
    if (!l) return;
    const at = (s: string) => ({ line: k + 1, col: raw.indexOf(s) + 1, len: s.length });
    const head = /^\d+:\s+([^:@\s]+)(?:@\S+)?:\s+<([^>]*)>?/.exec(l);
    if (head) {
      const bad = interfaceNameProblem(head[1]!);
      if (bad) {
        sink.error(at(head[1]!), bad);
        current = undefined;
        return;
      }
      current = iface(facts, head[1]!);
      current.up = head[2]!.split(",").includes("UP");
      return;
    }
    if (!current) {
      sink.error({ line: k + 1, col: 1, len: l.length }, "ip addr line before any interface header", "N: NAME: <FLAGS> ...", l.slice(0, 40));
      return;
    }
    const inet = /^(inet6?)\s+(\S+)(?:.*\bscope\s+(\S+))?/.exec(l);
    if (inet) {
      const c = parseCidr(inet[2]!);
      const family = inet[1] === "inet" ? "ipv4" : "ipv6";
      if (typeof c === "string" || c.family !== family) {
        sink.error(at(inet[2]!), `bad ${inet[1]} address: ${typeof c === "string" ? c : `not an ${family === "ipv4" ? "IPv4" : "IPv6"} address`}`, "ADDR/LEN", inet[2]);
        return;
      }
      const fa: FactAddress = c;
      const sc = inet[3];
      if (sc === "host" || sc === "link" || sc === "global" || sc === "site") fa.scope = sc;
      current.addrs.push(fa);
      return;
    }
    const link = /^link\/(\S+)\s+(\S+)/.exec(l);
    if (link) {
      if (link[1] === "ether") {
        if (isEthernetAddress(link[2]!)) current.mac = link[2]!.toLowerCase();
        else sink.error(at(link[2]!), "bad Ethernet address", "six hex bytes separated by colons", link[2]);
      }
      return;
    }
    const words = l.split(/\s+/);
    const tunnel = tunnelOfLinkWords(words, (w, message, expected) => sink.error(at(w), message, expected, w));
    if (tunnel !== undefined) {
      current.kind = words[0]!;
      if (tunnel) mergeTunnel(current, tunnel);
    }
    // valid_lft lines, altname, and the like carry nothing routing needs.
  });
}

/** route -n's Flags column: U up, H host, G gateway, R reinstate, D dynamic, M modified, A addrconf, C cache, ! reject. */
const ROUTE_N_FLAGS = /^[UHGRDMAC!]+$/;

/**
 * `route -n` (net-tools): Destination Gateway Genmask Flags Metric Ref Use Iface. A gateway
 * of 0.0.0.0 means on-link; flag `!` is a reject (unreachable) route, printed with `-` for
 * its gateway and interface.
 */
function readRouteN(text: string, facts: NodeFacts, sink: DiagnosticSink): void {
  text.split("\n").forEach((raw, k) => {
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
    const words = wordsOf(raw);
    const bad = (i: number, message: string, expected: string) => sink.error({ line: k + 1, col: words[i]!.col, len: words[i]!.w.length }, message, expected, words[i]!.w);
    if (words.length !== 8) {
      sink.error({ line: k + 1, col: 1, len: l.length }, `route -n line with ${words.length} columns`, "8: Destination Gateway Genmask Flags Metric Ref Use Iface", l);
      return;
    }
    const [dst, gw, mask, flags, metric, , , dev] = words.map((x) => x.w) as [string, string, string, string, string, string, string, string];
    const reject = flags.includes("!");
    if (addressFamily(dst) !== "ipv4") return bad(0, "bad destination", "an IPv4 address");
    if (addressFamily(gw) !== "ipv4" && !(reject && gw === "-")) return bad(1, "bad gateway", "an IPv4 address");
    if (addressFamily(mask) !== "ipv4") return bad(2, "bad genmask", "a netmask such as 255.255.255.0");
    const bits = mask.split(".").reduce((a, b) => a * 256 + Number(b), 0).toString(2).replace(/0+$/, "");
    if (/0/.test(bits)) return bad(2, "non-contiguous genmask", "a netmask such as 255.255.255.0");
    if (!ROUTE_N_FLAGS.test(flags)) return bad(3, "bad route flags", "letters among U H G R D M A C !");
    if (!/^\d{1,10}$/.test(metric) || Number(metric) > 0xffffffff) return bad(4, "bad metric", "an integer 0-4294967295");
    const badDev = reject && dev === "-" ? undefined : interfaceNameProblem(dev);
    if (badDev) return bad(7, badDev, "an interface name");
    const line = `${reject ? "unreachable " : ""}${dst}/${bits.length}${flags.includes("G") && gw !== "0.0.0.0" ? ` via ${gw}` : ""}${dev === "-" ? "" : ` dev ${dev}`} metric ${metric}`;
    addRouteLine(facts, line, sink, k + 1);
  });
}

/**
 * `sysctl` output, `KEY = VALUE` per line. The values of the sysctls netfate reads are
 * checked against what the kernel can hold; sysctl's own complaints (a key this kernel does
 * not have) are warnings, since they say a value is missing rather than what it is.
 */
function readSysctl(text: string, facts: NodeFacts, sink: DiagnosticSink): void {
  const lineOfKey = new Map<string, number>();
  text.split("\n").forEach((raw, k) => {
    const l = raw.trim();
    if (!l || l.startsWith("#") || l.startsWith(";")) return;
    const col = raw.indexOf(l) + 1;
    if (l.startsWith("sysctl: ")) {
      sink.warning({ line: k + 1, col, len: l.length }, `a message from sysctl, not a value: ${l.slice(8)}`);
      return;
    }
    const m = /^([\w./-]+)\s*=\s*(.*)$/.exec(l);
    if (!m) {
      sink.error({ line: k + 1, col, len: l.length }, "not a sysctl line", "KEY = VALUE", l.slice(0, 40));
      return;
    }
    const [, written, value] = m as unknown as [string, string, string];
    const key = canonicalSysctlKey(written);
    const at = { line: k + 1, col: col + l.length - value.length, len: value.length };
    const bad = sysctlValueProblem(key, value);
    if (bad) {
      sink.error(at, bad);
      return;
    }
    const first = lineOfKey.get(key);
    if (first !== undefined && facts.sysctl[key] !== value) {
      sink.error(at, `${key} given twice with different values (first on line ${first})`, "one value per key");
      return;
    }
    lineOfKey.set(key, k + 1);
    facts.sysctl[key] = value;
  });
}

/** An `ip route` text: one route per line; `default` takes the family the other routes show. */
function readIpRoute(text: string, facts: NodeFacts, sink: DiagnosticSink): void {
  const lines = text.split("\n");
  let family: Family | undefined;
  for (const l of lines) if (l.trim() && !l.trim().startsWith("#")) family ??= fileFamilyHint(l.trim().split(/\s+/).slice(0, 3).join(" "));
  lines.forEach((l, k) => {
    if (l.trim() && !l.trim().startsWith("#")) addRouteLine(facts, l.trim(), sink, k + 1, l.length - l.trimStart().length + 1, family ?? "ipv4");
  });
}

/**
 * Which facts format a text is. `ip -j rule` objects begin with "priority" (ip prints it first,
 * and no other ip -j output has the key); `ip rule` lines are `PRIORITY:` then `from` or
 * `not from` (an `ip addr` header is `N: NAME: <FLAGS>`).
 */
export function detectFactsFormat(text: string): FactsFormat | undefined {
  const t = text.trimStart();
  if (t.startsWith("{")) return "node-json";
  if (/^\[\s*\{\s*"priority"\s*:/.test(t)) return "ip-rule-json";
  // `bridge -j fdb` objects begin with "mac"; `ip -j neigh` ones have "lladdr" or a "state" list, which routes never have.
  if (/^\[\s*\{\s*"mac"\s*:/.test(t)) return "bridge-fdb-json";
  if (t.startsWith("[")) {
    const head = t.slice(0, 4000);
    return /"addr_info"|"ifname"/.test(head) ? "ip-addr-json" : /"lladdr"\s*:|"state"\s*:\s*\[/.test(head) ? "ip-neigh-json" : "ip-route-json";
  }
  const first = t.slice(0, t.indexOf("\n") < 0 ? undefined : t.indexOf("\n"));
  if (WG_DUMP_LINE.test(first)) return "wg-dump";
  if (/^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}\s+dev\s/.test(first)) return "bridge-fdb";
  if (NEIGH_LINE.test(first.trimEnd())) return "ip-neigh";
  if (/^\d+:\s+(?:not\s+)?from\s/.test(t)) return "ip-rule";
  if (/^net\.[\w./-]+\s*=/m.test(t)) return "sysctl";
  if (/^Kernel IP routing table/.test(t) || /^Destination\s+Gateway\s+Genmask/.test(t)) return "route-n";
  if (/^\d+:\s+\S+:\s+</.test(t)) return "ip-addr";
  if (/^(default|local|broadcast|blackhole|unreachable|prohibit|throw|[0-9a-f.:]+(\/\d+)?)\s/m.test(t)) return "ip-route";
  return undefined;
}

/** The reader of each text format, and of each JSON one once parsed. */
type TextReader = (text: string, file: string, facts: NodeFacts, sink: DiagnosticSink) => void;
type JsonReader = (root: JsonNode, j: JsonInput, file: string, facts: NodeFacts, sink: DiagnosticSink) => void;
const TEXT_READERS: Partial<Record<FactsFormat, TextReader>> = {
  sysctl: (text, _file, facts, sink) => readSysctl(text, facts, sink),
  "route-n": (text, _file, facts, sink) => readRouteN(text, facts, sink),
  "ip-addr": (text, _file, facts, sink) => readIpAddr(text, facts, sink),
  "ip-route": (text, _file, facts, sink) => readIpRoute(text, facts, sink),
  "ip-rule": (text, file, facts, sink) => readIpRuleText(text, file, facts, sink),
  "bridge-fdb": (text, _file, facts, sink) => readBridgeFdbText(text, facts, sink),
  "ip-neigh": (text, _file, facts, sink) => readIpNeighText(text, facts, sink),
  "wg-dump": (text, _file, facts, sink) => readWgDump(text, facts, sink, (name) => iface(facts, name)),
};
const JSON_READERS: Partial<Record<FactsFormat, JsonReader>> = {
  "node-json": (root, j, _file, facts, sink) => readNodeJson(root, j, facts, sink),
  "ip-addr-json": (root, j, _file, facts) => readIpAddrJson(root, j, facts),
  "ip-rule-json": (root, j, file, facts, sink) => readIpRuleJson(root, j, file, facts, sink),
  "ip-route-json": (root, j, _file, facts, sink) => readIpRouteJson(root, j, facts, sink),
  "bridge-fdb-json": (root, j, _file, facts) => readBridgeFdbJson(root, j, facts),
  "ip-neigh-json": (root, j, _file, facts) => readIpNeighJson(root, j, facts),
};

/**
 * Reads one node-facts file into `facts`. `known` is the format when the caller knows it (a
 * bundle's files by their names): an empty neighbour table or wg dump says "none" then.
 */
export function readFacts(text: string, file: string, facts: NodeFacts, sink: DiagnosticSink, known?: FactsFormat): FactsFormat | undefined {
  const format = known ?? detectFactsFormat(text);
  const textReader = format && TEXT_READERS[format];
  if (textReader) {
    textReader(text, file, facts, sink);
    return format;
  }
  const jsonReader = format && JSON_READERS[format];
  if (jsonReader) {
    const j = new JsonInput(text, sink);
    const root = j.parse();
    if (root) jsonReader(root, j, file, facts, sink);
    return format;
  }
  sink.error({ line: 1, col: 1, len: 0 }, `${file}: cannot tell what node facts these are`, "node.json, ip -j addr, ip -j route, ip -j rule, ip route, ip rule, sysctl, bridge fdb, ip neigh or wg show all dump output");
  return undefined;
}

/**
 * `--iface eth0=192.168.0.11/24`, `--local-addr 10.0.0.1`, `--route "default via ..."`:
 * each problem names the flag and its argument (they have no file to point into).
 */
export function applyShortcuts(facts: NodeFacts, s: { ifaces: string[]; localAddrs: string[]; routes: string[] }, sink: DiagnosticSink): void {
  const here = { line: 1, col: 1, len: 0 };
  for (const spec of s.ifaces) {
    const m = /^([^=]*)=(.*)$/.exec(spec);
    const bad = !m ? "expected NAME=ADDR/LEN, e.g. eth0=192.168.0.11/24" : interfaceNameProblem(m[1]!);
    const c = m && !bad ? parseCidr(m[2]!) : undefined;
    if (bad || typeof c === "string") sink.error(here, `bad --iface ${JSON.stringify(spec)}: ${bad ?? c}`);
    else if (c) iface(facts, m![1]!).addrs.push(c);
  }
  for (const a of s.localAddrs) {
    const c = parseCidr(a);
    if (typeof c === "string") sink.error(here, `bad --local-addr ${JSON.stringify(a)}: ${c}`);
    else if (a.includes("/") && c.prefixLength !== (c.family === "ipv4" ? 32 : 128)) sink.error(here, `bad --local-addr ${JSON.stringify(a)}: an address, not a network (use --iface NAME=ADDR/LEN for a subnet)`);
    else iface(facts, "lo").addrs.push(c);
  }
  for (const line of s.routes) {
    const r = parseRouteLine(line);
    if (!r.ok) sink.error({ line: 1, col: r.col, len: 0 }, `bad --route ${JSON.stringify(line)}: ${r.error} (at column ${r.col})`);
    else facts.routes.push(r.route);
  }
}

/** Reads several node-facts texts into one NodeFacts, with every diagnostic. */
export function factsFromTexts(inputs: ReadonlyArray<{ text: string; file: string; format?: FactsFormat }>): { facts: NodeFacts; diagnostics: DiagnosticSink["items"] } {
  const facts: NodeFacts = { interfaces: [], routes: [], sysctl: {} };
  const diagnostics: DiagnosticSink["items"] = [];
  for (const i of inputs) {
    const sink = new DiagnosticSink(i.file);
    readFacts(i.text, i.file, facts, sink, i.format);
    appendAll(diagnostics, sink.items);
  }
  return { facts, diagnostics };
}
