/**
 * What a real socket on the node may send to a broadcast or multicast address, against what
 * netfate answers for the same packet (src/netfilter/socket-send.ts). The differential test
 * sends from a raw socket, which neither connects nor sets SO_BROADCAST; these are real TCP
 * and UDP sockets. Each packet is sent alone; the kernel's answer is the socket call's result
 * and the counters of rules that count the devices the packet left by and arrived on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { factsOfTopology, KernelNode, kernelSkipReason, run, type Topology } from "./harness.js";

const why = kernelSkipReason();

/** The default route leaves by eth0; cni0's address is the one a bound socket sends from below. */
const TOPO: Topology = {
  ifaces: [{ name: "eth0", addr: "192.168.0.11/24" }, { name: "cni0", addr: "10.244.0.1/24" }],
  routes: ["default via 192.168.0.1 dev eth0"],
};

/** Counting rules (no target): which device a packet left by (OUTPUT) and arrived on (INPUT). */
const DEVICES = ["eth0", "cni0", "lo"];
const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
${DEVICES.map((d) => `-A INPUT -i ${d}`).join("\n")}
${DEVICES.map((d) => `-A OUTPUT -o ${d}`).join("\n")}
COMMIT
`;

/** Sends one datagram or opens one connection from a socket bound to SRC; prints the result. */
const SENDER = `
import errno, socket, sys
proto, src, dst, broadcast = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.bind((src, 0))
if broadcast:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.settimeout(0.3)
try:
    if proto == "tcp":
        s.connect((dst, 80))
    else:
        s.sendto(b"netfate", (dst, 5353))
    print("sent")
except socket.timeout:
    print("sent")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))
`;

interface Case {
  proto: "tcp" | "udp";
  src: string;
  dst: string;
  soBroadcast: boolean;
  /** The socket call's result in the kernel. */
  kernel: "sent" | "ENETUNREACH" | "EACCES";
  /** The devices the kernel's counters saw (when sent): left by, and arrived on for a copy looped back. */
  out?: string;
  in?: string;
}

const CASES: Case[] = [
  { proto: "tcp", src: "192.168.0.11", dst: "127.255.255.255", soBroadcast: true, kernel: "ENETUNREACH" },
  { proto: "tcp", src: "192.168.0.11", dst: "192.168.0.255", soBroadcast: true, kernel: "ENETUNREACH" },
  { proto: "tcp", src: "192.168.0.11", dst: "255.255.255.255", soBroadcast: true, kernel: "ENETUNREACH" },
  { proto: "tcp", src: "192.168.0.11", dst: "239.1.1.1", soBroadcast: false, kernel: "ENETUNREACH" },
  { proto: "udp", src: "192.168.0.11", dst: "192.168.0.255", soBroadcast: false, kernel: "EACCES" },
  { proto: "udp", src: "192.168.0.11", dst: "192.168.0.255", soBroadcast: true, kernel: "sent", out: "eth0", in: "eth0" },
  // Bound to cni0's address, the limited broadcast leaves by cni0 though the default route is eth0's.
  { proto: "udp", src: "10.244.0.1", dst: "255.255.255.255", soBroadcast: true, kernel: "sent", out: "cni0", in: "cni0" },
  { proto: "udp", src: "127.0.0.1", dst: "127.255.255.255", soBroadcast: true, kernel: "sent", out: "lo", in: "lo" },
  // Multicast needs no option; the default route found it, and the packet leaves by its device.
  { proto: "udp", src: "192.168.0.11", dst: "239.1.1.1", soBroadcast: false, kernel: "sent", out: "eth0" },
  // A unicast address of the same subnet: TCP connects (nothing answers: the send is made). Last:
  // the failed neighbour resolution's ICMP error, seconds later, comes back by lo.
  { proto: "tcp", src: "192.168.0.11", dst: "192.168.0.77", soBroadcast: false, kernel: "sent", out: "eth0" },
];

/** Each counting rule's packet count, by its rule text (`-A OUTPUT -o eth0`). */
function counters(ns: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of run(["ip", "netns", "exec", ns, "iptables-nft-save", "-c", "-t", "filter"]).split("\n")) {
    const m = /^\[(\d+):\d+\] (-A (?:INPUT|OUTPUT) .*)$/.exec(line);
    if (m) out.set(m[2]!, Number(m[1]));
  }
  return out;
}

function netfate(c: Case): Outcome[] {
  const parsed = parseRules(RULES, { file: "socket-send.save" });
  if (parsed.diagnostics.some((d) => d.severity === "error")) throw new Error("the test's rules do not parse");
  const node = buildNode({ rulesets: [parsed.value], node: nodeViewFromFacts(factsOfTopology(TOPO)) });
  const packet: PacketSpec = { family: "ipv4", from: "local", src: c.src, dst: c.dst, proto: c.proto === "tcp" ? 6 : 17, sport: 40000, dport: c.proto === "tcp" ? 80 : 5353 };
  if (c.proto === "tcp") packet.tcpFlags = 2;
  return node.evaluate(packet).outcomes;
}

const matched = (o: Outcome, chain: string) => o.steps.filter((s) => s.chain === chain && s.matched && s.rule !== "policy").map((s) => Number(s.rule));

describe.skipIf(why)("a real socket's send to a broadcast or multicast address", () => {
  let node: KernelNode;
  beforeAll(() => {
    node = new KernelNode(TOPO);
    node.load(RULES);
  });
  afterAll(() => node?.close());

  for (const c of CASES) {
    it(`${c.proto} ${c.src} -> ${c.dst}${c.soBroadcast ? " (SO_BROADCAST)" : ""}: ${c.kernel}${c.out ? ` out ${c.out}` : ""}`, () => {
      run(["ip", "netns", "exec", node.ns, "iptables-nft", "-Z"]);
      const said = run(["ip", "netns", "exec", node.ns, "python3", "-c", SENDER, c.proto, c.src, c.dst, c.soBroadcast ? "1" : "0"]).trim();
      expect(said, "the kernel's answer to the socket call").toBe(c.kernel);
      const seen = counters(node.ns);
      const left = DEVICES.filter((d) => (seen.get(`-A OUTPUT -o ${d}`) ?? 0) > 0);
      const arrived = DEVICES.filter((d) => (seen.get(`-A INPUT -i ${d}`) ?? 0) > 0);
      expect(left, "devices the kernel sent it out of").toEqual(c.out ? [c.out] : []);
      expect(arrived, "devices a copy came back in by").toEqual(c.in ? [c.in] : []);

      const outcomes = netfate(c);
      expect(outcomes).toHaveLength(1);
      const o = outcomes[0]!;
      if (c.kernel === "ENETUNREACH") {
        expect(o.fate.kind).toBe("unroutable");
        expect(o.steps).toEqual([]);
        return;
      }
      // netfate answers for the packet that exists: its socket had SO_BROADCAST when the kernel needs it.
      if (c.kernel === "EACCES") {
        expect(o.assumptions.join("\n")).toMatch(/SO_BROADCAST.*EACCES/);
        return;
      }
      expect(matched(o, "OUTPUT"), "netfate's OUTPUT rule (one per device)").toEqual([DEVICES.indexOf(c.out!) + 1]);
      if (c.out === "lo") {
        expect(o.fate).toEqual({ kind: "delivered", iface: "lo" });
        expect(matched(o, "INPUT")).toEqual([DEVICES.indexOf("lo") + 1]);
      } else {
        expect(o.fate.kind).toBe("sent");
        // The looped-back copy is said, not traced.
        const copy = o.assumptions.some((a) => a.includes(`loops a copy back to the node itself`) && a.includes(`INPUT on ${c.in}`));
        expect(copy).toBe(c.in !== undefined);
      }
      const broadcast = o.assumptions.some((a) => a.includes("SO_BROADCAST"));
      expect(broadcast).toBe(c.soBroadcast);
    });
  }
});
