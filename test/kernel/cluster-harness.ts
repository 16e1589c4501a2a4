/**
 * A cluster in network namespaces, for judging netfate's multi-node paths by the kernel's own.
 *
 * - The underlay: a "wire" namespace holding a bridge (br0, with the router address
 *   192.168.0.1 that every node's default route points at); each node's eth0 is a veth to it,
 *   node-M holding 192.168.0.(10+M)/24.
 * - Flannel-style VXLAN between the nodes, as flanneld sets it up: `flannel.1` (VNI 1, dstport
 *   8472, nolearning, local = the node's underlay address) with 10.244.M.0/32, and per peer a
 *   neighbour entry (the peer's VTEP address 10.244.P.0 → its MAC), an FDB entry (that MAC →
 *   the peer's underlay address) and `10.244.P.0/24 via 10.244.P.0 dev flannel.1 onlink`.
 * - Calico-style pods ("canal"): a namespace per pod whose eth0 is a veth to the node
 *   (`cali…` on the node, no address, proxy_arp=1 and proxy_delay=0 as Calico sets them), the
 *   pod's address as a /32 with a `/32 dev cali…` route on the node, and the pod's default route
 *   via 169.254.1.1 (answered by the node's proxy ARP).
 * - Or, on a node whose `cni` is `bridge`, flannel's own bridge CNI: the pods' veths are ports
 *   of cni0 (10.244.M.1/24, the pods' gateway), the pods' addresses in its /24.
 *
 * This kernel has veth, bridge and vxlan; it has NO ipip, wireguard, dummy or IPVS (checked:
 * `ip link add … type ipip` and `type dummy` answer "Unknown device type"), so Calico IPIP,
 * WireGuard and IPVS clusters cannot be made here.
 *
 * Every node and pod namespace gets unconditional TRACE rules (raw PREROUTING and OUTPUT), the
 * harness's probe table (harness.ts: where a packet went) and its own `nft monitor trace`.
 * Connections are real sockets (send-packet.py --sockets): a TCP connect to a listener in the
 * destination, an ICMP echo, so the kernel itself makes the reply, and whether the connect
 * completed says whether the reply reached the sender's socket. Test traffic stays in the
 * namespaces made here; `close()` deletes them all.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { factsFromTexts } from "../../src/facts/parse.js";
import type { NodeFacts } from "../../src/facts/model.js";
import type { PodSpec } from "../../src/model/cluster.js";
import { addTraceEvent, freshNamespaceName, probeNft, ruleHandles, run, type KernelTrace } from "./harness.js";

const SENDER = resolve(import.meta.dirname, "send-packet.py");

export interface ClusterNodeDef {
  name: string;
  /** M: underlay 192.168.0.(10+M), pod network 10.244.M.0/24, VTEP address 10.244.M.0. */
  index: number;
  /**
   * How its pods hang on it: `calico` (a veth each, routed, the default) or `bridge` (flannel's
   * own CNI: every pod's veth on the bridge cni0, which holds 10.244.M.1/24 and is the pods'
   * gateway; bridge-nf-call-iptables is 1, a namespace's default here, so bridged packets
   * cross iptables too).
   */
  cni?: "calico" | "bridge";
}

export interface ClusterPodDef {
  name: string;
  node: string;
  /** The pod's address (a /32 on its eth0; on a bridge node, in the bridge's /24). */
  address: string;
  /** The node's end of its veth (at most 15 characters); on a bridge node, a port of cni0. */
  nodeIface: string;
}

export interface ClusterTopology {
  nodes: ClusterNodeDef[];
  pods: ClusterPodDef[];
}

export const UNDERLAY_ROUTER = "192.168.0.1";
export const VXLAN_PORT = 8472;
export const POD_GATEWAY = "169.254.1.1";
export const underlayAddress = (n: ClusterNodeDef): string => `192.168.0.${10 + n.index}`;
export const vtepAddress = (n: ClusterNodeDef): string => `10.244.${n.index}.0`;
export const podCidr = (n: ClusterNodeDef): string => `10.244.${n.index}.0/24`;
/** A bridge node's cni0 address: its pods' gateway. */
export const bridgeAddress = (n: ClusterNodeDef): string => `10.244.${n.index}.1`;
const vtepMac = (n: ClusterNodeDef): string => `0a:58:0a:f4:${n.index.toString(16).padStart(2, "0")}:00`;

/** One packet line of a trace, as `nft monitor trace` prints the headers. */
export interface TracedHeaders {
  iif?: string;
  oif?: string;
  src: string;
  dst: string;
  /** `tcp`, `udp`, `icmp`... */
  l4?: string;
  sport?: number;
  dport?: number;
  /** As nft prints them: `syn`, `0x12`, `rst`, `ack`... */
  tcpFlags?: string;
  icmpType?: string;
  icmpId?: number;
  ipId?: number;
}

/**
 * One pass of a packet through one namespace's netfilter: from the raw PREROUTING or OUTPUT
 * chain (where the TRACE rules are) to where it left or stopped. An encapsulated packet's outer
 * packet, and a decapsulated packet, are passes of their own.
 */
export interface TracePass extends KernelTrace {
  /** The headers as the pass began (before any NAT of this namespace). */
  first: TracedHeaders;
  /** The headers as last printed (after the NAT the pass met). */
  last: TracedHeaders;
}

/** What a place's trace recorded during one exchange, in the order the kernel printed it. */
export type PlaceTraces = Map<string, TracePass[]>;

/** The key of a place: the node's name, or `node/pod`. */
export const placeKey = (p: { node: string; pod?: string }): string => (p.pod ? `${p.node}/${p.pod}` : p.node);

function headersOf(rest: string): TracedHeaders | undefined {
  const src = /\bip saddr (\S+)/.exec(rest)?.[1];
  const dst = /\bip daddr (\S+)/.exec(rest)?.[1];
  if (!src || !dst) return undefined;
  const h: TracedHeaders = { src, dst };
  const iif = /\biif "([^"]+)"/.exec(rest)?.[1];
  if (iif) h.iif = iif;
  const oif = /\boif "([^"]+)"/.exec(rest)?.[1];
  if (oif) h.oif = oif;
  const l4 = /\b(tcp|udp|icmp|sctp) (?:sport|dport|type)\b/.exec(rest)?.[1];
  if (l4) h.l4 = l4;
  const sport = /\b(?:tcp|udp|sctp) sport (\d+)/.exec(rest)?.[1];
  if (sport) h.sport = Number(sport);
  const dport = /\b(?:tcp|udp|sctp) dport (\d+)/.exec(rest)?.[1];
  if (dport) h.dport = Number(dport);
  const flags = /\btcp flags == (\S+)/.exec(rest)?.[1];
  if (flags) h.tcpFlags = flags;
  const itype = /\bicmp type (\S+)/.exec(rest)?.[1];
  if (itype) h.icmpType = itype;
  const iid = /\bicmp id (\d+)/.exec(rest)?.[1];
  if (iid) h.icmpId = Number(iid);
  const ipId = /\bip id (\d+)/.exec(rest)?.[1];
  if (ipId) h.ipId = Number(ipId);
  return h;
}

/**
 * Splits `nft -a monitor trace` text into passes. A pass begins at a packet line of raw
 * PREROUTING or raw OUTPUT (the chains the TRACE rules are in): the kernel derives trace ids
 * from the skb's address, and an encapsulating device sends its outer packet in the inner
 * packet's skb (vxlan_xmit_one → udp_tunnel_xmit_skb), so a trace id alone does not part them.
 * The other way round, a packet routed from a bridge port (br_netfilter runs PREROUTING at the
 * bridge) comes to FORWARD or INPUT under another trace id (measured on cni0): a pass that
 * begins past raw is the latest unfinished pass with the packet's IP ID and transport.
 */
export function parsePasses(text: string, handles: Map<string, Map<string, Map<number, number>>>): TracePass[] {
  const passes: TracePass[] = [];
  const current = new Map<string, TracePass>();
  for (const line of text.split("\n")) {
    const ev = /^trace id ([0-9a-f]+) ip (\S+) (\S+) (packet:|rule|policy|unknown rule) (.*)$/.exec(line);
    if (!ev) continue;
    const [, traceId, table, chain, kind, rest] = ev as unknown as [string, string, string, string, string, string];
    if (kind === "packet:") {
      const h = headersOf(rest);
      if (!h) continue;
      let p = current.get(traceId);
      const begins = table === "raw" && (chain === "PREROUTING" || chain === "OUTPUT");
      if (!p && !begins) {
        for (let i = passes.length - 1; i >= 0 && !p; i--) {
          const q = passes[i]!;
          if (q.last.ipId === h.ipId && q.l4 === h.l4 && !q.hooks.includes("input") && !q.hooks.includes("postrouting")) p = q;
        }
        if (p) current.set(traceId, p);
      }
      if (!p || begins) {
        p = { id: passes.length, steps: [], hooks: [], first: h, last: h, ...(h.l4 ? { l4: h.l4 } : {}) };
        passes.push(p);
        current.set(traceId, p);
      }
      p.last = h;
      if (h.oif) p.lastOut = h.oif;
      p.lastDst = h.dst;
      p.lastSrc = h.src;
      continue;
    }
    const p = current.get(traceId);
    if (p) addTraceEvent(p, table, chain, kind, rest, handles);
  }
  return passes;
}

/**
 * What a socket said of a connection: `ok` when the reply reached it; `other-source` when an
 * echo reply with the echo's identifier came, but from another address than the one pinged.
 */
export type SocketAnswer = "ok" | "timeout" | "refused" | "unreachable" | "other-source";

interface Traced {
  ns: string;
  monitor?: ChildProcess;
  text: string;
  handles?: Map<string, Map<string, Map<number, number>>>;
}

export class KernelCluster {
  readonly wire: string;
  /** Namespace of each place (placeKey). */
  readonly ns = new Map<string, string>();
  private readonly traced = new Map<string, Traced>();
  private agent?: ChildProcess;
  private agentLines?: Interface;
  private readonly pending: Array<(line: string) => void> = [];

  constructor(readonly topo: ClusterTopology) {
    this.wire = freshNamespaceName();
    const made: string[] = [this.wire];
    try {
      run(["ip", "netns", "add", this.wire]);
      run(["ip", "-n", this.wire, "link", "set", "lo", "up"]);
      run(["ip", "-n", this.wire, "link", "add", "br0", "type", "bridge"]);
      run(["ip", "-n", this.wire, "addr", "add", `${UNDERLAY_ROUTER}/24`, "dev", "br0"]);
      run(["ip", "-n", this.wire, "link", "set", "br0", "up"]);
      let sub = 0;
      const fresh = (key: string): string => {
        const ns = `${this.wire}p${sub++}`;
        run(["ip", "netns", "add", ns]);
        made.push(ns);
        run(["ip", "-n", ns, "link", "set", "lo", "up"]);
        this.ns.set(key, ns);
        // No IPv6 chatter (router solicitations) in the traces; no SYN-ACK retransmitted into
        // a later case (a listener answers once).
        this.sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1");
        this.sysctl(ns, "net.ipv4.tcp_synack_retries", "0");
        for (const k of ["all", "default"]) this.sysctl(ns, `net.ipv4.conf.${k}.rp_filter`, "0");
        return ns;
      };
      for (const n of topo.nodes) {
        const ns = fresh(n.name);
        run(["ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", `n${n.index}`, "netns", this.wire]);
        run(["ip", "-n", this.wire, "link", "set", `n${n.index}`, "master", "br0", "up"]);
        run(["ip", "-n", ns, "addr", "add", `${underlayAddress(n)}/24`, "dev", "eth0"]);
        run(["ip", "-n", ns, "link", "set", "eth0", "up"]);
        run(["ip", "-n", ns, "route", "add", "default", "via", UNDERLAY_ROUTER, "dev", "eth0"]);
        run(["ip", "-n", ns, "link", "add", "flannel.1", "address", vtepMac(n), "type", "vxlan", "id", "1", "local", underlayAddress(n), "dev", "eth0", "dstport", String(VXLAN_PORT), "nolearning"]);
        run(["ip", "-n", ns, "addr", "add", `${vtepAddress(n)}/32`, "dev", "flannel.1"]);
        run(["ip", "-n", ns, "link", "set", "flannel.1", "up"]);
        if (n.cni === "bridge") {
          run(["ip", "-n", ns, "link", "add", "cni0", "type", "bridge"]);
          run(["ip", "-n", ns, "addr", "add", `${bridgeAddress(n)}/24`, "dev", "cni0"]);
          run(["ip", "-n", ns, "link", "set", "cni0", "up"]);
        }
        this.sysctl(ns, "net.ipv4.ip_forward", "1");
      }
      for (const n of topo.nodes) {
        const ns = this.ns.get(n.name)!;
        for (const peer of topo.nodes) {
          if (peer === n) continue;
          run(["ip", "-n", ns, "neigh", "replace", vtepAddress(peer), "lladdr", vtepMac(peer), "dev", "flannel.1", "nud", "permanent"]);
          run(["bridge", "-n", ns, "fdb", "append", vtepMac(peer), "dev", "flannel.1", "dst", underlayAddress(peer)]);
          run(["ip", "-n", ns, "route", "add", podCidr(peer), "via", vtepAddress(peer), "dev", "flannel.1", "onlink"]);
        }
      }
      for (const p of topo.pods) {
        const node = topo.nodes.find((n) => n.name === p.node);
        if (!node) throw new Error(`pod ${p.name}: no node ${p.node}`);
        const nodeNs = this.ns.get(p.node)!;
        const ns = fresh(placeKey({ node: p.node, pod: p.name }));
        run(["ip", "link", "add", p.nodeIface, "netns", nodeNs, "type", "veth", "peer", "name", "eth0", "netns", ns]);
        run(["ip", "-n", ns, "link", "set", "eth0", "up"]);
        if (node.cni === "bridge") {
          run(["ip", "-n", ns, "addr", "add", `${p.address}/24`, "dev", "eth0"]);
          run(["ip", "-n", ns, "route", "add", "default", "via", bridgeAddress(node), "dev", "eth0"]);
          run(["ip", "-n", nodeNs, "link", "set", p.nodeIface, "master", "cni0", "up"]);
          continue;
        }
        run(["ip", "-n", ns, "addr", "add", `${p.address}/32`, "dev", "eth0"]);
        run(["ip", "-n", ns, "route", "add", POD_GATEWAY, "dev", "eth0", "scope", "link"]);
        run(["ip", "-n", ns, "route", "add", "default", "via", POD_GATEWAY, "dev", "eth0"]);
        run(["ip", "-n", nodeNs, "link", "set", p.nodeIface, "up"]);
        // Calico's settings: answer the pod's ARP for its gateway at once (the default
        // proxy_delay holds a proxied answer up to 0.8 s, longer than a connect here waits).
        this.sysctl(nodeNs, `net/ipv4/conf/${p.nodeIface}/proxy_arp`, "1");
        this.sysctl(nodeNs, `net/ipv4/neigh/${p.nodeIface}/proxy_delay`, "0");
        this.sysctl(nodeNs, `net/ipv4/conf/${p.nodeIface}/rp_filter`, "0");
        run(["ip", "-n", nodeNs, "route", "add", `${p.address}/32`, "dev", p.nodeIface, "scope", "link"]);
      }
      for (const n of topo.nodes) for (const i of ["eth0", "flannel.1", ...(n.cni === "bridge" ? ["cni0"] : [])]) this.sysctl(this.ns.get(n.name)!, `net/ipv4/conf/${i}/rp_filter`, "0");
      for (const [key, ns] of this.ns) {
        this.traced.set(key, { ns, text: "" });
        // Pods have no rules: only the TRACE rules and the probe table.
        if (key.includes("/")) this.load(key, "");
      }
    } catch (e) {
      for (const ns of made) spawnSync("ip", ["netns", "del", ns]);
      throw e;
    }
  }

  /** Sets a sysctl in a place's namespace (slashes in the key keep an interface name's dots). */
  setSysctl(place: string, key: string, value: string): void {
    this.sysctl(this.ns.get(place)!, key, value);
  }

  private sysctl(ns: string, key: string, value: string): void {
    run(["ip", "netns", "exec", ns, "sysctl", "-qw", `${key}=${value}`]);
  }

  /** Replaces a place's rules (iptables-save text), then adds the TRACE rules and the probe table. */
  load(place: string, rules: string): void {
    const t = this.traced.get(place)!;
    run(["ip", "netns", "exec", t.ns, "nft", "-f", "-"], `flush ruleset\n${probeNft("ip")}`);
    if (rules.trim()) run(["ip", "netns", "exec", t.ns, "iptables-nft-restore"], rules);
    run(["ip", "netns", "exec", t.ns, "iptables-nft-restore", "--noflush"], "*raw\n-I PREROUTING 1 -j TRACE\n-I OUTPUT 1 -j TRACE\nCOMMIT\n");
    t.handles = ruleHandles(t.ns);
  }

  /** Forgets every connection of every namespace. */
  flushConntrack(): void {
    for (const ns of this.ns.values()) spawnSync("ip", ["netns", "exec", ns, "conntrack", "-F"], { stdio: "ignore" });
  }

  private async startMonitors(): Promise<void> {
    let started = false;
    for (const t of this.traced.values()) {
      if (t.monitor && t.monitor.exitCode === null) continue;
      const m = spawn("ip", ["netns", "exec", t.ns, "nft", "-a", "monitor", "trace"], { stdio: ["ignore", "pipe", "ignore"] });
      m.stdout!.on("data", (d: Buffer) => (t.text += d.toString()));
      t.monitor = m;
      started = true;
    }
    if (started) await sleep(500);
  }

  /** One line to the socket agent, its one-line answer back. */
  private ask(line: string): Promise<string> {
    if (!this.agent) {
      const a = spawn("python3", [SENDER, "--sockets"], { stdio: ["pipe", "pipe", "inherit"] });
      this.agent = a;
      this.agentLines = createInterface({ input: a.stdout! });
      this.agentLines.on("line", (l) => this.pending.shift()?.(l));
    }
    return new Promise((done) => {
      this.pending.push(done);
      this.agent!.stdin!.write(`${line}\n`);
    });
  }

  /** A TCP listener on ADDR:PORT in a place (the kernel answers SYNs without accept). */
  async listen(place: string, addr: string, port: number): Promise<void> {
    const a = await this.ask(`${this.ns.get(place)} listen ${addr} ${port}`);
    if (a !== "ok") throw new Error(`listen ${addr}:${port} in ${place}: ${a}`);
  }

  /**
   * A TCP connect or an ICMP echo from a place, with every place's trace while it ran: what the
   * sender's socket said (`ok`: the reply reached it), and each place's passes.
   */
  async exchange(place: string, what: { kind: "tcp"; src: string; sport: number; dst: string; dport: number } | { kind: "ping"; src: string; dst: string; id: number }, timeoutMs = 700): Promise<{ answer: SocketAnswer; passes: PlaceTraces }> {
    await this.startMonitors();
    const from = new Map([...this.traced].map(([k, t]) => [k, t.text.length]));
    const ns = this.ns.get(place)!;
    const line = what.kind === "tcp" ? `${ns} connect ${what.src} ${what.sport} ${what.dst} ${what.dport} ${timeoutMs}` : `${ns} ping ${what.src} ${what.dst} ${what.id} ${timeoutMs}`;
    const answer = await this.ask(line);
    if (!["ok", "timeout", "refused", "unreachable", "other-source"].includes(answer)) throw new Error(`${line}: ${answer}`);
    // Until every monitor has been quiet a while: under load their lines come late.
    let seen = -1;
    for (let waited = 0; waited < 5000; waited += 100) {
      await sleep(100);
      const total = [...this.traced.values()].reduce((n, t) => n + t.text.length, 0);
      if (total === seen && waited >= 200) break;
      seen = total;
    }
    const passes: PlaceTraces = new Map();
    for (const [k, t] of this.traced) passes.set(k, parsePasses(t.text.slice(from.get(k)!), t.handles ?? new Map()));
    return { answer: answer as SocketAnswer, passes };
  }

  /**
   * A node's facts as netfate reads them from the namespace itself: `ip -j -d addr`, `ip -j
   * route`, the IPv4 sysctls, and the VXLAN forwarding as flannel leaves it (the neighbour
   * entry of each peer's VTEP address, then the FDB entry of that MAC) in node.json form.
   */
  facts(node: string): NodeFacts {
    const ns = this.ns.get(node)!;
    const neigh = JSON.parse(run(["ip", "-n", ns, "-j", "neigh", "show", "dev", "flannel.1"])) as Array<{ dst: string; lladdr?: string }>;
    const fdb = JSON.parse(run(["bridge", "-n", ns, "-j", "fdb", "show", "dev", "flannel.1"])) as Array<{ mac: string; dst?: string }>;
    const peers: Record<string, string> = {};
    for (const n of neigh) {
      const outer = fdb.find((f) => f.mac === n.lladdr && f.dst)?.dst;
      if (outer) peers[n.dst] = outer;
    }
    const sysctl = run(["ip", "netns", "exec", ns, "sysctl", "-a", "-r", "^net\\.(ipv4\\.(ip_forward|conf\\.[^.]+\\.(rp_filter|forwarding|accept_local|route_localnet|src_valid_mark))|bridge\\.bridge-nf-call-iptables|netfilter\\.nf_conntrack_tcp_loose)$"]);
    const texts = [
      { file: "ip-addr.json", text: run(["ip", "-n", ns, "-j", "-d", "addr"]) },
      { file: "ip-route.json", text: run(["ip", "-n", ns, "-j", "route", "show", "table", "all"]) },
      { file: "sysctl.txt", text: sysctl },
      { file: "node.json", text: JSON.stringify({ interfaces: [{ name: "flannel.1", kind: "vxlan", vxlan: { port: VXLAN_PORT, peers } }] }) },
    ];
    const { facts, diagnostics } = factsFromTexts(texts);
    const errors = diagnostics.filter((d) => d.severity === "error");
    if (errors.length) throw new Error(`facts of ${node}: ${errors.map((d) => `${d.file}:${d.line}:${d.col} ${d.message}`).join("; ")}`);
    return facts;
  }

  /** The pods as netfate's cluster inputs declare them: a bridge node's pods hang on cni0, their gateway its address. */
  podSpecs(): PodSpec[] {
    return this.topo.pods.map((p) => {
      const node = this.topo.nodes.find((n) => n.name === p.node)!;
      const bridged = node.cni === "bridge";
      return { name: p.name, node: p.node, family: "ipv4", address: p.address, nodeIface: bridged ? "cni0" : p.nodeIface, gateway: bridged ? bridgeAddress(node) : POD_GATEWAY };
    });
  }

  close(): void {
    for (const t of this.traced.values()) if (t.monitor && t.monitor.exitCode === null) t.monitor.kill("SIGTERM");
    if (this.agent && this.agent.exitCode === null) this.agent.kill("SIGTERM");
    for (const ns of this.ns.values()) spawnSync("ip", ["netns", "del", ns]);
    spawnSync("ip", ["netns", "del", this.wire]);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
