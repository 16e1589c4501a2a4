/**
 * A node.json interface's tunnel settings, one key per kind:
 *   "vxlan":     {"port", "vni", "local", "dev", "external", "peers": {INNER-NEXT-HOP: OUTER-DST}, "flood": [OUTER-DST...]}
 *   "ipip":      true, or {"local", "remote"}
 *   "udp":       {"port", "local", "lease", "peers": {"10.1.63.0/24": "192.168.1.11"}}   (flannel's UDP backend on a TUN device)
 *   "wireguard": {"listenPort", "fwmark", "peers": [{"publicKey", "endpoint": "ADDR:PORT", "allowedIps": ["CIDR"...]}]}
 * Settings of one kind on a link of another kind (or of two kinds) leave the link without a
 * tunnel: which is meant is unknown, and said.
 */
import type { FactCidr, FactTunnel, FactWireguardPeer } from "./model.js";
import type { JsonInput } from "./json-input.js";
import type { JsonField, JsonNode } from "./located-json.js";
import { interfaceNameProblem } from "./interface-name.js";
import { addressOf, parseAllowedIps, parseEndpoint } from "./tunnel-tables.js";
import { parseCidr } from "../model/address.js";

/** Each tunnel key of node.json, and the link kinds it may sit on (besides none): a userspace WireGuard is a TUN device. */
const TUNNEL_KEYS: ReadonlyArray<readonly [FactTunnel["kind"], readonly string[]]> = [["vxlan", ["vxlan"]], ["ipip", ["ipip"]], ["udp", ["tun"]], ["wireguard", ["wireguard", "tun"]]];
export const NODE_JSON_TUNNEL_KEYS = TUNNEL_KEYS.map(([k]) => k);

/** A link kind that is a tunnel without further settings. */
const BARE_KINDS: Readonly<Record<string, FactTunnel["kind"]>> = { vxlan: "vxlan", ipip: "ipip", wireguard: "wireguard" };

export function readTunnelJson(f: Map<string, JsonField>, name: string, kind: string | undefined, j: JsonInput): FactTunnel | undefined {
  const given = TUNNEL_KEYS.filter(([k]) => f.has(k));
  let ok = true;
  for (const [k, linkKinds] of given) {
    if (kind !== undefined && !linkKinds.includes(kind)) {
      j.error(f.get(k)!.keyAt, `${name} is of kind ${kind} but has "${k}" settings`, linkKinds.map((x) => `"kind": "${x}"`).join(" or "));
      ok = false;
    }
  }
  if (given.length > 1) {
    j.error(f.get(given[1]![0])!.keyAt, `${name} has both "${given[0]![0]}" and "${given[1]![0]}" settings`, "one of them");
    ok = false;
  }
  if (!ok) return undefined;
  const [k] = given[0] ?? [];
  if (!k) {
    const bare = kind === undefined ? undefined : BARE_KINDS[kind];
    return bare ? { kind: bare } : undefined;
  }
  const v = f.get(k)!.value;
  switch (k) {
    case "vxlan": return readVxlan(v, name, j);
    case "ipip": return readIpip(v, name, j, kind === "ipip");
    case "udp": return readUdp(v, name, j);
    case "wireguard": return readWireguard(v, name, j);
  }
}

/** An address value, canonical, or undefined after saying why. */
function address(n: JsonNode, what: string, j: JsonInput): string | undefined {
  const s = j.string(n, what, "an address");
  if (s === undefined) return undefined;
  const a = addressOf(s);
  if (!a) j.error(n.at, `${what} ${JSON.stringify(s)} is not an address`, "an IPv4 or IPv6 address");
  return a?.address;
}

/** `"port"` and `"local"`, as VXLAN and flannel's udp both have them (VXLAN's port 0 is the kernel's default). */
function readPortAndLocal(v: Map<string, JsonField>, tun: FactTunnel, name: string, j: JsonInput, minPort: number): void {
  const port = v.get("port");
  const number = port && j.integer(port.value, `${tun.kind} port of ${name}`, minPort, 65535);
  if (number !== undefined) tun.port = number;
  const local = v.get("local");
  const l = local && address(local.value, `${tun.kind} local of ${name}`, j);
  if (l !== undefined) tun.local = l;
}

function readVxlan(n: JsonNode, name: string, j: JsonInput): FactTunnel {
  const tun: FactTunnel = { kind: "vxlan" };
  const v = j.fields(n, `vxlan of ${name}`, ["port", "peers", "vni", "local", "dev", "external", "flood"]);
  if (!v) return tun;
  readPortAndLocal(v, tun, name, j, 0);
  const vni = v.get("vni");
  const id = vni && j.integer(vni.value, `vxlan vni of ${name}`, 0, 0xffffff);
  if (id !== undefined) tun.vni = id;
  const dev = v.get("dev");
  const d = dev && j.string(dev.value, `vxlan dev of ${name}`, "an interface name");
  if (d !== undefined) {
    const bad = interfaceNameProblem(d);
    if (bad) j.error(dev!.value.at, bad, "an interface name");
    else tun.dev = d;
  }
  const ext = v.get("external");
  if (ext) {
    if (ext.value.kind !== "boolean") j.wrong(ext.value, `vxlan external of ${name}`, "true or false");
    else if (ext.value.value) tun.external = true;
  }
  const peers = v.get("peers");
  const map = peers && j.fields(peers.value, `vxlan peers of ${name}`);
  if (map) {
    tun.peers = {};
    for (const [inner, p] of map) {
      const a = addressOf(inner);
      if (!a) j.error(p.keyAt, `vxlan peer ${JSON.stringify(inner)} of ${name} is not an address`, "the inner next hop's address");
      const outer = j.string(p.value, `vxlan peer ${inner} of ${name}`, "the peer's VTEP address");
      const b = outer === undefined ? undefined : addressOf(outer);
      if (a && outer !== undefined && !b) j.error(p.value.at, `vxlan peer ${JSON.stringify(outer)} of ${name} is not an address`, "the peer's VTEP address");
      if (a && b) tun.peers[a.address] = b.address;
    }
  }
  const flood = v.get("flood");
  for (const x of (flood && j.list(flood.value, `vxlan flood of ${name}`, "a list of remote VTEP addresses")) ?? []) {
    const a = address(x, `vxlan flood destination of ${name}`, j);
    if (a !== undefined) (tun.flood ??= []).push(a);
  }
  return tun;
}

function readIpip(n: JsonNode, name: string, j: JsonInput, kindSaysIpip: boolean): FactTunnel | undefined {
  if (n.kind === "boolean") return n.value || kindSaysIpip ? { kind: "ipip" } : undefined;
  const v = j.fields(n, `ipip of ${name}`, ["local", "remote"]);
  if (!v) return undefined;
  const tun: FactTunnel = { kind: "ipip" };
  for (const key of ["local", "remote"] as const) {
    const f = v.get(key);
    // `any`, as ip prints it, is no address: tunl0's ends.
    if (!f || (f.value.kind === "string" && f.value.value === "any")) continue;
    const a = address(f.value, `ipip ${key} of ${name}`, j);
    if (a !== undefined) tun[key] = a;
  }
  return tun;
}

function readUdp(n: JsonNode, name: string, j: JsonInput): FactTunnel {
  const tun: FactTunnel = { kind: "udp" };
  const v = j.fields(n, `udp of ${name}`, ["port", "local", "lease", "peers"]);
  if (!v) return tun;
  const lease = v.get("lease");
  const leaseText = lease && j.string(lease.value, `udp lease of ${name}`, "this node's subnet lease, such as 10.1.9.0/24");
  if (leaseText !== undefined) {
    const c = parseCidr(leaseText);
    if (typeof c === "string" || !leaseText.includes("/")) j.error(lease!.value.at, `udp lease ${JSON.stringify(leaseText)} of ${name}: ${typeof c === "string" ? c : "no prefix length"}`, "a subnet such as 10.1.9.0/24");
    else tun.lease = `${c.address}/${c.prefixLength}`;
  }
  readPortAndLocal(v, tun, name, j, 1);
  const peers = v.get("peers");
  const map = peers && j.fields(peers.value, `udp peers of ${name}`);
  if (map) {
    tun.peers = {};
    for (const [prefix, p] of map) {
      const c = parseCidr(prefix);
      if (typeof c === "string") j.error(p.keyAt, `udp peer ${JSON.stringify(prefix)} of ${name}: ${c}`, "a subnet lease such as 10.1.63.0/24");
      const outer = address(p.value, `udp peer ${prefix} of ${name}`, j);
      if (typeof c !== "string" && outer !== undefined) tun.peers[`${c.address}/${c.prefixLength}`] = outer;
    }
  }
  return tun;
}

function readWireguard(n: JsonNode, name: string, j: JsonInput): FactTunnel {
  const tun: FactTunnel = { kind: "wireguard" };
  const v = j.fields(n, `wireguard of ${name}`, ["listenPort", "fwmark", "peers"]);
  if (!v) return tun;
  const port = v.get("listenPort");
  const number = port && j.integer(port.value, `wireguard listenPort of ${name}`, 0, 65535);
  if (number) tun.port = number;
  const fwmark = v.get("fwmark");
  if (fwmark) {
    const fv = fwmark.value;
    const m = fv.kind === "number" ? fv.value : fv.kind === "string" && /^(0x[0-9a-fA-F]{1,8}|\d{1,10}|off)$/.test(fv.value) ? (fv.value === "off" ? 0 : Number(fv.value)) : NaN;
    if (Number.isInteger(m) && m >= 0 && m <= 0xffffffff) tun.fwmark = m;
    else j.wrong(fv, `wireguard fwmark of ${name}`, 'a mark 0-0xffffffff (a number, "0x..." or "off")');
  }
  const peers = v.get("peers");
  const list = peers && j.list(peers.value, `wireguard peers of ${name}`, 'a list of peers ({"publicKey", "endpoint", "allowedIps"})');
  if (list) {
    tun.wireguardPeers = [];
    for (const p of list) {
      const peer = readWireguardPeer(p, name, j);
      if (peer) tun.wireguardPeers.push(peer);
    }
  }
  return tun;
}

function readWireguardPeer(n: JsonNode, name: string, j: JsonInput): FactWireguardPeer | undefined {
  const f = j.fields(n, `a wireguard peer of ${name}`, ["publicKey", "endpoint", "allowedIps"]);
  if (!f) return undefined;
  const key = f.get("publicKey");
  const publicKey = key ? j.string(key.value, `publicKey of a wireguard peer of ${name}`, "the peer's public key (base64)") : undefined;
  if (!key) j.error(n.at, `a wireguard peer of ${name} without "publicKey"`, '"publicKey": "..."');
  if (publicKey === undefined) return undefined;
  const peer: FactWireguardPeer = { publicKey, allowedIps: [] };
  const ep = f.get("endpoint");
  const text = ep && j.string(ep.value, `endpoint of wireguard peer ${publicKey}`, "ADDR:PORT");
  if (text !== undefined) {
    const e = parseEndpoint(text);
    if (typeof e === "string") j.error(ep!.value.at, `bad endpoint ${JSON.stringify(text)} of wireguard peer ${publicKey}`, e);
    else peer.endpoint = e;
  }
  const ips = f.get("allowedIps");
  const allowed: FactCidr[] = [];
  for (const x of (ips && j.list(ips.value, `allowedIps of wireguard peer ${publicKey}`, 'a list of "ADDR/LEN"')) ?? []) {
    const s = j.string(x, `an allowed IP of wireguard peer ${publicKey}`, '"ADDR/LEN"');
    if (s === undefined) continue;
    const c = parseAllowedIps(s);
    if (typeof c === "string" || c.length !== 1) j.error(x.at, typeof c === "string" ? c : `bad allowed IP ${JSON.stringify(s)}`, "ADDR/LEN");
    else allowed.push(c[0]!);
  }
  peer.allowedIps = allowed;
  return peer;
}
