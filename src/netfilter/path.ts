/**
 * The netfilter path of a packet through one node, hook by hook in the kernel's priority
 * order, with the routing decisions in between and conntrack/NAT at the places the kernel
 * does them:
 *
 *   arriving:  raw PREROUTING → (conntrack) → mangle PREROUTING → nat PREROUTING (first packet)
 *              → routing → local: mangle/filter/security INPUT, nat INPUT (first packet)
 *                        → forward: mangle/filter/security FORWARD → mangle/nat POSTROUTING
 *   local:     routing → raw/mangle OUTPUT (re-route if mark or destination changed) →
 *              nat OUTPUT (first packet; re-route) → filter/security OUTPUT →
 *              mangle/nat POSTROUTING → out, or through lo back up the input path.
 *
 * The order was checked against `xtables-monitor --trace` (../shared/reference/traces and
 * test/kernel/).
 */
import type { Family, TableName } from "../model/ast.js";
import type { PacketSpec } from "../model/packet.js";
import { hasPorts } from "../model/packet.js";
import { assume, endpoint, mergeBranches, snapshot, type Branch } from "./branch.js";
import { runTable, type TableResult, type TraverseContext } from "./traverse.js";
import type { ConntrackState, ConntrackSummary, Fate, Hook, Outcome, PacketState, RouteDecision, Step } from "./types.js";

type Stage = { table: TableName; hook: Hook; natOnly?: boolean };

function initialState(spec: PacketSpec, src: string): PacketState {
  const state = spec.state === "established" ? "ESTABLISHED" : spec.state === "related" ? "RELATED" : spec.state === "invalid" ? "INVALID" : "NEW";
  const orig = { src, dst: spec.dst, ...(spec.sport !== undefined ? { sport: spec.sport } : {}), ...(spec.dport !== undefined ? { dport: spec.dport } : {}) };
  const reply = { src: spec.dst, dst: src, ...(spec.dport !== undefined ? { sport: spec.dport } : {}), ...(spec.sport !== undefined ? { dport: spec.sport } : {}) };
  const ct: ConntrackState = {
    state, dir: spec.reply ? "REPLY" : "ORIGINAL", mark: 0, zone: 0,
    orig: spec.reply ? reply : orig, reply: spec.reply ? orig : reply,
    status: new Set(state === "ESTABLISHED" ? ["SEEN_REPLY", "CONFIRMED"] : []),
  };
  const p: PacketState = { family: spec.family, src, dst: spec.dst, proto: spec.proto, fragment: spec.fragment ?? false, mark: spec.mark ?? 0, ct };
  if (spec.sport !== undefined) p.sport = spec.sport;
  if (spec.dport !== undefined) p.dport = spec.dport;
  if (spec.tcpFlags !== undefined) p.tcpFlags = spec.tcpFlags;
  if (spec.icmpType !== undefined) p.icmpType = spec.icmpType;
  if (spec.icmpCode !== undefined) p.icmpCode = spec.icmpCode;
  if (spec.length !== undefined) p.length = spec.length;
  if (spec.ttl !== undefined) p.ttl = spec.ttl;
  if (spec.tos !== undefined) p.tos = spec.tos;
  if (spec.srcMac !== undefined) p.srcMac = spec.srcMac;
  if (spec.from !== "local") p.inIface = spec.from;
  return p;
}

/** The nat table is consulted only for a connection's first packet (and never when untracked). */
function natApplies(p: PacketState): boolean {
  return p.ct.state === "NEW" && p.ct.dir === "ORIGINAL";
}

/** Applies the translation a nat target asked for, once its table has accepted the packet. */
function applyNat(br: Branch): void {
  const n = br.pendingNat;
  if (!n) return;
  delete br.pendingNat;
  const p = br.pkt;
  let last: Step | undefined;
  for (let k = br.steps.length - 1; k >= 0; k--) {
    const st = br.steps[k]!;
    if (st.matched && st.ruleNode) {
      last = st;
      break;
    }
  }
  if (n.kind === "dnat") {
    const before = endpoint(p.dst, p.dport);
    if (n.addr !== undefined) p.dst = n.addr;
    if (n.port !== undefined && hasPorts(p.proto)) p.dport = n.port;
    p.ct.dnat = { src: p.src, dst: p.dst, ...(p.dport !== undefined ? { dport: p.dport } : {}) };
    p.ct.reply.src = p.dst;
    if (p.dport !== undefined) p.ct.reply.sport = p.dport;
    p.ct.status.add("DNAT");
    if (last) addRewrite(last, `${n.how} ${before} → ${endpoint(p.dst, p.dport)}`, p);
  } else {
    const before = endpoint(p.src, p.sport);
    if (n.addr !== undefined) p.src = n.addr;
    if (n.port !== undefined && hasPorts(p.proto)) p.sport = n.port;
    p.ct.snat = { src: p.src, dst: p.dst, ...(p.sport !== undefined ? { sport: p.sport } : {}) };
    p.ct.reply.dst = p.src;
    if (p.sport !== undefined) p.ct.reply.dport = p.sport;
    p.ct.status.add("SNAT");
    if (last) addRewrite(last, `${n.how} source ${before} → ${endpoint(p.src, p.sport)}`, p);
  }
}

function addRewrite(s: Step, text: string, p: PacketState): void {
  (s.rewrites ??= []).push(text);
  s.packet = snapshot(p);
}

/**
 * For a packet of a known NATed connection (not its first), conntrack applies the
 * connection's NAT itself at the hook where the nat chains would run: the original
 * direction gets the connection's DNAT before routing and its SNAT on the way out; a reply
 * gets them undone in the same places.
 */
function conntrackNat(br: Branch, manip: "dst" | "src"): void {
  const p = br.pkt;
  const ct = p.ct;
  if (ct.dir === "REPLY") {
    if (manip === "dst" && ct.status.has("SNAT")) {
      p.dst = ct.orig.src;
      if (ct.orig.sport !== undefined) p.dport = ct.orig.sport;
    }
    if (manip === "src" && ct.status.has("DNAT")) {
      p.src = ct.orig.dst;
      if (ct.orig.dport !== undefined) p.sport = ct.orig.dport;
    }
    return;
  }
  if (ct.state === "NEW") return;
  if (manip === "dst" && ct.status.has("DNAT")) {
    p.dst = ct.reply.src;
    if (ct.reply.sport !== undefined) p.dport = ct.reply.sport;
  }
  if (manip === "src" && ct.status.has("SNAT")) {
    p.src = ct.reply.dst;
    if (ct.reply.dport !== undefined) p.sport = ct.reply.dport;
  }
}

interface Final {
  br: Branch;
  fate: Fate;
  /** The outer packet's own outcomes, when the packet left through a tunnel device. */
  encapsulated?: Outcome[];
}

export interface PathContext extends TraverseContext {
  family: Family;
  /** The connection a packet belongs to, when it is not the connection's first packet and conntrack's entry is known. */
  connection?: ConntrackSummary;
  /** How many tunnels deep this evaluation is (outer packets of outer packets). */
  depth?: number;
}

/** Runs a list of live branches through one table/hook; terminal results become finals. */
function stage(live: Branch[], s: Stage, ctx: PathContext, finals: Final[]): Branch[] {
  const next: Branch[] = [];
  const finalsBefore = finals.length;
  for (const br of live) {
    if (s.table === "nat" && (!natApplies(br.pkt) || !ctx.rules.conntrackActive)) {
      next.push(br);
      continue;
    }
    // Untracked packets skip nat entirely; raw runs before conntrack so it is always consulted.
    for (const r of runTable(br, s.table, s.hook, ctx)) {
      if (r.verdict === "ACCEPT") {
        if (s.table === "nat") applyNat(r.br);
        next.push(r.br);
      } else finals.push({ br: r.br, fate: terminalFate(r, s) });
    }
  }
  // Histories this table split that leave it in one state go on as one (see mergeBranches).
  // Histories that came in apart, and were not split here, are left as they are.
  if (next.length < 2 || next.length + finals.length - finalsBefore <= live.length) return next;
  return mergeBranches(next.map((br) => ({ br })), (x) => decidingStep(x.br.steps)).map((x) => x.br);
}

function terminalFate(r: TableResult, s: Stage): Fate {
  const rule = r.rule ?? "policy";
  switch (r.verdict) {
    case "DROP":
      return { kind: "dropped", table: s.table, chain: r.chain ?? s.hook, rule, hook: s.hook };
    case "REJECT":
      return { kind: "rejected", table: s.table, chain: r.chain ?? s.hook, rule: typeof rule === "number" ? rule : 0, hook: s.hook, with: r.detail ?? "icmp-port-unreachable" };
    case "QUEUE": {
      const f: Fate = { kind: "queued", table: s.table, chain: r.chain ?? s.hook, rule: typeof rule === "number" ? rule : 0, hook: s.hook };
      if (r.detail !== undefined) f.queue = r.detail;
      return f;
    }
    case "ERROR":
      return { kind: "error", reason: `${s.table} ${r.chain ?? s.hook} ${rule === "policy" ? "policy" : `rule ${rule}`}: ${r.detail ?? "error"}` };
    default:
      return { kind: "indeterminate", reason: `${s.table} ${r.chain ?? s.hook} ${rule === "policy" ? "policy" : `rule ${rule}`}: ${r.detail ?? "cannot be decided"}` };
  }
}

function withRoute(br: Branch, d: RouteDecision): void {
  if (d.kind === "unicast") {
    br.pkt.outIface = d.dev;
    if (d.gateway !== undefined) br.pkt.nexthop = d.gateway;
    else delete br.pkt.nexthop;
  } else if (d.kind === "local") {
    br.pkt.outIface = d.dev ?? "lo";
    delete br.pkt.nexthop;
  }
}

function routeFailure(d: RouteDecision, what: string): Fate | undefined {
  switch (d.kind) {
    case "indeterminate":
      return { kind: "indeterminate", reason: `${what}: ${d.reason}` };
    case "blackhole":
    case "unreachable":
    case "prohibit":
    case "throw":
    case "none":
      return { kind: "unroutable", reason: `${what}: ${d.kind === "none" ? "no route" : `${d.kind} route`}${d.detail ? ` (${d.detail})` : ""}` };
    default:
      return undefined;
  }
}

/** Where a branch's packet goes after the input-side routing decision. */
function inputPath(live: Branch[], ctx: PathContext, finals: Final[]): void {
  const local: Branch[] = [];
  const forward: Branch[] = [];
  for (const br of live) {
    const p = br.pkt;
    const d = ctx.node.routeInput(p.dst, ctx.family, p.inIface ?? "lo", p.mark, p.src);
    const fail = routeFailure(d, `routing ${p.dst} arriving on ${p.inIface}`);
    if (fail) {
      finals.push({ br, fate: fail });
      continue;
    }
    if (d.kind === "local") {
      local.push(br);
      continue;
    }
    const fwd = ctx.node.forwarding(ctx.family);
    if (fwd === false) {
      finals.push({ br, fate: { kind: "unroutable", reason: `${p.dst} is not local and forwarding is disabled (${ctx.family === "ipv4" ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding"}=0)` } });
      continue;
    }
    if (typeof fwd === "object") assume(br, `forwarding assumed enabled (${fwd.indeterminate})`);
    withRoute(br, d);
    forward.push(br);
  }
  let l = local;
  for (const s of [
    { table: "mangle", hook: "INPUT" }, { table: "filter", hook: "INPUT" }, { table: "security", hook: "INPUT" }, { table: "nat", hook: "INPUT" },
  ] as Stage[]) l = stage(l, s, ctx, finals);
  for (const br of l) {
    conntrackNat(br, "src");
    finals.push({ br, fate: { kind: "delivered", iface: br.pkt.inIface ?? "lo" } });
  }
  let f = forward;
  for (const s of [
    { table: "mangle", hook: "FORWARD" }, { table: "filter", hook: "FORWARD" }, { table: "security", hook: "FORWARD" },
  ] as Stage[]) f = stage(f, s, ctx, finals);
  postrouting(f, ctx, finals, "forwarded");
}

function postrouting(live: Branch[], ctx: PathContext, finals: Final[], kind: "forwarded" | "sent"): Branch[] {
  let l = stage(live, { table: "mangle", hook: "POSTROUTING" }, ctx, finals);
  l = stage(l, { table: "nat", hook: "POSTROUTING" }, ctx, finals);
  for (const br of l) {
    conntrackNat(br, "src");
    const iface = br.pkt.outIface ?? "?";
    const fate: Extract<Fate, { kind: "forwarded" | "sent" }> = { kind, iface };
    if (br.pkt.nexthop !== undefined) fate.via = br.pkt.nexthop;
    const f: Final = { br, fate };
    const outer = encapsulate(br, ctx);
    if (outer) f.encapsulated = outer;
    finals.push(f);
  }
  return l;
}

/**
 * A packet sent out a VXLAN or IPIP device is wrapped in an outer packet that the node itself
 * sends (through OUTPUT and POSTROUTING again): traced here as its own leg.
 */
function encapsulate(br: Branch, ctx: PathContext): Outcome[] | undefined {
  const dev = br.pkt.outIface;
  if (!dev) return undefined;
  const t = ctx.node.tunnel(dev);
  if (!t) return undefined;
  if ((ctx.depth ?? 0) > 3) return [{ probability: 1, assumptions: [], steps: [], final: snapshot(br.pkt), fate: { kind: "error", reason: `tunnels nested too deep at ${dev}` } }];
  const outerDst = t.outerDestination(br.pkt.nexthop, br.pkt.dst);
  if (!outerDst) {
    return [{ probability: 1, assumptions: [], steps: [], final: snapshot(br.pkt), fate: { kind: "indeterminate", reason: `${dev} (${t.kind}): the node facts do not say which remote endpoint ${br.pkt.nexthop ?? br.pkt.dst} is behind` } }];
  }
  const outer: PacketSpec = { family: ctx.family, from: "local", dst: outerDst, proto: t.outerProto };
  if (t.outerDport !== undefined) outer.dport = t.outerDport;
  if (t.outerSport !== undefined) outer.sport = t.outerSport;
  const { connection: _inner, ...outerCtx } = ctx;
  return evaluatePath(outer, { ...outerCtx, depth: (ctx.depth ?? 0) + 1 });
}

function arrive(spec: PacketSpec, ctx: PathContext, finals: Final[]): void {
  if (!spec.src) {
    finals.push({ br: newBranch(spec, "0.0.0.0", ctx), fate: { kind: "error", reason: "a packet arriving on an interface needs a source address" } });
    return;
  }
  let live = [newBranch(spec, spec.src, ctx)];
  live = stage(live, { table: "raw", hook: "PREROUTING" }, ctx, finals);
  live = stage(live, { table: "mangle", hook: "PREROUTING" }, ctx, finals);
  for (const br of live) conntrackNat(br, "dst");
  live = stage(live, { table: "nat", hook: "PREROUTING" }, ctx, finals);
  inputPath(live, ctx, finals);
}

function newBranch(spec: PacketSpec, src: string, ctx: PathContext): Branch {
  const br: Branch = { probability: 1, assumptions: [], given: [], steps: [], pkt: initialState(spec, src), notes: [] };
  const known = ctx.connection;
  if (known) {
    // A later packet of a known connection: conntrack holds the tuples and the NAT.
    br.pkt.ct.orig = { ...known.orig };
    br.pkt.ct.reply = { ...known.reply };
    for (const st of known.status) br.pkt.ct.status.add(st as "SNAT");
  }
  return br;
}

function conntrackSummary(ct: ConntrackState): ConntrackSummary {
  return { orig: { ...ct.orig }, reply: { ...ct.reply }, status: [...ct.status].sort() };
}

/**
 * The reply to an outcome's packet, as it comes back: from where the original left, addressed
 * to where it came from after NAT, with conntrack undoing the NAT at the hooks that did it.
 */
export function evaluateReplyPath(original: PacketSpec, outcome: Outcome, ctx: PathContext): Outcome[] | string {
  const f = outcome.fate;
  if (f.kind !== "forwarded" && f.kind !== "sent" && f.kind !== "delivered") return `the original packet was not let through (${f.kind})`;
  const ct = outcome.conntrack;
  if (!ct) return "no conntrack entry was recorded for the original packet";
  const spec: PacketSpec = {
    family: original.family, from: f.kind === "delivered" ? "local" : f.iface, src: ct.reply.src, dst: ct.reply.dst,
    proto: original.proto, state: "established", reply: true,
  };
  if (ct.reply.sport !== undefined) spec.sport = ct.reply.sport;
  if (ct.reply.dport !== undefined) spec.dport = ct.reply.dport;
  if (original.proto === 6) spec.tcpFlags = 0x12;
  if (original.icmpType === 8) spec.icmpType = 0;
  if (original.icmpType === 128) spec.icmpType = 129;
  return evaluatePath(spec, { ...ctx, connection: ct });
}

function send(spec: PacketSpec, ctx: PathContext, finals: Final[]): void {
  const d = ctx.node.routeOutput(spec.dst, ctx.family, spec.mark ?? 0);
  const fail = routeFailure(d, `routing ${spec.dst} from this node`);
  const src = spec.src ?? (d.kind === "unicast" ? d.src : d.kind === "local" ? spec.dst : undefined);
  if (fail) {
    // The kernel refuses the send before netfilter sees the packet.
    finals.push({ br: newBranch(spec, src ?? "0.0.0.0", ctx), fate: fail });
    return;
  }
  if (!src) {
    finals.push({ br: newBranch(spec, "0.0.0.0", ctx), fate: { kind: "indeterminate", reason: `no source address can be selected for ${spec.dst}; give src` } });
    return;
  }
  const first = newBranch(spec, src, ctx);
  if (!spec.src) first.assumptions.push(`source ${src} chosen by the routing decision`);
  withRoute(first, d);
  let live = [first];
  live = stage(live, { table: "raw", hook: "OUTPUT" }, ctx, finals);
  live = stage(live, { table: "mangle", hook: "OUTPUT" }, ctx, finals);
  live = reroute(live, ctx, finals, spec);
  for (const br of live) conntrackNat(br, "dst");
  live = stage(live, { table: "nat", hook: "OUTPUT" }, ctx, finals);
  // nat OUTPUT or the connection's DNAT rewrote the destination (branches may be new objects
  // after statistic forks).
  live = live.flatMap((b) => (b.pkt.dst !== spec.dst ? reroute([b], ctx, finals, spec, true) : [b]));
  live = stage(live, { table: "filter", hook: "OUTPUT" }, ctx, finals);
  live = stage(live, { table: "security", hook: "OUTPUT" }, ctx, finals);
  const toLocal: Branch[] = [];
  const out: Branch[] = [];
  for (const b of live) {
    if (b.rerouted) {
      withRoute(b, b.rerouted);
      delete b.rerouted;
    }
    (b.pkt.outIface === "lo" ? toLocal : out).push(b);
  }
  postrouting(out, ctx, finals, "sent");
  // Through lo: the packet comes back up the input path, its conntrack entry already set up.
  const finalsLo: Final[] = [];
  let lo = stage(toLocal, { table: "mangle", hook: "POSTROUTING" }, ctx, finals);
  lo = stage(lo, { table: "nat", hook: "POSTROUTING" }, ctx, finals);
  for (const b of lo) {
    b.pkt.inIface = "lo";
    delete b.pkt.outIface;
    b.pkt.ct.status.add("CONFIRMED");
  }
  lo = stage(lo, { table: "raw", hook: "PREROUTING" }, ctx, finals);
  lo = stage(lo, { table: "mangle", hook: "PREROUTING" }, ctx, finals);
  // nat PREROUTING/INPUT are skipped: the DNAT/SNAT bindings were set up on the way out.
  inputPathLoopback(lo, ctx, finalsLo);
  for (const f of finalsLo) finals.push(f);
}

function inputPathLoopback(live: Branch[], ctx: PathContext, finals: Final[]): void {
  let l = live;
  for (const s of [{ table: "mangle", hook: "INPUT" }, { table: "filter", hook: "INPUT" }, { table: "security", hook: "INPUT" }] as Stage[]) {
    l = stage(l, s, ctx, finals);
  }
  for (const br of l) finals.push({ br, fate: { kind: "delivered", iface: "lo" } });
}

/** After mangle OUTPUT (mark or destination changed) and nat OUTPUT (destination changed), the kernel routes again; the source address stays. */
function reroute(live: Branch[], ctx: PathContext, finals: Final[], spec: PacketSpec, dstChanged = false): Branch[] {
  const out: Branch[] = [];
  for (const b of live) {
    const changed = dstChanged || b.pkt.mark !== (spec.mark ?? 0) || b.pkt.dst !== spec.dst;
    if (!changed) {
      out.push(b);
      continue;
    }
    const d = ctx.node.routeOutput(b.pkt.dst, ctx.family, b.pkt.mark);
    const fail = routeFailure(d, `re-routing ${b.pkt.dst} after OUTPUT changed the packet`);
    if (fail) {
      finals.push({ br: b, fate: fail });
      continue;
    }
    // The LOCAL_OUT hooks keep the device they were called with (state->out): the new route
    // shows only from POSTROUTING on (checked: seed 004's LOG lines, OUT=lo in filter OUTPUT).
    b.rerouted = d;
    out.push(b);
  }
  return out;
}

export function evaluatePath(spec: PacketSpec, ctx: PathContext): Outcome[] {
  if (!ctx.connection && !spec.reply && spec.state === "established") return laterPacket(spec, ctx);
  if (spec.state === undefined && spec.proto === 6 && spec.tcpFlags !== undefined && (spec.tcpFlags & 0x17) !== 0x02) return connectionUnsaid(spec, ctx);
  return evaluateOnce(spec, ctx);
}

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

/**
 * A TCP packet that is not a plain SYN, given without saying whether its connection exists:
 * both are traced. With no connection, conntrack (tcp_new) picks a bare ACK up mid-stream as
 * NEW (nf_conntrack_tcp_loose, on by default) and finds every other combination (SYN-ACK,
 * FIN, RST) INVALID; with one, the packet is ESTABLISHED.
 */
function connectionUnsaid(spec: PacketSpec, ctx: PathContext): Outcome[] {
  const f = spec.tcpFlags!;
  const bareAck = (f & (TCP_SYN | TCP_FIN | TCP_RST)) === 0 && (f & TCP_ACK) !== 0;
  const loose = ctx.node.sysctl("net.netfilter.nf_conntrack_tcp_loose")?.trim();
  const pickedUp = bareAck && loose !== "0";
  // Whether the connection exists is not said: two alternatives, each given its side.
  const label = (outcomes: Outcome[], assumption: string) => outcomes.map((o) => withGiven(o, [assumption]));
  return [
    ...label(
      evaluateOnce({ ...spec, state: pickedUp ? "new" : "invalid" }, ctx),
      pickedUp
        ? `no connection for it: conntrack picks a bare ACK up mid-stream as NEW (nf_conntrack_tcp_loose=1${loose === undefined ? ", the default" : ""}); say \`new\` or \`established\` to choose`
        : bareAck
          ? "no connection for it: with nf_conntrack_tcp_loose=0 conntrack finds a bare ACK INVALID; say `established` if its connection exists"
          : "no connection for it: conntrack finds these TCP flags INVALID for a first packet; say `established` if its connection exists",
    ),
    ...label(evaluatePath({ ...spec, state: "established" }, ctx), "a packet of an existing connection (ESTABLISHED); say `new` to trace it as a first packet"),
  ];
}

const letThrough = (f: Fate) => f.kind === "delivered" || f.kind === "forwarded" || f.kind === "sent";

/**
 * A later packet of a connection, in its original direction: the nat chains never see it,
 * but conntrack applies whatever NAT the connection's first packet got. That first packet
 * is traced through the same rules (as NEW, a SYN for TCP), and the packet is then traced
 * once per NAT binding the connection may have, weighted by how often the first packet
 * gets it (kube-proxy's statistic branches give a connection one endpoint or another).
 */
function laterPacket(spec: PacketSpec, ctx: PathContext): Outcome[] {
  const first: PacketSpec = { ...spec, state: "new" };
  if (spec.proto === 6) first.tcpFlags = 0x02;
  const opened = evaluateOnce(first, ctx).filter((o) => letThrough(o.fate) && o.conntrack);
  if (!opened.some((o) => o.conntrack!.status.includes("DNAT") || o.conntrack!.status.includes("SNAT"))) return evaluateOnce(spec, ctx);
  // Chances are weighed within one set of conditions the input does not decide, never across.
  const scenarios = new Map<string, Outcome[]>();
  for (const o of opened) {
    const key = (o.given ?? []).join("\u0001");
    const list = scenarios.get(key);
    if (list) list.push(o);
    else scenarios.set(key, [o]);
  }
  const out: Outcome[] = [];
  for (const group of scenarios.values()) {
    const given = group[0]!.given ?? [];
    const total = group.reduce((sum, o) => sum + o.probability, 0);
    const bindings = new Map<string, { ct: ConntrackSummary; p: number }>();
    let plain = 0;
    for (const o of group) {
      const ct = o.conntrack!;
      if (!ct.status.includes("DNAT") && !ct.status.includes("SNAT")) {
        plain += o.probability;
        continue;
      }
      const key = JSON.stringify([ct.orig, ct.reply, ct.status]);
      const b = bindings.get(key);
      if (b) b.p += o.probability;
      else bindings.set(key, { ct, p: o.probability });
    }
    const withBinding = (outcomes: Outcome[], p: number, assumption: string) => {
      for (const o of outcomes) {
        const w = withGiven(o, given);
        out.push({ ...w, probability: o.probability * (p / total), assumptions: [assumption, ...w.assumptions] });
      }
    };
    for (const { ct, p } of bindings.values()) {
      withBinding(evaluateOnce(spec, { ...ctx, connection: ct }), p, `a packet of a connection whose first packet got ${natText(ct)}: conntrack applies it`);
    }
    if (plain > 1e-12 * total) withBinding(evaluateOnce(spec, ctx), plain, "a packet of a connection whose first packet got no NAT");
  }
  return mergeOutcomes(out);
}

/** The outcome, resting also on the conditions `given` (texts, each also listed as an assumption). */
function withGiven(o: Outcome, given: readonly string[]): Outcome {
  if (given.length === 0) return o;
  const g = [...given, ...(o.given ?? []).filter((x) => !given.includes(x))];
  return { ...o, given: g, assumptions: [...given.filter((x) => !o.assumptions.includes(x)), ...o.assumptions] };
}

function natText(ct: ConntrackSummary): string {
  const parts: string[] = [];
  if (ct.status.includes("DNAT")) parts.push(`DNAT ${endpoint(ct.orig.dst, ct.orig.dport)} → ${endpoint(ct.reply.src, ct.reply.sport)}`);
  if (ct.status.includes("SNAT")) parts.push(`SNAT ${endpoint(ct.orig.src, ct.orig.sport)} → ${endpoint(ct.reply.dst, ct.reply.dport)}`);
  return parts.join(" and ");
}

function evaluateOnce(spec: PacketSpec, ctx: PathContext): Outcome[] {
  const finals: Final[] = [];
  if (spec.from === "local") send(spec, ctx, finals);
  else arrive(spec, ctx, finals);
  // Histories that end alike (same fate, decided by the same rule, same packet) are one outcome.
  const merged = mergeBranches(finals, (f) => `${JSON.stringify(f.fate)}|${decidingStep(f.br.steps)}`);
  return merged.map(({ br, fate, encapsulated }) => ({
    probability: br.probability, assumptions: br.assumptions, fate, steps: br.steps, final: snapshot(br.pkt),
    ...(br.given.length ? { given: br.given.map((l) => l.text) } : {}),
    conntrack: conntrackSummary(br.pkt.ct),
    ...(encapsulated ? { encapsulated } : {}),
  }));
}

/** The last step that matched: the rule (or policy) that decided the fate. */
function decidingStep(steps: readonly Step[]): string {
  for (let k = steps.length - 1; k >= 0; k--) {
    const st = steps[k]!;
    if (st.matched && !st.uncertain) return `${st.hook}|${st.table}|${st.chain}|${st.rule}|${st.verdict}`;
  }
  return "";
}

function outcomeKey(o: Outcome): string {
  const f = o.fate as Record<string, unknown>;
  let k = `${f.kind}|${f.iface ?? ""}|${f.table ?? ""}|${f.chain ?? ""}|${f.rule ?? ""}|${f.reason ?? ""}|${f.via ?? ""}`;
  const p = o.final;
  k += `#${p.src}|${p.dst}|${p.sport}|${p.dport}|${p.mark}|${p.ctmark}|${p.ctstate}|${p.inIface}|${p.outIface}`;
  k += `#${o.assumptions.join("\u0001")}#`;
  for (const s of o.steps) k += `${s.hook}|${s.table}|${s.chain}|${s.rule}|${s.verdict}|${s.matched ? 1 : 0}|${s.rewrites?.join("\u0001") ?? ""};`;
  if (o.encapsulated) k += `@${o.encapsulated.map(outcomeKey).join("@")}`;
  return k;
}

/** Identical outcomes (same path, fate and packet) reached through different branches are one, with summed probability. */
export function mergeOutcomes(list: Outcome[]): Outcome[] {
  if (list.length < 2) return list;
  // Outcomes that differ in fate or final packet can never merge: skip the full keys then.
  const quick = new Set(list.map((o) => `${o.fate.kind}|${(o.fate as { iface?: string }).iface}|${o.final.src}|${o.final.dst}|${o.final.sport}|${o.final.dport}|${o.final.mark}|${o.assumptions.length}`));
  if (quick.size === list.length) return list;
  const byKey = new Map<string, Outcome>();
  for (const o of list) {
    const k = outcomeKey(o);
    const prev = byKey.get(k);
    if (prev) prev.probability += o.probability;
    else byKey.set(k, o);
  }
  return [...byKey.values()];
}
