/**
 * The nftables samples (samples/006..009) pinned by the real kernel and nft 1.0.6: each
 * sample's ruleset.nft loads with `nft -f` into a fresh namespace and `nft list ruleset` prints
 * it back byte for byte (ruleset.json and ruleset-a.nft likewise for `nft -j` and `nft -a`), and
 * every packet of its packets.json, sent into a namespace built from its node.json, meets the
 * fate, rewrites, mark and path the sample expects.
 *
 * The path is read from `nft monitor trace`: a table at priority -500 sets `meta nftrace 1` on
 * every packet, and the trace names each base chain the packet enters and each rule that
 * matched it. The kernel traces no event for a chain a rule jumped or went to in which nothing
 * matched, so the jump's own target is added; a return shows as the chain of the next event
 * (see parseTrace). A second table of rule-less base chains at priority 1000 (input, forward,
 * output, postrouting) says where the packet went: delivered, out of which interface, with which
 * addresses (after DNAT and SNAT) and which mark. A rejected packet's ICMP error is found in the
 * trace too, and its code checked.
 *
 * 009 holds iptables-nft tables, whose xt expressions `nft -f` cannot load: it is built with
 * iptables-nft-restore and `nft -f script.nft`, and the refusal of its ruleset.nft is pinned.
 *
 * A packet that cannot be made in a namespace says so in its packets.json entry
 * (`"kernel": "not sent: why"`) and is listed here as skipped, never dropped silently.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { freshNamespaceName, kernelSkipReason } from "./harness.js";
import { parsePacketText } from "../../src/packet/parse.js";
import type { PacketSpec } from "../../src/model/packet.js";

const why = kernelSkipReason();
const SAMPLES_DIR = resolve(import.meta.dirname, "../../samples");
const SENDER = resolve(import.meta.dirname, "send-packet.py");
/** Every sample holding a ruleset.nft (006 kube-proxy, 007 firewalld, 008 Docker, 009 iptables-nft beside native tables). */
const SAMPLES = readdirSync(SAMPLES_DIR).filter((d) => existsSync(resolve(SAMPLES_DIR, d, "ruleset.nft"))).sort();

/** The tables this test adds after the sample's ruleset is compared: they never appear in paths. */
const TRACE_TABLE = "nfsamples_trace";
const PROBE_TABLE = "nfsamples_probe";
const TRACE_NFT = `table ip ${TRACE_TABLE} {
  chain prerouting { type filter hook prerouting priority -500; meta nftrace set 1; }
  chain output { type filter hook output priority -500; meta nftrace set 1; }
}
table ip ${PROBE_TABLE} {
  chain input { type filter hook input priority 1000; }
  chain forward { type filter hook forward priority 1000; }
  chain output { type filter hook output priority 1000; }
  chain postrouting { type filter hook postrouting priority 1000; }
}
`;

interface NodeJson {
  interfaces: Array<{ name: string; addrs: string[] }>;
  routes?: string[];
  sysctl?: Record<string, number | string>;
}

/** A value the same for every outcome, or one per DNAT destination (`"10.244.1.12:80": "cni0"`). */
type PerDnat = string | Record<string, string>;

interface Expected {
  outcomes: number;
  fate: "delivered" | "forwarded" | "sent" | "dropped" | "rejected";
  iface?: PerDnat;
  mark?: string;
  dnat?: string[];
  snat?: PerDnat;
  reject?: string;
  path: string[];
}

interface Entry {
  name: string;
  packet: string;
  /** A packet sent just before this one, which opens the connection this one belongs to. */
  after?: string;
  expected: Expected;
  /** `not sent: why` when the kernel cannot be shown this packet. */
  kernel?: string;
}

function run(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(args[0]!, args.slice(1), { input, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function must(args: string[], input?: string): string {
  const r = run(args, input);
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

function readSample(sample: string, file: string): string {
  return readFileSync(resolve(SAMPLES_DIR, sample, file), "utf8");
}

function packetOf(text: string): PacketSpec {
  const r = parsePacketText(text);
  if (!r.ok) throw new Error(`packet ${JSON.stringify(text)}: ${r.error}`);
  return r.packet;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

function macOf(ns: string, dev: string): string {
  return (JSON.parse(must(["ip", "-n", ns, "-j", "link", "show", dev])) as Array<{ address: string }>)[0]!.address;
}

/** `net.ipv4.conf.IFACE.KEY` in sysctl's slash form, so an interface name keeps its dots. */
function sysctlPath(key: string): string {
  const m = /^(net\.ipv[46]\.conf\.)(.+)\.([^.]+)$/.exec(key);
  return m ? `${m[1]!.replace(/\./g, "/")}${m[2]}/${m[3]}` : key;
}

/**
 * A node namespace made from a sample's node.json: each interface a veth whose peer end sits in
 * a neighbour namespace that injects the packets arriving on it (through a gateway that
 * resolves, statically, to the node's MAC), the routes, a static neighbour entry for each
 * gateway, and the sysctls.
 */
class SampleNode {
  readonly ns = freshNamespaceName();
  private readonly peers = new Map<string, string>();
  private monitor: ChildProcess | undefined;
  private traceText = "";
  private nextId = 2000;

  constructor(node: NodeJson) {
    must(["ip", "netns", "add", this.ns]);
    try {
      must(["ip", "-n", this.ns, "link", "set", "lo", "up"]);
      node.interfaces.forEach((ifc, i) => {
        const peer = `${this.ns}p${i}`;
        this.peers.set(ifc.name, peer);
        must(["ip", "netns", "add", peer]);
        must(["ip", "-n", peer, "link", "set", "lo", "up"]);
        must(["ip", "link", "add", ifc.name, "netns", this.ns, "type", "veth", "peer", "name", "peer", "netns", peer]);
        for (const a of ifc.addrs) must(["ip", "-n", this.ns, "addr", "add", a, "dev", ifc.name]);
        must(["ip", "-n", this.ns, "link", "set", ifc.name, "up"]);
        must(["ip", "-n", peer, "addr", "add", `169.254.200.${i + 1}/32`, "dev", "peer"]);
        must(["ip", "-n", peer, "link", "set", "peer", "up"]);
        must(["ip", "-n", peer, "route", "add", "169.254.1.1", "dev", "peer"]);
        must(["ip", "-n", peer, "neigh", "replace", "169.254.1.1", "lladdr", macOf(this.ns, ifc.name), "dev", "peer", "nud", "permanent"]);
        must(["ip", "-n", peer, "route", "add", "default", "via", "169.254.1.1", "dev", "peer", "onlink"]);
      });
      for (const r of node.routes ?? []) {
        must(["ip", "-n", this.ns, "route", "replace", ...r.split(/\s+/)]);
        const gw = /\bvia (\S+) dev (\S+)/.exec(r);
        const peer = gw && this.peers.get(gw[2]!);
        if (gw && peer) must(["ip", "-n", this.ns, "neigh", "replace", gw[1]!, "lladdr", macOf(peer, "peer"), "dev", gw[2]!, "nud", "permanent"]);
      }
      must(["ip", "netns", "exec", this.ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
      // The kernel rate-limits ICMP errors per destination (measured: the second reject to one
      // pod sent none): off, so every reject's error can be seen.
      must(["ip", "netns", "exec", this.ns, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"]);
      for (const [k, v] of Object.entries(node.sysctl ?? {})) must(["ip", "netns", "exec", this.ns, "sysctl", "-qw", `${sysctlPath(k)}=${v}`]);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  exec(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
    return run(["ip", "netns", "exec", this.ns, ...args], input);
  }

  close(): void {
    if (this.monitor && this.monitor.exitCode === null) this.monitor.kill("SIGTERM");
    for (const p of this.peers.values()) spawnSync("ip", ["netns", "del", p]);
    spawnSync("ip", ["netns", "del", this.ns]);
  }

  /**
   * Sends the packets, in order, each tagged by its IP ID, and returns the trace text of the
   * batch with the ID each packet got (undefined for a packet the sender could not send).
   */
  async send(packets: PacketSpec[]): Promise<{ text: string; ids: number[]; unsent: Set<number> }> {
    if (!this.monitor) {
      this.monitor = spawn("ip", ["netns", "exec", this.ns, "nft", "monitor", "trace"], { stdio: ["ignore", "pipe", "ignore"] });
      this.monitor.stdout!.on("data", (d: Buffer) => (this.traceText += d.toString()));
      await sleep(400);
    }
    const start = this.traceText.length;
    const ids = packets.map(() => this.nextId++);
    const lines = packets.map((p, i) => this.sendLine(p, ids[i]!));
    const r = await new Promise<{ status: number | null; stdout: string }>((done, fail) => {
      const s = spawn("python3", [SENDER, "--batch", "30"], { stdio: ["pipe", "pipe", "inherit"] });
      let stdout = "";
      s.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
      s.once("error", fail);
      s.once("close", (status) => done({ status, stdout }));
      s.stdin!.end(lines.join("\n") + "\n");
    });
    if (r.status !== 0) throw new Error(`send-packet.py --batch failed: ${r.stdout}`);
    const unsent = new Set<number>();
    for (const line of r.stdout.trim().split("\n")) {
      const [id, status] = line.split(" ");
      if (status === "unreachable" || status === "error") unsent.add(Number(id));
    }
    // The monitor's lines come late under load: wait until it has been quiet a while.
    let seen = -1;
    for (let waited = 0; waited < 5000; waited += 100) {
      await sleep(100);
      if (this.traceText.length === seen && waited >= 300) break;
      seen = this.traceText.length;
    }
    return { text: this.traceText.slice(start), ids, unsent };
  }

  /** A `send-packet.py --batch` line: the namespace the packet leaves from, then the packet. */
  private sendLine(p: PacketSpec, id: number): string {
    const from = p.from === "local" ? this.ns : this.peers.get(p.from);
    if (!from) throw new Error(`no interface ${p.from} in node.json`);
    const args = [p.src ?? "0.0.0.0", p.dst, String(p.proto), String(id)];
    if (p.proto === 6 || p.proto === 17) args.push(String(p.sport ?? 40000), String(p.dport ?? 80), String(p.tcpFlags ?? 2));
    else if (p.proto === 1) args.push(String(p.icmpType ?? 8), String(p.icmpCode ?? 0));
    return [from, ...args].join(" ");
  }
}

/** What the kernel did with one packet, read from its trace. */
interface KernelResult {
  path: string[];
  /** Probe hooks reached, in order. */
  hooks: string[];
  oif?: string;
  /** Addresses and destination port at the last probe line (after DNAT and SNAT). */
  saddr?: string;
  daddr?: string;
  dport?: string;
  /** The mark leaving the input, forward or output stage (the probe's policy line), 0x0 when none is shown. */
  mark: string;
  /** The last rule that matched, and its verdict. */
  lastRule?: string;
  lastVerdict?: string;
  /** The ICMP code of the error the node sent back to the packet's source when a reject rule took it. */
  rejectCode?: string;
}

const TRANSPORT: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp" };

/**
 * Each packet's events, by IP ID. The kernel derives trace ids from the skb's address, so a
 * later packet can reuse one: a `packet:` line rebinds its trace id to the packet whose IP ID
 * (and transport) it shows, or to none. Packets the kernel makes (ICMP errors, redirects) carry
 * IDs of their own, another transport or no iif, and stay out. The error a reject sends is traced
 * (leaving by the output hook) between the packet's previous verdict event and the reject's own:
 * the reject statement sends it before its verdict is traced.
 */
function parseTrace(text: string, ours: Map<number, PacketSpec>): Map<number, KernelResult> {
  const byTrace = new Map<string, number | undefined>();
  const out = new Map<number, KernelResult>();
  const lines = text.split("\n");
  const lastLine = new Map<number, number>();
  for (const [at, line] of lines.entries()) {
    const m = /^trace id (\S+) (ip6?|inet) (\S+) (\S+) (packet: |rule |policy |unknown rule )(.*)$/.exec(line);
    if (!m) continue;
    const [, traceId, family, table, chain, kind, rest] = m as unknown as [string, string, string, string, string, string, string];
    if (kind === "packet: ") {
      const id = Number(/\bip id (\d+)/.exec(rest)?.[1]);
      const p = ours.get(id);
      // A packet that arrived from outside shows an iif on every packet line; one without is
      // a packet the node sent (an ICMP error or redirect) whose IP ID equals it by chance.
      const sameTransport = p !== undefined && new RegExp(`\\b${TRANSPORT[p.proto]} (?:sport|dport|type)\\b`).test(rest);
      const bound = sameTransport && (p.from === "local" || /\biif "/.test(rest)) ? id : undefined;
      byTrace.set(traceId, bound);
    }
    const id = byTrace.get(traceId);
    if (id === undefined) continue;
    // nft prints a chain's `packet:` line with the chain's first verdict event, after whatever
    // the rule sent: the search starts after the packet's previous verdict event.
    const previous = lastLine.get(id) ?? at;
    if (kind !== "packet: ") lastLine.set(id, at);
    let r = out.get(id);
    if (!r) out.set(id, (r = { path: [], hooks: [], mark: "0x0" }));
    if (table === TRACE_TABLE) continue;
    if (table === PROBE_TABLE) {
      if (kind === "packet: ") {
        r.hooks.push(chain);
        r.oif = /\boif "([^"]+)"/.exec(rest)?.[1] ?? r.oif;
        r.saddr = /\bip saddr (\S+)/.exec(rest)?.[1] ?? r.saddr;
        r.daddr = /\bip daddr (\S+)/.exec(rest)?.[1] ?? r.daddr;
        r.dport = /\b(?:tcp|udp) dport (\d+)/.exec(rest)?.[1] ?? r.dport;
      } else if (kind === "policy " && chain !== "postrouting") {
        const mark = /\bmeta mark (0x[0-9a-f]+)/.exec(rest)?.[1];
        r.mark = mark ? `0x${parseInt(mark, 16).toString(16)}` : "0x0";
      }
      continue;
    }
    addStep(r.path, `${family} ${table} ${chain}`);
    if (kind === "rule " || kind === "unknown rule ") {
      const v = /^(.*) \(verdict ([^)]*)\)\s*$/.exec(rest);
      if (v) {
        r.lastRule = v[1]!;
        r.lastVerdict = v[2]!;
        if (v[2] === "drop" && isReject(v[1]!)) r.rejectCode = errorSentBetween(lines, previous, at, ours.get(id)!.src);
        const target = /^(?:jump|goto) (\S+)/.exec(v[2]!)?.[1];
        if (target) addStep(r.path, `${family} ${table} ${target}`);
      }
    } else if (kind === "policy ") {
      r.lastRule = undefined;
      r.lastVerdict = rest.trim().split(/\s+/)[0];
    }
  }
  return out;
}

/** A `reject` statement ends the rule (nft prints its comment after it). */
function isReject(rule: string): boolean {
  return /(^| )reject( with | comment |$)/.test(rule);
}

/** The code of the ICMP error to `src` the trace shows leaving the node between two lines. */
function errorSentBetween(lines: string[], from: number, to: number, src: string | undefined): string | undefined {
  for (let i = from + 1; i < to; i++) {
    const m = new RegExp(`^trace id \\S+ ip ${TRACE_TABLE} output packet: .*\\bip daddr ${src?.replace(/\./g, "\\.")} .*\\bicmp type destination-unreachable icmp code (\\S+)`).exec(lines[i]!);
    if (m) return m[1];
  }
  return undefined;
}

/** A chain on the path, unless the packet is still in it. */
function addStep(path: string[], step: string): void {
  if (path.at(-1) !== step) path.push(step);
}

type Fate = Expected["fate"] | "stopped by routing";

function fateOf(k: KernelResult, p: PacketSpec): Fate {
  if (k.hooks.includes("input")) return "delivered";
  if (k.hooks.includes("postrouting") && k.oif) return p.from === "local" ? "sent" : "forwarded";
  if (k.lastVerdict === "drop") return k.lastRule !== undefined && isReject(k.lastRule) ? "rejected" : "dropped";
  return "stopped by routing";
}

/** The value for the DNAT destination the kernel chose, from a per-DNAT map or a plain value. */
function perDnat(v: PerDnat | undefined, dnat: string): string | undefined {
  return typeof v === "object" ? v[dnat] : v;
}

/** Path steps may end in `*` (one of several numgen choices): a prefix then. */
function pathMatches(expected: string[], got: string[]): boolean {
  return expected.length === got.length && expected.every((e, i) => (e.endsWith("*") ? got[i]!.startsWith(e.slice(0, -1)) : got[i] === e));
}

interface SampleRun {
  node: SampleNode;
  results: Map<Entry, { packet: PacketSpec; kernel?: KernelResult; unsent?: boolean }>;
  listing: { status: number | null; stdout: string; stderr: string };
  json: string;
  handles: string;
}

/** 009 holds iptables-nft tables: they are made by iptables-nft-restore, nft -f cannot load xt expressions. */
function loadSample(node: SampleNode, sample: string): void {
  must(["ip", "netns", "exec", node.ns, "nft", "flush", "ruleset"]);
  if (existsSync(resolve(SAMPLES_DIR, sample, "iptables.save"))) {
    must(["ip", "netns", "exec", node.ns, "iptables-nft-restore"], readSample(sample, "iptables.save"));
    must(["ip", "netns", "exec", node.ns, "nft", "-f", "-"], readSample(sample, "script.nft"));
  } else {
    must(["ip", "netns", "exec", node.ns, "nft", "-f", resolve(SAMPLES_DIR, sample, "ruleset.nft")]);
  }
}

describe.skipIf(why !== undefined)(`nft samples in the kernel${why ? ` (skipped: ${why})` : ""}`, () => {
  it("finds the four nftables samples, each with its node and packets", () => {
    expect(SAMPLES).toEqual(["006-kube-proxy-nftables", "007-firewalld", "008-docker-nftables", "009-iptables-nft-mixed"]);
    for (const s of SAMPLES) for (const f of ["node.json", "packets.json", "ruleset.json", "script.nft", "README.md"]) expect(existsSync(resolve(SAMPLES_DIR, s, f)), `${s}/${f}`).toBe(true);
  });

  for (const sample of SAMPLES) {
    describe(sample, () => {
      const entries: Entry[] = JSON.parse(readSample(sample, "packets.json"));
      const mixed = existsSync(resolve(SAMPLES_DIR, sample, "iptables.save"));
      let s: SampleRun;

      beforeAll(async () => {
        const node = new SampleNode(JSON.parse(readSample(sample, "node.json")) as NodeJson);
        s = { node, results: new Map(), listing: { status: null, stdout: "", stderr: "" }, json: "", handles: "" };
        loadSample(node, sample);
        // iptables-nft's "managed by iptables-nft" warnings go to stderr: a terminal shows them
        // before each of its tables, and so does ruleset.nft, which holds both streams.
        s.listing = node.exec(["sh", "-c", "nft list ruleset 2>&1"]);
        s.json = node.exec(["nft", "-j", "list", "ruleset"]).stdout;
        s.handles = node.exec(["nft", "-a", "list", "ruleset"]).stdout;
        must(["ip", "netns", "exec", node.ns, "nft", "-f", "-"], TRACE_NFT);

        const sendable = entries.filter((e) => !e.kernel?.startsWith("not sent"));
        const packets: PacketSpec[] = [];
        const owner: Array<Entry | undefined> = [];
        for (const e of sendable) {
          if (e.after) {
            packets.push(packetOf(e.after));
            owner.push(undefined);
          }
          packets.push(packetOf(e.packet));
          owner.push(e);
        }
        const { text, ids, unsent } = await node.send(packets);
        const traces = parseTrace(text, new Map(ids.map((id, i) => [id, packets[i]!])));
        owner.forEach((e, i) => {
          if (e) s.results.set(e, { packet: packets[i]!, kernel: traces.get(ids[i]!), unsent: unsent.has(ids[i]!) });
        });
      }, 60_000);

      afterAll(() => s?.node.close());

      if (!mixed) {
        it("ruleset.nft loads with nft -f and nft list ruleset prints it back unchanged", () => {
          expect(s.listing.status).toBe(0);
          expect(s.listing.stdout).toBe(readSample(sample, "ruleset.nft"));
        });
      } else {
        it("ruleset.nft is what nft list ruleset prints for iptables.save (iptables-nft-restore) plus script.nft (nft -f)", () => {
          expect(s.listing.status).toBe(0);
          expect(s.listing.stdout).toBe(readSample(sample, "ruleset.nft"));
        });
        it("nft -f refuses ruleset.nft at its xt expressions, and only there", () => {
          const ns = freshNamespaceName();
          must(["ip", "netns", "add", ns]);
          try {
            const r = run(["ip", "netns", "exec", ns, "nft", "-f", resolve(SAMPLES_DIR, sample, "ruleset.nft")]);
            expect(r.status).toBe(1);
            const errors = [...r.stderr.matchAll(/^[^\n:]*ruleset\.nft:(\d+):\d+-\d+: Error: (.*)$/gm)];
            const lines = readSample(sample, "ruleset.nft").split("\n");
            const xtLines = lines.flatMap((l, i) => (/\bxt (match|target) /.test(l) ? [i + 1] : []));
            expect(xtLines.length).toBeGreaterThan(0);
            expect(errors.map((m) => Number(m[1]))).toEqual(xtLines);
            for (const m of errors) expect(m[2]).toBe("unsupported xtables compat expression, use iptables-nft with this ruleset");
          } finally {
            spawnSync("ip", ["netns", "del", ns]);
          }
        });
      }

      it("ruleset.json is what nft -j list ruleset prints", () => {
        expect(JSON.parse(s.json)).toEqual(JSON.parse(readSample(sample, "ruleset.json")));
      });

      if (existsSync(resolve(SAMPLES_DIR, sample, "ruleset-a.nft"))) {
        it("ruleset-a.nft is what nft -a list ruleset prints", () => {
          expect(s.handles).toBe(readSample(sample, "ruleset-a.nft"));
        });
      }

      for (const e of entries) {
        if (e.kernel?.startsWith("not sent")) {
          it.skip(`${e.name} — ${e.kernel}`, () => {});
          continue;
        }
        it(`${e.name}: ${e.packet}`, () => {
          const r = s.results.get(e)!;
          expect(r.unsent, "the sender could not send it").toBe(false);
          const k = r.kernel;
          expect(k, "the trace lost the packet").toBeDefined();
          expect(fateOf(k!, r.packet), JSON.stringify(k)).toBe(e.expected.fate);
          expect(pathMatches(e.expected.path, k!.path), `kernel path:\n${k!.path.join("\n")}`).toBe(true);
          // `icmp port-unreachable`, `icmpx admin-prohibited`: the code is what goes on the wire.
          if (e.expected.reject) expect(k!.rejectCode, "the error the reject sent").toBe(e.expected.reject.split(" ").at(-1));
          if (e.expected.fate === "forwarded" || e.expected.fate === "sent" || e.expected.fate === "delivered") {
            const dnat = `${k!.daddr}:${k!.dport}`;
            if (e.expected.dnat) expect(e.expected.dnat).toContain(dnat);
            else expect(dnat).toBe(`${r.packet.dst}:${r.packet.dport}`);
            if (e.expected.fate !== "delivered") {
              expect(k!.oif).toBe(perDnat(e.expected.iface, dnat));
              expect(k!.saddr).toBe(perDnat(e.expected.snat, dnat) ?? r.packet.src);
            }
            if (e.expected.mark !== undefined) expect(k!.mark).toBe(e.expected.mark);
          }
        });
      }
    });
  }
});
