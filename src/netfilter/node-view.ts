/**
 * Routing and address questions answered from node facts the way the kernel answers them
 * (net/ipv4/route.c, fib_frontend.c): the policy rules and tables of fib.ts, the martian
 * checks of ip_route_input_slow, the reverse-path check of fib_validate_source, the loopback
 * checks of route_localnet, and source selection (the route's `src`, else an address of the
 * output device in the gateway's or destination's subnet, else its first global address,
 * else another interface's: inet_select_addr). Every decision says which rule and route
 * chose it; a sysctl the facts do not give is assumed at the kernel's default, and said
 * where it changes the answer. Each behaviour here was checked against `ip route get` in a
 * network namespace (test/kernel/route-get.test.ts).
 */
import type { Family } from "../model/ast.js";
import type { FactRoute, NodeFacts } from "../facts/model.js";
import { confKey } from "../facts/sysctl.js";
import { Fib, LastLookup, routeText, ruleText, type FibAnswer, type Flow } from "./fib.js";
import { ipToNum, isMulticastAddress, maskFromPrefix, netContains, type IpNum } from "../model/address.js";
import { tunnelViewOf } from "./tunnels.js";
import { kernelMembership6, multicastScope6 } from "./multicast-groups.js";
import type { AddrType, InputRouteQuery, NodeView, OutputCast, ReversePathFlags, RouteDecision, RouteQuery, Tri, TunnelInfo } from "../model/evaluation.js";

const ADDR_TYPE: Partial<Record<FactRoute["type"], AddrType>> = {
  local: "LOCAL", broadcast: "BROADCAST", blackhole: "BLACKHOLE", unreachable: "UNREACHABLE", prohibit: "PROHIBIT",
  multicast: "MULTICAST", anycast: "ANYCAST", throw: "THROW", unicast: "UNICAST",
};

/**
 * The addresses the kernel's checks single out. `zeronet` is 0.0.0.0 alone: since Linux 5.3
 * (ipv4_is_zeronet) the rest of 0.0.0.0/8 is routed as unicast (checked: `ip route get 8.8.8.8
 * from 0.1.2.3 iif eth0` forwards, `from 0.0.0.0` is refused).
 */
const v4 = {
  zeronet: (n: number) => n === 0,
  loopback: (n: number) => n >>> 24 === 127,
  multicast: (n: number) => n >>> 28 === 14,
  lbcast: (n: number) => n === 0xffffffff,
};

/**
 * __mkroute_output: a route to the limited broadcast or a multicast address is a broadcast or
 * multicast one whatever route found it, as is a broadcast route of the local table
 * (`broadcast 10.244.0.255 dev cni0`); IPv6 has multicast alone.
 */
function outputCast(family: Family, dst: string, type: FactRoute["type"]): OutputCast | undefined {
  if (family === "ipv6") return type === "multicast" || isMulticastAddress(dst, "ipv6") ? "multicast" : undefined;
  const t = ipToNum(dst, "ipv4") as number | undefined;
  if (type === "broadcast" || (t !== undefined && v4.lbcast(t))) return "broadcast";
  if (type === "multicast" || (t !== undefined && v4.multicast(t))) return "multicast";
  return undefined;
}

/** The sysctls of one device that routing reads, combined with `all` as the kernel combines them. */
interface DeviceSettings {
  rpFilter: Setting;
  acceptLocal: boolean;
  sendRedirects: boolean;
  srcValidMark: boolean;
  routeLocalnet: Setting;
}

/** A sysctl's reading: its value and, when it was not given, what was assumed. */
interface Setting {
  value: number;
  missing?: string;
}

export function nodeViewFromFacts(facts: NodeFacts): NodeView {
  const fib = new Fib(facts);
  // rp_filter's reverse lookups (checkSource): one packet's histories ask the same one.
  const reverse = new LastLookup(fib);
  const ifaceByName = new Map(facts.interfaces.map((i) => [i.name, i]));
  const sysctl = (k: string) => (facts.sysctl[k] === undefined ? undefined : String(facts.sysctl[k]).trim());

  /** IN_DEV_ORCONF / IN_DEV_MAXCONF: `all` and the device's own value combined as the kernel combines them. */
  const conf = (name: string, dev: string, combine: "or" | "max", fallback = 0): Setting => {
    const keys = [confKey("ipv4", "all", name), confKey("ipv4", dev, name)];
    const vals = keys.map((k) => sysctl(k));
    const nums = vals.map((v) => (v === undefined ? fallback : Number(v)));
    const value = combine === "max" ? Math.max(...nums) : nums.some((n) => n !== 0) ? 1 : 0;
    const absent = keys.filter((_, k) => vals[k] === undefined);
    return absent.length ? { value, missing: `${absent.join(" and ")} not given` } : { value };
  };
  /** A device's routing settings, read once per device (every routing decision asks). */
  const devices = new Map<string, DeviceSettings>();
  const device = (dev: string): DeviceSettings => {
    let d = devices.get(dev);
    if (!d) {
      d = {
        rpFilter: conf("rp_filter", dev, "max"),
        acceptLocal: conf("accept_local", dev, "or").value !== 0,
        sendRedirects: conf("send_redirects", dev, "or", 1).value !== 0,
        srcValidMark: conf("src_valid_mark", dev, "or").value !== 0,
        routeLocalnet: conf("route_localnet", dev, "or"),
      };
      devices.set(dev, d);
    }
    return d;
  };

  /** The addresses the devices hold (lo holds 127.0.0.1 and ::1 whether the facts list lo or not). */
  const assigned = new Set<string>(["127.0.0.1", "::1", ...facts.interfaces.flatMap((i) => i.addrs.map((a) => a.address))]);
  const ownAddress = (ip: string, family: Family): boolean => {
    const n = ipToNum(ip, family);
    return n !== undefined && fib.localTable(n, family)?.type === "local";
  };
  const tunnels = tunnelViewOf(facts, ownAddress);

  const selectSource = (dev: string, family: Family, towards: string): string | undefined => {
    const i = ifaceByName.get(dev);
    const addrs = (i?.addrs ?? []).filter((a) => a.family === family && a.scope !== "host");
    const same = addrs.find((a) => netContains(a.address, a.prefixLength, towards, family));
    if (same) return same.address;
    const global = addrs.find((a) => (a.scope ?? "global") === "global");
    if (global) return global.address;
    if (addrs[0]) return addrs[0].address;
    // inet_select_addr falls back to a global address of another interface.
    for (const other of facts.interfaces) {
      const g = other.addrs.find((a) => a.family === family && (a.scope ?? "global") === "global" && other.name !== "lo");
      if (g) return g.address;
    }
    return undefined;
  };

  const forwardingByDevice = new Map<string, Tri>();
  const forwarding = (family: Family, iif?: string): Tri => {
    const memo = `${family}|${iif ?? ""}`;
    let f = forwardingByDevice.get(memo);
    if (f === undefined) forwardingByDevice.set(memo, (f = readForwarding(family, iif)));
    return f;
  };
  const readForwarding = (family: Family, iif?: string): Tri => {
    // ip_forward writes every device's value; a device's own value is what the kernel reads.
    const keys = family === "ipv4"
      ? [...(iif ? [confKey("ipv4", iif, "forwarding")] : []), "net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"]
      : [...(iif ? [confKey("ipv6", iif, "forwarding")] : []), "net.ipv6.conf.all.forwarding"];
    const k = keys.find((x) => sysctl(x) !== undefined);
    if (k === undefined) return { indeterminate: `${family === "ipv4" ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding"} not given in the node facts` };
    // Any non-zero value forwards (ip_forward = 2 included); the facts reader checked it is an integer.
    return Number(sysctl(k)) !== 0;
  };

  // Every field in the literal, undefined when absent: a field added later costs the flow a second allocation.
  const flowOf = (q: RouteQuery, iif: string): Flow => ({
    family: q.family, dst: q.dst, src: q.src, iif, oif: undefined, mark: q.mark, tos: q.tos ?? 0, proto: q.proto ?? 0, sport: q.sport, dport: q.dport,
  });

  /**
   * When the input gave no `ip rule` but shows routes in tables only rules can choose, the
   * answer rests on the kernel's default rules: said then. (Without that sign the default
   * rules are what a node has; `netfate collect` gathers the rules.)
   */
  const rulesNote = (family: Family): string | undefined => {
    if (fib.rulesGiven(family) || fib.unusedTables.length === 0) return undefined;
    return `ip rule not given: the kernel's default rules (local, main, default) assumed, though routes in table ${fib.unusedTables.join(", ")} suggest rules that choose them (give \`ip -j rule\`)`;
  };

  /** What `chosen` says of an answer that names only its route (no rules given): the same words for every packet routed by it. */
  const routeWords = new WeakMap<FactRoute, { table: string | undefined; text: string }>();
  const chosen = (a: FibAnswer, family: Family): string | undefined => {
    if (a.kind === "indeterminate") return undefined;
    if (a.route && !(a.rule && fib.rulesGiven(family))) {
      const known = routeWords.get(a.route);
      if (known && known.table === a.table) return known.text;
      const text = `table ${a.table}: ${routeText(a.route)}`;
      routeWords.set(a.route, { table: a.table, text });
      return text;
    }
    const parts: string[] = [];
    if (a.rule && fib.rulesGiven(family)) parts.push(`rule ${ruleText(a.rule)}`);
    if (a.kind === "route") parts.push(`table ${a.table}: ${routeText(a.route)}`);
    else if (a.route) parts.push(`table ${a.table}: ${routeText(a.route)}`);
    return parts.length ? parts.join(", ") : undefined;
  };

  const notes = (d: RouteDecision, a: FibAnswer | undefined, extra: Array<string | undefined>, family: Family): RouteDecision => {
    const by = a ? chosen(a, family) : undefined;
    if (by) d.chosenBy = by;
    // (Every routed packet comes here: no list is made when nothing is added.)
    let list: string[] | undefined;
    for (const x of extra) if (x !== undefined) (list ??= d.assumptions ? [...d.assumptions] : []).push(x);
    if (list) d.assumptions = list;
    return d;
  };

  const failure = (a: Exclude<FibAnswer, { kind: "route" }>, q: RouteQuery): RouteDecision => {
    if (a.kind === "indeterminate") return { kind: "indeterminate", reason: a.reason };
    if (a.type === "none") return { kind: "none", detail: `no route to ${q.dst}${fib.rulesGiven(q.family) ? " in the tables the rules look up" : " in the node facts"}` };
    return a.route ? { kind: a.type, detail: `${a.route.type} ${a.route.dst}/${a.route.prefixLength}` } : { kind: a.type, detail: `rule ${ruleText(a.rule!)}` };
  };

  /**
   * fib_validate_source: is `q.src` a source this device may receive from? `oif` is the device
   * the packet will be forwarded out of (absent for local delivery). Answers undefined when the
   * source is acceptable, else the martian decision.
   */
  const validateSource = (q: InputRouteQuery, oif: string | undefined, rpf: number, back: () => FibAnswer): RouteDecision | undefined => {
    const { acceptLocal, sendRedirects: redirects } = device(q.iif);
    if (rpf === 0 && (q.iif !== oif || !redirects)) {
      if (acceptLocal) return undefined;
      // The fast path: with neither custom rules nor custom local routes, only the node's own
      // addresses are refused as sources.
      if (!fib.customRules && !fib.customLocalRoutes) {
        // inet_lookup_ifaddr_rcu: an address some device holds (127.0.0.5 is local, but no
        // device holds it).
        return assigned.has(q.src) ? { kind: "martian", check: "source", detail: `source ${q.src} is an address of this node` } : undefined;
      }
    }
    const a = back();
    const strictness = rpf === 1 ? "strict" : "loose";
    const rpfFail = (why: string): RouteDecision => ({ kind: "martian", check: "rp_filter", detail: `reverse-path filter (rp_filter=${rpf}, ${strictness} on ${q.iif}): ${why}` });
    if (a.kind === "indeterminate") return { kind: "indeterminate", reason: `reverse-path check of ${q.src}: ${a.reason}` };
    if (a.kind === "error") return rpf ? rpfFail(`no route back to ${q.src}${a.route ? ` (${routeText(a.route)})` : ""}`) : undefined;
    const r = a.route;
    if (r.type !== "unicast" && (r.type !== "local" || !acceptLocal)) {
      return { kind: "martian", check: "source", detail: `source ${q.src} is a ${r.type} address of this node (table ${a.table}: ${routeText(r)})` };
    }
    if (r.dev === q.iif || (r.type === "local" && q.iif === "lo")) return undefined;
    const iface = ifaceByName.get(q.iif);
    if (!iface) return rpf ? { kind: "indeterminate", reason: `reverse-path check: ${q.iif} is not in the node facts` } : undefined;
    const noAddr = !iface.addrs.some((x) => x.family === "ipv4");
    if (noAddr) return rpf ? rpfFail(`${q.iif} has no IPv4 address, and the route back to ${q.src} leaves by ${r.dev ?? "?"} (table ${a.table}: ${routeText(r)})`) : undefined;
    if (rpf === 1) return rpfFail(`the route back to ${q.src} leaves by ${r.dev ?? "?"}, not ${q.iif} (table ${a.table}: ${routeText(r)})`);
    return undefined;
  };

  /** validateSource under the rp_filter the facts give; `assumed` says when an unstated value would change the answer. */
  const checkSource = (q: InputRouteQuery, oif: string | undefined): SourceCheck => {
    // IPv6 input routing validates no source (no rp_filter, no own-address check: ip6_route_input);
    // checked: a packet from the node's own IPv6 address arriving on eth0 is forwarded.
    if (q.family === "ipv6") return SOURCE_OK;
    const rpf = device(q.iif).rpFilter;
    // The reverse lookup, made at most once whichever rp_filter values are tried.
    let answer: FibAnswer | undefined;
    const back = (): FibAnswer => {
      if (answer) return answer;
      // The reverse lookup swaps the ports as it swaps the addresses.
      const f: Flow = {
        family: q.family, dst: q.src, src: q.dst, iif: oif ?? "lo", oif: undefined, mark: device(q.iif).srcValidMark ? q.mark : 0,
        tos: q.tos ?? 0, proto: q.proto ?? 0, sport: q.dport, dport: q.sport,
      };
      return (answer = reverse.lookup(f));
    };
    const bad = validateSource(q, oif, rpf.value, back);
    if (!rpf.missing) return bad ? { bad, assumed: [] } : SOURCE_OK;
    const mode = (v: number) => (v === 0 ? "off" : v === 1 ? "strict (rp_filter=1)" : "loose (rp_filter=2)");
    // The stricter values the unstated setting may have, in order: the first that answers otherwise is said.
    for (let v = Math.max(1, rpf.value + 1); v <= 2; v++) {
      const d = validateSource(q, oif, v, back);
      if ((d === undefined) === (bad === undefined)) continue;
      const then = d === undefined ? `; ${mode(v)} would let it through`
        : d.kind === "martian" ? `; ${mode(v)} would drop it: ${d.detail.replace(/^reverse-path filter \([^)]*\): /, "")}`
        // A check the facts cannot settle is no "let through": what it lacks is said.
        : `; under ${mode(v)} it would depend on what the input does not say: ${d.kind === "indeterminate" ? d.reason : d.kind}`;
      const assumed = [`reverse-path filtering assumed ${mode(rpf.value)}: ${rpf.missing}${then}`];
      return bad ? { bad, assumed } : { assumed };
    }
    return bad ? { bad, assumed: [] } : SOURCE_OK;
  };

  const routeLocalnet = (dev: string) => device(dev).routeLocalnet;

  const routeInput = (q: InputRouteQuery): RouteDecision => {
    const rules = rulesNote(q.family);
    if (q.family === "ipv4") {
      const s = ipToNum(q.src, "ipv4") as number | undefined;
      const t = ipToNum(q.dst, "ipv4") as number | undefined;
      if (s === undefined || t === undefined) return { kind: "indeterminate", reason: `${s === undefined ? q.src : q.dst} is not an IPv4 address` };
      if (v4.multicast(t)) {
        // ip_route_input_rcu: the node takes a multicast packet only for a group it joined.
        if (t === 0xe0000001) {
          // ip_mc_validate_source: the source is checked as for unicast, towards no destination.
          if (v4.multicast(s ?? 0) || v4.lbcast(s ?? 0)) return { kind: "martian", check: "source", detail: `source ${q.src} is a ${v4.lbcast(s ?? 0) ? "broadcast" : "multicast"} address` };
          const c = s === 0 ? { assumed: [] } : checkSource({ ...q, dst: "0.0.0.0" }, undefined);
          const d: RouteDecision = c.bad ?? { kind: "local", dev: "lo", chosenBy: "224.0.0.1: every interface is in the all-hosts group" };
          if (c.assumed.length) d.assumptions = [...(d.assumptions ?? []), ...c.assumed];
          return d;
        }
        return {
          kind: "martian", check: "destination", detail: `${q.dst} is a multicast group this node has not joined on ${q.iif}`,
          assumptions: [`multicast group ${q.dst} assumed not joined on ${q.iif}: the node facts do not list group memberships (ip maddr)`],
        };
      }
      if (v4.multicast(s) || v4.lbcast(s)) return { kind: "martian", check: "source", detail: `source ${q.src} is a ${v4.lbcast(s) ? "broadcast" : "multicast"} address` };
      if (v4.lbcast(t) || (s === 0 && t === 0)) return broadcastInput(q, s);
      if (v4.zeronet(s)) return { kind: "martian", check: "source", detail: `source ${q.src} is the unspecified address` };
      if (v4.zeronet(t)) return { kind: "martian", check: "destination", detail: `destination ${q.dst} is the unspecified address` };
      if (v4.loopback(t) || v4.loopback(s)) {
        const rl = routeLocalnet(q.iif);
        if (rl.value === 0) {
          const which = v4.loopback(t) ? "destination" : "source";
          const d: RouteDecision = { kind: "martian", check: which, detail: `${which} ${v4.loopback(t) ? q.dst : q.src} is a loopback address arriving on ${q.iif}, and route_localnet is off there` };
          return rl.missing ? { ...d, assumptions: [`route_localnet assumed off: ${rl.missing}`] } : d;
        }
      }
    }
    const multicast6 = q.family === "ipv6" && isMulticastAddress(q.dst, "ipv6");
    const scope = multicast6 ? multicastScope6(q.dst) : undefined;
    if (scope !== undefined && scope <= 1 && q.iif !== "lo") {
      // ip6_rcv_core, before any route: interface-local groups (and scope 0) never arrive from the wire.
      return { kind: "martian", check: "destination", detail: `${q.dst} is ${scope === 1 ? "interface-local" : "reserved (scope 0)"} multicast, which the kernel drops as it arrives on ${q.iif}` };
    }
    const a = fib.lookup(flowOf(q, q.iif));
    if (multicast6 && a.kind === "route" && a.route.type === "multicast") return notes(multicastInput6(q), a, [rules], q.family);
    const fwd = forwarding(q.family, q.iif);
    if (a.kind !== "route") {
      if (fwd === false && a.kind === "error") return notes({ kind: "not-forwarding", detail: forwardingOff(q) }, a, [rules], q.family);
      return notes(failure(a, q), a, [rules], q.family);
    }
    const r = a.route;
    if (r.type === "broadcast") return notes(broadcastInput(q, ipToNum(q.src, q.family) as number), a, [rules], q.family);
    if (r.type === "local") {
      const c = checkSource(q, undefined);
      return notes(c.bad ?? { kind: "local", dev: "lo" }, a, [rules, ...c.assumed], q.family);
    }
    if (fwd === false) return notes({ kind: "not-forwarding", detail: forwardingOff(q) }, a, [rules], q.family);
    const assumed = typeof fwd === "object" ? `forwarding assumed enabled (${fwd.indeterminate})` : undefined;
    if (r.type !== "unicast") return notes({ kind: "martian", check: "destination", detail: `destination ${q.dst} has a ${r.type} route` }, a, [rules, assumed], q.family);
    if (!r.dev) return { kind: "indeterminate", reason: `route ${routeText(r)} names no device` };
    const c = checkSource(q, r.dev);
    if (c.bad) return notes(c.bad, a, [rules, assumed, ...c.assumed], q.family);
    const d: RouteDecision = { kind: "unicast", dev: r.dev };
    if (r.gateway) d.gateway = r.gateway;
    if (r.onlink) d.onlink = true;
    return notes(d, a, [rules, assumed, ...c.assumed], q.family);
  };

  /**
   * ip6_mc_input: an arriving IPv6 multicast packet goes to INPUT when its device is in the group,
   * and is dropped after PREROUTING otherwise (this node routes no multicast).
   */
  const multicastInput6 = (q: InputRouteQuery): RouteDecision => {
    const addrs = (ifaceByName.get(q.iif)?.addrs ?? []).filter((a) => a.family === "ipv6").map((a) => a.address);
    const m = kernelMembership6(q.dst, q.iif, addrs, forwarding("ipv6", q.iif));
    if ("indeterminate" in m) return { kind: "indeterminate", reason: m.indeterminate };
    if (!m.joined) {
      return {
        kind: "martian", check: "destination", detail: `${q.dst} is a multicast group this node has not joined on ${q.iif}`,
        assumptions: [`multicast group ${q.dst} assumed not joined on ${q.iif}: the node facts do not list group memberships (ip maddr)`],
      };
    }
    const d: RouteDecision = { kind: "local", dev: "lo" };
    if (!addrs.length) d.assumptions = [`${q.iif} assumed to have IPv6: the node facts list no IPv6 address on it`];
    return d;
  };

  /**
   * brd_input: a broadcast is delivered locally once its (non-zero) source passes the checks.
   * The kernel validates the source towards no destination (fib_validate_source with daddr 0),
   * so the reverse lookup's source is 0.0.0.0 and no `from` rule matches it by the broadcast
   * address (checked: a rule `from 10.244.0.0/24 blackhole` refuses nothing sent to 10.244.0.255).
   */
  const broadcastInput = (q: InputRouteQuery, s: number | undefined): RouteDecision => {
    const c = s !== 0 ? checkSource({ ...q, dst: "0.0.0.0" }, undefined) : { assumed: [] };
    const d: RouteDecision = c.bad ?? { kind: "local", dev: "lo", chosenBy: `${q.dst} is a broadcast address` };
    if (c.assumed.length) d.assumptions = [...(d.assumptions ?? []), ...c.assumed];
    return d;
  };

  const forwardingOff = (q: InputRouteQuery) => {
    const own = confKey(q.family, q.iif, "forwarding");
    const key = sysctl(own) !== undefined ? own : q.family === "ipv4" ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding";
    return `${q.dst} is not local and forwarding is disabled (${key}=0)`;
  };

  const routeOutput = (q: RouteQuery): RouteDecision => {
    const rules = rulesNote(q.family);
    if (q.family === "ipv4" && q.src !== undefined) {
      const s = ipToNum(q.src, "ipv4") as number | undefined;
      if (s !== undefined && (v4.multicast(s) || v4.lbcast(s) || v4.zeronet(s))) return { kind: "martian", check: "source", detail: `a packet cannot be sent from ${q.src}` };
    }
    const bound = boundDevice(q);
    if (bound) return bound;
    const a = fib.lookup(flowOf(q, "lo"));
    if (a.kind !== "route") return notes(failure(a, q), a, [rules], q.family);
    const r = a.route;
    if (r.type === "local") return notes({ kind: "local", dev: "lo" }, a, [rules], q.family);
    if (r.type !== "unicast" && r.type !== "broadcast" && r.type !== "multicast") return notes({ kind: "none", detail: `${r.type} route` }, a, [rules], q.family);
    if (!r.dev) return { kind: "indeterminate", reason: `route ${routeText(r)} names no device` };
    const src = q.src ?? r.src ?? selectSource(r.dev, q.family, r.gateway ?? q.dst);
    if (q.family === "ipv4" && src !== undefined && v4.loopback(ipToNum(src, "ipv4") as number) && r.dev !== "lo") {
      // __mkroute_output: a loopback source leaves another device only with route_localnet.
      const rl = routeLocalnet(r.dev);
      if (rl.value === 0) {
        const d = notes({ kind: "martian", check: "source", detail: `source ${src} is a loopback address and would leave by ${r.dev}, where route_localnet is off` }, a, [rules], q.family);
        return rl.missing ? { ...d, assumptions: [...(d.assumptions ?? []), `route_localnet assumed off: ${rl.missing}`] } : d;
      }
    }
    const d: RouteDecision = { kind: "unicast", dev: r.dev };
    const cast = outputCast(q.family, q.dst, r.type);
    // __mkroute_output drops the route's next hop for a broadcast, and for a multicast one that
    // only a route shorter than 224.0.0.0/4 (a default route) found.
    const viaGateway = cast === undefined || (cast === "multicast" && (q.family === "ipv6" || r.prefixLength >= 4));
    if (r.gateway && viaGateway) d.gateway = r.gateway;
    if (r.onlink && viaGateway) d.onlink = true;
    if (src) d.src = src;
    if (cast) d.cast = cast;
    return notes(d, a, [rules], q.family);
  };

  /**
   * ip_route_output_key_hash_rcu: a socket bound to one of the node's IPv4 addresses that sends
   * to the limited broadcast or a multicast address, with no device of its own, leaves by the
   * device holding that address, without a route lookup (checked in a namespace: bound to
   * v0's address, 255.255.255.255 and 239.1.1.1 left by v0 though the default route is w0's).
   */
  const boundDevice = (q: RouteQuery): RouteDecision | undefined => {
    if (q.family !== "ipv4" || q.src === undefined) return undefined;
    const t = ipToNum(q.dst, "ipv4") as number | undefined;
    if (t === undefined || !(v4.lbcast(t) || v4.multicast(t))) return undefined;
    const own = fib.localTable(ipToNum(q.src, "ipv4") as number, "ipv4");
    if (own?.type !== "local" || !own.dev) return undefined;
    return {
      kind: "unicast", dev: own.dev, src: q.src, cast: v4.lbcast(t) ? "broadcast" : "multicast",
      chosenBy: `sent from ${q.src}, ${own.dev}'s address, to ${q.dst}: it leaves by ${own.dev} whatever the routes say`,
    };
  };

  /** xt_rpfilter: the reverse lookup from lo, with the match's own flags (rpfilter_lookup_reverse). */
  const reversePath = (q: InputRouteQuery, flags: ReversePathFlags): Tri => {
    if (q.iif === "lo") return true;
    const zeroSrc = q.family === "ipv4" && q.src === "0.0.0.0";
    if (zeroSrc && (q.dst === "255.255.255.255" || /^224\.0\.0\./.test(q.dst))) return true;
    const t = ipToNum(q.dst, q.family);
    const special = q.family === "ipv4" && typeof t === "number" && (v4.multicast(t) || v4.lbcast(t) || v4.zeronet(t));
    const back: Flow = { family: q.family, dst: q.src, iif: "lo", mark: flags.validMark ? q.mark : 0, tos: q.tos ?? 0, proto: 0 };
    if (!special) back.src = q.dst;
    const a = fib.lookup(back);
    if (a.kind === "indeterminate") return { indeterminate: a.reason };
    if (a.kind === "error") return false;
    if (a.route.type !== "unicast" && (a.route.type !== "local" || !flags.acceptLocal)) return false;
    return a.route.dev === q.iif || flags.loose;
  };

  // The networks routing compares an address with, per family (made once: see NodeView.routeTests).
  const routeTests = new Map<Family, { tests: Array<{ net: IpNum; mask: IpNum }>; ports: boolean }>();
  const routeTestsOf = (family: Family) => {
    let t = routeTests.get(family);
    if (!t) {
      t = fib.addressTests(family);
      // The node's own addresses (validateSource's fast path), and v4's special ranges.
      const full = family === "ipv4" ? 32 : 128;
      for (const a of assigned) {
        const n = ipToNum(a, family);
        if (n !== undefined) t.tests.push({ net: n, mask: maskFromPrefix(full, family) });
      }
      if (family === "ipv4") {
        for (const [net, len] of [[0, 32], [0, 8], [0x7f000000, 8], [0xe0000000, 4], [0xffffffff, 32]] as const) t.tests.push({ net, mask: maskFromPrefix(len, family) });
      }
      routeTests.set(family, t);
    }
    return t;
  };

  return {
    known: true,
    routeTests: routeTestsOf,
    isLocal: (ip, family): Tri => ownAddress(ip, family),
    addressType(ip, family, dev): AddrType {
      if (family === "ipv4") {
        const n = ipToNum(ip, "ipv4") as number | undefined;
        if (n === undefined) return "UNSPEC";
        // __inet_dev_addr_type: only the local table is consulted; limited to a device, an
        // address that device does not own is UNICAST there.
        if (v4.zeronet(n) || v4.lbcast(n)) return "BROADCAST";
        if (v4.multicast(n)) return "MULTICAST";
        const r = fib.localTable(n, "ipv4");
        if (!r || (dev !== undefined && r.dev !== dev)) return "UNICAST";
        return ADDR_TYPE[r.type] ?? "UNICAST";
      }
      if (ownAddress(ip, family) && (dev === undefined || ifaceByName.get(dev)?.addrs.some((a) => a.address === ip) || dev === "lo")) return "LOCAL";
      if (isMulticastAddress(ip, family)) return "MULTICAST";
      const a = fib.lookup({ family, dst: ip, iif: "lo", mark: 0, tos: 0, proto: 0 });
      if (a.kind === "error" && a.route) return ADDR_TYPE[a.route.type] ?? "UNICAST";
      return "UNICAST";
    },
    routeInput,
    routeOutput,
    reversePath,
    primaryAddress(dev, family) {
      return ifaceByName.get(dev)?.addrs.find((a) => a.family === family)?.address;
    },
    masqueradeAddress(dev, family, nexthop) {
      const global = (addrs: readonly { family: Family; scope?: string; address: string; prefixLength: number }[]) =>
        addrs.filter((a) => a.family === family && (a.scope ?? defaultScope(a.address)) === "global");
      const own = global(ifaceByName.get(dev)?.addrs ?? []);
      if (own.length) return (nexthop ? own.find((a) => netContains(a.address, a.prefixLength, nexthop, family)) : undefined)?.address ?? own[0]!.address;
      for (const i of facts.interfaces) {
        const any = global(i.addrs)[0];
        if (any) return any.address;
      }
      return undefined;
    },
    forwarding,
    tunnel: (dev): TunnelInfo | undefined => tunnels.tunnel(dev),
    decapsulator: (outer) => tunnels.decapsulator(outer),
    sysctl,
  };
}

/** The kernel gives loopback addresses host scope whatever was asked (devinet.c). */
function defaultScope(address: string): string {
  return address.startsWith("127.") || address === "::1" ? "host" : "global";
}

/** What checkSource found: the martian decision when the source is refused, and what an unstated rp_filter rests on. */
interface SourceCheck {
  bad?: RouteDecision;
  assumed: readonly string[];
}

/** A source accepted with nothing assumed (most packets): one object for all. */
const SOURCE_OK: SourceCheck = Object.freeze({ assumed: Object.freeze([]) as readonly string[] });
