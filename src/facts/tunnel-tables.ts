/**
 * The tables a tunnel's outer packet is decided by, as the tools print them: the VXLAN
 * forwarding database (`bridge fdb show`, `bridge -j fdb show`), the neighbour tables (`ip neigh
 * show`, `ip -j neigh show`) and WireGuard's devices and peers (`wg show all dump`). The shapes
 * were taken from iproute2 6.1 in a network namespace (test/fixtures/tunnels/make-tunnels.sh);
 * the dump's from wg(8) and wireguard-tools' show.c (dump_print), since this kernel has no
 * wireguard module. Each problem is a located diagnostic.
 */
import type { Family } from "../model/ast.js";
import type { DiagnosticSink } from "../model/diagnostics.js";
import type { Span } from "../model/span.js";
import { addressFamily, canonicalAddress, parseCidr } from "../model/address.js";
import type { FactCidr, FactFdbEntry, FactInterface, FactNeighbour, FactWireguardPeer, NodeFacts } from "./model.js";
import { interfaceNameProblem } from "./interface-name.js";
import { isEthernetAddress, isLinkAddress, wordsOf } from "./ip-text.js";
import type { JsonInput } from "./json-input.js";
import type { JsonField, JsonNode } from "./located-json.js";

/** An address in its canonical spelling with its family, or undefined. */
export function addressOf(text: string): { address: string; family: Family } | undefined {
  const family = addressFamily(text);
  return family ? { address: canonicalAddress(text, family), family } : undefined;
}


/** `bridge fdb` keys that take a value (iproute2 bridge/fdb.c print_fdb); every other word is a flag. */
const FDB_VALUE_KEYS = new Set(["dev", "vlan", "dst", "port", "vni", "src_vni", "via", "nhid", "master", "link-netnsid"]);

/** An FDB entry's fields, from either form, checked; undefined after saying why when one is bad. */
interface FdbFields {
  mac: string;
  dev?: string;
  dst?: string;
  port?: string | number;
  vni?: string | number;
  via?: string;
}

function checkFdb(f: FdbFields, bad: (key: keyof FdbFields, message: string, expected: string) => void): FactFdbEntry | undefined {
  if (!isEthernetAddress(f.mac)) return bad("mac", `bad MAC ${JSON.stringify(f.mac)} in an FDB entry`, "six hex bytes separated by colons"), undefined;
  if (f.dev === undefined) return bad("mac", `FDB entry ${f.mac} names no device`, "dev NAME"), undefined;
  const devProblem = interfaceNameProblem(f.dev);
  if (devProblem) return bad("dev", devProblem, "an interface name"), undefined;
  // An entry without a remote is a bridge's or a NIC's own address: nothing about tunnels.
  if (f.dst === undefined) return undefined;
  const dst = addressOf(f.dst);
  if (!dst) return bad("dst", `bad FDB dst ${JSON.stringify(f.dst)}`, "an IPv4 or IPv6 address"), undefined;
  const e: FactFdbEntry = { dev: f.dev, mac: f.mac.toLowerCase(), dst: dst.address };
  for (const [key, max] of [["port", 65535], ["vni", 0xffffff]] as const) {
    const v = f[key];
    if (v === undefined) continue;
    const n = typeof v === "number" ? v : /^\d{1,8}$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > max) return bad(key, `bad FDB ${key} ${JSON.stringify(v)}`, `an integer 0-${max}`), undefined;
    e[key] = n;
  }
  if (f.via !== undefined) {
    const p = interfaceNameProblem(f.via);
    if (p) return bad("via", p, "an interface name"), undefined;
    e.via = f.via;
  }
  return e;
}

/** `bridge fdb show`: `MAC dev NAME [dst ADDR] [port P] [vni V] [via NAME] [self] [permanent]` per line. */
export function readBridgeFdbText(text: string, facts: NodeFacts, sink: DiagnosticSink): void {
  const fdb = (facts.fdb ??= []);
  text.split("\n").forEach((raw, k) => {
    const words = wordsOf(raw);
    if (words.length === 0) return;
    const at = (i: number): Span => ({ line: k + 1, col: words[i]!.col, len: words[i]!.w.length });
    const f: FdbFields = { mac: words[0]!.w };
    const where: Partial<Record<keyof FdbFields, number>> = { mac: 0 };
    for (let i = 1; i < words.length; i++) {
      const w = words[i]!.w;
      if (!FDB_VALUE_KEYS.has(w)) continue;
      if (i + 1 >= words.length) {
        sink.error(at(i), `"${w}" without its value in an FDB entry`, `${w} VALUE`);
        return;
      }
      const v = words[++i]!.w;
      if (w === "dev" || w === "dst" || w === "port" || w === "vni" || w === "via") {
        f[w] = v;
        where[w] = i;
      }
    }
    const e = checkFdb(f, (key, message, expected) => sink.error(at(where[key] ?? 0), message, expected, String(f[key])));
    if (e) fdb.push(e);
  });
}

/** The objects of a JSON list (`ip -j`, `bridge -j` output), each with a reader of its string fields. */
function* jsonEntries(root: JsonNode, j: JsonInput, list: string, entries: string, entry: string): Generator<{ n: JsonNode; o: Map<string, JsonField>; str: (k: string, expected: string) => string | undefined }> {
  for (const n of j.list(root, list, `a list of ${entries}`) ?? []) {
    const o = j.fields(n, entry);
    if (!o) continue;
    yield { n, o, str: (k, expected) => {
      const v = o.get(k);
      return v && j.string(v.value, `"${k}" of ${entry}`, expected);
    } };
  }
}

/** `bridge -j fdb show`: `[{"mac", "ifname", "dst", "port", "vni", "viaIf", "flags", "state"}]`. */
export function readBridgeFdbJson(root: JsonNode, j: JsonInput, facts: NodeFacts): void {
  const fdb = (facts.fdb ??= []);
  for (const { n, o, str } of jsonEntries(root, j, "bridge -j fdb output", "FDB entries", "an FDB entry")) {
    const num = (k: string) => {
      const v = o.get(k)?.value;
      return v === undefined ? undefined : v.kind === "number" ? v.value : j.wrong(v, `"${k}" of an FDB entry`, "a number");
    };
    const mac = str("mac", "a MAC address");
    if (mac === undefined) {
      if (!o.has("mac")) j.error(n.at, 'an FDB entry without "mac"', '"mac": "b6:72:1b:43:5e:01"');
      continue;
    }
    const f: FdbFields = { mac };
    const set = <K extends keyof FdbFields>(k: K, v: FdbFields[K] | undefined) => {
      if (v !== undefined) f[k] = v;
    };
    set("dev", str("ifname", "an interface name"));
    set("dst", str("dst", "an address"));
    set("port", num("port"));
    set("vni", num("vni"));
    set("via", str("viaIf", "an interface name"));
    const key: Record<keyof FdbFields, string> = { mac: "mac", dev: "ifname", dst: "dst", port: "port", vni: "vni", via: "viaIf" };
    const e = checkFdb(f, (k, message, expected) => j.error(o.get(key[k])?.value.at ?? n.at, message, expected));
    if (e) fdb.push(e);
  }
}

/** A neighbour entry's fields, from either form, checked. */
function checkNeighbour(address: string, dev: string | undefined, lladdr: string | undefined, state: string[], bad: (what: "address" | "dev" | "lladdr", message: string, expected: string) => void): FactNeighbour | undefined {
  const a = addressOf(address);
  if (!a) return bad("address", `bad neighbour address ${JSON.stringify(address)}`, "an IPv4 or IPv6 address"), undefined;
  if (dev === undefined) return bad("address", `neighbour ${address} names no device`, "dev NAME"), undefined;
  const p = interfaceNameProblem(dev);
  if (p) return bad("dev", p, "an interface name"), undefined;
  const e: FactNeighbour = { dev, address: a.address, family: a.family, state };
  if (lladdr !== undefined) {
    if (!isLinkAddress(lladdr)) return bad("lladdr", `bad link address ${JSON.stringify(lladdr)} of neighbour ${address}`, "hex bytes separated by colons"), undefined;
    e.lladdr = lladdr.toLowerCase();
  }
  return e;
}

/** `ip neigh show`: `ADDR dev NAME [lladdr MAC] [router] [proxy] STATE...` per line (ipneigh.c print_neigh). */
export function readIpNeighText(text: string, facts: NodeFacts, sink: DiagnosticSink): void {
  const list = (facts.neighbours ??= []);
  text.split("\n").forEach((raw, k) => {
    const words = wordsOf(raw);
    if (words.length === 0) return;
    const at = (i: number): Span => ({ line: k + 1, col: words[i]!.col, len: words[i]!.w.length });
    // `ip neigh monitor` and `ip neigh show` after a flush may start a line with these.
    let i = words[0]!.w === "delete" || words[0]!.w === "miss" ? 1 : 0;
    const first = i;
    let dev: string | undefined, lladdr: string | undefined;
    const where = { address: first, dev: first, lladdr: first };
    const state: string[] = [];
    for (i = first + 1; i < words.length; i++) {
      const w = words[i]!.w;
      if (w === "dev" || w === "lladdr") {
        if (i + 1 >= words.length) {
          sink.error(at(i), `"${w}" without its value in a neighbour entry`, `${w} VALUE`);
          return;
        }
        where[w] = ++i;
        if (w === "dev") dev = words[i]!.w;
        else lladdr = words[i]!.w;
      } else if (/^[A-Z_]+$/.test(w)) state.push(w);
    }
    if (first >= words.length) return;
    const e = checkNeighbour(words[first]!.w, dev, lladdr, state, (what, message, expected) => sink.error(at(where[what]), message, expected, words[where[what]]!.w));
    if (e) list.push(e);
  });
}

/** `ip -j neigh show`: `[{"dst", "dev", "lladdr", "state": [...]}]`. */
export function readIpNeighJson(root: JsonNode, j: JsonInput, facts: NodeFacts): void {
  const list = (facts.neighbours ??= []);
  for (const { n, o, str } of jsonEntries(root, j, "ip -j neigh output", "neighbour entries", "a neighbour entry")) {
    const dst = str("dst", "an address");
    if (dst === undefined) {
      if (!o.has("dst")) j.error(n.at, 'a neighbour entry without "dst"', '"dst": "10.244.2.0"');
      continue;
    }
    const states = o.get("state");
    const state: string[] = [];
    for (const s of (states && j.list(states.value, '"state" of a neighbour entry', "a list of NUD states")) ?? []) {
      const v = j.string(s, "a NUD state", "a state such as PERMANENT");
      if (v !== undefined) state.push(v);
    }
    const key = { address: "dst", dev: "dev", lladdr: "lladdr" } as const;
    const e = checkNeighbour(dst, str("dev", "an interface name"), str("lladdr", "a link address"), state, (what, message, expected) => j.error(o.get(key[what])?.value.at ?? n.at, message, expected));
    if (e) list.push(e);
  }
}

/** A WireGuard key as wg prints it: 32 bytes in base64 (44 characters, the last `=`), `(none)`, or `(hidden)` as collect writes a secret. */
const WG_KEY = /^(?:[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=|\(none\)|\(hidden\))$/;

/** `ADDR:PORT` or `[ADDR]:PORT` (IPv6, maybe with a %scope), as wg's endpoint() prints it. */
export function parseEndpoint(text: string): { address: string; port: number } | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return "ADDR:PORT or [IPv6]:PORT";
  const addr = m[1] ?? m[2]!;
  const a = addressOf(addr.replace(/%[^%]*$/, ""));
  const port = Number(m[3]);
  if (!a || (m[1] !== undefined) !== (a.family === "ipv6")) return "ADDR:PORT or [IPv6]:PORT";
  if (port > 65535) return "a port 0-65535";
  return { address: a.address, port };
}

/** The allowed IPs of a peer, `A/N,B/M` or `(none)`. */
export function parseAllowedIps(text: string): FactCidr[] | string {
  if (text === "(none)") return [];
  const out: FactCidr[] = [];
  for (const part of text.split(",")) {
    const c = parseCidr(part);
    if (typeof c === "string" || !part.includes("/")) return `bad allowed IP ${JSON.stringify(part)}: ${typeof c === "string" ? c : "no prefix length"}`;
    out.push(c);
  }
  return out;
}

/**
 * `wg show all dump` (wg(8), wireguard-tools show.c dump_print): tab-separated; per device
 * `NAME PRIVATE-KEY PUBLIC-KEY LISTEN-PORT FWMARK`, then per peer `NAME PUBLIC-KEY PRESHARED-KEY
 * ENDPOINT ALLOWED-IPS LATEST-HANDSHAKE RX TX PERSISTENT-KEEPALIVE`. FWMARK is `off` or `0x..`.
 */
export function readWgDump(text: string, facts: NodeFacts, sink: DiagnosticSink, iface: (name: string) => FactInterface): void {
  text.split("\n").forEach((raw, k) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") return;
    const cols = line.split("\t");
    const colOf = (i: number) => cols.slice(0, i).reduce((s, c) => s + c.length + 1, 1);
    const bad = (i: number, message: string, expected: string) => sink.error({ line: k + 1, col: colOf(i), len: (cols[i] ?? "").length }, message, expected, cols[i]);
    if (cols.length !== 5 && cols.length !== 9) {
      sink.error({ line: k + 1, col: 1, len: line.length }, `a wg dump line with ${cols.length} tab-separated fields`, "5 (a device: NAME PRIVATE-KEY PUBLIC-KEY LISTEN-PORT FWMARK) or 9 (a peer)", line.slice(0, 40));
      return;
    }
    const name = cols[0]!;
    const badName = interfaceNameProblem(name);
    if (badName) return bad(0, badName, "an interface name");
    for (const i of [1, 2]) if (!WG_KEY.test(cols[i]!)) return bad(i, "not a WireGuard key", "44 characters of base64, or (none)");
    const i = iface(name);
    if (cols.length === 5) {
      if (!/^\d{1,5}$/.test(cols[3]!) || Number(cols[3]) > 65535) return bad(3, "bad listen port", "an integer 0-65535");
      const fw = cols[4]!;
      if (fw !== "off" && !/^0x[0-9a-f]{1,8}$/.test(fw)) return bad(4, "bad fwmark", "off or 0x followed by hex digits");
      // A userspace WireGuard (wireguard-go, boringtun) is a TUN device: ip calls it `tun`.
      if (i.kind !== undefined && i.kind !== "wireguard" && i.kind !== "tun") return bad(0, `${name} is of kind ${i.kind}, not wireguard`, "a WireGuard device (kind wireguard, or tun for a userspace one)");
      i.kind ??= "wireguard";
      const port = Number(cols[3]);
      i.tunnel = { ...(i.tunnel?.kind === "wireguard" ? i.tunnel : {}), kind: "wireguard", fwmark: fw === "off" ? 0 : parseInt(fw.slice(2), 16), wireguardPeers: [] };
      // Listen port 0: the device is down and has no socket (wg prints the bound port otherwise).
      if (port) i.tunnel.port = port;
      else delete i.tunnel.port;
      return;
    }
    const t = i.tunnel;
    if (t?.kind !== "wireguard" || !t.wireguardPeers) return bad(0, `a peer of ${name} before ${name}'s own line`, "the device's line (5 fields) first");
    if (cols[1] === "(none)" || cols[1] === "(hidden)") return bad(1, "a peer without a public key", "the peer's public key");
    const peer: FactWireguardPeer = { publicKey: cols[1]!, allowedIps: [] };
    if (cols[3] !== "(none)") {
      const e = parseEndpoint(cols[3]!);
      if (typeof e === "string") return bad(3, "bad endpoint", e);
      peer.endpoint = e;
    }
    const allowed = parseAllowedIps(cols[4]!);
    if (typeof allowed === "string") return bad(4, allowed, "ADDR/LEN[,ADDR/LEN...] or (none)");
    peer.allowedIps = allowed;
    for (const c of [5, 6, 7]) if (!/^\d{1,20}$/.test(cols[c]!)) return bad(c, "not a count", "a decimal integer");
    if (cols[8] !== "off" && !/^\d{1,5}$/.test(cols[8]!)) return bad(8, "bad persistent keepalive", "off or seconds");
    t.wireguardPeers.push(peer);
  });
}
