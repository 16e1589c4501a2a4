/**
 * `-m set` against the kernel, type by type: a set of each type this kernel has, loaded with
 * `ipset restore` into a namespace; counting rules in FORWARD testing it with 1, 2 and 3
 * direction flags (every src/dst combination), plain, negated, with --return-nomatch and
 * with ! --update-counters;
 * packets that hit and miss its members (a udp member against a tcp packet, swapped ports,
 * nomatch entries, ICMP and a port-less protocol, interfaces, MACs). Each packet's kernel trace
 * lists every rule that matched; netfate's single outcome must list the same rules.
 *
 * The kernel's rules under test (net/netfilter/ipset/ip_set_core.c `ip_set_test`, xt_set.c):
 * fewer direction flags than the set's dimensions never match, more are ignored; a set of
 * another family never matches; --return-nomatch inverts types with nomatch entries; a
 * list:set tests its members in order with the rule's flags.
 *
 * Also here: the members `ipset restore` refuses (test/support/ipset-refusals.ts, whose
 * located errors test/unit/ipset-honesty.test.ts checks), asked of the tool itself.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import { ipsetView, parseIpsets } from "../../src/ipset/index.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { KernelNode, kernelSkipReason, viewOfTopology, type Topology } from "./harness.js";
import { kernelSteps, netfatePaths, netfateSteps } from "./compare.js";
import { IPSET_RESTORE_CASES } from "../support/ipset-refusals.js";

const why = kernelSkipReason() ?? ipsetToolMissing();

function ipsetToolMissing(): string | undefined {
  if (spawnSync("sh", ["-c", "command -v ipset"]).status === 0) return undefined;
  const reason = "ipset is not installed (apt-get install ipset)";
  if (process.env.CI) throw new Error(`kernel tests must run in CI but cannot: ${reason}`);
  return reason;
}

const TOPO: Topology = {
  ifaces: [{ name: "eth0", addr: "192.168.0.11/24" }, { name: "cni0", addr: "10.244.0.1/24" }],
  routes: ["default via 192.168.0.1 dev eth0"],
  forwarding: true,
};

type Dir = "src" | "dst";
/** Every src/dst combination of 1, 2 and 3 flags. */
const FLAG_SETS: Dir[][] = [1, 2, 3].flatMap((n) => Array.from({ length: 1 << n }, (_, bits) => Array.from({ length: n }, (_, i) => ((bits >> (n - 1 - i)) & 1 ? "dst" : "src") as Dir)));

interface Case {
  type: string;
  /** `ipset save` text; the set the rules test is the one named `t`. */
  ipsets: (peerMac: string) => string;
  /** --return-nomatch rules too (types with nomatch entries, and list:set holding one). */
  returnNomatch?: boolean;
  /** Flag sets to leave out (bitmap:ip,mac: a dst MAC flag would fill an unfilled entry with the node's own MAC). */
  flags?: (f: Dir[]) => boolean;
}

const CASES: Case[] = [
  // A CIDR in an ip dimension adds every address in it (as `ipset restore` reads it, not as save prints it).
  { type: "hash:ip", ipsets: () => "create t hash:ip family inet\nadd t 8.8.8.8\nadd t 10.244.0.9\nadd t 192.168.0.52/31\n" },
  {
    type: "hash:ip netmask",
    ipsets: () => "create t hash:ip family inet netmask 24\nadd t 8.8.4.0\nadd t 192.168.0.0\n",
  },
  {
    type: "hash:net",
    returnNomatch: true,
    ipsets: () => "create t hash:net family inet\nadd t 8.8.0.0/16\nadd t 8.8.8.0/24 nomatch\nadd t 8.8.8.8\nadd t 10.0.0.0/8\n",
  },
  {
    type: "hash:ip,port",
    ipsets: () => "create t hash:ip,port family inet\nadd t 8.8.8.8,udp:53\nadd t 8.8.8.8,icmp:echo-request\nadd t 8.8.8.8,gre:0\nadd t 192.168.0.50,tcp:40000\nadd t 10.244.0.9,udp:5353\nadd t 192.168.0.51,udp:53\nadd t 10.0.0.4/30,udp:53\n",
  },
  {
    type: "hash:net,port",
    returnNomatch: true,
    ipsets: () => "create t hash:net,port family inet\nadd t 8.8.0.0/16,udp:53\nadd t 8.8.8.0/24,udp:53 nomatch\nadd t 8.8.8.8,icmp:0/0\nadd t 192.168.0.0/24,tcp:40000\nadd t 10.0.0.0/8,udp:53\n",
  },
  {
    type: "hash:ip,port,ip",
    ipsets: () => "create t hash:ip,port,ip family inet\nadd t 192.168.0.50,udp:53,8.8.8.8\nadd t 8.8.8.8,udp:53,192.168.0.50\nadd t 8.8.8.8,tcp:40000,192.168.0.50\nadd t 192.168.0.50,udp:40000,192.168.0.50\n",
  },
  {
    type: "hash:ip,port,net",
    returnNomatch: true,
    ipsets: () => "create t hash:ip,port,net family inet\nadd t 8.8.8.8,udp:53,192.168.0.0/24\nadd t 8.8.8.8,udp:53,192.168.0.50 nomatch\nadd t 8.8.4.4,udp:53,192.168.0.0/16\nadd t 192.168.0.50,udp:40000,8.0.0.0/8\n",
  },
  {
    type: "hash:net,iface",
    returnNomatch: true,
    ipsets: () => "create t hash:net,iface family inet\nadd t 8.8.0.0/16,eth0\nadd t 192.168.0.0/24,eth0\nadd t 10.244.0.0/24,cni0\nadd t 8.8.8.0/24,physdev:eth0\nadd t 10.0.0.0/8,et wildcard\nadd t 8.8.4.0/24,eth0 nomatch\n",
  },
  { type: "bitmap:ip", ipsets: () => "create t bitmap:ip range 8.8.0.0/16\nadd t 8.8.8.8\nadd t 8.8.4.0/30\n" },
  { type: "bitmap:ip netmask", ipsets: () => "create t bitmap:ip range 192.168.0.0/24 netmask 30\nadd t 192.168.0.48\n" },
  { type: "bitmap:port", ipsets: () => "create t bitmap:port range 0-1024\nadd t 53\nadd t 1000\n" },
  {
    type: "bitmap:ip,mac",
    flags: (f) => f.length < 2 || f[1] === "src",
    ipsets: (mac) => `create t bitmap:ip,mac range 192.168.0.0/24\nadd t 192.168.0.50,${mac}\nadd t 192.168.0.51,00:11:22:33:44:55\nadd t 192.168.0.52\n`,
  },
  {
    type: "list:set",
    returnNomatch: true,
    ipsets: () => [
      "create ipport hash:ip,port family inet\nadd ipport 8.8.8.8,udp:53\nadd ipport 192.168.0.50,tcp:40000",
      "create ip hash:ip family inet\nadd ip 10.244.0.9",
      "create net hash:net family inet\nadd net 8.8.0.0/16\nadd net 8.8.8.0/24 nomatch",
      "create six hash:ip family inet6\nadd six ::1",
      "create t list:set\nadd t six\nadd t ipport\nadd t net\nadd t ip",
    ].join("\n") + "\n",
  },
];

function udp(from: string, src: string, sport: number, dst: string, dport: number): PacketSpec {
  return { family: "ipv4", from, src, dst, proto: 17, sport, dport };
}

const PACKETS: PacketSpec[] = [
  udp("eth0", "192.168.0.50", 40000, "8.8.8.8", 53),
  { ...udp("eth0", "192.168.0.50", 40000, "8.8.8.8", 53), proto: 6, tcpFlags: 2 },
  udp("eth0", "192.168.0.50", 53, "8.8.8.8", 40000),
  udp("eth0", "192.168.0.50", 40000, "8.8.8.9", 53),
  udp("eth0", "192.168.0.50", 40000, "8.8.4.4", 53),
  udp("eth0", "192.168.0.50", 40000, "8.8.8.8", 1000),
  { family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "8.8.8.8", proto: 1, icmpType: 8, icmpCode: 0 },
  { family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "8.8.8.8", proto: 1, icmpType: 0, icmpCode: 0, state: "invalid" },
  { family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "8.8.8.8", proto: 47 },
  udp("cni0", "10.244.0.9", 5353, "8.8.8.8", 53),
  { ...udp("eth0", "8.8.8.8", 53, "192.168.0.50", 40000), proto: 6, tcpFlags: 2 },
  udp("eth0", "192.168.0.51", 40000, "10.244.0.9", 53),
  udp("eth0", "192.168.0.52", 53, "10.0.0.7", 53),
  udp("eth0", "192.168.0.50", 40000, "192.168.0.50", 40000),
];

/** The rules of a case: counting rules (no target), so a packet's trace lists every one that matched. */
function rulesOf(c: Case): string[] {
  const out: string[] = [];
  for (const f of FLAG_SETS.filter(c.flags ?? (() => true))) {
    const flags = f.join(",");
    out.push(`-A FORWARD -m set --match-set t ${flags}`, `-A FORWARD -m set ! --match-set t ${flags}`);
    if (c.returnNomatch) out.push(`-A FORWARD -m set --match-set t ${flags} --return-nomatch`);
    // Counter options change what the kernel counts, not whether the rule matches.
    if (f.length === 2) out.push(`-A FORWARD -m set --match-set t ${flags} ! --update-counters ! --update-subcounters`);
  }
  return out;
}

const TOPO6: Topology = {
  family: "ipv6",
  ifaces: [{ name: "eth0", addr: "fd00:1::11/64" }, { name: "cni0", addr: "fd00:244::1/64" }],
  routes: ["default via fd00:1::1 dev eth0"],
};

/** The same shapes for family inet6 sets, with ip6tables, ICMPv6 and IPv6 prefixes. */
const CASES6: Case[] = [
  { type: "hash:ip inet6", ipsets: () => "create t hash:ip family inet6\nadd t 2001:db8::8\nadd t fd00:244::9\n" },
  { type: "hash:ip inet6 netmask", ipsets: () => "create t hash:ip family inet6 netmask 64\nadd t 2001:db8:0:4::\n" },
  {
    type: "hash:net inet6",
    returnNomatch: true,
    ipsets: () => "create t hash:net family inet6\nadd t 2001:db8::/32\nadd t 2001:db8::/64 nomatch\nadd t 2001:db8::8/128\n",
  },
  {
    type: "hash:ip,port inet6",
    ipsets: () => "create t hash:ip,port family inet6\nadd t 2001:db8::8,udp:53\nadd t 2001:db8::8,ipv6-icmp:echo-request\nadd t fd00:1::50,tcp:40000\n",
  },
  {
    type: "hash:net,port inet6",
    returnNomatch: true,
    ipsets: () => "create t hash:net,port family inet6\nadd t 2001:db8::/32,udp:53\nadd t 2001:db8::/64,udp:53 nomatch\nadd t fd00:1::/64,tcp:40000\n",
  },
  { type: "hash:ip,port,ip inet6", ipsets: () => "create t hash:ip,port,ip family inet6\nadd t fd00:1::50,udp:53,2001:db8::8\nadd t 2001:db8::8,udp:53,fd00:1::50\n" },
  {
    type: "hash:ip,port,net inet6",
    returnNomatch: true,
    ipsets: () => "create t hash:ip,port,net family inet6\nadd t 2001:db8::8,udp:53,fd00:1::/64\nadd t 2001:db8::8,udp:53,fd00:1::50 nomatch\n",
  },
  { type: "hash:net,iface inet6", returnNomatch: true, ipsets: () => "create t hash:net,iface family inet6\nadd t 2001:db8::/32,eth0\nadd t fd00:244::/64,cni0\nadd t 2001:db8:0:4::/64,eth0 nomatch\n" },
  { type: "bitmap:port (IPv6 packets)", ipsets: () => "create t bitmap:port range 0-1024\nadd t 53\n" },
  {
    type: "list:set (IPv6 packets)",
    returnNomatch: true,
    ipsets: () => "create four hash:ip family inet\nadd four 8.8.8.8\ncreate net hash:net family inet6\nadd net 2001:db8::/32\nadd net 2001:db8::/64 nomatch\ncreate t list:set\nadd t four\nadd t net\n",
  },
];

function udp6(src: string, sport: number, dst: string, dport: number): PacketSpec {
  return { family: "ipv6", from: "eth0", src, dst, proto: 17, sport, dport };
}

const PACKETS6: PacketSpec[] = [
  udp6("fd00:1::50", 40000, "2001:db8::8", 53),
  { ...udp6("fd00:1::50", 40000, "2001:db8::8", 53), proto: 6, tcpFlags: 2 },
  udp6("fd00:1::50", 53, "2001:db8::8", 40000),
  udp6("fd00:1::50", 40000, "2001:db8::9", 53),
  udp6("fd00:1::50", 40000, "2001:db8:0:4::1", 53),
  { family: "ipv6", from: "eth0", src: "fd00:1::50", dst: "2001:db8::8", proto: 58, icmpType: 128, icmpCode: 0 },
  { family: "ipv6", from: "eth0", src: "fd00:1::50", dst: "2001:db8::8", proto: 58, icmpType: 129, icmpCode: 0, state: "invalid" },
  { ...udp6("2001:db8::8", 53, "fd00:1::50", 40000), proto: 6, tcpFlags: 2 },
  udp6("fd00:1::51", 40000, "fd00:244::9", 53),
];

const SUITES = [
  { label: "IPv4", topo: TOPO, cases: CASES, packets: PACKETS },
  { label: "IPv6", topo: TOPO6, cases: CASES6, packets: PACKETS6 },
];

describe.skipIf(why !== undefined)(`ipset dimensions against the kernel${why ? ` (skipped: ${why})` : ""}`, () => {
  const tally = { sets: 0, rules: 0, packets: 0, decisions: 0 };
  afterAll(() => {
    console.log(`ipset dimensions: ${tally.sets} sets, ${tally.rules} rules, ${tally.packets} packets, ${tally.decisions} rule-by-packet decisions compared`);
  });

  for (const suite of SUITES) {
    describe(suite.label, () => {
      let k: KernelNode;
      const suiteView = viewOfTopology(suite.topo);
      beforeAll(() => {
        k = new KernelNode(suite.topo);
      });
      afterAll(() => k?.close());

      for (const c of suite.cases) {
        it(c.type, async () => {
          const mac = k.peerMacs.get("eth0")!;
          const ipsets = c.ipsets(mac);
          const rules = rulesOf(c);
          const text = `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${rules.join("\n")}\nCOMMIT\n`;
          const parsedSets = parseIpsets(ipsets, { file: `${c.type}.save` });
          expect(parsedSets.diagnostics).toEqual([]);
          const rs = parseRules(text, { family: suite.topo.family ?? "ipv4" }).value;
          const n = buildNode({ rulesets: [rs], node: suiteView, ipsets: ipsetView(parsedSets.value) });
          k.load(text, ipsets);
          k.flushConntrack();
          const packets = suite.packets.map((p) => (p.from === "eth0" ? { ...p, srcMac: mac } : p));
          const traces = await k.trace(packets);
          const problems: string[] = [];
          packets.forEach((p, i) => {
            const kt = traces[i];
            if (kt === undefined || kt === "send-failed") return void problems.push(`packet ${JSON.stringify(p)}: kernel trace ${kt ?? "lost"}`);
            const kernel = kernelSteps(kt.steps, new Set(["filter"]));
            const outs = n.evaluate(p).outcomes;
            const ours = outs.map(netfateSteps);
            if (ours.length !== 1 || !netfatePaths(outs[0]!).some((q) => q.join("\n") === kernel.join("\n"))) {
              const name = (s: string) => s.replace(/^filter FORWARD (\d+) .*/, (_, r: string) => rules[Number(r) - 1] ?? s);
              problems.push(`packet ${JSON.stringify(p)}:\n  kernel: ${kernel.map(name).join("\n          ")}\n  netfate: ${ours.map((o) => o.map(name).join("\n           ")).join("\n   or: ")}`);
            }
          });
          expect(problems.join("\n\n")).toBe("");
          tally.sets += parsedSets.value.sets.length;
          tally.rules += rules.length;
          tally.packets += packets.length;
          tally.decisions += rules.length * packets.length;
        }, 30_000);
      }
    });
  }
});

describe.skipIf(why !== undefined)(`ipset restore refusals${why ? ` (skipped: ${why})` : ""}`, () => {
  const ns = `nfipset${process.pid}`;
  const ipset = (args: string[], input?: string) => spawnSync("ip", ["netns", "exec", ns, "ipset", ...args], { input, encoding: "utf8" });
  beforeAll(() => {
    spawnSync("ip", ["netns", "del", ns]);
    const r = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr}`);
  });
  afterAll(() => void spawnSync("ip", ["netns", "del", ns]));

  it.each(IPSET_RESTORE_CASES)("$name", ({ text, refusedAt }) => {
    ipset(["flush"]);
    ipset(["destroy"]);
    const r = ipset(["restore"], text);
    expect({ refused: r.status !== 0 }, r.stderr).toEqual({ refused: refusedAt !== undefined });
    // Syntax errors found before the line is sent do not say which line; the others do.
    const line = /Error in line (\d+)/.exec(r.stderr)?.[1];
    if (refusedAt !== undefined && line !== undefined) expect(Number(line)).toBe(refusedAt);
  });
});
