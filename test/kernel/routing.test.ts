/**
 * Routing as the kernel has it, one behaviour a case: policy routing (`ip rule` selectors and
 * actions, a second table), reverse-path filtering (rp_filter 0/1/2, `all` against the
 * interface), the local table's broadcast addresses, martian sources and destinations,
 * 127.0.0.0/8 off lo (route_localnet), `addrtype --limit-iface-*` and `-m rpfilter`.
 *
 * Each case has two tests. "kernel:" pins what this machine's kernel did with each packet
 * (delivered, out of which interface, stopped by a rule, or stopped by the route lookup after
 * PREROUTING, never reaching INPUT or FORWARD); it fails only if the kernel changes. "netfate:"
 * asks netfate the same packet with the same node facts (interfaces, routes of every table,
 * `ip rule`s, sysctls) and requires one of its outcomes to take the kernel's path through the
 * dump's chains and to end where the kernel's packet ended.
 *
 * Every ruleset carries mangle PREROUTING and the filter table, so a packet's path shows the
 * hooks it reached: a packet refused by the route lookup ends at `mangle PREROUTING policy`.
 * Kernel 6.x, checked in network namespaces (see harness.ts); where the kernel surprised us the
 * case says so.
 */
import { afterAll, describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { KernelNode, kernelFate, kernelSkipReason, viewOfTopology, type KernelTrace, type Topology, type TopologyRule } from "./harness.js";
import { fateAgrees, kernelAnswer, kernelSteps, netfatePaths, netfateSteps, type KernelAnswer } from "./compare.js";

const why = kernelSkipReason();

interface Sent {
  packet: PacketSpec;
  kernel: KernelAnswer;
  /** The source address the kernel's packet left with, where the case is about it. */
  leavesWith?: string;
}

interface RoutingCase {
  name: string;
  topology: Topology;
  /** Tables and rules beyond the mangle and filter tables every case has (see `ruleset`). */
  rules: RuleLines;
  sent: Sent[];
  /** Also compare the source address the packet left with. */
  finalSource?: boolean;
}

interface RuleLines {
  raw?: string[];
  mangle?: string[];
  nat?: string[];
  filter?: string[];
}

/** An iptables-save text: mangle and filter always (their policies show the hooks a packet reached), raw and nat when given. */
function ruleset(r: RuleLines): string {
  const table = (name: string, chains: string[], lines: string[]) => [`*${name}`, ...chains.map((c) => `:${c} ACCEPT [0:0]`), ...lines, "COMMIT"];
  return [
    ...(r.raw ? table("raw", ["PREROUTING", "OUTPUT"], r.raw) : []),
    ...table("mangle", ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"], r.mangle ?? []),
    ...(r.nat ? table("nat", ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"], r.nat) : []),
    ...table("filter", ["INPUT", "FORWARD", "OUTPUT"], r.filter ?? []),
    "",
  ].join("\n");
}

/**
 * The node: uplinks eth0 (main's default route) and eth1 (table 100's default route), pods
 * behind cni0; 203.0.113.0/24 is a blackhole in main, so a source there has no route back.
 */
const IFACES = [{ name: "eth0", addr: "192.168.0.11/24" }, { name: "eth1", addr: "192.168.1.11/24" }, { name: "cni0", addr: "10.244.0.1/24" }];
const ROUTES = ["default via 192.168.0.1 dev eth0", "blackhole 203.0.113.0/24", "default via 192.168.1.1 dev eth1 table 100"];
const node = (extra: Partial<Topology> = {}): Topology => ({ ifaces: IFACES, routes: ROUTES, ...extra });
const withRules = (...rules: TopologyRule[]): Topology => node({ rules });
const withSysctls = (sysctls: Record<string, number>): Topology => node({ sysctls });
/** The node as it comes: one namespace serves every case that changes nothing of it. */
const PLAIN = node();

type Base = Omit<PacketSpec, "from" | "src" | "dst">;
const UDP: Base = { family: "ipv4", proto: 17, sport: 40000, dport: 53 };
const tcp = (dport: number): Base => ({ family: "ipv4", proto: 6, sport: 40001, dport, tcpFlags: 2 });
let sport = 41000;
/** A packet arriving on `from` (or sent by the node), each with ports of its own so no two share a connection. */
function pkt(from: string, src: string | undefined, dst: string, base: Base = UDP): PacketSpec {
  const p = { ...base, from, dst, ...(src ? { src } : {}) } as PacketSpec;
  return p.proto === 6 || p.proto === 17 ? { ...p, sport: sport++ } : p;
}
const send = (packet: PacketSpec, kernel: KernelAnswer, leavesWith?: string): Sent => ({ packet, kernel, ...(leavesWith ? { leavesWith } : {}) });

/** Table 100 routes 10.77.0.0/16 out of eth1 and the pods out of cni0; mark 1 chooses it. */
const MARKED_TABLE = (sysctls: Record<string, number>): Topology =>
  node({
    rules: [{ priority: 100, fwmark: 0x1, action: "lookup", table: "100" }],
    routes: [...ROUTES, "10.77.0.0/16 via 192.168.1.1 dev eth1 table 100", "10.244.0.0/24 dev cni0 table 100"],
    sysctls,
  });
const MARK_10_77 = "-A PREROUTING -s 10.77.0.0/16 -i eth1 -j MARK --set-xmark 0x1/0xffffffff";

/** rp_filter's three packets arriving on eth0, to a host out of eth1 and to the node itself. */
function reversePath(strictDrops: boolean, looseDrops: boolean): Sent[] {
  const fwd = (ok: boolean) => (ok ? "out eth1" : "refused by routing") as KernelAnswer;
  const loc = (ok: boolean) => (ok ? "delivered" : "refused by routing") as KernelAnswer;
  return [
    // Symmetric: the route back to 192.168.0.50 is out of eth0.
    send(pkt("eth0", "192.168.0.50", "192.168.1.50"), "out eth1"),
    // Asymmetric: the route back to a pod address is out of cni0, not eth0.
    send(pkt("eth0", "10.244.0.77", "192.168.1.50"), fwd(!strictDrops)),
    send(pkt("eth0", "10.244.0.77", "192.168.0.11"), loc(!strictDrops)),
    // Spoofed: no route back at all (a blackhole route).
    send(pkt("eth0", "203.0.113.5", "192.168.1.50"), fwd(!looseDrops)),
    send(pkt("eth0", "203.0.113.5", "192.168.0.11"), loc(!looseDrops)),
  ];
}

const CASES: RoutingCase[] = [
  // ---- policy routing ----
  {
    name: "ip rule fwmark: a mark set in mangle PREROUTING chooses table 100 and its interface",
    topology: withRules({ priority: 100, fwmark: 0x1, action: "lookup", table: "100" }, { priority: 110, fwmark: 0x100, fwmask: 0xff00, action: "lookup", table: "100" }),
    rules: { mangle: ["-A PREROUTING -s 10.244.0.9/32 -j MARK --set-xmark 0x1/0xffffffff", "-A PREROUTING -s 10.244.0.11/32 -j MARK --set-xmark 0x1ff/0xffffffff"] },
    sent: [
      send(pkt("cni0", "10.244.0.9", "8.8.8.8"), "out eth1"),
      send(pkt("cni0", "10.244.0.10", "8.8.8.8"), "out eth0"),
      // fwmark 0x100/0xff00 takes mark 0x1ff.
      send(pkt("cni0", "10.244.0.11", "8.8.8.8"), "out eth1"),
    ],
  },
  {
    name: "ip rule from: the source prefix chooses the table",
    topology: withRules({ priority: 100, from: "10.244.0.0/25", action: "lookup", table: "100" }),
    rules: {},
    sent: [send(pkt("cni0", "10.244.0.9", "8.8.8.8"), "out eth1"), send(pkt("cni0", "10.244.0.200", "8.8.8.8"), "out eth0")],
  },
  {
    name: "ip rule iif: the arriving interface chooses the table; locally generated packets are not from cni0",
    topology: withRules({ priority: 100, iif: "cni0", action: "lookup", table: "100" }),
    rules: {},
    sent: [
      send(pkt("cni0", "10.244.0.9", "8.8.8.8"), "out eth1"),
      send(pkt("eth1", "192.168.1.50", "8.8.8.8"), "out eth0"),
      send(pkt("local", undefined, "8.8.8.8"), "out eth0"),
    ],
  },
  {
    // The output route lookup of a locally generated packet carries iif = lo
    // (flowi4_iif = LOOPBACK_IFINDEX), so `iif lo` selects exactly the node's own packets.
    name: "ip rule iif lo: selects the node's own packets, not forwarded ones",
    topology: withRules({ priority: 100, iif: "lo", action: "lookup", table: "100" }),
    rules: {},
    sent: [send(pkt("local", undefined, "8.8.8.8"), "out eth1"), send(pkt("cni0", "10.244.0.9", "8.8.8.8"), "out eth0")],
  },
  {
    // `oif` selects only lookups that already know their output device (a socket bound with
    // SO_BINDTODEVICE): an arriving packet's lookup has none, nor has an unbound socket's.
    name: "ip rule oif: neither a forwarded packet nor an unbound socket's packet is selected",
    topology: withRules({ priority: 100, oif: "eth1", action: "lookup", table: "100" }),
    rules: {},
    sent: [send(pkt("cni0", "10.244.0.9", "8.8.8.8"), "out eth0"), send(pkt("local", undefined, "8.8.8.8"), "out eth0")],
  },
  {
    name: "ip rule not: the rule applies to packets its selector does not match",
    topology: withRules({ priority: 100, not: true, from: "10.244.0.0/24", action: "lookup", table: "100" }),
    rules: {},
    sent: [
      send(pkt("cni0", "10.244.0.9", "8.8.8.8"), "out eth0"),
      send(pkt("eth0", "192.168.0.50", "8.8.8.8"), "out eth1"),
      // The node's own packet is looked up with source 0.0.0.0: not in 10.244.0.0/24.
      send(pkt("local", undefined, "8.8.8.8"), "out eth1"),
    ],
  },
  {
    name: "ip rule ipproto and dport: TCP to 443 takes table 100, to 80 main",
    topology: withRules({ priority: 100, ipproto: 6, dport: 443, action: "lookup", table: "100" }),
    rules: {},
    sent: [send(pkt("cni0", "10.244.0.9", "8.8.8.8", tcp(443)), "out eth1"), send(pkt("cni0", "10.244.0.9", "8.8.8.8", tcp(80)), "out eth0")],
  },
  {
    // An arriving packet meets the action in the input route lookup, after PREROUTING: it
    // never reaches FORWARD. A packet of the node's own fails at sendto (blackhole: EINVAL,
    // unreachable: EHOSTUNREACH, prohibit: EACCES), so netfilter never sees it.
    name: "ip rule blackhole, unreachable, prohibit: refused after PREROUTING, or at sendto",
    topology: withRules(
      { priority: 100, to: "198.51.100.1", action: "blackhole" },
      { priority: 101, to: "198.51.100.2", action: "unreachable" },
      { priority: 102, to: "198.51.100.3", action: "prohibit" },
    ),
    rules: {},
    sent: [
      send(pkt("cni0", "10.244.0.9", "198.51.100.1"), "refused by routing"),
      send(pkt("cni0", "10.244.0.9", "198.51.100.2"), "refused by routing"),
      send(pkt("cni0", "10.244.0.9", "198.51.100.3"), "refused by routing"),
      send(pkt("cni0", "10.244.0.9", "198.51.100.4"), "out eth0"),
      send(pkt("local", undefined, "198.51.100.1"), "send refused"),
      send(pkt("local", undefined, "198.51.100.2"), "send refused"),
      send(pkt("local", undefined, "198.51.100.3"), "send refused"),
    ],
  },
  {
    name: "ip rule goto: skips the rules in between; a goto target that does not match goes on after it",
    topology: withRules(
      { priority: 100, from: "10.244.0.0/24", action: "goto", goto: 200 },
      { priority: 150, action: "lookup", table: "100" },
      { priority: 200, from: "10.244.0.9", action: "lookup", table: "100" },
    ),
    rules: {},
    sent: [
      send(pkt("cni0", "10.244.0.9", "8.8.8.8"), "out eth1"),
      send(pkt("cni0", "10.244.0.10", "8.8.8.8"), "out eth0"),
      send(pkt("eth0", "192.168.0.50", "8.8.8.8"), "out eth1"),
    ],
  },
  {
    // wg-quick's pair: main without its default route, then everything else to the tunnel's table.
    name: "ip rule suppress_prefixlength 0: main's default route is ignored, its longer routes are not",
    topology: withRules({ priority: 100, action: "lookup", table: "main", suppressPrefixLength: 0 }, { priority: 200, action: "lookup", table: "100" }),
    rules: {},
    sent: [
      send(pkt("cni0", "10.244.0.9", "8.8.8.8"), "out eth1"),
      send(pkt("cni0", "10.244.0.9", "192.168.0.50"), "out eth0"),
      send(pkt("local", undefined, "8.8.8.8"), "out eth1"),
    ],
  },
  {
    // ip_route_me_harder: after mangle OUTPUT changes the mark the kernel routes the packet
    // again and it leaves by table 100's interface, but with the source the first route chose
    // (eth0's address): the source is not chosen again.
    name: "a local packet is routed again after mangle OUTPUT sets a mark, keeping its first source",
    topology: withRules({ priority: 100, fwmark: 0x1, action: "lookup", table: "100" }),
    rules: { mangle: ["-A OUTPUT -d 8.8.8.8/32 -j MARK --set-xmark 0x1/0xffffffff"] },
    finalSource: true,
    sent: [send(pkt("local", undefined, "8.8.8.8"), "out eth1", "192.168.0.11"), send(pkt("local", undefined, "8.8.4.4"), "out eth0", "192.168.0.11")],
  },

  // ---- reverse-path filtering ----
  {
    name: "rp_filter 0: every source passes",
    topology: withSysctls({}),
    rules: {},
    sent: reversePath(false, false),
  },
  {
    name: "rp_filter 1 (strict) on eth0: a source routed back out of another interface, or not at all, is refused",
    topology: withSysctls({ "net.ipv4.conf.eth0.rp_filter": 1 }),
    rules: {},
    sent: reversePath(true, true),
  },
  {
    name: "rp_filter 2 (loose) on eth0: only a source with no route back at all is refused",
    topology: withSysctls({ "net.ipv4.conf.eth0.rp_filter": 2 }),
    rules: {},
    sent: reversePath(false, true),
  },
  {
    name: "rp_filter all=1 with eth0=0: the maximum, strict, applies",
    topology: withSysctls({ "net.ipv4.conf.all.rp_filter": 1 }),
    rules: {},
    sent: reversePath(true, true),
  },
  {
    // The maximum of the two numbers, not the stricter mode: loose (2) beats strict (1).
    name: "rp_filter all=2 with eth0=1: the maximum is 2, so loose wins over the interface's strict",
    topology: withSysctls({ "net.ipv4.conf.all.rp_filter": 2, "net.ipv4.conf.eth0.rp_filter": 1 }),
    rules: {},
    sent: reversePath(false, true),
  },
  {
    name: "rp_filter 1 on cni0 only: packets arriving on eth0 are not checked",
    topology: withSysctls({ "net.ipv4.conf.cni0.rp_filter": 1 }),
    rules: {},
    sent: [...reversePath(false, false), send(pkt("cni0", "192.168.0.50", "192.168.1.50"), "refused by routing")],
  },
  {
    // fib_validate_source looks the source up without the packet's mark (src_valid_mark=0):
    // traffic whose marked route (and way back) is table 100's has its way back judged by
    // main, which sends 10.77.0.5 back out of eth0, not eth1.
    name: "rp_filter 1 ignores the mark: a source only the marked table routes back to eth1 is refused",
    topology: MARKED_TABLE({ "net.ipv4.conf.eth1.rp_filter": 1 }),
    rules: { mangle: [MARK_10_77] },
    sent: [send(pkt("eth1", "10.77.0.5", "10.244.0.9"), "refused by routing"), send(pkt("eth1", "192.168.1.50", "10.244.0.9"), "out cni0")],
  },
  {
    name: "rp_filter 1 with src_valid_mark 1: the way back is looked up with the mark, through table 100",
    topology: MARKED_TABLE({ "net.ipv4.conf.eth1.rp_filter": 1, "net.ipv4.conf.eth1.src_valid_mark": 1 }),
    rules: { mangle: [MARK_10_77] },
    sent: [send(pkt("eth1", "10.77.0.5", "10.244.0.9"), "out cni0"), send(pkt("eth1", "192.168.1.50", "10.244.0.9"), "out cni0")],
  },

  // ---- the local table: broadcast addresses ----
  {
    // Subnet and limited broadcasts arrive in link-layer broadcast frames (pkttype broadcast).
    // The network address is not local on this kernel (6.18): its local table holds no
    // `broadcast 10.244.0.0` route, so it is forwarded like any address of the subnet.
    // Another subnet's broadcast address (192.168.1.255 arriving on cni0, in a unicast frame
    // as a router would send it) is delivered: addrtype says BROADCAST, but pkttype says
    // `host`, since pkttype is the frame's, not the address's.
    name: "broadcast destinations: subnet and limited broadcast are delivered, the network address is forwarded",
    topology: PLAIN,
    rules: {
      filter: [
        "-A INPUT -m addrtype --dst-type BROADCAST",
        "-A INPUT -m addrtype --dst-type LOCAL",
        "-A INPUT -m pkttype --pkt-type broadcast",
        "-A INPUT -m pkttype --pkt-type host",
      ],
    },
    sent: [
      send(pkt("cni0", "10.244.0.9", "10.244.0.255"), "delivered"),
      send(pkt("cni0", "10.244.0.9", "255.255.255.255"), "delivered"),
      send(pkt("eth0", "192.168.0.50", "10.244.0.0"), "out cni0"),
      send(pkt("cni0", "10.244.0.9", "192.168.1.255"), "delivered"),
    ],
  },

  // ---- martians ----
  {
    // ip_route_input_slow: a multicast, limited-broadcast, zero or loopback source is martian,
    // and so is one of the node's own addresses (fib_validate_source) unless accept_local.
    // 0.0.0.0 to 255.255.255.255 is let through before those checks (a DHCP discover).
    name: "martian sources are refused after PREROUTING: own address, 127/8, 0.0.0.0, multicast",
    topology: PLAIN,
    rules: {},
    sent: [
      send(pkt("eth0", "192.168.0.11", "192.168.1.50"), "refused by routing"),
      send(pkt("eth0", "10.244.0.1", "192.168.1.50"), "refused by routing"),
      send(pkt("eth0", "127.0.0.5", "192.168.1.50"), "refused by routing"),
      send(pkt("eth0", "127.0.0.5", "192.168.0.11"), "refused by routing"),
      send(pkt("eth0", "0.0.0.0", "192.168.1.50"), "refused by routing"),
      send(pkt("eth0", "224.1.2.3", "192.168.1.50"), "refused by routing"),
      send(pkt("eth0", "0.0.0.0", "255.255.255.255", { family: "ipv4", proto: 17, sport: 68, dport: 67 }), "delivered"),
    ],
  },
  {
    name: "accept_local 1: a source that is the node's own address is accepted",
    topology: withSysctls({ "net.ipv4.conf.eth0.accept_local": 1 }),
    rules: {},
    sent: [send(pkt("eth0", "192.168.0.11", "192.168.1.50"), "out eth1"), send(pkt("eth0", "10.244.0.1", "192.168.0.11"), "delivered")],
  },

  // ---- 127.0.0.0/8 off lo ----
  {
    name: "destination 127.0.0.1 arriving on eth0 with route_localnet 0: martian, refused after PREROUTING",
    topology: PLAIN,
    rules: {},
    sent: [send(pkt("eth0", "192.168.0.50", "127.0.0.1"), "refused by routing"), send(pkt("eth0", "192.168.0.50", "127.0.0.1", tcp(8080)), "refused by routing")],
  },
  {
    // route_localnet is the OR of `all` and the interface (not a maximum); with it a loopback
    // source from eth0 is no longer martian either.
    name: "destination 127.0.0.1 arriving on eth0 with route_localnet 1 on eth0: delivered",
    topology: withSysctls({ "net.ipv4.conf.eth0.route_localnet": 1 }),
    rules: {},
    sent: [
      send(pkt("eth0", "192.168.0.50", "127.0.0.1"), "delivered"),
      send(pkt("eth0", "127.0.0.5", "192.168.0.11"), "delivered"),
      send(pkt("cni0", "10.244.0.9", "127.0.0.1"), "refused by routing"),
    ],
  },
  {
    name: "destination 127.0.0.1 with route_localnet 1 on all: delivered from any interface",
    topology: withSysctls({ "net.ipv4.conf.all.route_localnet": 1 }),
    rules: {},
    sent: [send(pkt("eth0", "192.168.0.50", "127.0.0.1"), "delivered"), send(pkt("cni0", "10.244.0.9", "127.0.0.1"), "delivered")],
  },
  {
    // kube-proxy's localhost NodePorts: DNAT in nat PREROUTING to 127.0.0.1, then the input
    // route lookup of the new destination. Without route_localnet the packet dies there: it
    // passed nat PREROUTING and reaches neither INPUT nor POSTROUTING.
    name: "a NodePort DNATed to 127.0.0.1 from outside: refused without route_localnet",
    topology: PLAIN,
    rules: { nat: ["-A PREROUTING -p tcp -m tcp --dport 30080 -j DNAT --to-destination 127.0.0.1:8080"] },
    sent: [send(pkt("eth0", "192.168.0.50", "192.168.0.11", tcp(30080)), "refused by routing")],
  },
  {
    name: "a NodePort DNATed to 127.0.0.1 from outside: delivered with route_localnet 1",
    topology: withSysctls({ "net.ipv4.conf.all.route_localnet": 1 }),
    rules: { nat: ["-A PREROUTING -p tcp -m tcp --dport 30080 -j DNAT --to-destination 127.0.0.1:8080"] },
    sent: [send(pkt("eth0", "192.168.0.50", "192.168.0.11", tcp(30080)), "delivered")],
  },

  // ---- addrtype --limit-iface-* ----
  {
    // With --limit-iface-in the address is looked up in the local table for the arriving
    // interface only: cni0's address arriving on eth0 is UNICAST there. With --limit-iface-out
    // a local packet to cni0's address leaves by lo, and lo does not hold it either; nor does
    // the same packet, back in PREROUTING from lo, count as LOCAL with --limit-iface-in.
    // 127.0.0.1 is lo's own, so it is LOCAL both ways.
    name: "addrtype --limit-iface-in/out: another interface's address is not LOCAL there",
    topology: PLAIN,
    rules: {
      mangle: ["-A PREROUTING -m addrtype --dst-type LOCAL --limit-iface-in", "-A PREROUTING -m addrtype --dst-type LOCAL"],
      filter: [
        "-A INPUT -m addrtype --dst-type LOCAL --limit-iface-in",
        "-A INPUT -m addrtype --dst-type UNICAST --limit-iface-in",
        "-A OUTPUT -m addrtype --dst-type LOCAL --limit-iface-out",
        "-A OUTPUT -m addrtype --dst-type LOCAL",
      ],
    },
    sent: [
      send(pkt("eth0", "192.168.0.50", "192.168.0.11"), "delivered"),
      send(pkt("eth0", "192.168.0.50", "10.244.0.1"), "delivered"),
      send(pkt("local", undefined, "10.244.0.1"), "delivered"),
      send(pkt("local", undefined, "127.0.0.1"), "delivered"),
    ],
  },

  // ---- -m rpfilter ----
  {
    // The match does the reverse lookup itself, whatever the rp_filter sysctls say (0 here).
    name: "-m rpfilter, --invert, --loose against symmetric, asymmetric and spoofed sources",
    topology: PLAIN,
    rules: {
      raw: ["-A PREROUTING -m rpfilter", "-A PREROUTING -m rpfilter --invert", "-A PREROUTING -m rpfilter --loose"],
      mangle: ["-A PREROUTING -m rpfilter --validmark --accept-local"],
    },
    sent: [
      send(pkt("eth0", "192.168.0.50", "192.168.1.50"), "out eth1"),
      send(pkt("eth0", "10.244.0.77", "192.168.1.50"), "out eth1"),
      send(pkt("eth0", "203.0.113.5", "192.168.1.50"), "out eth1"),
      send(pkt("cni0", "10.244.0.9", "192.168.0.11"), "delivered"),
    ],
  },
];

describe.skipIf(why !== undefined)(`routing against the kernel${why ? ` (skipped: ${why})` : ""}`, () => {
  const nodes = new Map<Topology, KernelNode>();
  const traces = new Map<RoutingCase, Promise<Array<KernelTrace | "send-failed" | undefined>>>();
  afterAll(() => {
    for (const k of nodes.values()) k.close();
  });
  /** The kernel's traces of a case's packets, once per run (both tests of a case read them). */
  function traced(c: RoutingCase): Promise<Array<KernelTrace | "send-failed" | undefined>> {
    let t = traces.get(c);
    if (!t) {
      const k = nodes.get(c.topology) ?? nodes.set(c.topology, new KernelNode(c.topology)).get(c.topology)!;
      k.load(ruleset(c.rules));
      k.flushConntrack();
      t = k.trace(c.sent.map((s) => s.packet));
      traces.set(c, t);
    }
    return t;
  }

  for (const c of CASES) {
    it(`kernel: ${c.name}`, async () => {
      const ts = await traced(c);
      expect(ts.map((t) => (t ? kernelAnswer(t) : "trace lost"))).toEqual(c.sent.map((s) => s.kernel));
      c.sent.forEach((s, i) => {
        const t = ts[i];
        if (s.leavesWith && t && t !== "send-failed") expect(t.lastSrc, `the source ${packetText(s.packet)} left with`).toBe(s.leavesWith);
      });
    });
    it(`netfate: ${c.name}`, async () => {
      const ts = await traced(c);
      const text = ruleset(c.rules);
      const rs = parseRules(text).value;
      const tables = new Set<string>(rs.tables.map((t) => t.name));
      const n = buildNode({ rulesets: [rs], node: viewOfTopology(c.topology) });
      const wrong: string[] = [];
      c.sent.forEach(({ packet }, i) => {
        const kt = ts[i];
        if (!kt) return; // the kernel test says so
        const outs = n.evaluate(packet).outcomes;
        const ours = outs.map((o) => `${netfateSteps(o).join(" / ") || "(no step)"} -> ${fateText(o)}`).join(" | ");
        if (kt === "send-failed") {
          if (!outs.every((o) => fateAgrees("send-failed", o.fate))) wrong.push(`${packetText(packet)}: kernel refused to send it; netfate: ${ours}`);
          return;
        }
        const kernel = kernelSteps(kt.steps, tables);
        const agreeing = outs.filter((o) => netfatePaths(o).some((q) => q.join("\n") === kernel.join("\n")) && fateAgrees(kernelFate(kt), o.fate));
        if (agreeing.length === 0) wrong.push(`${packetText(packet)}: kernel ${kernel.join(" / ") || "(no step)"} -> ${kernelAnswer(kt)}; netfate: ${ours}`);
        else if (c.finalSource && !agreeing.some((o) => o.final.src === kt.lastSrc)) wrong.push(`${packetText(packet)}: kernel left with source ${kt.lastSrc}; netfate: ${agreeing.map((o) => o.final.src).join(", ")}`);
      });
      expect(wrong).toEqual([]);
    });
  }
});

function packetText(p: PacketSpec): string {
  return `${p.from} ${p.src ?? "(node)"} -> ${p.dst}${p.dport !== undefined ? `:${p.dport}` : ""}`;
}

function fateText(o: Outcome): string {
  const f = o.fate;
  return "iface" in f && f.iface ? `${f.kind} ${f.iface}` : "reason" in f ? `${f.kind} (${f.reason})` : f.kind;
}
