/**
 * The vocabulary of evaluation: hooks, the packet as it is while traversing, what matches
 * and targets may read and do, and the result record (outcomes, steps, fates). Extensions
 * implement `evaluate`/`apply` against these types.
 */
import type { Family, Rule, TableName } from "./ast.js";
import type { CtState, PacketHeaders } from "./packet.js";
import type { IpvsForward } from "./ipvs.js";
import type { NftFamily } from "./nft.js";
import type { IpNum } from "./address.js";

export type Hook = "PREROUTING" | "INPUT" | "FORWARD" | "OUTPUT" | "POSTROUTING";

/** The packet as it is at one point of its path: rewritten addresses, marks, conntrack view. */
export interface PacketState extends PacketHeaders {
  src: string;
  fragment: boolean;
  /** Interface it arrived on (absent for locally generated). */
  inIface?: string;
  /** Interface the routing decision chose (absent before it, e.g. in PREROUTING). */
  outIface?: string;
  /** The gateway of that route, when it has one (MASQUERADE picks its address towards it). */
  nexthop?: string;
  mark: number;
  ct: ConntrackState;
}

export interface Tuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export interface ConntrackState {
  state: CtState;
  /** ORIGINAL for packets in the direction that opened the connection. */
  dir: "ORIGINAL" | "REPLY";
  mark: number;
  zone: number;
  /** The connection as first seen, and as its replies will look after NAT. */
  orig: Tuple;
  reply: Tuple;
  /** NAT set up for this connection (by this packet, or declared for an established one). */
  dnat?: Tuple;
  snat?: Tuple;
  /** Status bits as `--ctstatus` names them. */
  status: Set<CtStatusBit>;
  /**
   * Bits the inputs do not decide for this packet (neither in `status` for sure nor out of it),
   * each with why: a UDP connection's ASSURED, say, which the kernel sets only after a while.
   */
  statusUnknown?: Readonly<Partial<Record<CtStatusBit, string>>>;
  helper?: string;
  /** The IPVS service that sent the connection's first packet on (with net.ipv4.vs.conntrack=1): IPVS, not conntrack, undoes a Masq DNAT for its replies. */
  ipvs?: IpvsConnection;
}

/** What IPVS left on a connection it sent on. */
export interface IpvsConnection {
  /** `TCP 10.96.0.10:53`, as ipvsadm names it, and its place in the table (1-based). */
  service: string;
  index: number;
  method: IpvsForward;
}

export type CtStatusBit = "EXPECTED" | "SEEN_REPLY" | "ASSURED" | "CONFIRMED" | "SNAT" | "DNAT";

/** What a match may ask about the node and its sets. */
export interface EvalEnv {
  readonly packet: Readonly<PacketState>;
  readonly hook: Hook;
  readonly table: TableName;
  readonly node: NodeView;
  readonly ipsets: IpsetView;
  /** What the user assumed of state the input cannot show (`--assume limit=exhausted`); absent keys are "quiet". */
  readonly assumed: StateAssumptions;
}

/**
 * State the input cannot show (rate-limit buckets, recent lists, connection counts, quotas, nth
 * counters): as on a quiet node (the default, said in each outcome), as on a busy one, or
 * either way (both alternatives are traced, each saying which it took).
 */
export type StateAssumption = "quiet" | "busy" | "either";
export type StateAssumptions = Readonly<Record<string, StateAssumption>>;

export type AddrType =
  | "UNSPEC" | "UNICAST" | "LOCAL" | "BROADCAST" | "ANYCAST" | "MULTICAST" | "BLACKHOLE" | "UNREACHABLE" | "PROHIBIT" | "THROW" | "NAT" | "XRESOLVE";

/** A yes, a no, or "cannot tell from what the inputs say" with the reason. */
export type Tri = boolean | { indeterminate: string };

/** What every routing decision may also say: which rule and route chose it, and what it assumed. */
export interface RouteNotes {
  /** `rule 100 (from all fwmark 0x1 lookup 100), table 100: default via 10.1.0.254 dev eth1`. */
  chosenBy?: string;
  /** Settings the decision rests on that the node facts do not give (said only where they change it). */
  assumptions?: string[];
}

export type RouteDecision = RouteNotes & (
  | { kind: "local"; dev?: string }
  /**
   * `cast`: a locally generated packet's route is a broadcast or multicast one (the kernel's
   * RTCF_BROADCAST / RTCF_MULTICAST, set by __mkroute_output from the route's type or the
   * destination): what a sending socket may do with it depends on its protocol and options.
   */
  | { kind: "unicast"; dev: string; gateway?: string; src?: string; onlink?: boolean; cast?: OutputCast }
  | { kind: "blackhole" | "unreachable" | "prohibit" | "throw" | "none"; detail?: string }
  /** The kernel drops the packet as it routes it: a martian address, or the reverse-path filter. */
  | { kind: "martian"; check: MartianCheck; detail: string }
  /** Not local, and the arriving device does not forward. */
  | { kind: "not-forwarding"; detail: string }
  | { kind: "indeterminate"; reason: string });

export type OutputCast = "broadcast" | "multicast";

export type MartianCheck = "rp_filter" | "source" | "destination";

/** The packet's fields a routing decision reads (the kernel's flowi). */
export interface RouteQuery {
  family: Family;
  dst: string;
  /** Absent for a locally generated packet whose source the route will choose. */
  src?: string;
  mark: number;
  tos?: number;
  proto?: number;
  sport?: number;
  dport?: number;
}

export interface InputRouteQuery extends RouteQuery {
  src: string;
  /** The device the packet arrived on. */
  iif: string;
}

/** How `-m rpfilter` asks for the reverse path (its flags). */
export interface ReversePathFlags {
  loose: boolean;
  acceptLocal: boolean;
  validMark: boolean;
}

/** One outer packet a tunnel sends for an inner one: where to, and the ports and VNI where they differ from the device's own. */
export interface OuterEndpoint {
  dst: string;
  dport?: number;
  sport?: number;
  vni?: number;
  /**
   * VXLAN: the inner frame's Ethernet destination (the next hop's neighbour entry). The remote
   * device must have this MAC: an inner frame to another is PACKET_OTHERHOST there, and ip_rcv
   * drops it before PREROUTING (checked in test/kernel/tunnel-vxlan.test.ts).
   */
  innerMac?: string;
}

/**
 * The outer packets of one inner packet: one per remote (a VXLAN default entry floods a copy to
 * each); `dropped` when the device sends nothing (no FDB entry, no WireGuard peer for the
 * destination: the reason says which); `indeterminate` when the node facts do not tell.
 */
export type OuterPackets = OuterEndpoint[] | { dropped: string } | { indeterminate: string };

/** An encapsulating device: what the outer packet looks like for a given next hop. */
export interface TunnelInfo {
  kind: "vxlan" | "ipip" | "ip6tnl" | "gre" | "wireguard" | "udp";
  /**
   * The outer destination for an inner next hop (VXLAN: neighbour, then FDB; IPIP: the gateway;
   * udp: the subnet lease holding the inner destination; WireGuard: the endpoint of the peer
   * whose allowed IPs hold it). Undefined unless there is exactly one: `outerPackets` says why.
   */
  outerDestination(nexthop: string | undefined, innerDst: string): string | undefined;
  /** Every outer packet the inner one becomes, or why none or why unknown. */
  outerPackets?(nexthop: string | undefined, innerDst: string): OuterPackets;
  outerProto: number;
  /** The outer destination port when it is the same for every remote (VXLAN's, flanneld's, WireGuard peers' when they agree). */
  outerDport?: number;
  /** The outer source port when the device fixes it (flanneld's and WireGuard's bound port; VXLAN hashes it per flow). */
  outerSport?: number;
  /** The outer source address when the device fixes it (VXLAN and IPIP `local`, the address flanneld binds). */
  outerSrc?: string;
  /** The mark the outer packet leaves with (WireGuard's fwmark, which wg-quick's rules use to keep it off the tunnel). */
  outerMark?: number;
  /** The VXLAN Network Identifier, where known. */
  vni?: number;
  /** WireGuard's cryptokey routing on receive: the inner source must be in the allowed IPs of the peer whose endpoint sent it (outerSrc). Other kinds accept any inner packet. */
  acceptsInner?(innerSrc: string, outerSrc: string): boolean | { indeterminate: string };
}

/** The device that takes an arriving outer packet apart, as NodeView.decapsulator answers. */
export interface Decapsulator {
  dev: string;
  kind: TunnelInfo["kind"];
  /** Said when the answer rests on something the question or the node facts left open (which VNI, which outer source). */
  assumption?: string;
}

export interface NodeView {
  /** False when no node facts were given: route and address questions are indeterminate. */
  readonly known: boolean;
  /** The kernel's address type of `ip` (as addrtype sees it), optionally limited to a device. */
  addressType(ip: string, family: Family, dev?: string): AddrType | { indeterminate: string };
  isLocal(ip: string, family: Family): Tri;
  /** Routing decision for an arriving packet, martian and reverse-path checks included (ip_route_input). */
  routeInput(q: InputRouteQuery): RouteDecision;
  /** Routing decision for a locally generated packet; the decision's `src` is the source it selects (ip_route_output). */
  routeOutput(q: RouteQuery): RouteDecision;
  /**
   * Every network routeInput and routeOutput compare an address of the query with (either
   * one: the reverse-path check looks the source up as a destination), and whether they read
   * its ports: two queries that differ only in an address that falls alike in all of them (and
   * in ports, when read) are decided alike, but for words that name the address (the flow
   * memo, netfilter/flow-reads.ts). Absent: not known.
   */
  routeTests?(family: Family): { readonly tests: ReadonlyArray<{ net: IpNum; mask: IpNum }>; readonly ports: boolean };
  /** `-m rpfilter`: would a packet to the source go back out the arriving device (or anywhere, loose)? */
  reversePath(q: InputRouteQuery, flags: ReversePathFlags): Tri;
  /** The first address of `dev`, whatever its scope: what REDIRECT rewrites to. */
  primaryAddress(dev: string, family: Family): string | undefined;
  /**
   * The source MASQUERADE picks for a packet leaving by `dev` towards `nexthop`, as the
   * kernel's inet_select_addr does: a global-scope address of `dev` (in the nexthop's subnet
   * when there is one), else the first global-scope address of any interface, in interface
   * order (so a packet masqueraded on lo takes eth0's address, never 127.0.0.1).
   */
  masqueradeAddress(dev: string, family: Family, nexthop?: string): string | undefined;
  /** Whether `iif` forwards (net.ipv4.conf.IFACE.forwarding, else net.ipv4.ip_forward; IPv6 alike). */
  forwarding(family: Family, iif?: string): Tri;
  tunnel(dev: string): TunnelInfo | undefined;
  /**
   * The device that takes an arriving outer packet apart on this node, or undefined: IPIP
   * (protocol 4) to a local address → the ipip device (tunl0); UDP to a local address at a
   * VXLAN device's port → that device (by VNI when several share the port and `vni` is given);
   * UDP to flanneld's port → the udp (TUN) device; UDP to a WireGuard listen port → that device.
   * `src`, the outer source, picks among IPIP devices with a fixed remote (ip_tunnel_lookup).
   */
  decapsulator?(outer: { family: Family; proto: number; dst: string; dport?: number; vni?: number; src?: string }): Decapsulator | undefined;
  /** A sysctl as given, for settings such as bridge-nf-call-iptables. */
  sysctl(name: string): string | undefined;
}

/** `"nomatch"`: the most specific entry that matched is a nomatch entry (for `--return-nomatch`). */
export type SetLookupResult = boolean | "nomatch" | { indeterminate: string };

export interface SetTuple {
  src: string;
  dst: string;
  proto: number;
  sport?: number;
  dport?: number;
  inIface?: string;
  outIface?: string;
  srcMac?: string;
}

export interface IpsetView {
  /** Whether the set has the tuple selected by `flags` (`src`, `dst` per dimension). */
  test(name: string, tuple: SetTuple, flags: readonly ("src" | "dst")[]): SetLookupResult;
  add(name: string, tuple: SetTuple, flags: readonly ("src" | "dst")[]): void;
  del(name: string, tuple: SetTuple, flags: readonly ("src" | "dst")[]): void;
}

export type MatchResult =
  | boolean
  /**
   * Decided by a stated default about state the input cannot show, such as a rate limit's
   * bucket on a quiet node: the evaluator records `assuming` on the outcomes it decides.
   */
  | { matched: boolean; assuming: string }
  | { indeterminate: string }
  | { branches: ReadonlyArray<{ probability: number; matched: boolean; label: string }> };

/**
 * Where a NAT target translates a connection to. `portNote`: the kernel picks the translated
 * port at random, and where from (nat-range.ts randomPortNote); the port given stands for it.
 */
export interface NatTo {
  addr?: string;
  port?: number;
  portNote?: string;
}

/** A translation asked for and not yet applied (it is, when the nat chains have run). */
export interface PendingNat extends NatTo {
  kind: "dnat" | "snat";
  how: string;
}

/** The binding a NAT target or nft nat statement asks for: only the fields it gives. */
export function pendingNatOf(kind: "dnat" | "snat", to: NatTo, how: string): PendingNat {
  const n: PendingNat = { kind, how };
  if (to.addr !== undefined) n.addr = to.addr;
  if (to.port !== undefined) n.port = to.port;
  if (to.portNote !== undefined) n.portNote = to.portNote;
  return n;
}

/** What a target may change; the evaluator records every change as a step's rewrite. */
export interface TargetEffects {
  setMark(v: number): void;
  setCtMark(v: number): void;
  notrack(): void;
  setCtZone(zone: number): void;
  setHelper(name: string): void;
  /** Rewrites of header fields TOS/DSCP/TTL/TCPMSS and the like; described, not modelled further. */
  rewrite(field: "tos" | "ttl" | "mss" | "ecn" | "checksum" | "class" | "tcpoptions", value: number | string): void;
  /** Address/port translation of this connection: DNAT-like (destination) or SNAT-like (source). */
  nat(kind: "dnat" | "snat", to: NatTo, how: string): void;
  log(line: string): void;
  setAdd(name: string, flags: readonly ("src" | "dst")[], del: boolean): void;
}

export type TargetVerdict = "CONTINUE" | "ACCEPT" | "DROP" | "REJECT" | "QUEUE" | "RETURN";

export type TargetResult =
  | { verdict: TargetVerdict; detail?: string }
  | { indeterminate: string };

/**
 * Where a step happened: a table, or IPVS (which the kernel runs as its own netfilter hook
 * functions between the tables, net/netfilter/ipvs/ip_vs_core.c ip_vs_ops4).
 */
export type StepTable = TableName | "ipvs" | "nft";

/**
 * Where an nftables step happened, beside `chain` (a step with table "nft"): the table as nft
 * names it, the rule's handle when the input gave handles, the rule as `nft list` prints it,
 * and the verdict map element that was chosen.
 */
export interface NftStepDetail {
  family: NftFamily;
  table: string;
  /** The base chain's priority the step ran at (of the base chain the walk started from). */
  priority: number;
  handle?: number;
  /** The rule's text as `nft list ruleset` prints it; absent for a policy. */
  text?: string;
  /** The verdict map or map element chosen (`10.96.0.10 . tcp . 53 : goto service-...`). */
  element?: string;
  /**
   * The one packet family the rule can match, when its expressions allow only one (`ip6 saddr`,
   * `icmpv6 type`, `meta nfproto ipv4`: nft has such a rule test the family first); "none" when
   * they ask for both. Absent: either family, and for a policy.
   */
  requires?: Family | "none";
}

/** The nft table a fate happened in (a fate with table "nft"). */
export interface NftPlace {
  family: NftFamily;
  table: string;
  handle?: number;
}

/** What IPVS decided for a packet (a step with table "ipvs"). */
export interface IpvsStepDetail {
  /** The virtual service as `ipvsadm -Ln` names it: `TCP 10.96.0.10:53`, `FWM 123`. */
  service: string;
  /** Absent when the input does not show it (`ipvsadm -Ln --stats`). */
  scheduler?: string;
  /** The real server chosen, as ADDRESS:PORT; absent when none was. */
  server?: string;
  /** How the packet goes to it: masq (DNAT), route (direct routing), tunnel (IP-in-IP), local. */
  method?: IpvsForward;
  /** How the server was chosen, and what that rests on (`rr: rotation position unknown...`). */
  choice: string;
  /** The service's and the chosen server's lines in `ipvsadm-save -n` form. */
  lines: string[];
}

/** One entry of a trace: a rule that matched (or was tried, in verbose mode) or a policy. */
export interface Step {
  hook: Hook;
  table: StepTable;
  chain: string;
  /** 1-based as iptables-save lists the chain, or "policy". */
  rule: number | "policy";
  /** The rule itself (absent for policies). */
  ruleNode?: Rule;
  verdict: string;
  matched: boolean;
  /** For a tried rule that did not match: the first condition that failed. */
  failed?: string;
  /** Rewrites this step made, e.g. "DNAT 10.254.198.92:80 → 172.17.0.4:80". */
  rewrites?: string[];
  /** The packet after this step, when it changed. */
  packet?: PacketSnapshot;
  /** A kernel log line this step produced (LOG/NFLOG). */
  log?: string;
  /** Which way a random branch went at this rule (`statistic probability 0.33333: matched`). */
  branch?: string;
  /** For an IPVS step: the service, scheduler, chosen real server and method. */
  ipvs?: IpvsStepDetail;
  /** For an nftables step: its table, handle, rule text and chosen map element. */
  nft?: NftStepDetail;
  /** The step is in an iptables-legacy table of a node that has iptables-nft tables too (both run). */
  legacy?: true;
  /**
   * When this step happens only in some of the histories merged into the outcome: the
   * condition it rests on (`only if -m limit ...: assumed to match`, `with probability 0.5`);
   * several when nested. Absent for steps every history of the outcome took.
   */
  uncertain?: string[];
}

export interface PacketSnapshot {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  mark: string;
  ctmark: string;
  inIface?: string;
  outIface?: string;
  ctstate: CtState;
}

export type Fate =
  | { kind: "delivered"; iface?: string }
  | { kind: "forwarded"; iface: string; via?: string }
  | { kind: "sent"; iface: string; via?: string }
  | { kind: "dropped"; table: StepTable; chain: string; rule: number | "policy"; hook: Hook; nft?: NftPlace; legacy?: true }
  /** IPVS's own refusal (ip_vs_leave: no real server available) is `table: "ipvs"`, `chain` the service. */
  | { kind: "rejected"; table: StepTable; chain: string; rule: number; hook: Hook; with: string; nft?: NftPlace; legacy?: true }
  | { kind: "queued"; table: StepTable; chain: string; rule: number; hook: Hook; queue?: string; nft?: NftPlace; legacy?: true }
  | { kind: "unroutable"; reason: string }
  /** Dropped by the routing decision itself: a martian source or destination, or the reverse-path filter (rp_filter). */
  | { kind: "martian"; check: MartianCheck; reason: string; iface?: string }
  | { kind: "indeterminate"; reason: string }
  | { kind: "error"; reason: string }
  /**
   * A reply (cluster evaluations) that never reaches its sender as the reply of its connection:
   * it comes back by another node or interface, is dropped on the way, or misses the conntrack
   * entry that holds the connection's NAT. `parted` says where request and reply part; `cause`
   * is what stopped the reply, when something did.
   */
  | { kind: "reply-lost"; reason: string; parted?: string; cause?: Fate };

/** The connection as conntrack holds it after this packet (tuples after NAT). */
export interface ConntrackSummary {
  orig: Tuple;
  reply: Tuple;
  status: string[];
  /** What else the connection carries to its later packets, when not the default (ctmark 0, zone 0, no helper). */
  mark?: number;
  zone?: number;
  helper?: string;
  ipvs?: IpvsConnection;
}

export interface Outcome {
  /**
   * The chance of this outcome given its `given` conditions (the product of the random
   * branches it took). Outcomes with different `given` sets are alternatives, not chances:
   * never add their probabilities.
   */
  probability: number;
  /** Everything the outcome rests on, as the trace lists it; includes the texts of `given`. */
  assumptions: string[];
  /** The sides taken at conditions the input does not decide (absent or empty: none). */
  given?: string[];
  fate: Fate;
  steps: Step[];
  final: PacketSnapshot;
  /** The routing decisions the packet met, each naming the rule and route that made it. */
  routing?: string[];
  /** The packet that leaves after encapsulation (VXLAN, IPIP), traced as its own leg. */
  encapsulated?: Outcome[];
  conntrack?: ConntrackSummary;
}

/** What a set lookup may read of the packet: the tuple, and what some types need besides. */
export interface SetQuery extends SetTuple {
  family?: Family;
  icmpType?: number;
  icmpCode?: number;
  mark?: number;
  /** A non-first fragment carries no ports: port types do not match it. */
  fragment?: boolean;
}

/** The kernel's answer for a `-m set` test: matched, not matched, or what is missing to tell. */
export type SetMatch = boolean | { indeterminate: string };

/** An IpsetView that also answers as the set match does, `--return-nomatch` included. */
export interface KernelIpsetView extends IpsetView {
  match(name: string, q: SetQuery, flags: readonly ("src" | "dst")[], opts: { returnNomatch: boolean }): SetMatch;
}
