/**
 * Stateful matches on a quiet node, against the kernel: each case loads a fresh ruleset (new
 * rules: nth counters at --packet, quotas full, connlimit trees empty; recent lists under names
 * never used before) and sends it one first packet, a 40-byte TCP SYN. Each rule carries no
 * target, so the kernel's trace lists exactly the rules whose matches held; that path must be
 * netfate's, which decides it with the quiet-node assumption the outcome states.
 *
 * A lost trace is not sent again into the same rules (the packet has already used their
 * state): the ruleset is loaded afresh and the packet sent again.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { listText } from "../../src/print/listing.js";
import { ruleSpecText } from "../../src/print/save.js";
import type { Family } from "../../src/model/ast.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { QUIET_RECENT } from "../../src/extensions/matches/recent.js";
import { QUIET_CONNECTIONS } from "../../src/extensions/matches/connlimit.js";
import { QUIET_QUOTA } from "../../src/extensions/matches/quota.js";
import { QUIET_NTH } from "../../src/extensions/matches/statistic.js";
import { QUIET_NODE } from "../../src/extensions/matches/limit.js";
import { KernelNode, kernelSkipReason, NODE_ETH0_CNI0, viewOfTopology, type KernelTrace, type Topology } from "./harness.js";
import { kernelSteps, netfatePaths } from "./compare.js";

const why = kernelSkipReason();

const TOPO = NODE_ETH0_CNI0;
const view = viewOfTopology(TOPO);

/** 20 bytes of IP header and 20 of TCP header: what send-packet.py sends for a SYN. */
const SYN: PacketSpec = { family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 6, sport: 43000, dport: 22, tcpFlags: 2, length: 40 };
/** Only the test packet reaches the stateful matches, whatever else the namespace sends. */
const ONLY = "-s 192.168.0.50/32 -p tcp -m tcp --dport 22";

function filter(rules: string[], only = ONLY): string {
  return ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ...rules.map((r) => `-A INPUT ${only} ${r}`), "COMMIT", ""].join("\n");
}

/** The kernel's trace of `p` as the first packet of a freshly loaded `rules`, loading them again when a trace is lost. */
async function firstPacketTrace(k: KernelNode, rules: (attempt: number) => string, p: PacketSpec): Promise<{ trace: KernelTrace | undefined; rules: string }> {
  let text = "";
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    text = rules(attempt);
    k.load(text);
    k.flushConntrack();
    const [t] = await k.trace([p], { stateful: true });
    if (t && t !== "send-failed") return { trace: t, rules: text };
  }
  return { trace: undefined, rules: text };
}

interface Case {
  name: string;
  /** The rules, given a tag that makes recent list names new on every load. */
  rules: (tag: string) => string[];
  assuming: string;
}

const CASES: Case[] = [
  {
    name: "recent: an address in no list — --rcheck, --update and --remove do not match, ! before them does, --set does",
    rules: (t) => [
      `-m recent --rcheck --name ${t}a`,
      `-m recent --update --seconds 60 --hitcount 1 --name ${t}b`,
      `-m recent --remove --name ${t}c`,
      `-m recent ! --rcheck --name ${t}d`,
      `-m recent ! --update --seconds 60 --name ${t}e --rdest`,
      `-m recent ! --remove --name ${t}f`,
      `-m recent --rcheck --seconds 60 --rttl --name ${t}g`,
      `-m recent --set --name ${t}h`,
      `-m recent ! --set --name ${t}i --rdest`,
    ],
    assuming: QUIET_RECENT,
  },
  {
    name: "connlimit: the packet's own connection counts, so the count is 1",
    rules: () => [
      "-m connlimit --connlimit-above 0",
      "-m connlimit --connlimit-above 1",
      "-m connlimit --connlimit-upto 0 --connlimit-mask 24",
      "-m connlimit --connlimit-upto 1 --connlimit-mask 24 --connlimit-daddr",
      "-m connlimit --connlimit-above 5 --connlimit-mask 0",
    ],
    assuming: QUIET_CONNECTIONS,
  },
  {
    name: "quota: a 40-byte packet fits a 40-byte quota, not a 39-byte one; an empty quota fits nothing",
    rules: () => ["-m quota --quota 40", "-m quota --quota 39", "-m quota ! --quota 40", "-m quota ! --quota 39", "-m quota --quota 0", "-m quota ! --quota 0"],
    assuming: QUIET_QUOTA,
  },
  {
    name: "statistic nth: the first packet a fresh rule sees matches exactly when --packet is 0",
    rules: () => [
      "-m statistic --mode nth --every 1 --packet 0",
      "-m statistic --mode nth --every 2 --packet 0",
      "-m statistic --mode nth --every 2 --packet 1",
      "-m statistic --mode nth --every 3 --packet 0",
      "-m statistic --mode nth --every 3 --packet 1",
      "-m statistic --mode nth --every 3 --packet 2",
      "-m statistic --mode nth ! --every 3 --packet 0",
      "-m statistic --mode nth ! --every 4 --packet 3",
    ],
    assuming: QUIET_NTH,
  },
  {
    // A fresh rule's bucket holds its burst: the first packet finds a token, so `limit` and
    // `--hashlimit-upto` match and `--hashlimit-above` does not (hashlimit names are new on
    // every load, so no bucket left by an earlier one is found).
    name: "limit and hashlimit: a first packet finds the bucket full",
    rules: (t) => [
      "-m limit --limit 1/min --limit-burst 1",
      "-m limit --limit 3/hour",
      `-m hashlimit --hashlimit-upto 1/min --hashlimit-burst 1 --hashlimit-mode srcip --hashlimit-name ${t}a`,
      `-m hashlimit --hashlimit-above 1/min --hashlimit-burst 1 --hashlimit-name ${t}b`,
      `-m hashlimit --hashlimit-upto 1/sec --hashlimit-mode srcip,dstport --hashlimit-name ${t}c`,
      `-m hashlimit --hashlimit-above 10/sec --hashlimit-mode dstip --hashlimit-srcmask 24 --hashlimit-name ${t}d`,
    ],
    assuming: QUIET_NODE,
  },
];

const ATTEMPTS = 3;

describe.skipIf(why !== undefined)(`stateful matches on a quiet node against the kernel${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(TOPO);
  });
  afterAll(() => k?.close());

  CASES.forEach((c, ci) => {
    it(c.name, async () => {
      const { trace: kt, rules } = await firstPacketTrace(k, (attempt) => filter(c.rules(`q${process.pid}c${ci}a${attempt}`)), SYN);
      expect(kt, "kernel trace").toBeDefined();
      const rs = parseRules(rules);
      expect(rs.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      const outs = buildNode({ rulesets: [rs.value], node: view }).evaluate(SYN).outcomes;
      const kernel = kernelSteps(kt!.steps, new Set(rs.value.tables.map((t) => t.name)));
      // One outcome, no alternatives: decided, by the stated assumption.
      expect(outs).toHaveLength(1);
      expect(outs[0]!.given ?? []).toEqual([]);
      expect(netfatePaths(outs[0]!)).toContainEqual(kernel);
      expect(outs[0]!.assumptions).toContain(c.assuming);
    }, 60_000);
  });

  it("statistic nth in a kube-proxy-style service chain: a fresh chain's first connection goes to the endpoint whose rule has --packet 0", async () => {
    // Endpoint A every 3rd from packet 1, B every 2nd of the rest from packet 0, C the rest.
    const rules = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:SVC - [0:0]
:SEP-A - [0:0]
:SEP-B - [0:0]
:SEP-C - [0:0]
-A PREROUTING -d 10.96.0.12/32 -p udp -m udp --dport 53 -j SVC
-A SVC -m statistic --mode nth --every 3 --packet 1 -j SEP-A
-A SVC -m statistic --mode nth --every 2 --packet 0 -j SEP-B
-A SVC -j SEP-C
-A SEP-A -p udp -j DNAT --to-destination 10.244.0.8:53
-A SEP-B -p udp -j DNAT --to-destination 10.244.0.9:53
-A SEP-C -p udp -j DNAT --to-destination 10.244.0.10:53
COMMIT
`;
    const p: PacketSpec = { family: "ipv4", from: "cni0", src: "10.244.0.99", dst: "10.96.0.12", proto: 17, sport: 43001, dport: 53 };
    const { trace: kt } = await firstPacketTrace(k, () => rules, p);
    expect(kt, "kernel trace").toBeDefined();
    const rs = parseRules(rules).value;
    const outs = buildNode({ rulesets: [rs], node: view }).evaluate(p).outcomes;
    expect(outs).toHaveLength(1);
    expect(netfatePaths(outs[0]!)).toContainEqual(kernelSteps(kt!.steps, new Set(rs.tables.map((t) => t.name))));
    expect(outs[0]!.final.dst).toBe("10.244.0.9");
    expect(kt!.lastDst).toBe("10.244.0.9");
    expect(outs[0]!.assumptions).toContain(QUIET_NTH);
  }, 60_000);
});

const TOPO6: Topology = { family: "ipv6", ifaces: [{ name: "eth0", addr: "fd00:1::11/64" }], routes: [] };
/** 40 bytes of IPv6 header and 20 of TCP header. */
const SYN6: PacketSpec = { family: "ipv6", from: "eth0", src: "fd00:1::50", dst: "fd00:1::11", proto: 6, sport: 43002, dport: 22, tcpFlags: 2, length: 60 };

describe.skipIf(why !== undefined)(`stateful matches on a quiet node against the kernel, IPv6${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(TOPO6);
  });
  afterAll(() => k?.close());

  it("recent, connlimit, quota and nth decide a first packet as the kernel does", async () => {
    const lines = (t: string) => [
      `-m recent --rcheck --name ${t}a`,
      `-m recent ! --update --name ${t}b --mask ffff:ffff:ffff:ffff::`,
      "-m connlimit --connlimit-upto 1 --connlimit-mask 64",
      "-m connlimit --connlimit-above 0 --connlimit-daddr",
      "-m connlimit --connlimit-above 1",
      "-m quota --quota 60",
      "-m quota --quota 59",
      "-m statistic --mode nth --every 2 --packet 0",
      "-m statistic --mode nth --every 2 --packet 1",
    ];
    const only = "-s fd00:1::50/128 -p tcp -m tcp --dport 22";
    const { trace: kt, rules } = await firstPacketTrace(k, (attempt) => filter(lines(`q${process.pid}v6a${attempt}`), only), SYN6);
    expect(kt, "kernel trace").toBeDefined();
    const rs = parseRules(rules, { family: "ipv6" });
    expect(rs.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const outs = buildNode({ rulesets: [rs.value], node: viewOfTopology(TOPO6) }).evaluate(SYN6).outcomes;
    expect(outs).toHaveLength(1);
    expect(netfatePaths(outs[0]!)).toContainEqual(kernelSteps(kt!.steps, new Set(rs.value.tables.map((t) => t.name))));
    expect(outs[0]!.assumptions).toEqual(expect.arrayContaining([QUIET_RECENT, QUIET_CONNECTIONS, QUIET_QUOTA, QUIET_NTH]));
  }, 60_000);
});

/**
 * connlimit's and quota's options asked of iptables-nft 1.8.9 itself: netfate must refuse what
 * it refuses, and print what it prints (iptables-save, and -nL's last column).
 */
const OPTION_CASES: Array<[Family, string]> = [
  ...[
    "--connlimit-above 0", "--connlimit-upto 0", "! --connlimit-above 3", "! --connlimit-upto 0x5", "--connlimit-above 010", "--connlimit-above 08",
    "--connlimit-above +5", "--connlimit-above 4294967295", "--connlimit-above 4294967296", "--connlimit-above -1", "--connlimit-mask 24",
    "--connlimit-above 3 --connlimit-upto 4", "--connlimit-above 3 --connlimit-saddr --connlimit-daddr", "--connlimit-upto 3 --connlimit-daddr",
    ...["0", "24", "33", "129", "1000", "0x100", "017", "08", "4294967040", "4294967296", "255.255.255.254", "255.0.255.0", "1.2.3", "0.0.0.0", "abc", "1e1", "::"].map(
      (m) => `--connlimit-above 3 --connlimit-mask ${m}`,
    ),
  ].map((o) => ["ipv4", `-m connlimit ${o}`] as [Family, string]),
  ...["0", "64", "65", "128", "129", "0x40", "0x81", "ffff:ffff::", "ffff:0:ffff::", "255.255.0.0"].map((m) => ["ipv6", `-m connlimit --connlimit-upto 2 --connlimit-mask ${m}`] as [Family, string]),
  ...["--quota 0", "! --quota 200", "--quota 0x10", "--quota 010", "--quota 08", "--quota +5", "--quota -1", "--quota 1k", "--quota 18446744073709551615", "--quota 18446744073709551616", "--quota 9007199254740993"].map(
    (o) => ["ipv4", `-m quota ${o}`] as [Family, string],
  ),
  ["ipv6", "-m quota ! --quota 1500"],
];

const NS = `nfquiet${process.pid}`;
const inNs = (args: string[], input?: string) => spawnSync("ip", ["netns", "exec", NS, ...args], { input, encoding: "utf8" });
const LAST_COLUMN = /^ACCEPT\s+\S+\s+--\s+\S+\s+\S+\s+/;

describe.skipIf(why !== undefined)(`connlimit and quota options against iptables 1.8.9${why ? ` (skipped: ${why})` : ""}`, () => {
  beforeAll(() => {
    spawnSync("ip", ["netns", "del", NS]);
    const r = spawnSync("ip", ["netns", "add", NS]);
    if (r.status !== 0) throw new Error(`ip netns add ${NS}: ${r.stderr.toString()}`);
  });
  afterAll(() => void spawnSync("ip", ["netns", "del", NS]));

  it.each(OPTION_CASES)("%s %s", (family, spec) => {
    const tool = family === "ipv4" ? "iptables" : "ip6tables";
    const text = ["*filter", ":INPUT ACCEPT [0:0]", `-A INPUT ${spec} -j ACCEPT`, "COMMIT", ""].join("\n");
    const real = inNs([`${tool}-nft-restore`], text);
    const parsed = parseRules(text, { family });
    const errors = parsed.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
    expect({ refused: errors.length > 0, errors }).toMatchObject({ refused: real.status !== 0 });
    if (real.status !== 0) return;
    const saved = inNs([`${tool}-nft-save`, "-t", "filter"]).stdout.split("\n").find((l) => l.startsWith("-A INPUT "))!;
    const listed = inNs([`${tool}-nft`, "-nL", "INPUT"]).stdout.split("\n").find((l) => l.startsWith("ACCEPT "))!;
    inNs([`${tool}-nft`, "-F"]);
    const rule = parsed.value.tables[0]!.chains[0]!.rules.load()[0]!;
    expect(`-A INPUT${ruleSpecText(rule, family)}`).toBe(saved);
    const ours = listText(parsed.value, { numeric: true }).split("\n").find((l) => l.startsWith("ACCEPT "))!;
    expect(ours.replace(LAST_COLUMN, "").trimEnd()).toBe(listed.replace(LAST_COLUMN, "").trimEnd());
  });
});
