/**
 * Which port a source NAT gives a new connection, asked of the kernel: a NAT without a port
 * range and without --random/--random-fully keeps the port; --random, --random-fully (nft:
 * random, fully-random) and a port outside a given range make the kernel pick one at random
 * (from the range, else from the port's class: 1–511, 600–1023, 1024–65535). netfate cannot
 * know the pick: where the kernel picks at random, netfate must say so on the outcome (a port
 * it shows then only stands for the pick), and where it does not, netfate's port must be the
 * kernel's. Each connection is sent from a namespace of its own to a peer, conntrack flushed
 * before each, so no other connection holds a port (the kernel then keeps what it can).
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelSkipReason } from "./harness.js";
import { parseRules } from "../../src/parse.js";
import { parseNftText } from "../../src/nft/text/index.js";
import { buildNode } from "../../src/netfilter/model.js";
import { simpleNode } from "../support/simple-node.js";
import type { PacketSpec } from "../../src/model/packet.js";

const why = kernelSkipReason();
const A = `nfport${process.pid}a`;
const B = `nfport${process.pid}b`;
const TRIES = 3;

function sh(args: string[], input?: string): string {
  const r = spawnSync(args[0]!, args.slice(1), { input, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** The source ports the kernel gave TRIES new UDP connections from `sport` to 10.77.0.2:53. */
function kernelPorts(sport: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < TRIES; i++) {
    spawnSync("ip", ["netns", "exec", A, "conntrack", "-F"]);
    sh(["ip", "netns", "exec", A, "python3", "-c", `import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("10.77.0.1",${sport})); s.sendto(b"x",("10.77.0.2",53))`]);
    const entry = sh(["ip", "netns", "exec", A, "conntrack", "-L", "-p", "udp", "--orig-port-src", String(sport)]);
    // The reply tuple's destination port is the translated source port.
    const m = /sport=\d+ dport=53 .*?src=10\.77\.0\.2 dst=10\.77\.0\.1 sport=53 dport=(\d+)/.exec(entry);
    if (!m) throw new Error(`no conntrack entry for port ${sport}: ${entry}`);
    out.push(Number(m[1]));
  }
  return out;
}

interface Case {
  name: string;
  iptables?: string;
  nft?: string;
}

const CASES: Case[] = [
  { name: "MASQUERADE", iptables: "-A POSTROUTING -o a0 -p udp -j MASQUERADE" },
  { name: "MASQUERADE --random-fully (kube-proxy's)", iptables: "-A POSTROUTING -o a0 -p udp -j MASQUERADE --random-fully" },
  { name: "MASQUERADE --random", iptables: "-A POSTROUTING -o a0 -p udp -j MASQUERADE --random" },
  { name: "MASQUERADE --to-ports 6000-6100", iptables: "-A POSTROUTING -o a0 -p udp -j MASQUERADE --to-ports 6000-6100" },
  { name: "SNAT --to-source 10.77.0.1", iptables: "-A POSTROUTING -o a0 -p udp -j SNAT --to-source 10.77.0.1" },
  { name: "SNAT --to-source 10.77.0.1:6000-6100", iptables: "-A POSTROUTING -o a0 -p udp -j SNAT --to-source 10.77.0.1:6000-6100" },
  { name: "SNAT --to-source 10.77.0.1:6000-6100 --random", iptables: "-A POSTROUTING -o a0 -p udp -j SNAT --to-source 10.77.0.1:6000-6100 --random" },
  { name: "nft masquerade", nft: "masquerade" },
  { name: "nft masquerade fully-random", nft: "masquerade fully-random" },
  { name: "nft snat to 10.77.0.1 random", nft: "snat to 10.77.0.1 random" },
  { name: "nft snat to 10.77.0.1:6000-6100", nft: "snat to 10.77.0.1:6000-6100" },
];

const SPORTS = [40000, 6050, 1000, 300];

const iptablesText = (rule: string) => `*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n${rule}\nCOMMIT\n`;
const nftText = (stmt: string) => `table ip t {\n\tchain p {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname "a0" meta l4proto udp ${stmt}\n\t}\n}\n`;

/** netfate's answer for the connection: the port it shows, and what it says of the pick. */
function netfatePort(c: Case, sport: number): { port: number | undefined; note: string | undefined } {
  const node = buildNode({
    rulesets: c.iptables ? [parseRules(iptablesText(c.iptables)).value] : [],
    nft: c.nft ? [parseNftText(nftText(c.nft), "case.nft").ruleset] : [],
    node: simpleNode({ addrs: { a0: ["10.77.0.1/24"] }, routes: [{ dst: "10.77.0.0/24", dev: "a0" }], forwarding: true }),
  });
  const p: PacketSpec = { family: "ipv4", from: "local", src: "10.77.0.1", sport, dst: "10.77.0.2", dport: 53, proto: 17 };
  const [o, ...more] = node.evaluate(p).outcomes;
  if (!o || more.length) throw new Error(`${c.name}: expected one outcome`);
  return { port: o.final.sport, note: o.assumptions.find((a) => a.includes("random pick")) };
}

/** The ports a note says the kernel picks from. */
function noteRange(note: string, sport: number): [number, number] {
  const m = /from (\d+)–(\d+);/.exec(note);
  if (m) return [Number(m[1]), Number(m[2])];
  return sport < 512 ? [1, 511] : sport < 1024 ? [600, 1023] : [1024, 65535];
}

describe.skipIf(why !== undefined)(`the port a source NAT gives a new connection${why ? ` (skipped: ${why})` : ""}`, () => {
  beforeAll(() => {
    for (const ns of [A, B]) spawnSync("ip", ["netns", "del", ns]);
    sh(["ip", "netns", "add", A]);
    sh(["ip", "netns", "add", B]);
    sh(["ip", "-n", A, "link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", B]);
    sh(["ip", "-n", A, "addr", "add", "10.77.0.1/24", "dev", "a0"]);
    sh(["ip", "-n", B, "addr", "add", "10.77.0.2/24", "dev", "b0"]);
    for (const [ns, dev] of [[A, "a0"], [B, "b0"], [A, "lo"]] as const) sh(["ip", "-n", ns, "link", "set", dev, "up"]);
  });
  afterAll(() => {
    for (const ns of [A, B]) spawnSync("ip", ["netns", "del", ns]);
  });

  it.each(CASES)("$name", (c) => {
    sh(["ip", "netns", "exec", A, "nft", "flush", "ruleset"]);
    if (c.iptables) sh(["ip", "netns", "exec", A, "iptables-nft-restore"], iptablesText(c.iptables));
    else sh(["ip", "netns", "exec", A, "nft", "-f", "-"], nftText(c.nft!));
    for (const sport of SPORTS) {
      const kernel = kernelPorts(sport);
      const nf = netfatePort(c, sport);
      if (nf.note === undefined) {
        // Not said to be random: the kernel's port every time.
        expect(kernel, `${c.name}, port ${sport}`).toEqual(kernel.map(() => nf.port));
      } else {
        const [lo, hi] = noteRange(nf.note, sport);
        for (const k of kernel) expect(k, `${c.name}, port ${sport}: within ${lo}–${hi}`).toSatisfy((n: number) => n >= lo && n <= hi);
        // At random: not the same port each time (the chance of that is below one in 10,000).
        expect(new Set(kernel).size, `${c.name}, port ${sport}: ${kernel.join(", ")}`).toBeGreaterThan(1);
      }
    }
  });

  it("kube-proxy's masquerade is said to pick its port at random, and a plain one is not", () => {
    expect(netfatePort(CASES[1]!, 40000).note).toMatch(/random pick from the original port's class/);
    expect(netfatePort(CASES[0]!, 40000)).toEqual({ port: 40000, note: undefined });
  });
});
