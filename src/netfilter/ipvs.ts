/**
 * IPVS where the kernel runs it: ip_vs_in_hook, registered (net/netfilter/ipvs/ip_vs_core.c
 * ip_vs_ops4 / ip_vs_ops6) on
 *   - NF_INET_LOCAL_IN at NF_IP_PRI_NAT_SRC - 1 (99): after mangle (-150), filter (0) and
 *     security (50) INPUT, before nat INPUT (100) — remote clients, whose packet was routed
 *     local (the VIP is an address of kube-ipvs0);
 *   - NF_INET_LOCAL_OUT at NF_IP_PRI_NAT_DST + 2 (-98): after raw, mangle and nat OUTPUT,
 *     before filter OUTPUT — local clients.
 * (NF_IP_PRI_NAT_SRC - 2 and NF_IP_PRI_NAT_DST + 1 are ip_vs_out_hook, which handles replies
 * from real servers; replies are not modelled here.)
 *
 * This module finds the virtual service (ip_vs_service_find), says whether the packet is
 * scheduled (tcp_conn_schedule: a SYN; udp: any; sctp: an INIT), picks the real server the way
 * the scheduler does on a quiet node (exact probabilities where the choice is random or its
 * state unknown, the kernel's own hash where the packet decides it), and rewrites the packet
 * as the forwarding method does (ip_vs_xmit.c). path.ts runs the hooks around it.
 */
import type { Family } from "../model/ast.js";
import { ipToNum } from "../model/address.js";
import { hasPorts, PROTO_SCTP, PROTO_TCP, PROTO_UDP } from "../model/packet.js";
import { ipvsEndpoint, ipvsServiceName, IPVS_PROTOCOL_NUMBERS, type IpvsRealServer, type IpvsService, type IpvsTable } from "../model/ipvs.js";
import type { ConntrackSummary, Fate, Hook, IpvsConnection, IpvsStepDetail, NodeView, PacketState, RouteDecision, Step } from "../model/evaluation.js";
import { ipvsServerLine, ipvsServiceLine } from "../ipvs/print.js";
import { alternative, assume, endpoint, fork, snapshot, type Branch } from "./branch.js";
import { MAX_ALTERNATIVES, type ExplorationBudget } from "./traverse.js";

// ---------- which service ----------

/** The packet fields ip_vs_service_find reads. */
export interface IpvsLookup {
  family: Family;
  proto: number;
  dst: string;
  dport?: number;
  mark: number;
}

/**
 * ip_vs_ctl.c ip_vs_service_find: a firewall-mark service for the skb's mark first, then the
 * protocol/address/port service, then a port-zero service of the address. (The FTP-data
 * lookup of a port-21 service is not modelled: no FTP service, no difference.)
 */
export function findIpvsService(table: IpvsTable, q: IpvsLookup): { service: IpvsService; index: number } | undefined {
  const at = (pred: (s: IpvsService) => boolean) => {
    const index = table.services.findIndex(pred);
    return index < 0 ? undefined : { service: table.services[index]!, index };
  };
  if (q.mark !== 0) {
    const f = at((s) => s.key.kind === "fwmark" && s.key.mark === q.mark && s.family === q.family);
    if (f) return f;
  }
  const byAddr = (port: number | undefined) =>
    at((s) => s.key.kind === "address" && s.family === q.family && IPVS_PROTOCOL_NUMBERS[s.key.protocol] === q.proto && s.key.address === q.dst && s.key.port === port);
  return byAddr(q.dport) ?? byAddr(0);
}

// ---------- which real server ----------

/**
 * One way the scheduler may go: a chance (`probability`) within the side `given` of something
 * the input does not decide (absent: nothing undecided).
 */
export interface IpvsPick {
  /** Absent: no server is available (the kernel then calls ip_vs_leave). */
  server?: IpvsRealServer;
  probability: number;
  /** How it was chosen, and what that rests on. */
  why: string;
  /** Set when this pick rests on one of alternatives the input cannot decide between. */
  given?: string;
  /** State the input cannot show that the pick rests on, as the outcome lists it. */
  assumes?: string;
}

/** The source and destination the hashing schedulers read. */
export interface IpvsFlow {
  family: Family;
  src: string;
  dst: string;
  sport?: number;
}

const GOLDEN_RATIO_32 = 0x61c88647;

/** include/linux/hash.h hash_32: the top `bits` of val * GOLDEN_RATIO_32 (32-bit). */
export function hash32(val: number, bits: number): number {
  return Math.imul(val >>> 0, GOLDEN_RATIO_32) >>> 0 >>> (32 - bits);
}

/** The address folded to 32 bits as the sh/dh schedulers do (IPv6: the four words xored), host order. */
export function foldAddress(ip: string, family: Family): number | undefined {
  const n = ipToNum(ip, family);
  if (n === undefined) return undefined;
  if (typeof n === "number") return n >>> 0;
  return (n[0] ^ n[1] ^ n[2] ^ n[3]) >>> 0;
}

/** The schedulers' table size: 256 buckets (CONFIG_IP_VS_SH_TAB_BITS / CONFIG_IP_VS_DH_TAB_BITS default 8). */
const TAB_BITS = 8;
const TAB_SIZE = 1 << TAB_BITS;

/**
 * ip_vs_sh.c ip_vs_sh_reassign: the 256 buckets go round the servers in list order, each
 * server taking as many buckets in a row as its weight (at least one, even at weight 0).
 */
export function shBuckets(servers: readonly IpvsRealServer[]): number[] {
  const b: number[] = [];
  let p = 0;
  let d = 0;
  for (let i = 0; i < TAB_SIZE; i++) {
    b.push(p);
    if (++d >= (servers[p]!.weight ?? 0)) {
      p = (p + 1) % servers.length;
      d = 0;
    }
  }
  return b;
}

/** ip_vs_sh.c ip_vs_sh_hashkey. */
export function shHashKey(fold: number, port: number, offset: number): number {
  return (offset + hash32((port + fold) >>> 0, TAB_BITS)) & (TAB_SIZE - 1);
}

const usable = (s: IpvsRealServer) => (s.weight ?? 0) > 0;

const QUIET = "quiet node: no connections";
const ROTATION = "IPVS round robin: where the rotation stands is not known, so each server is as likely as its share of the round";
const QUIET_ASSUMED = "IPVS on a quiet node: no connections to any real server yet (the connection-counting schedulers then pick by list order and weight alone)";

/** Why list order cannot be followed: what the picks then say. */
const UNSORTED = "the kernel's list order (newest server first) is not shown: ipvsadm sorts its output by address unless --nosort";

/**
 * The real servers the scheduler may pick for a new connection, with their chances. The
 * list-walking schedulers (lc, wlc, nq, sed/fo/ovf on ties, lblc, lblcr, sh, dh) go by the
 * service's list, svc->destinations, newest first (ip_vs_ctl.c __ip_vs_update_dest adds with
 * list_add_rcu); a listing shows that order only when printed with --nosort (`kernelOrder`).
 */
export function ipvsPicks(svc: IpvsService, flow: IpvsFlow, kernelOrder = false): IpvsPick[] {
  const servers = svc.servers;
  const scheduler = svc.scheduler;
  const none = (why: string): IpvsPick[] => [{ probability: 1, why }];
  if (servers.length === 0) return none(`${scheduler ?? "the scheduler"}: the service has no real servers`);
  const unknownWeights = servers.some((s) => s.weight === undefined);
  if (scheduler === undefined || unknownWeights) {
    const missing = scheduler === undefined ? "the scheduler" : "the real servers' weights";
    return alternatives(servers, (s) => `IPVS picks ${endpoint(s.address, s.port)}: the input does not show ${missing} (ipvsadm -Ln shows them; --stats and --rate do not)`);
  }
  const eligible = servers.filter(usable);
  const one = (s: IpvsRealServer | undefined, why: string): IpvsPick[] => (s ? [{ server: s, probability: 1, why, ...(why.includes(QUIET) ? { assumes: QUIET_ASSUMED } : {}) }] : none(`${scheduler}: no server with weight > 0`));
  /** The first of `candidates` in the kernel's list: known, or one alternative each. */
  const firstOf = (candidates: readonly IpvsRealServer[], why: string): IpvsPick[] => {
    if (candidates.length <= 1 || kernelOrder) return one(candidates[0], why);
    return alternatives(candidates, (s) => `${why}: assumed to be ${endpoint(s.address, s.port)} (${UNSORTED})`).map((k) => ({ ...k, ...(why.includes(QUIET) ? { assumes: QUIET_ASSUMED } : {}) }));
  };
  switch (scheduler) {
    case "rr": {
      // ip_vs_rr.c ip_vs_rr_schedule: the next server after the last one chosen, skipping weight 0.
      if (eligible.length <= 1) return one(eligible[0], "rr: the only server with weight > 0");
      return eligible.map((s) => ({ server: s, probability: 1 / eligible.length, why: `rr: the rotation's position is not known (earlier connections moved it): each of the ${eligible.length} servers with weight > 0 equally likely`, assumes: ROTATION }));
    }
    case "wrr": {
      // ip_vs_wrr.c: over one round each server is picked weight/gcd times; where in the round is unknown.
      if (eligible.length <= 1) return one(eligible[0], "wrr: the only server with weight > 0");
      const total = eligible.reduce((a, s) => a + s.weight!, 0);
      return eligible.map((s) => ({ server: s, probability: s.weight! / total, why: `wrr: the position in the weighted round is not known: each server in proportion to its weight (${s.weight}/${total})`, assumes: ROTATION }));
    }
    case "lc":
    case "wlc":
    case "nq":
    case "lblc":
    case "lblcr":
      // ip_vs_lc/wlc/nq.c, and ip_vs_lblc(r).c with no entry for the destination: the first
      // server with weight > 0 wins unless a later one has a strictly smaller load; all loads are 0.
      return firstOf(eligible, `${scheduler} on a ${QUIET}${scheduler.startsWith("lblc") ? " and no locality entry" : ""}: the first server with weight > 0 in the list`);
    case "sed":
    case "fo":
    case "ovf": {
      // ip_vs_sed.c: (activeconns + 1) / weight, smallest first — with no connections the heaviest;
      // ip_vs_fo.c: the heaviest whatever its connections; ip_vs_ovf.c: the heaviest whose
      // active connections do not exceed its weight. Ties go to the first in the list.
      const top = Math.max(0, ...eligible.map((s) => s.weight!));
      const heaviest = eligible.filter((s) => s.weight === top);
      return firstOf(heaviest, `${scheduler}${scheduler === "fo" ? "" : ` on a ${QUIET}`}: the server with the highest weight (the first of equals)`);
    }
    case "twos":
      return twosPicks(eligible, kernelOrder);
    case "sh":
      return kernelOrder ? shPick(svc, flow) : hashUnknown(svc, "sh: hash of the source");
    case "dh":
      return kernelOrder ? dhPick(svc, flow) : hashUnknown(svc, "dh: hash of the destination");
    case "mh":
      // ip_vs_mh.c builds a Maglev table with siphash of each server; netfate does not compute it.
      return alternatives(eligible, (s) => `mh: assumed to pick ${endpoint(s.address, s.port)} (netfate does not compute the Maglev lookup table)`, "mh: no server with weight > 0");
    default:
      return alternatives(eligible, (s) => `scheduler ${scheduler} (not modelled): assumed to pick ${endpoint(s.address, s.port)}`, `${scheduler}: no server with weight > 0`);
  }
}

/**
 * sh and dh hash into 256 buckets filled in list order: without the kernel's order, the bucket
 * is known but not its server. Each server with weight > 0 is an alternative, and so is none
 * (ip_vs_leave) when a weight-0 server may hold the bucket and there is no fallback.
 */
function hashUnknown(svc: IpvsService, what: string): IpvsPick[] {
  const eligible = svc.servers.filter(usable);
  const picks = alternatives(eligible, (s) => `${what}: assumed to land on ${endpoint(s.address, s.port)} (${UNSORTED})`);
  const fallback = svc.scheduler === "sh" && svc.schedulerFlags.includes("sh-fallback");
  if (eligible.length < svc.servers.length && !fallback && eligible.length > 0) {
    const text = `${what}: assumed to land on a server with weight 0 (${UNSORTED})`;
    picks.push({ probability: 1, why: text, given: text });
  }
  return picks;
}

function alternatives(servers: readonly IpvsRealServer[], text: (s: IpvsRealServer) => string, noneWhy = "no server with weight > 0"): IpvsPick[] {
  if (servers.length === 0) return [{ probability: 1, why: noneWhy }];
  return servers.map((s) => ({ server: s, probability: 1, why: text(s), given: text(s) }));
}

/**
 * ip_vs_twos.c ip_vs_twos_schedule: two servers drawn by weight, the less loaded of the two
 * kept; on a quiet node both loads are 0 and the first draw is kept. The draw is
 * get_random_u32_below(total + 1), walked down the list until it is <= 0: the first server in
 * the list gets its weight + 1 of the total + 1 values, every other its weight. Which server
 * is first needs the kernel's order: without it, each is an alternative.
 */
function twosPicks(eligible: readonly IpvsRealServer[], kernelOrder: boolean): IpvsPick[] {
  const total = eligible.reduce((a, s) => a + s.weight!, 0);
  if (total === 0) return [{ probability: 1, why: "twos: no server with weight > 0" }];
  const draws = (first: IpvsRealServer): IpvsPick[] =>
    eligible.map((s) => {
      const count = s.weight! + (s === first ? 1 : 0);
      return { server: s, probability: count / (total + 1), why: `twos on a ${QUIET}: the first of two weighted random draws, ${count}/${total + 1} of them${s === first ? " (the first in the list takes the extra one)" : ""}`, assumes: QUIET_ASSUMED };
    });
  if (kernelOrder || eligible.length === 1) return draws(eligible[0]!);
  return eligible.flatMap((first) => {
    const given = `twos: ${endpoint(first.address, first.port)} assumed first in the list (${UNSORTED})`;
    return draws(first).map((k) => ({ ...k, given }));
  });
}

function shPick(svc: IpvsService, flow: IpvsFlow): IpvsPick[] {
  const servers = svc.servers;
  const fold = foldAddress(flow.src, flow.family);
  if (fold === undefined) return alternatives(servers.filter(usable), (s) => `sh: the source is not known; assumed to hash to ${endpoint(s.address, s.port)}`);
  const withPort = svc.schedulerFlags.includes("sh-port");
  if (withPort && flow.sport === undefined) return alternatives(servers.filter(usable), (s) => `sh-port: the source port is not given; assumed to hash to ${endpoint(s.address, s.port)}`);
  const port = withPort ? flow.sport! : 0;
  const buckets = shBuckets(servers);
  const ihash = shHashKey(fold, port, 0);
  const first = servers[buckets[ihash]!]!;
  const what = `sh: hash of the source ${withPort ? `${endpoint(flow.src, port)} ` : `${flow.src} `}→ bucket ${ihash} of ${TAB_SIZE}`;
  if (usable(first)) return [{ server: first, probability: 1, why: `${what} → ${endpoint(first.address, first.port)} (ip_vs_sh.c)` }];
  if (!svc.schedulerFlags.includes("sh-fallback")) return [{ probability: 1, why: `${what}, whose server ${endpoint(first.address, first.port)} has weight 0 (no sh-fallback)` }];
  // ip_vs_sh_get_fallback: round the table from the original hash.
  for (let offset = 0; offset < TAB_SIZE; offset++) {
    const roffset = (offset + ihash) % TAB_SIZE;
    const s = servers[buckets[shHashKey(fold, port, roffset)]!]!;
    if (usable(s)) return [{ server: s, probability: 1, why: `${what}, weight 0 there; sh-fallback goes on to ${endpoint(s.address, s.port)} (ip_vs_sh.c ip_vs_sh_get_fallback)` }];
  }
  return [{ probability: 1, why: `${what}: sh-fallback found no server with weight > 0` }];
}

function dhPick(svc: IpvsService, flow: IpvsFlow): IpvsPick[] {
  const servers = svc.servers;
  const fold = foldAddress(flow.dst, flow.family)!;
  // ip_vs_dh.c ip_vs_dh_reassign: bucket i holds server i mod n, weights aside.
  const bucket = hash32(fold, TAB_BITS);
  const s = servers[bucket % servers.length]!;
  const what = `dh: hash of the destination ${flow.dst} → bucket ${bucket} of ${TAB_SIZE}`;
  if (!usable(s)) return [{ probability: 1, why: `${what}, whose server ${endpoint(s.address, s.port)} has weight 0` }];
  return [{ server: s, probability: 1, why: `${what} → ${endpoint(s.address, s.port)} (ip_vs_dh.c)` }];
}

// ---------- the hook ----------

export interface IpvsHookContext {
  ipvs?: IpvsTable;
  node: NodeView;
  family: Family;
  connection?: ConntrackSummary;
  budget?: ExplorationBudget;
}

/** What happens to one history at ip_vs_in_hook. */
export type IpvsResult =
  /** Not IPVS's (no service, not a first packet), or let on by it (NF_ACCEPT: Local, a real server on this node). */
  | { kind: "continue"; br: Branch }
  /** IPVS ends it here: ip_vs_leave's ICMP and drop, a route it cannot find, or what cannot be told. */
  | { kind: "final"; br: Branch; fate: Fate }
  /** Sent on to the real server: through the LOCAL_OUT hooks again, then POSTROUTING (NF_HOOK in ip_vs_nat_send_or_cont / ip_vs_send_or_cont). */
  | { kind: "out"; br: Branch; route: Extract<RouteDecision, { kind: "unicast" }> }
  /** Wrapped in IP-in-IP to the real server (ip_vs_tunnel_xmit): the outer packet is sent by the node. */
  | { kind: "tunnel"; br: Branch; route: Extract<RouteDecision, { kind: "unicast" }>; outer: { src: string; dst: string } };

/** Whether the packet is one IPVS schedules a new connection for (ip_vs_proto_*.c *_conn_schedule). */
function schedulable(p: PacketState, node: NodeView): string | true {
  if (p.fragment) return "a non-first fragment is not scheduled";
  if (p.proto === PROTO_TCP) {
    const syn = p.tcpFlags === undefined || (p.tcpFlags & 0x02) !== 0;
    const rst = p.tcpFlags !== undefined && (p.tcpFlags & 0x04) !== 0;
    // tcp_conn_schedule: `(th->syn || sysctl_sloppy_tcp(ipvs)) && !th->rst`.
    if (rst || (!syn && node.sysctl("net.ipv4.vs.sloppy_tcp") !== "1")) return "IPVS schedules a TCP connection only on a SYN without RST (ip_vs_proto_tcp.c tcp_conn_schedule; net.ipv4.vs.sloppy_tcp=0)";
    return true;
  }
  if (p.proto === PROTO_UDP || p.proto === PROTO_SCTP) return true;
  return "IPVS does not schedule this protocol";
}

/** `net.ipv4.vs.conntrack`: whether IPVS keeps its connections in conntrack (ip_vs_conn.c ip_vs_conn_new sets IP_VS_CONN_F_NFCT). */
function keepsConntrack(node: NodeView, br: Branch): boolean {
  const v = node.sysctl("net.ipv4.vs.conntrack");
  if (v === undefined) {
    assume(br, "net.ipv4.vs.conntrack not given: 0, the kernel's default (kube-proxy sets 1). IPVS then leaves its packets untracked (ip_vs_notrack), so nat POSTROUTING, kube-proxy's MASQUERADE included, never sees them; give the sysctl to be sure");
    return false;
  }
  return v.trim() !== "0";
}

/**
 * ip_vs_in_hook for one history at `hook` (INPUT: LOCAL_IN, OUTPUT: LOCAL_OUT). Histories it
 * does not take come back as `continue`; each pick of the scheduler is its own history.
 */
export function ipvsRequest(br: Branch, hook: Extract<Hook, "INPUT" | "OUTPUT">, ctx: IpvsHookContext): IpvsResult[] {
  const table = ctx.ipvs;
  const p = br.pkt;
  // Already sent on by IPVS (skb->ipvs_property), or a reply: not a request.
  if (!table || table.services.length === 0 || p.ct.dir === "REPLY") return [{ kind: "continue", br }];
  const found = findIpvsService(table, { family: p.family, proto: p.proto, dst: p.dst, mark: p.mark, ...(p.dport !== undefined ? { dport: p.dport } : {}) });
  if (!found) return [{ kind: "continue", br }];
  const { service: svc, index } = found;
  const name = ipvsServiceName(svc);
  const laterPacket = p.ct.state === "ESTABLISHED" || p.ct.state === "RELATED";
  if (!laterPacket) {
    const ok = schedulable(p, ctx.node);
    if (ok !== true) {
      assume(br, `${name} is an IPVS service, but ${ok}: the packet goes on as addressed`);
      return [{ kind: "continue", br }];
    }
    // sctp_conn_schedule schedules only on an INIT chunk (or with net.ipv4.vs.sloppy_sctp); a packet says no chunk type.
    if (p.proto === PROTO_SCTP && ctx.node.sysctl("net.ipv4.vs.sloppy_sctp") !== "1") assume(br, "SCTP: assumed to carry an INIT chunk, the only one IPVS schedules a new connection on (ip_vs_proto_sctp.c sctp_conn_schedule)");
  }
  const flow: IpvsFlow = { family: p.family, src: p.src, dst: p.dst, ...(p.sport !== undefined ? { sport: p.sport } : {}) };
  const ordered = table.kernelOrder === true;
  let picks = laterPacket ? connectionPick(svc, ctx.connection) ?? ipvsPicks(svc, flow, ordered).map((k) => ({ ...k, why: `the connection's IPVS entry, made when its first packet was scheduled — ${k.why}` })) : ipvsPicks(svc, flow, ordered);
  // ip_vs_schedule: a non-persistent service with port 0 schedules only port 0 (else it logs
  // "port zero only supported in persistent services" and leaves).
  if (!laterPacket && svc.key.kind === "address" && svc.key.port === 0 && svc.persistent === undefined && p.dport !== 0) {
    picks = [{ probability: 1, why: "a port-zero service that is not persistent schedules nothing (ip_vs_core.c ip_vs_schedule)" }];
  }
  if (svc.persistent !== undefined && !laterPacket) {
    picks = picks.map((k) => ({ ...k, why: `persistent ${svc.persistent}s, no template yet for this client (${QUIET}): ${k.why}` }));
    assume(br, `IPVS persistence: no template for this client yet (quiet node), so ${name} schedules it afresh`);
  }
  const budget = ctx.budget;
  if (budget && picks.length > 1) {
    budget.opened += picks.length - 1;
    if (budget.opened > MAX_ALTERNATIVES) return [{ kind: "final", br, fate: { kind: "indeterminate", reason: `${name}: more than ${MAX_ALTERNATIVES} alternatives; stopped exploring` } }];
  }
  const nfct = keepsConntrack(ctx.node, br);
  const out: IpvsResult[] = [];
  for (const pick of picks) {
    let b = br;
    if (picks.length > 1) {
      if (pick.given !== undefined) b = alternative(br, { condition: `ipvs ${name} ${pick.given}`, holds: true, text: pick.given });
      b = fork(b, pick.probability);
    }
    out.push(apply(b, svc, index, pick, hook, ctx, nfct));
  }
  return out;
}

/** A later packet of a known connection goes where its first packet went (the conntrack reply tuple names the real server). */
function connectionPick(svc: IpvsService, ct: ConntrackSummary | undefined): IpvsPick[] | undefined {
  if (!ct) return undefined;
  const s = svc.servers.find((r) => r.address === ct.reply.src && (ct.reply.sport === undefined || r.port === 0 || r.port === ct.reply.sport));
  return s ? [{ server: s, probability: 1, why: "the connection's IPVS entry: the real server its first packet was sent to" }] : undefined;
}

function apply(b: Branch, svc: IpvsService, index: number, pick: IpvsPick, hook: Extract<Hook, "INPUT" | "OUTPUT">, ctx: IpvsHookContext, nfct: boolean): IpvsResult {
  const p = b.pkt;
  const name = ipvsServiceName(svc);
  const detail: IpvsStepDetail = { service: name, choice: pick.why, lines: [ipvsServiceLine(svc)] };
  if (svc.scheduler !== undefined) detail.scheduler = svc.scheduler;
  const step: Step = { hook, table: "ipvs", chain: name, rule: index + 1, verdict: "", matched: true, ipvs: detail };
  if (pick.probability < 1) step.branch = `${svc.scheduler}: ${endpoint(pick.server!.address, pick.server!.port)} with probability ${pick.probability.toFixed(4)}`;
  b.steps.push(step);
  if (pick.assumes !== undefined) assume(b, pick.assumes);
  const server = pick.server;
  if (!server) {
    step.verdict = "IPVS: no real server";
    return { kind: "final", br: b, fate: leave(svc, index, p, hook) };
  }
  const dport = server.port !== 0 ? server.port : p.dport;
  detail.server = ipvsEndpoint(server.address, dport ?? 0, server.address.includes(":") ? "ipv6" : "ipv4");
  detail.lines.push(ipvsServerLine(svc, server));
  if (server.forward === undefined) {
    step.verdict = `IPVS → ${detail.server}`;
    return { kind: "final", br: b, fate: { kind: "indeterminate", reason: `${name}: the input does not show how IPVS forwards to ${detail.server} (ipvsadm -Ln shows Masq/Route/Tunnel; --stats does not)` } };
  }
  detail.method = server.forward;
  step.verdict = `IPVS ${svc.scheduler ?? "?"} → ${detail.server} (${METHOD_NAME[server.forward]})`;
  if (server.forward === "local") {
    // ip_vs_null_xmit: NF_ACCEPT, the packet goes on to this node's own socket unchanged.
    return { kind: "continue", br: b };
  }
  // ip_vs_xmit.c __ip_vs_get_out_rt → do_output_route4: a route to the real server by its address alone (no mark, no source).
  const route = ctx.node.routeOutput({ family: server.address.includes(":") ? "ipv6" : "ipv4", dst: server.address, mark: 0 });
  if (route.kind === "indeterminate") return { kind: "final", br: b, fate: { kind: "indeterminate", reason: `${name}: routing to real server ${server.address}: ${route.reason}` } };
  if (route.kind !== "unicast" && route.kind !== "local") {
    // tx_error: the skb is freed (NF_STOLEN) — lost.
    return { kind: "final", br: b, fate: { kind: "unroutable", reason: `${name}: IPVS finds no route to real server ${server.address} (${route.kind}); ip_vs_xmit.c drops the packet` } };
  }
  const local = route.kind === "local";
  if (server.forward === "masq") {
    const before = endpoint(p.dst, p.dport);
    p.dst = server.address;
    if (dport !== undefined && hasPorts(p.proto)) p.dport = dport;
    (step.rewrites ??= []).push(`IPVS Masq ${before} → ${endpoint(p.dst, p.dport)}`);
  }
  if (server.forward === "tunnel") {
    if (local) return { kind: "continue", br: b };
    const src = route.src ?? ctx.node.masqueradeAddress(route.dev, server.address.includes(":") ? "ipv6" : "ipv4", route.gateway);
    if (!src) return { kind: "final", br: b, fate: { kind: "indeterminate", reason: `${name}: no source address for the tunnel to ${server.address}` } };
    (step.rewrites ??= []).push(`IPVS Tunnel: IP-in-IP ${src} → ${server.address}`);
    untrack(p, nfct, server, dport, false, { service: name, index: index + 1, method: "tunnel" });
    step.packet = snapshot(p);
    return { kind: "tunnel", br: b, route, outer: { src, dst: server.address } };
  }
  untrack(p, nfct, server, dport, server.forward === "masq", { service: name, index: index + 1, method: server.forward });
  step.packet = snapshot(p);
  // ip_vs_nat_send_or_cont / ip_vs_send_or_cont: a real server on this node gets NF_ACCEPT (the packet goes on in this hook).
  if (local) return { kind: "continue", br: b };
  if (server.forward === "route") return { kind: "out", br: b, route: { ...route, gateway: server.address } };
  return { kind: "out", br: b, route };
}

const METHOD_NAME = { masq: "Masq", route: "Route", tunnel: "Tunnel", local: "Local" } as const;

/**
 * The conntrack entry after IPVS sent the packet on: with net.ipv4.vs.conntrack=1 it is kept,
 * its reply tuple pointed at the real server for Masq (ip_vs_nat_xmit → ip_vs_update_conntrack);
 * with 0 the packet is made untracked (ip_vs_notrack), so the nat table never sees it again.
 */
function untrack(p: PacketState, nfct: boolean, server: IpvsRealServer, dport: number | undefined, masq: boolean, by: IpvsConnection): void {
  if (!nfct) {
    p.ct.state = "UNTRACKED";
    p.ct.status = new Set();
    return;
  }
  if (p.ct.state !== "UNTRACKED") p.ct.ipvs = by;
  // An untracked packet (raw NOTRACK) has no entry to point at the real server.
  if (masq && p.ct.state !== "UNTRACKED") {
    p.ct.reply.src = server.address;
    if (dport !== undefined && p.ct.reply.sport !== undefined) p.ct.reply.sport = dport;
  }
}

/**
 * ip_vs_core.c ip_vs_leave, for a service with no real server to give: a port-21 service
 * lets other ports through; otherwise an ICMP port unreachable to the client and NF_DROP.
 * (The cache_bypass of a firewall-mark service, net.ipv4.vs.cache_bypass=1, is said, not followed.)
 */
function leave(svc: IpvsService, index: number, p: PacketState, hook: Hook): Fate {
  const name = ipvsServiceName(svc);
  if (svc.key.kind === "fwmark") return { kind: "indeterminate", reason: `${name}: no real server available; with net.ipv4.vs.cache_bypass=1 IPVS sends it on to its destination, else ICMP port unreachable and drop (not modelled for firewall-mark services)` };
  if (svc.key.port === 21 && p.dport !== 21) return { kind: "indeterminate", reason: `${name}: an FTP service lets other ports through (ip_vs_leave); not modelled` };
  return { kind: "rejected", table: "ipvs", chain: name, rule: index + 1, hook, with: p.family === "ipv6" ? "icmp6-port-unreachable" : "icmp-port-unreachable" };
}

/**
 * ip_vs_out_hook (LOCAL_IN at NF_IP_PRI_NAT_SRC - 2, FORWARD at 100 — after filter and security
 * FORWARD —, LOCAL_OUT at NF_IP_PRI_NAT_DST + 1): a reply from a real server of a Masq
 * connection gets its source rewritten back to the virtual service (handle_response →
 * ip_vs_nat_send_or_cont's snat_handler), which conntrack does not do (the connection has no
 * DNAT of its own; ip_vs_update_conntrack only pointed its reply tuple at the real server).
 */
export function ipvsReply(br: Branch, hook: Hook): void {
  const p = br.pkt;
  const by = p.ct.ipvs;
  if (!by || by.method !== "masq" || p.ct.dir !== "REPLY") return;
  const to = p.ct.orig;
  if (p.src === to.dst && p.sport === to.dport) return;
  const before = endpoint(p.src, p.sport);
  p.src = to.dst;
  if (to.dport !== undefined && hasPorts(p.proto)) p.sport = to.dport;
  br.steps.push({
    hook, table: "ipvs", chain: by.service, rule: by.index, verdict: "IPVS reply (Masq)", matched: true,
    rewrites: [`IPVS Masq reply ${before} → ${endpoint(p.src, p.sport)}`], packet: snapshot(p),
    ipvs: { service: by.service, method: "masq", choice: "the reply of a connection IPVS sent on: ip_vs_out undoes its DNAT", lines: [] },
  });
}
