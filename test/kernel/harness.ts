/**
 * Runs packets through the real kernel: a node network namespace with one veth per interface
 * (the peer end in a neighbour namespace that injects "arrived on IFACE" packets), the rules
 * loaded with iptables-nft-restore, unconditional TRACE rules in raw, and
 * `xtables-monitor --trace` recording the kernel's own path. Never touches the host's
 * rules: everything happens inside namespaces created here, deleted in `close()` even when a
 * test fails.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { PacketSpec } from "../../src/model/packet.js";

const SENDER = resolve(import.meta.dirname, "send-packet.py");

export interface TopologyIface {
  name: string;
  /** Node-side address with prefix, e.g. 192.168.0.11/24. */
  addr: string;
}

export interface Topology {
  ifaces: TopologyIface[];
  /** `ip route` lines added in the node namespace. */
  routes?: string[];
  forwarding?: boolean;
}

/** Why kernel tests cannot run here, or undefined when they can. */
export function kernelUnavailable(): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root (network namespaces need root)";
  for (const tool of ["ip", "iptables-nft-restore", "xtables-monitor", "nft", "python3"]) {
    const r = spawnSync("sh", ["-c", `command -v ${tool}`]);
    if (r.status !== 0) return `${tool} is not installed (apt-get install iptables iproute2 nftables python3)`;
  }
  const probe = `nfprobe${process.pid}`;
  const r = spawnSync("ip", ["netns", "add", probe]);
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.toString().trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  return undefined;
}

function run(args: string[], input?: string): string {
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
  /** OUT= of the last PACKET line, when the packet was routed out. */
  lastOut?: string;
  /** DST and DPORT as last printed. */
  lastDst?: string;
}

let counter = 0;

export class KernelNode {
  readonly ns: string;
  private readonly peers: string[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), "netfate-kernel-"));
  private nextId = 1000;

  constructor(readonly topo: Topology) {
    this.ns = `nfk${process.pid}x${counter++}`;
    run(["ip", "netns", "add", this.ns]);
    try {
      run(["ip", "-n", this.ns, "link", "set", "lo", "up"]);
      topo.ifaces.forEach((ifc, i) => {
        const peer = `${this.ns}p${i}`;
        this.peers.push(peer);
        run(["ip", "netns", "add", peer]);
        run(["ip", "-n", peer, "link", "set", "lo", "up"]);
        run(["ip", "link", "add", ifc.name, "netns", this.ns, "type", "veth", "peer", "name", "peer", "netns", peer]);
        run(["ip", "-n", this.ns, "addr", "add", ifc.addr, "dev", ifc.name]);
        run(["ip", "-n", this.ns, "link", "set", ifc.name, "up"]);
        const [a, p] = ifc.addr.split("/");
        const peerAddr = neighbourAddress(a!, Number(p));
        // The neighbour holds a /32 and sends everything to the node, even to addresses of the
        // node's subnet: an injected packet must always reach the node.
        run(["ip", "-n", peer, "addr", "add", `${peerAddr}/32`, "dev", "peer"]);
        run(["ip", "-n", peer, "link", "set", "peer", "up"]);
        run(["ip", "-n", peer, "route", "add", a!, "dev", "peer"]);
        run(["ip", "-n", peer, "route", "add", "default", "via", a!, "dev", "peer", "onlink"]);
        void p;
        run(["ip", "netns", "exec", peer, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"]);
      });
      for (const r of topo.routes ?? []) run(["ip", "-n", this.ns, "route", "add", ...r.split(/\s+/)]);
      const sys = (k: string, v: string) => run(["ip", "netns", "exec", this.ns, "sysctl", "-qw", `${k}=${v}`]);
      sys("net.ipv4.ip_forward", topo.forwarding === false ? "0" : "1");
      sys("net.ipv4.conf.all.rp_filter", "0");
      sys("net.ipv4.conf.default.rp_filter", "0");
      for (const i of topo.ifaces) sys(`net.ipv4.conf.${i.name}.rp_filter`, "0");
      sys("net.ipv6.conf.all.disable_ipv6", "1");
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    for (const p of this.peers) spawnSync("ip", ["netns", "del", p]);
    spawnSync("ip", ["netns", "del", this.ns]);
  }

  /** Replaces the node's rules, then adds the TRACE rules (raw PREROUTING and OUTPUT, first). */
  load(rules: string): void {
    spawnSync("ip", ["netns", "exec", this.ns, "nft", "flush", "ruleset"]);
    run(["ip", "netns", "exec", this.ns, "iptables-nft-restore"], rules);
    run(["ip", "netns", "exec", this.ns, "iptables-nft", "-t", "raw", "-I", "PREROUTING", "1", "-j", "TRACE"]);
    run(["ip", "netns", "exec", this.ns, "iptables-nft", "-t", "raw", "-I", "OUTPUT", "1", "-j", "TRACE"]);
  }

  /** table → chain → rule handles in order, TRACE rules left out. */
  private handleMap(): Map<string, Map<string, Map<number, number>>> {
    const text = run(["ip", "netns", "exec", this.ns, "nft", "-a", "list", "ruleset"]);
    const out = new Map<string, Map<string, Map<number, number>>>();
    let table: string | undefined;
    let chain: string | undefined;
    let pos = 0;
    for (const line of text.split("\n")) {
      const t = /^table ip (\S+) \{/.exec(line);
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

  /** Sends packets (each tagged by its IP ID) and returns the kernel's trace of each. */
  async trace(packets: PacketSpec[]): Promise<Array<KernelTrace | "send-failed" | undefined>> {
    const monitor: ChildProcess = spawn("ip", ["netns", "exec", this.ns, "xtables-monitor", "--trace"], { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    monitor.stdout!.on("data", (d: Buffer) => (text += d.toString()));
    await sleep(400);
    const ids: number[] = [];
    const failed = new Set<number>();
    for (const p of packets) {
      const id = this.nextId++;
      ids.push(id);
      if (!this.send(p, id)) failed.add(id);
      // Unpaced bursts lose trace lines (measured); a few ms apart they all show.
      await sleep(8);
    }
    await sleep(300);
    monitor.kill("SIGTERM");
    await new Promise((r) => monitor.once("exit", r));
    const handles = this.handleMap();
    const traces = parseTrace(text, handles);
    return ids.map((id) => (failed.has(id) ? "send-failed" : traces.get(id)));
  }

  /** False when the kernel refused the send (no route): such a packet never reaches netfilter. */
  private send(p: PacketSpec, id: number): boolean {
    const args = [SENDER, p.src ?? "0.0.0.0", p.dst, String(p.proto), String(id)];
    if (p.proto === 6 || p.proto === 17) args.push(String(p.sport ?? 40000), String(p.dport ?? 80), String(p.tcpFlags ?? 2));
    else if (p.proto === 1) args.push(String(p.icmpType ?? 8), String(p.icmpCode ?? 0));
    let ns = this.ns;
    if (p.from !== "local") {
      const i = this.topo.ifaces.findIndex((x) => x.name === p.from);
      if (i < 0) throw new Error(`no interface ${p.from} in the topology`);
      ns = this.peers[i]!;
    }
    const r = spawnSync("ip", ["netns", "exec", ns, "python3", ...args], { encoding: "utf8" });
    // EPERM: netfilter dropped it in OUTPUT, which the trace shows.
    if (r.status === 0 || /Operation not permitted/.test(r.stderr)) return true;
    if (/Network is unreachable|No route to host|Invalid argument/.test(r.stderr)) return false;
    throw new Error(`sending ${JSON.stringify(p)} failed: ${r.stderr}`);
  }
}

function neighbourAddress(addr: string, prefix: number): string {
  const n = addr.split(".").reduce((a, b) => a * 256 + Number(b), 0);
  const size = 2 ** (32 - prefix);
  const base = n - (n % size);
  let cand = base + 1;
  if (cand === n) cand++;
  if (size <= 2) cand = n ^ 1;
  return [cand >>> 24, (cand >>> 16) & 255, (cand >>> 8) & 255, cand & 255].join(".");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const VERDICTS: Record<string, string> = { "0xfffffffb": "RETURN", "0xfffffffd": "RETURN" };

/** Parses xtables-monitor --trace output into per-packet step lists keyed by IP ID. */
export function parseTrace(text: string, handles: Map<string, Map<string, Map<number, number>>>): Map<number, KernelTrace> {
  const byTraceId = new Map<string, KernelTrace>();
  const out = new Map<number, KernelTrace>();
  for (const line of text.split("\n")) {
    const pk = /^PACKET: \d+ ([0-9a-f]+) (.*)$/.exec(line);
    if (pk) {
      const id = /\bID=(\d+)/.exec(pk[2]!);
      let tr = byTraceId.get(pk[1]!);
      // The kernel derives the trace id from the skb's address, so a later packet reusing a
      // freed skb gets the same trace id (measured: two echo requests merged into one path);
      // a packet looped back through lo gets a new trace id but keeps its IP ID. The IP ID
      // decides which packet a trace line belongs to.
      if (id && tr?.id !== Number(id[1])) {
        tr = out.get(Number(id[1])) ?? { id: Number(id[1]), steps: [] };
        byTraceId.set(pk[1]!, tr);
        out.set(tr.id, tr);
      }
      if (tr) {
        const o = /\bOUT=(\S+)/.exec(pk[2]!);
        if (o) tr.lastOut = o[1]!;
        const d = /\bDST=(\S+)/.exec(pk[2]!);
        if (d) tr.lastDst = d[1]!;
      }
      continue;
    }
    const t = /^ TRACE: \d+ ([0-9a-f]+) (\w+):([^:]+):(rule|policy):(\S+)/.exec(line);
    if (!t) continue;
    const tr = byTraceId.get(t[1]!);
    if (!tr) continue;
    const [, , table, chain, kind, rest] = t as unknown as [string, string, string, string, string, string];
    if (kind === "policy") {
      tr.steps.push({ table, chain, rule: "policy", verdict: rest });
      continue;
    }
    const m = /^0x([0-9a-f]+):(.*)$/.exec(rest)!;
    const handle = parseInt(m[1]!, 16);
    const pos = handles.get(table)?.get(chain)?.get(handle);
    if (pos === undefined) continue; // a TRACE rule of ours
    let verdict = m[2]!;
    verdict = VERDICTS[verdict] ?? verdict;
    const jg = /^(JUMP|GOTO):(.*)$/.exec(verdict);
    if (jg) verdict = `${jg[1]} ${jg[2]}`;
    tr.steps.push({ table, chain, rule: pos, verdict });
  }
  return out;
}

export { existsSync, writeFileSync };
