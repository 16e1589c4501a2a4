/**
 * Runs packets through the real kernel: a node network namespace with one veth per interface
 * (the peer end in a neighbour namespace that injects "arrived on IFACE" packets), the rules
 * loaded with iptables-nft-restore (ipsets with `ipset restore`), unconditional TRACE rules in
 * raw, a rule-less native nft table whose base chains run last on input, forward, output and
 * postrouting (so the trace shows where a packet went even when the dump has no chain there),
 * and `nft monitor trace` recording the kernel's own path (the same trace events
 * `xtables-monitor --trace` prints; see `trace()` for why not that one). Never touches the host's
 * rules: everything happens inside namespaces created here, deleted in `close()` even when a
 * test fails.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll } from "vitest";
import { resolve } from "node:path";
import type { PacketSpec } from "../../src/model/packet.js";
import type { NodeView } from "../../src/model/evaluation.js";
import { simpleNode } from "../support/simple-node.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import type { FactPrefix, FactRule, NodeFacts } from "../../src/facts/model.js";
import { applyMask, ipToNum, maskFromPrefix, numText } from "../../src/model/address.js";

const SENDER = resolve(import.meta.dirname, "send-packet.py");

export interface TopologyIface {
  name: string;
  /** Node-side address with prefix, e.g. 192.168.0.11/24; absent for an address-less device (a Calico pod veth). */
  addr?: string;
  /** More node-side addresses with prefix. */
  extraAddrs?: string[];
}

export interface Topology {
  ifaces: TopologyIface[];
  /** `ip route` lines added in the node namespace. A `via GW dev DEV` gateway gets a static neighbour entry. */
  routes?: string[];
  /** Static neighbour entries on the node (the peer's MAC), so forwarding never waits on ARP. */
  neighbours?: Array<{ addr: string; dev: string }>;
  forwarding?: boolean;
  /** IPv6 nodes get ip6tables rules, IPv6 addresses and routes, and packets tagged by flow label. */
  family?: "ipv4" | "ipv6";
  /**
   * Policy routing rules added next to the namespace's default three (0 local, 32766 main,
   * 32767 default). Routes of other tables are `routes` lines ending in `table N`.
   */
  rules?: TopologyRule[];
  /**
   * Sysctls set in the node namespace after the harness's own (which turn rp_filter off on
   * `all`, `default` and every interface), e.g. `net.ipv4.conf.eth0.rp_filter: 1`,
   * `net.ipv4.conf.all.route_localnet: 1`. An interface name is the part between `conf.` and
   * the last dot, so `net.ipv4.conf.flannel.1.rp_filter` names flannel.1.
   */
  sysctls?: Record<string, number>;
  /**
   * Routes the kernel makes from the addresses that the node removed (the AWS VPC CNI moves a
   * secondary ENI's subnet route out of main), deleted once the addresses are up.
   */
  removedRoutes?: string[];
}

/** One `ip rule`: selectors (absent ones match everything), then what it does. */
export interface TopologyRule {
  priority: number;
  /** Applies to the packets its selectors do NOT match. */
  not?: boolean;
  /** An address or prefix: `10.244.0.0/16`, `192.168.0.50`. */
  from?: string;
  to?: string;
  iif?: string;
  oif?: string;
  fwmark?: number;
  /** Without it, the mark must equal fwmark exactly (iproute2's 0xffffffff). */
  fwmask?: number;
  ipproto?: number;
  sport?: number | readonly [number, number];
  dport?: number | readonly [number, number];
  action: "lookup" | "goto" | "blackhole" | "unreachable" | "prohibit";
  /** For `lookup`: main, local, default or a number. */
  table?: string;
  /** For `goto`: the priority to go on at. */
  goto?: number;
  /** For `lookup`: a result with a prefix this short or shorter is ignored. */
  suppressPrefixLength?: number;
}

/** The rules every IPv4 namespace starts with, as `ip rule show` prints them. */
const DEFAULT_RULES: TopologyRule[] = [
  { priority: 0, action: "lookup", table: "local" },
  { priority: 32766, action: "lookup", table: "main" },
  { priority: 32767, action: "lookup", table: "default" },
];

const portRange = (p: number | readonly [number, number]): readonly [number, number] => (typeof p === "number" ? [p, p] : p);

/** The `ip rule add` arguments of a rule (after `add`). */
export function ipRuleArgs(r: TopologyRule): string[] {
  const a = ["priority", String(r.priority)];
  if (r.not) a.push("not");
  if (r.from) a.push("from", r.from);
  if (r.to) a.push("to", r.to);
  if (r.iif) a.push("iif", r.iif);
  if (r.oif) a.push("oif", r.oif);
  if (r.fwmark !== undefined) a.push("fwmark", `0x${r.fwmark.toString(16)}${r.fwmask !== undefined ? `/0x${r.fwmask.toString(16)}` : ""}`);
  if (r.ipproto !== undefined) a.push("ipproto", String(r.ipproto));
  if (r.sport !== undefined) a.push("sport", portRange(r.sport).join("-"));
  if (r.dport !== undefined) a.push("dport", portRange(r.dport).join("-"));
  switch (r.action) {
    case "lookup":
      a.push("lookup", r.table ?? "main");
      if (r.suppressPrefixLength !== undefined) a.push("suppress_prefixlength", String(r.suppressPrefixLength));
      break;
    case "goto":
      a.push("goto", String(r.goto));
      break;
    default:
      a.push(r.action);
  }
  return a;
}

function prefixOf(p: string): FactPrefix {
  const [address, len] = p.split("/");
  return { address: address!, prefixLength: len === undefined ? 32 : Number(len) };
}

/** A harness rule as the node-facts model holds it (what `ip -j rule` would say). */
export function factRuleOf(r: TopologyRule): FactRule {
  return {
    family: "ipv4",
    priority: r.priority,
    ...(r.not ? { not: true } : {}),
    ...(r.from ? { from: prefixOf(r.from) } : {}),
    ...(r.to ? { to: prefixOf(r.to) } : {}),
    ...(r.iif ? { iif: r.iif } : {}),
    ...(r.oif ? { oif: r.oif } : {}),
    ...(r.fwmark !== undefined ? { fwmark: r.fwmark } : {}),
    ...(r.fwmask !== undefined ? { fwmask: r.fwmask } : {}),
    ...(r.ipproto !== undefined ? { ipproto: r.ipproto } : {}),
    ...(r.sport !== undefined ? { sport: portRange(r.sport) } : {}),
    ...(r.dport !== undefined ? { dport: portRange(r.dport) } : {}),
    action: r.action,
    ...(r.action === "lookup" ? { table: r.table ?? "main" } : {}),
    ...(r.goto !== undefined ? { goto: r.goto } : {}),
    ...(r.suppressPrefixLength !== undefined ? { suppressPrefixLength: r.suppressPrefixLength } : {}),
  };
}

/** `net.ipv4.conf.IFACE.KEY` in sysctl's slash form, which keeps dots of an interface name (flannel.1). */
function sysctlPath(key: string): string {
  const m = /^(net\.ipv[46]\.(?:conf|neigh)\.)(.+)\.([^.]+)$/.exec(key);
  return m ? `${m[1]!.replace(/\./g, "/")}${m[2]}/${m[3]}` : key;
}

/** Whether netfate needs the full node-facts reader for this topology (simpleNode knows no rules, tables, sysctls). */
function needsFacts(t: Topology): boolean {
  return t.family === "ipv6" || !!t.rules?.length || !!t.sysctls || (t.routes ?? []).some((r) => /\btable\b|^(blackhole|unreachable|prohibit|local|broadcast|throw)\b/.test(r));
}

/** The native nft table whose rule-less base chains show a packet's hooks in the trace. */
export const PROBE_TABLE = "netfate_probe";
export const probeNft = (family: "ip" | "ip6"): string => `table ${family} ${PROBE_TABLE} {
  chain input { type filter hook input priority 1000; }
  chain forward { type filter hook forward priority 1000; }
  chain output { type filter hook output priority 1000; }
  chain postrouting { type filter hook postrouting priority 1000; }
}
`;
/** The peers' gateway: not an address of the node, reached through a static neighbour entry. */
const PEER_GATEWAY = "169.254.1.1";
const PEER_GATEWAY6 = "fe80::1";

/** The routing view netfate gets for a harness topology: its addresses, routes and forwarding. */
export function viewOfTopology(t: Topology): NodeView {
  // The real node-facts reader, as users feed it (simpleNode is IPv4 only, and knows no
  // policy routing, other tables or sysctls).
  if (needsFacts(t)) return nodeViewFromFacts(factsOfTopology(t));
  const routes = (t.routes ?? []).map((r) => {
    const m = /^(\S+)(?: via (\S+))?(?: dev (\S+))?/.exec(r)!;
    return { dst: m[1]!, ...(m[2] ? { via: m[2] } : {}), ...(m[3] ? { dev: m[3] } : {}) };
  });
  const addrs = Object.fromEntries(t.ifaces.map((i) => [i.name, [...(i.addr ? [i.addr] : []), ...(i.extraAddrs ?? [])]]));
  return simpleNode({ addrs, routes, forwarding: t.forwarding ?? true });
}

/**
 * A harness topology as node facts, read by the real node-facts reader: what a user's node.json
 * would say. Needed where the details simpleNode leaves out matter (a route's `src`, which of
 * an interface's addresses MASQUERADE picks).
 */
export function factsOfTopology(t: Topology): NodeFacts {
  const forwarding = t.forwarding === false ? 0 : 1;
  const sysctl: Record<string, number> = t.family === "ipv6" ? { "net.ipv6.conf.all.forwarding": forwarding } : { "net.ipv4.ip_forward": forwarding };
  if (t.family !== "ipv6") {
    // What the namespace holds: the harness turns reverse-path filtering off everywhere, then
    // the topology's own values.
    for (const scope of ["all", "default", ...t.ifaces.map((i) => i.name)]) sysctl[`net.ipv4.conf.${scope}.rp_filter`] = 0;
    Object.assign(sysctl, t.sysctls);
  }
  const interfaces = t.ifaces.map((i) => ({ name: i.name, addrs: [...(i.addr ? [i.addr] : []), ...(i.extraAddrs ?? [])] }));
  const node = { interfaces, routes: [...connectedRoutes(interfaces, t.removedRoutes ?? []), ...(t.routes ?? [])], sysctl };
  const { facts, diagnostics } = factsFromTexts([{ file: "topology.json", text: JSON.stringify(node) }]);
  if (diagnostics.length) throw new Error(`topology facts: ${diagnostics.map((d) => d.message).join("; ")}`);
  // node.json has no rules list yet: the rules go straight into the model, defaults included,
  // as `ip rule show` lists them.
  if (t.rules?.length) facts.rules = [...DEFAULT_RULES, ...t.rules].sort((a, b) => a.priority - b.priority).map(factRuleOf);
  return facts;
}

/**
 * The routes the kernel made from the addresses, as `ip route` lists them (`proto kernel`), less
 * those the topology removed: what a user's routing dump of the namespace holds. Without them
 * the facts would give no routes, and netfate rightly could not say where anything off-link goes.
 */
function connectedRoutes(interfaces: ReadonlyArray<{ name: string; addrs: string[] }>, removed: readonly string[]): string[] {
  const out: string[] = [];
  for (const i of interfaces) {
    for (const cidr of i.addrs) {
      const [address, len] = cidr.split("/") as [string, string | undefined];
      const family = address.includes(":") ? "ipv6" : "ipv4";
      const full = family === "ipv4" ? 32 : 128;
      const prefix = len === undefined ? full : Number(len);
      if (prefix === full) continue;
      const net = numText(applyMask(ipToNum(address, family)!, maskFromPrefix(prefix, family)));
      const dst = `${net}/${prefix}`;
      if (removed.some((r) => {
        const words = r.split(/\s+/);
        return words[0] === dst && words[words.indexOf("dev") + 1] === i.name;
      })) continue;
      out.push(`${dst} dev ${i.name} proto kernel scope link${family === "ipv4" ? ` src ${address}` : ""}`);
    }
  }
  return out;
}

/** A node with eth0 192.168.0.11/24 (default route via 192.168.0.1) and cni0 10.244.0.1/24. */
export const NODE_ETH0_CNI0: Topology = {
  ifaces: [{ name: "eth0", addr: "192.168.0.11/24" }, { name: "cni0", addr: "10.244.0.1/24" }],
  routes: ["default via 192.168.0.1 dev eth0"],
};

/**
 * Why a kernel test file must be skipped here (undefined when it can run); in CI (CI=true) a
 * skip is a failure, so there it throws instead.
 */
export function kernelSkipReason(): string | undefined {
  const why = kernelUnavailable();
  if (why && process.env.CI) throw new Error(`kernel tests must run in CI but cannot: ${why}`);
  return why;
}

/** Why kernel tests cannot run here, or undefined when they can. */
export function kernelUnavailable(): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root (network namespaces need root)";
  for (const tool of ["ip", "iptables-nft-restore", "nft", "python3"]) {
    const r = spawnSync("sh", ["-c", `command -v ${tool}`]);
    if (r.status !== 0) return `${tool} is not installed (apt-get install iptables iproute2 nftables python3)`;
  }
  const probe = `nfprobe${process.pid}`;
  const r = spawnSync("ip", ["netns", "add", probe]);
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.toString().trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  return undefined;
}

export function run(args: string[], input?: string): string {
  const r = spawnSync(args[0]!, args.slice(1), { input, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** One verdict line of the kernel's trace, with the rule position resolved. */
export interface KernelStep {
  table: string;
  chain: string;
  rule: number | "policy";
  /** CONTINUE, ACCEPT, DROP, RETURN, JUMP X, GOTO X, or the policy. */
  verdict: string;
}

export interface KernelTrace {
  id: number;
  steps: KernelStep[];
  /** Hooks of the probe table the packet reached (input, forward, output, postrouting), in order. */
  hooks: string[];
  /** OUT= of the last PACKET line, when the packet was routed out. */
  lastOut?: string;
  /** DST and DPORT as last printed. */
  lastDst?: string;
  /** The source address as last printed (after SNAT or MASQUERADE when the packet got that far). */
  lastSrc?: string;
  /** The transport header the packet's first trace line showed (`udp`, `tcp`, `icmp`...). */
  l4?: string;
  /** The interface the packet's first trace line says it arrived on; absent for a packet the node sent. */
  arrivedOn?: string;
}

/** What a trace's packet line shows of where a packet came from: its transport and its iif. */
export interface PacketLineKind {
  l4?: string;
  iif?: string;
}

/**
 * Whether a packet line under a new trace id, carrying a known packet's IP ID, can be that
 * packet: not when it shows another transport (an ICMP error about it, whose own IP ID equals
 * it by chance; measured, one made a UDP packet's trace end at its own source), nor when the known one arrived from outside and this one has no iif (a packet
 * the node itself sent, such as a redirect, of the same transport). Only a packet that left
 * through lo comes back under a new trace id. Seen once under load: a packet that arrived on
 * eth0 and was forwarded out of eth0 again (which makes the node send a redirect) got
 * `filter OUTPUT policy ACCEPT` added to its path.
 */
export function continuesPacket(first: PacketLineKind, line: PacketLineKind): boolean {
  if (first.l4 !== undefined && line.l4 !== undefined && first.l4 !== line.l4) return false;
  return first.iif === undefined || first.iif === "lo" || line.iif !== undefined;
}

/** The transport header a trace's packet line shows: `udp sport ...`, `icmp type ...`. */
function transportOf(packetLine: string): string | undefined {
  return /\b(tcp|udp|udplite|sctp|dccp|icmp|icmpv6) (?:sport|dport|type|code)\b/.exec(packetLine)?.[1];
}

let counter = 0;

/**
 * Deletes the namespaces of test processes that died without closing them (killed by a
 * timeout): only names this harness makes, and only when their process is gone.
 */
function removeOrphans(): void {
  const list = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
  for (const line of list.split("\n")) {
    const m = /^(nfk(\d+)x\d+(?:p\d+)?)\b/.exec(line);
    if (!m || Number(m[2]) === process.pid || processAlive(Number(m[2]))) continue;
    spawnSync("ip", ["netns", "del", m[1]!]);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A namespace name of this process (`nfk<pid>x<n>`; add `p<i>` for namespaces that belong to
 * it): one a killed test process leaves behind is deleted by the next one.
 */
export function freshNamespaceName(): string {
  if (counter === 0) removeOrphans();
  return `nfk${process.pid}x${counter++}`;
}

export class KernelNode {
  readonly ns: string;
  private readonly peers: string[] = [];
  private nextId = 0;
  private monitor: ChildProcess | undefined;
  private monitorText = "";
  /** The MAC of each interface's neighbour: the source MAC of the frames injected on it. */
  readonly peerMacs = new Map<string, string>();
  /** The MAC of each of the node's interfaces. */
  private readonly nodeMacs = new Map<string, string>();

  constructor(public topo: Topology) {
    this.ns = freshNamespaceName();
    run(["ip", "netns", "add", this.ns]);
    try {
      run(["ip", "-n", this.ns, "link", "set", "lo", "up"]);
      topo.ifaces.forEach((ifc, i) => {
        const peer = `${this.ns}p${i}`;
        this.peers.push(peer);
        run(["ip", "netns", "add", peer]);
        run(["ip", "-n", peer, "link", "set", "lo", "up"]);
        run(["ip", "link", "add", ifc.name, "netns", this.ns, "type", "veth", "peer", "name", "peer", "netns", peer]);
        // nodad: an IPv6 address is usable at once, not after duplicate address detection.
        for (const a of [...(ifc.addr ? [ifc.addr] : []), ...(ifc.extraAddrs ?? [])]) run(["ip", "-n", this.ns, "addr", "add", a, "dev", ifc.name, ...(a.includes(":") ? ["nodad"] : [])]);
        run(["ip", "-n", this.ns, "link", "set", ifc.name, "up"]);
        // The neighbour holds a link-local /32 and sends everything to the node through a
        // gateway that resolves, statically, to the node's MAC: an injected packet always
        // reaches the node, whatever its destination, and the node needs no address here.
        const nodeMac = mac(this.ns, ifc.name);
        this.nodeMacs.set(ifc.name, nodeMac);
        run(["ip", "-n", peer, "addr", "add", `169.254.200.${i + 1}/32`, "dev", "peer"]);
        run(["ip", "-n", peer, "link", "set", "peer", "up"]);
        run(["ip", "-n", peer, "route", "add", PEER_GATEWAY, "dev", "peer"]);
        run(["ip", "-n", peer, "neigh", "replace", PEER_GATEWAY, "lladdr", nodeMac, "dev", "peer", "nud", "permanent"]);
        run(["ip", "-n", peer, "route", "add", "default", "via", PEER_GATEWAY, "dev", "peer", "onlink"]);
        if (topo.family === "ipv6") {
          run(["ip", "-n", peer, "-6", "route", "add", "default", "via", PEER_GATEWAY6, "dev", "peer"]);
          run(["ip", "-n", peer, "-6", "neigh", "replace", PEER_GATEWAY6, "lladdr", nodeMac, "dev", "peer", "nud", "permanent"]);
        }
        run(["ip", "netns", "exec", peer, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"]);
        this.peerMacs.set(ifc.name, mac(peer, "peer"));
      });
      this.applyRouting(topo);
      this.sysctl("net.ipv4.ip_forward", topo.forwarding === false ? "0" : "1");
      if (topo.family === "ipv6") {
        this.sysctl("net.ipv6.conf.all.forwarding", topo.forwarding === false ? "0" : "1");
        // No router solicitations or neighbour discovery noise from the node's own addresses.
        this.sysctl("net.ipv6.conf.all.accept_dad", "0");
      } else this.sysctl("net.ipv6.conf.all.disable_ipv6", "1");
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /**
   * The topology's routes (with a static neighbour entry for each gateway), rp_filter off
   * everywhere, then its own sysctls and `ip rule`s.
   */
  private applyRouting(topo: Topology): void {
    for (const r of topo.removedRoutes ?? []) run(["ip", "-n", this.ns, "route", "del", ...r.split(/\s+/)]);
    // replace, not add: a route the addresses already made (route -n lists connected routes) is no error.
    for (const r of topo.routes ?? []) run(["ip", "-n", this.ns, "route", "replace", ...r.split(/\s+/)]);
    const gateways = (topo.routes ?? []).flatMap((r) => {
      const m = /\bvia (\S+) dev (\S+)/.exec(r);
      return m ? [{ addr: m[1]!, dev: m[2]! }] : [];
    });
    for (const n of [...gateways, ...(topo.neighbours ?? [])]) {
      const lladdr = this.peerMacs.get(n.dev);
      if (lladdr) run(["ip", "-n", this.ns, "neigh", "replace", n.addr, "lladdr", lladdr, "dev", n.dev, "nud", "permanent"]);
    }
    this.sysctl("net.ipv4.conf.all.rp_filter", "0");
    this.sysctl("net.ipv4.conf.default.rp_filter", "0");
    // Slashes: an interface name may hold dots (flannel.1), which sysctl reads as separators.
    for (const i of topo.ifaces) this.sysctl(`net/ipv4/conf/${i.name}/rp_filter`, "0");
    for (const [k, v] of Object.entries(topo.sysctls ?? {})) this.sysctl(sysctlPath(k), String(v));
    for (const r of topo.rules ?? []) run(["ip", "-n", this.ns, "rule", "add", ...ipRuleArgs(r)]);
  }

  private sysctl(key: string, value: string): void {
    run(["ip", "netns", "exec", this.ns, "sysctl", "-qw", `${key}=${value}`]);
  }

  /**
   * Gives the node another routing set-up over the same interfaces, as if it had been made with
   * `t`: the current topology's rules and routes are deleted and the sysctls it set put back
   * to 0 (what the harness or the kernel starts them at: rp_filter, accept_local,
   * route_localnet, src_valid_mark), then `t`'s are applied. Faster than a new namespace. (A
   * listed route the addresses made, a connected one, would stay deleted: list none.)
   */
  reroute(t: Topology): void {
    if (JSON.stringify(t.ifaces) !== JSON.stringify(this.topo.ifaces) || t.family !== this.topo.family || t.forwarding !== this.topo.forwarding) {
      throw new Error("reroute keeps the interfaces, family and forwarding: make a new KernelNode for another node");
    }
    for (const r of this.topo.rules ?? []) run(["ip", "-n", this.ns, "rule", "del", "priority", String(r.priority)]);
    for (const r of this.topo.routes ?? []) run(["ip", "-n", this.ns, "route", "del", ...r.split(/\s+/)]);
    for (const k of Object.keys(this.topo.sysctls ?? {})) this.sysctl(sysctlPath(k), "0");
    this.topo = t;
    this.applyRouting(t);
  }

  close(): void {
    if (this.monitor && this.monitor.exitCode === null) this.monitor.kill("SIGTERM");
    for (const p of this.peers) spawnSync("ip", ["netns", "del", p]);
    spawnSync("ip", ["netns", "del", this.ns]);
  }

  /**
   * Replaces the node's rules (and ipsets, given as `ipset save` text), then adds the TRACE
   * rules (raw PREROUTING and OUTPUT, first) and the probe table.
   */
  load(rules: string, ipsets?: string): void {
    const v6 = this.topo.family === "ipv6";
    const restore = v6 ? "ip6tables-nft-restore" : "iptables-nft-restore";
    run(["ip", "netns", "exec", this.ns, "nft", "-f", "-"], `flush ruleset\n${probeNft(v6 ? "ip6" : "ip")}`);
    // Flushed first: a list:set's members are references, and `ipset destroy` refuses them all while one is held.
    spawnSync("ip", ["netns", "exec", this.ns, "ipset", "flush"]);
    spawnSync("ip", ["netns", "exec", this.ns, "ipset", "destroy"]);
    if (ipsets) run(["ip", "netns", "exec", this.ns, "ipset", "restore"], ipsets);
    run(["ip", "netns", "exec", this.ns, restore], rules);
    run(["ip", "netns", "exec", this.ns, restore, "--noflush"], "*raw\n-I PREROUTING 1 -j TRACE\n-I OUTPUT 1 -j TRACE\nCOMMIT\n");
  }

  /** Forgets every connection, so the next packets of an already seen tuple are NEW again. */
  flushConntrack(): void {
    spawnSync("ip", ["netns", "exec", this.ns, "conntrack", "-F"], { stdio: "ignore" });
  }

  private handleMap(): Map<string, Map<string, Map<number, number>>> {
    return ruleHandles(this.ns);
  }

  /** One monitor for the node's lifetime: starting one per batch costs more than the batch. */
  private async ensureMonitor(): Promise<void> {
    if (this.monitor && this.monitor.exitCode === null) return;
    const m = spawn("ip", ["netns", "exec", this.ns, "nft", "-a", "monitor", "trace"], { stdio: ["ignore", "pipe", "pipe"] });
    m.stdout!.on("data", (d: Buffer) => (this.monitorText += d.toString()));
    this.monitor = m;
    await sleep(400);
  }

  /**
   * Sends packets (each tagged by its IP ID), `gapMs` apart, and returns the kernel's trace of
   * each: undefined when the trace lost it, "send-failed" when the kernel refused to send it.
   *
   * The monitor is `nft monitor trace`, not xtables-monitor 1.8.9, which exits on the first
   * event it cannot take: "No buffer space available" when a burst overflows its netlink
   * socket, "unsupported layer 4 protocol value" when it cannot print a rule such as
   * `-A X ! -s fd00:96::/112 -p udp -m udp --dport 53` (measured: 22 of 400 IPv6 packets never
   * traced, always the same ones). nft takes a 16 MB socket buffer and prints every rule. Should
   * a trace still be lost, and unless the packets are `stateful`, the lost ones are sent again
   * after a conntrack flush (so each again meets no connection, as the first time).
   */
  async trace(packets: PacketSpec[], opts: TraceOptions = {}): Promise<Array<KernelTrace | "send-failed" | undefined>> {
    const out = await this.traceOnce(packets, opts.gapMs ?? 8);
    for (let round = 0; round < (opts.stateful ? 0 : RESEND_ROUNDS); round++) {
      const lost = out.flatMap((t, i) => (t === undefined ? [i] : []));
      if (lost.length === 0) break;
      this.flushConntrack();
      const again = await this.traceOnce(lost.map((i) => packets[i]!), opts.gapMs ?? 8);
      lost.forEach((i, j) => (out[i] = again[j]));
    }
    return out;
  }

  private async traceOnce(packets: PacketSpec[], gapMs: number): Promise<Array<KernelTrace | "send-failed" | undefined>> {
    const { ids, failed, text, monitorDied } = await this.sendAndRecord(packets, gapMs);
    const traces = parseTrace(text, this.handleMap());
    // A monitor that died mid-batch may have died printing the last packet it traced: that
    // packet's path may be cut short, so it counts as lost too.
    if (monitorDied) {
      const ours = new Set(ids);
      const last = [...text.matchAll(/^PACKET: .*\b(?:ID|FLOWLBL)=(\d+)/gm)].map((m) => Number(m[1])).filter((id) => ours.has(id)).at(-1);
      if (last !== undefined) traces.delete(last);
    }
    return ids.map((id) => (failed.has(id) ? "send-failed" : traces.get(id)));
  }

  /**
   * Sends packets (each tagged by its IP ID, returned in `ids`), `gapMs` apart, and returns the
   * monitor's raw text of the batch, the IDs the kernel refused to send, and whether the
   * monitor died meanwhile (for readers of the trace other than parseTrace: the nft harness).
   */
  async sendAndRecord(packets: PacketSpec[], gapMs: number): Promise<{ ids: number[]; failed: Set<number>; text: string; monitorDied: boolean }> {
    await this.ensureMonitor();
    const monitor = this.monitor!;
    const start = this.monitorText.length;
    const ids: number[] = [];
    const lines: string[] = [];
    for (const p of packets) {
      // IP IDs 1000..64999, reused cyclically: one batch never holds two packets with one ID.
      const id = 1000 + (this.nextId++ % 64000);
      ids.push(id);
      lines.push(this.sendLine(p, id));
    }
    // Asynchronously: a blocked event loop stops reading the monitor's pipe, and then the
    // kernel drops trace events the monitor cannot take (measured: 21 of 600 traced).
    const r = await sendBatch(lines, gapMs);
    if (r.status !== 0) throw new Error(`send-packet.py --batch failed: ${r.stderr}`);
    const failed = new Set<number>();
    for (const line of r.stdout.trim().split("\n")) {
      const [id, status, ...msg] = line.split(" ");
      // eperm: netfilter dropped it in OUTPUT, which the trace shows.
      if (status === "unreachable") failed.add(Number(id));
      else if (status === "error") throw new Error(`sending packet ${id} failed: ${msg.join(" ")}`);
    }
    // Wait until the monitor has been quiet for a while: under load its lines come late.
    let seen = -1;
    for (let waited = 0; waited < 5000 && monitor.exitCode === null; waited += 100) {
      await sleep(100);
      if (this.monitorText.length === seen && waited >= 200) break;
      seen = this.monitorText.length;
    }
    return { ids, failed, text: this.monitorText.slice(start), monitorDied: monitor.exitCode !== null };
  }

  /** A `send-packet.py --batch` line: the namespace it leaves from, then the packet. */
  private sendLine(p: PacketSpec, id: number): string {
    const args = [p.src ?? (p.family === "ipv6" ? "::" : "0.0.0.0"), p.dst, String(p.proto), String(id)];
    if (p.proto === 6 || p.proto === 17) args.push(String(p.sport ?? 40000), String(p.dport ?? 80), String(p.tcpFlags ?? 2));
    else if (p.proto === 1 || p.proto === 58) args.push(String(p.icmpType ?? (p.proto === 1 ? 8 : 128)), String(p.icmpCode ?? 0));
    let ns = this.ns;
    if (p.from !== "local") {
      const i = this.topo.ifaces.findIndex((x) => x.name === p.from);
      if (i < 0) throw new Error(`no interface ${p.from} in the topology`);
      ns = this.peers[i]!;
      // A LAN host sends to the limited broadcast or its subnet's broadcast address in a
      // broadcast frame: the node then sees pkttype broadcast, as it would for real. A
      // loopback destination or a zero source goes in a frame to the node's MAC, as built:
      // the neighbour's own stack would keep the one and rewrite the other.
      if (p.family === "ipv4" && linkBroadcast(p.dst, this.topo.ifaces[i]!)) ns += "%peer";
      else if (p.family === "ipv4" && (p.dst.startsWith("127.") || p.src === "0.0.0.0")) ns += `%peer%${this.nodeMacs.get(p.from)}`;
    }
    return [ns, ...args].join(" ");
  }
}

/**
 * Where the kernel let the packet go, from the probe table's hooks in its trace: delivered
 * through INPUT, out of an interface, or stopped before either — `by: "rule"` when a rule or
 * policy of the trace dropped it (or queued it), `by: "routing"` when none did: the route
 * lookup refused it after PREROUTING (rp_filter, a martian source or destination, an
 * unreachable, blackhole or prohibit route or `ip rule`, 127/8 off lo without route_localnet),
 * so it never reached INPUT or FORWARD.
 */
export function kernelFate(t: KernelTrace): KernelFate {
  if (t.hooks.includes("input")) return { kind: "delivered" };
  const by = t.steps.some((s) => s.verdict === "DROP" || s.verdict === "QUEUE") ? "rule" : "routing";
  // Out by lo but never at the input probe: it came back in and stopped on the way up.
  if (t.lastOut === "lo") return { kind: "stopped", by };
  if (t.hooks.includes("postrouting") && t.lastOut) return { kind: "out", iface: t.lastOut };
  return { kind: "stopped", by };
}

export type KernelFate = { kind: "delivered" } | { kind: "out"; iface: string } | { kind: "stopped"; by: "rule" | "routing" };

/** The limited broadcast, or the broadcast address of one of the interface's IPv4 subnets. */
export function linkBroadcast(dst: string, ifc: TopologyIface): boolean {
  if (dst === "255.255.255.255") return true;
  const num = (ip: string) => ip.split(".").reduce((x, b) => x * 256 + Number(b), 0);
  return [...(ifc.addr ? [ifc.addr] : []), ...(ifc.extraAddrs ?? [])].some((cidr) => {
    const [a, len] = cidr.split("/");
    if (a!.includes(":") || Number(len) >= 31) return false;
    return ((num(a!) | (2 ** (32 - Number(len)) - 1)) >>> 0) === num(dst);
  });
}

function sendBatch(lines: string[], gapMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const p = spawn("python3", [SENDER, "--batch", String(gapMs)], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    p.once("error", fail);
    p.once("close", (status) => done({ status, stdout, stderr }));
    p.stdin!.end(lines.join("\n") + "\n");
  });
}

function mac(ns: string, dev: string): string {
  const j = JSON.parse(run(["ip", "-n", ns, "-j", "link", "show", dev])) as Array<{ address: string }>;
  return j[0]!.address;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** How often lost traces are sent again (each round after a monitor restart). */
const RESEND_ROUNDS = 3;

export interface TraceOptions {
  /** Milliseconds between packets: unpaced UDP bursts from one namespace lose traces. */
  gapMs?: number;
  /**
   * The packets rely on connections made before (a SYN, then its reply): lost traces are not
   * sent again, since that needs a conntrack flush which would undo the connection.
   */
  stateful?: boolean;
}

/**
 * Parses `nft -a monitor trace` output into per-packet step lists keyed by IP ID (IPv4) or
 * flow label (IPv6). A `packet:` line opens each base chain the packet enters; rule lines end
 * with `# handle N (verdict V)` (or read `unknown rule handle N (verdict V)` when the rules were
 * reloaded after nft cached them), policy lines read `policy V`.
 */
export function parseTrace(text: string, handles: Map<string, Map<string, Map<number, number>>>): Map<number, KernelTrace> {
  const byTraceId = new Map<string, KernelTrace>();
  const out = new Map<number, KernelTrace>();
  for (const line of text.split("\n")) {
    const ev = /^trace id ([0-9a-f]+) (?:ip6?|inet) (\S+) (\S+) (packet:|rule|policy|unknown rule) (.*)$/.exec(line);
    if (!ev) continue;
    const [, traceId, table, chain, kind, rest] = ev as unknown as [string, string, string, string, string, string];
    if (kind === "packet:") {
      const id = /\b(?:ip id|ip6 flowlabel) (\d+)/.exec(rest);
      let tr = byTraceId.get(traceId);
      // The kernel derives the trace id from the skb's address, so a later packet reusing a
      // freed skb gets the same trace id (measured: two echo requests merged into one path);
      // a packet looped back through lo gets a new trace id but keeps its IP ID. The IP ID
      // decides which packet a trace line belongs to.
      if (id && tr?.id !== Number(id[1])) {
        const known = out.get(Number(id[1]));
        const l4 = transportOf(rest);
        const iif = /\biif "([^"]+)"/.exec(rest)?.[1];
        if (known && !continuesPacket({ l4: known.l4, iif: known.arrivedOn }, { l4, iif })) {
          byTraceId.delete(traceId);
          continue;
        }
        tr = known ?? { id: Number(id[1]), steps: [], hooks: [], ...(l4 ? { l4 } : {}), ...(iif ? { arrivedOn: iif } : {}) };
        byTraceId.set(traceId, tr);
        out.set(tr.id, tr);
      }
      if (tr) {
        const o = /\boif "([^"]+)"/.exec(rest);
        if (o) tr.lastOut = o[1]!;
        const d = /\bip6? daddr (\S+)/.exec(rest);
        if (d) tr.lastDst = d[1]!;
        const s = /\bip6? saddr (\S+)/.exec(rest);
        if (s) tr.lastSrc = s[1]!;
      }
      continue;
    }
    const tr = byTraceId.get(traceId);
    if (tr) addTraceEvent(tr, table, chain, kind, rest, handles);
  }
  return out;
}

/**
 * A trace's rule or policy line (or a probe chain's, which says which hook the packet reached)
 * added to its trace: a rule as its position in its chain, found by its handle.
 */
export function addTraceEvent(tr: KernelTrace, table: string, chain: string, kind: string, rest: string, handles: Map<string, Map<string, Map<number, number>>>): void {
  if (table === PROBE_TABLE) {
    tr.hooks.push(chain);
    return;
  }
  if (kind === "policy") {
    tr.steps.push({ table, chain, rule: "policy", verdict: verdictName(rest) });
    return;
  }
  // `unknown rule handle N (verdict V)` when nft's cache missed a reload: the handle is all we need.
  const r = /\bhandle (\d+) \(verdict ([^)]*)\)\s*$/.exec(rest);
  if (!r) return;
  const pos = handles.get(table)?.get(chain)?.get(Number(r[1]));
  if (pos === undefined) return; // a TRACE rule of ours
  tr.steps.push({ table, chain, rule: pos, verdict: verdictName(r[2]!) });
}

/** table → chain → rule handles in order (1-based, as iptables-save lists them), TRACE rules left out, of a namespace's ruleset. */
export function ruleHandles(ns: string): Map<string, Map<string, Map<number, number>>> {
  const text = run(["ip", "netns", "exec", ns, "nft", "-a", "list", "ruleset"]);
  const out = new Map<string, Map<string, Map<number, number>>>();
  let table: string | undefined;
  let chain: string | undefined;
  let pos = 0;
  for (const line of text.split("\n")) {
    const t = /^table ip6? (\S+) \{/.exec(line);
    if (t) {
      table = t[1]!;
      out.set(table, new Map());
      continue;
    }
    const c = /^\s+chain (\S+) \{/.exec(line);
    if (c && table) {
      chain = c[1]!;
      out.get(table)!.set(chain, new Map());
      pos = 0;
      continue;
    }
    const h = /# handle (\d+)\s*$/.exec(line);
    if (h && table && chain && !/^\s+(type|policy) /.test(line)) {
      if (/nftrace set 1/.test(line)) continue;
      out.get(table)!.get(chain)!.set(Number(h[1]), ++pos);
    }
  }
  return out;
}

/** nft's `accept`, `jump KUBE-X` as the steps spell them: `ACCEPT`, `JUMP KUBE-X`. */
function verdictName(nft: string): string {
  const [word = "", ...target] = nft.trim().split(/\s+/);
  const name = word.toUpperCase();
  return name === "JUMP" || name === "GOTO" ? `${name} ${target[0] ?? ""}` : name;
}

/** One of the three rules every namespace starts with. */
export function isDefaultRule(r: FactRule): boolean {
  return r.action === "lookup" && !r.from && !r.to && r.fwmark === undefined && !r.iif && !r.oif && !r.not
    && ((r.priority === 0 && r.table === "local") || (r.priority === 32766 && r.table === "main") || (r.priority === 32767 && r.table === "default"));
}

/** A node's `ip rule` (as the facts readers give it) as the harness makes it. */
export function topologyRule(r: FactRule): TopologyRule {
  if (r.action === "nop" || r.undecidable?.length || r.suppressIfgroup !== undefined) throw new Error(`the harness cannot make rule ${r.priority}`);
  const t: TopologyRule = { priority: r.priority, action: r.action };
  if (r.not) t.not = true;
  if (r.from) t.from = `${r.from.address}/${r.from.prefixLength}`;
  if (r.to) t.to = `${r.to.address}/${r.to.prefixLength}`;
  if (r.iif) t.iif = r.iif;
  if (r.oif) t.oif = r.oif;
  if (r.fwmark !== undefined) t.fwmark = r.fwmark;
  if (r.fwmask !== undefined) t.fwmask = r.fwmask;
  if (r.ipproto !== undefined) t.ipproto = r.ipproto;
  if (r.sport) t.sport = r.sport;
  if (r.dport) t.dport = r.dport;
  if (r.table !== undefined) t.table = r.table;
  if (r.goto !== undefined) t.goto = r.goto;
  if (r.suppressPrefixLength !== undefined) t.suppressPrefixLength = r.suppressPrefixLength;
  return t;
}

/** A network namespace `ns` for the tests of the enclosing describe, made before them and removed after. */
export function inNamespace(ns: string): void {
  beforeAll(() => {
    spawnSync("ip", ["netns", "del", ns]);
    const r = spawnSync("ip", ["netns", "add", ns]);
    if (r.status !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr.toString()}`);
  });
  afterAll(() => {
    spawnSync("ip", ["netns", "del", ns]);
  });
}
