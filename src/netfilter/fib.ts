/**
 * The kernel's forwarding information base as node facts describe it: routing tables and the
 * policy rules that choose between them (fib_rules_lookup, fib4_rule_action, fib_table_lookup).
 *
 * - Rules run in priority order (equal priorities in the order given). A rule whose selectors
 *   match (`not` inverts the whole match) either looks up a table, jumps (`goto`), does nothing
 *   (`nop`) or ends the lookup with an error (`blackhole`, `unreachable`, `prohibit`).
 * - A table lookup that finds nothing, or finds a `throw` route, or whose result a
 *   `suppress_prefixlength`/`suppress_ifgroup` refuses, goes on with the next rule; any other
 *   result (an error route included) ends the lookup.
 * - Without `ip rule` facts the kernel's own rules stand: local (0), main (32766), default
 *   (32767); the caller says so where it matters.
 * - The local table is derived from the interfaces as the kernel derives it (fib_add_ifaddr):
 *   `local ADDR` for each address, `broadcast` for each subnet's last address (prefixes
 *   shorter than /31), and the whole prefix as `local` for addresses on lo. This kernel (6.x)
 *   adds no broadcast route for the network address (checked: `ip route show table local`).
 */
import type { Family } from "../model/ast.js";
import type { FactInterface, FactRoute, FactRule, NodeFacts } from "../facts/model.js";
import { applyMask, inNet, ipToNum, maskFromPrefix, numText, type IpNum } from "../model/address.js";

/** What a lookup is asked with: the kernel's flowi4. */
export interface Flow {
  family: Family;
  dst: string;
  /** Absent when not yet chosen (a local socket with no bound address). */
  src?: string;
  /** The arriving device; `lo` for locally generated packets (the kernel sets LOOPBACK_IFINDEX). */
  iif: string;
  /** Set only when the lookup is bound to a device (rp_filter's loose second lookup). */
  oif?: string;
  mark: number;
  tos: number;
  proto: number;
  sport?: number;
  dport?: number;
}

export type FibAnswer =
  | { kind: "route"; route: FactRoute; table: string; rule?: FactRule }
  | { kind: "error"; type: "blackhole" | "unreachable" | "prohibit" | "none"; route?: FactRoute; table?: string; rule?: FactRule }
  | { kind: "indeterminate"; reason: string; rule?: FactRule };

interface TableEntry {
  route: FactRoute;
  net: IpNum;
  mask: IpNum;
}

/** 253/254/255 are the default/main/local tables, whichever way the input spells them. */
export function tableName(t: string): string {
  switch (t) {
    case "253":
      return "default";
    case "254":
      return "main";
    case "255":
      return "local";
    default:
      return t;
  }
}

export const DEFAULT_RULES: readonly FactRule[] = [
  { family: "ipv4", priority: 0, action: "lookup", table: "local" },
  { family: "ipv4", priority: 32766, action: "lookup", table: "main" },
  { family: "ipv4", priority: 32767, action: "lookup", table: "default" },
  { family: "ipv6", priority: 0, action: "lookup", table: "local" },
  { family: "ipv6", priority: 32766, action: "lookup", table: "main" },
];

function entry(r: FactRoute): TableEntry | undefined {
  const n = ipToNum(r.dst, r.family);
  if (n === undefined) return undefined;
  // A route's text may carry host bits (a connected route named by the address).
  const mask = maskFromPrefix(r.prefixLength, r.family);
  return { route: r, net: applyMask(n, mask), mask };
}

const fullLength = (f: Family) => (f === "ipv4" ? 32 : 128);

/** The routes the kernel adds for an interface's addresses: the prefix in main, the address (and broadcast) in local. */
export function derivedRoutes(i: FactInterface): FactRoute[] {
  const out: FactRoute[] = [];
  const onLo = i.name === "lo";
  for (const a of i.addrs) {
    const n = ipToNum(a.address, a.family);
    if (n === undefined) continue;
    const mask = maskFromPrefix(a.prefixLength, a.family);
    const net = numText(applyMask(n, mask));
    const base = { family: a.family, dev: i.name, src: a.address, proto: "kernel" } as const;
    out.push({ ...base, table: "local", type: "local", dst: a.address, prefixLength: fullLength(a.family), scope: "host" });
    if (a.prefixLength === fullLength(a.family)) continue;
    if (onLo) out.push({ ...base, table: "local", type: "local", dst: net, prefixLength: a.prefixLength, scope: "host" });
    else out.push({ ...base, table: "main", type: "unicast", dst: net, prefixLength: a.prefixLength, scope: "link" });
    if (a.family === "ipv4" && a.prefixLength < 31) {
      const b = ((n as number) | (~(mask as number) >>> 0)) >>> 0;
      out.push({ ...base, table: "local", type: "broadcast", dst: numText(b), prefixLength: 32, scope: "link" });
    }
  }
  return out;
}

const routeTexts = new WeakMap<FactRoute, string>();
const ruleTexts = new WeakMap<FactRule, string>();

/** `ip route` style text of a route, for saying which route was chosen (made once per route). */
export function routeText(r: FactRoute): string {
  let t = routeTexts.get(r);
  if (t === undefined) routeTexts.set(r, (t = routeLine(r)));
  return t;
}

/** `ip rule show` style text of a rule (made once per rule). */
export function ruleText(r: FactRule): string {
  let t = ruleTexts.get(r);
  if (t === undefined) ruleTexts.set(r, (t = ruleLine(r)));
  return t;
}

function routeLine(r: FactRoute): string {
  const full = r.prefixLength === fullLength(r.family);
  const dst = r.prefixLength === 0 ? "default" : full ? r.dst : `${r.dst}/${r.prefixLength}`;
  let s = r.type === "unicast" ? dst : `${r.type} ${dst}`;
  if (r.gateway) s += ` via ${r.gateway}`;
  if (r.dev) s += ` dev ${r.dev}`;
  if (r.src) s += ` src ${r.src}`;
  if (r.metric) s += ` metric ${r.metric}`;
  return s;
}

function ruleLine(r: FactRule): string {
  const sel: string[] = [];
  if (r.not) sel.push("not");
  sel.push(r.from ? `from ${prefixText(r.from, r.family)}` : "from all");
  if (r.to) sel.push(`to ${prefixText(r.to, r.family)}`);
  if (r.tos !== undefined) sel.push(`tos 0x${r.tos.toString(16)}`);
  if (r.fwmark !== undefined) sel.push(`fwmark 0x${r.fwmark.toString(16)}${r.fwmask !== undefined ? `/0x${r.fwmask.toString(16)}` : ""}`);
  if (r.iif) sel.push(`iif ${r.iif}`);
  if (r.oif) sel.push(`oif ${r.oif}`);
  if (r.ipproto !== undefined) sel.push(`ipproto ${r.ipproto}`);
  if (r.sport) sel.push(`sport ${rangeText(r.sport)}`);
  if (r.dport) sel.push(`dport ${rangeText(r.dport)}`);
  for (const u of r.undecidable ?? []) sel.push(u);
  switch (r.action) {
    case "lookup":
      sel.push(`lookup ${r.table ?? "?"}`);
      break;
    case "goto":
      sel.push(`goto ${r.goto ?? "?"}`);
      break;
    default:
      sel.push(r.action);
  }
  if (r.suppressPrefixLength !== undefined) sel.push(`suppress_prefixlength ${r.suppressPrefixLength}`);
  if (r.suppressIfgroup !== undefined) sel.push(`suppress_ifgroup ${r.suppressIfgroup}`);
  return `${r.priority}: ${sel.join(" ")}`;
}

function prefixText(p: { address: string; prefixLength: number }, f: Family): string {
  return p.prefixLength === fullLength(f) ? p.address : `${p.address}/${p.prefixLength}`;
}

function rangeText(r: readonly [number, number]): string {
  return r[0] === r[1] ? String(r[0]) : `${r[0]}-${r[1]}`;
}

/** Why a lookup in a family whose routes were not given cannot end in "no route", and what to give. */
function routesMissing(flow: Flow): string {
  const v4 = flow.family === "ipv4";
  return `no ${v4 ? "IPv4" : "IPv6"} routes given: where ${flow.dst} goes is not known beyond the interfaces' own subnets`
    + ` (give \`ip ${v4 ? "" : "-6 "}-j route show table all\`, or --route)`;
}

interface CompiledRule {
  rule: FactRule;
  from?: { net: IpNum; mask: IpNum };
  to?: { net: IpNum; mask: IpNum };
  markMask: number;
}

function compileRule(r: FactRule): CompiledRule {
  const sel = (p?: { address: string; prefixLength: number }) => {
    if (!p) return undefined;
    const n = ipToNum(p.address, r.family);
    if (n === undefined) return undefined;
    const mask = maskFromPrefix(p.prefixLength, r.family);
    return { net: applyMask(n, mask), mask };
  };
  const c: CompiledRule = {
    rule: r,
    // `fwmark V` without a mask compares all 32 bits; `fwmark 0` alone sets no mask (fib_nl2rule).
    markMask: r.fwmask ?? (r.fwmark ? 0xffffffff : 0),
  };
  const from = sel(r.from);
  const to = sel(r.to);
  if (from) c.from = from;
  if (to) c.to = to;
  return c;
}

export class Fib {
  private readonly tables = new Map<string, TableEntry[]>();
  private readonly rules: Record<Family, CompiledRule[]>;
  /** Some rule of the family selects by source (`from`): the one field of a flow the kernel's own rules do not read. */
  private readonly readsSource: Record<Family, boolean>;
  /** Per family, whether the input named its rules (`ip rule`); otherwise the kernel's defaults are used. */
  private readonly given: Record<Family, boolean>;
  /**
   * Per family, whether the input gave any route. A routing dump (`ip route`) always lists the
   * connected routes (`proto kernel`), so a family with none was not collected: its interfaces'
   * subnets are known, but not where anything else goes, and a lookup that finds nothing proves
   * nothing (a real node almost always has a default route).
   */
  private readonly routesOf: Record<Family, boolean>;
  /** Rules beyond the kernel's own, or local routes a user added: rp_filter's fast path is off then (fib_validate_source). */
  readonly customRules: boolean;
  readonly customLocalRoutes: boolean;
  /** Tables that routes name but no rule looks up: a sign that rules exist which the input does not show. */
  readonly unusedTables: string[];
  /** IPv6 multicast routes derived from interfaces whose order the kernel keeps but the facts do not give. */
  private readonly unorderedMulticast: UnorderedMulticast | undefined;

  constructor(facts: NodeFacts) {
    const add = (r: FactRoute) => {
      const e = entry(r);
      if (!e) return;
      const name = tableName(r.table);
      const list = this.tables.get(name);
      if (list) list.push(e);
      else this.tables.set(name, [e]);
    };
    this.routesOf = { ipv4: facts.routes.some((r) => r.family === "ipv4"), ipv6: facts.routes.some((r) => r.family === "ipv6") };
    const seen = new Set<string>();
    const key = (r: FactRoute) => `${tableName(r.table)}|${r.type}|${r.dst}/${r.prefixLength}|${r.dev ?? ""}|${r.gateway ?? ""}|${r.metric ?? 0}`;
    for (const r of facts.routes) {
      seen.add(key(r));
      add(r);
    }
    // What the kernel derives from the addresses, unless the input listed it already. A real
    // routing dump (its connected routes are there, `proto kernel`; its local table is there)
    // is taken as it is: a connected route missing from it was removed on purpose (the AWS VPC
    // CNI moves a secondary ENI's subnet route into that ENI's own table).
    const dumpedMain = facts.routes.some((r) => tableName(r.table) === "main" && r.proto === "kernel");
    const dumpedLocal = facts.routes.some((r) => tableName(r.table) === "local");
    for (const i of facts.interfaces) {
      for (const r of derivedRoutes(i)) {
        if (seen.has(key(r)) || (r.table === "main" ? dumpedMain : dumpedLocal)) continue;
        add(r);
      }
    }
    const lo: FactRoute[] = [
      { family: "ipv4", table: "local", type: "local", dst: "127.0.0.0", prefixLength: 8, dev: "lo", src: "127.0.0.1", scope: "host", proto: "kernel" },
      { family: "ipv4", table: "local", type: "local", dst: "127.0.0.1", prefixLength: 32, dev: "lo", src: "127.0.0.1", scope: "host", proto: "kernel" },
      { family: "ipv4", table: "local", type: "broadcast", dst: "127.255.255.255", prefixLength: 32, dev: "lo", src: "127.0.0.1", scope: "link", proto: "kernel" },
      { family: "ipv6", table: "local", type: "local", dst: "::1", prefixLength: 128, dev: "lo", proto: "kernel" },
    ];
    const listedLocal = new Set(facts.routes.filter((r) => tableName(r.table) === "local").map((r) => `${r.type}|${r.dst}/${r.prefixLength}`));
    for (const r of lo) if (!listedLocal.has(`${r.type}|${r.dst}/${r.prefixLength}`)) add(r);
    // A dumped IPv6 local table lists the multicast routes it has (or has none); else they are derived.
    if (!facts.routes.some((r) => r.family === "ipv6" && tableName(r.table) === "local")) {
      const m = multicastRoutes(facts.interfaces);
      for (const r of m.routes) add(r);
      if (m.unordered) this.unorderedMulticast = m.unordered;
    }
    // Longest prefix first; among equals the lowest metric, in the order given (fib_table_lookup).
    for (const list of this.tables.values()) list.sort((a, b) => b.route.prefixLength - a.route.prefixLength || (a.route.metric ?? 0) - (b.route.metric ?? 0));

    // A rules input names one family; the other keeps the kernel's defaults.
    const ofFamily = (f: Family) => (facts.rules ?? []).filter((r) => r.family === f);
    this.given = { ipv4: ofFamily("ipv4").length > 0, ipv6: ofFamily("ipv6").length > 0 };
    const byFamily = (f: Family) => (this.given[f] ? ofFamily(f) : DEFAULT_RULES.filter((r) => r.family === f)).map((r, k) => ({ r, k }))
      .sort((a, b) => a.r.priority - b.r.priority || a.k - b.k).map(({ r }) => compileRule(r));
    this.rules = { ipv4: byFamily("ipv4"), ipv6: byFamily("ipv6") };
    this.readsSource = { ipv4: this.rules.ipv4.some((c) => c.from !== undefined), ipv6: this.rules.ipv6.some((c) => c.from !== undefined) };
    const given = [...this.rules.ipv4, ...this.rules.ipv6].map((c) => c.rule);
    const isDefault = (r: FactRule) => DEFAULT_RULES.some((d) => d.family === r.family && d.priority === r.priority && d.table === r.table && d.action === r.action) && !r.from && !r.to && r.fwmark === undefined && !r.iif && !r.oif && !r.not;
    this.customRules = (facts.rules ?? []).some((r) => !isDefault(r));
    this.customLocalRoutes = facts.routes.some((r) => tableName(r.table) === "local" && r.type === "local" && r.proto !== "kernel");
    const looked = new Set(given.filter((r) => r.action === "lookup").map((r) => tableName(r.table ?? "")));
    this.unusedTables = [...this.tables.keys()].filter((t) => !looked.has(t)).sort();
  }

  /**
   * Every network a lookup of `family` compares an address with (the routes' destinations, the
   * rules' from and to), and whether a rule selects by port: see NodeView.routeTests.
   */
  addressTests(family: Family): { tests: Array<{ net: IpNum; mask: IpNum }>; ports: boolean } {
    const tests: Array<{ net: IpNum; mask: IpNum }> = [];
    for (const list of this.tables.values()) for (const e of list) if (e.route.family === family) tests.push(e);
    let ports = false;
    for (const c of this.rules[family]) {
      if (c.from) tests.push(c.from);
      if (c.to) tests.push(c.to);
      if (c.rule.sport || c.rule.dport) ports = true;
    }
    return { tests, ports };
  }

  rulesGiven(family: Family): boolean {
    return this.given[family];
  }

  routesGiven(family: Family): boolean {
    return this.routesOf[family];
  }

  /**
   * Whether two lookups read the same: every field of the flow a lookup reads (rules' selectors,
   * the destination and the bound device), the source only when some rule of the family selects by it.
   */
  sameLookup(a: Flow, b: Flow): boolean {
    return a.family === b.family && a.dst === b.dst && a.iif === b.iif && a.oif === b.oif && a.mark === b.mark && a.tos === b.tos
      && a.proto === b.proto && a.sport === b.sport && a.dport === b.dport && (a.src === b.src || !this.readsSource[a.family]);
  }

  /** The local table's answer for `ip` (what addrtype asks: __inet_dev_addr_type). */
  localTable(ip: IpNum, family: Family): FactRoute | undefined {
    for (const e of this.tables.get("local") ?? []) if (e.route.family === family && inNet(ip, e)) return e.route;
    return undefined;
  }

  /** fib_lookup: the rules in order, each choosing a table or ending the lookup. */
  lookup(flow: Flow): FibAnswer {
    const dst = ipToNum(flow.dst, flow.family);
    if (dst === undefined) return { kind: "indeterminate", reason: `${flow.dst} is not an ${flow.family === "ipv4" ? "IPv4" : "IPv6"} address` };
    const src = flow.src !== undefined ? ipToNum(flow.src, flow.family) : undefined;
    const rules = this.rules[flow.family];
    for (let k = 0; k < rules.length; k++) {
      const c = rules[k]!;
      const m = this.ruleMatches(c, flow, dst, src);
      if (typeof m === "object") return { ...m, rule: c.rule };
      if (!m) continue;
      const r = c.rule;
      switch (r.action) {
        case "nop":
          continue;
        case "goto": {
          // The target is the first rule at that priority; the kernel refuses a goto backwards,
          // and skips one whose target does not exist.
          const to = rules.findIndex((x, j) => j > k && x.rule.priority === r.goto);
          if (to >= 0) k = to - 1;
          continue;
        }
        case "blackhole":
        case "unreachable":
        case "prohibit":
          return { kind: "error", type: r.action, rule: r };
        case "lookup": {
          const table = tableName(r.table ?? "main");
          let hit = this.tableLookup(table, flow, dst);
          if (!hit || hit.type === "throw") continue;
          const tie = this.unorderedMulticast;
          if (tie?.routes.has(hit) && flow.oif === undefined) {
            // Among routes of equal prefix and metric a sent packet takes the first listed, which
            // the facts do not say; an arriving one takes its own device's (rt6_score_route: the
            // input lookup passes the arriving device as oif), all of them multicast routes alike.
            if (flow.iif === "lo") return { kind: "indeterminate", reason: tie.why(flow.dst), rule: r };
            hit = [...tie.routes].find((x) => x.dev === flow.iif) ?? hit;
          }
          if (hit.type === "blackhole" || hit.type === "unreachable" || hit.type === "prohibit") return { kind: "error", type: hit.type, route: hit, table, rule: r };
          if (r.suppressPrefixLength !== undefined && hit.prefixLength <= r.suppressPrefixLength) continue;
          if (r.suppressIfgroup !== undefined) return { kind: "indeterminate", reason: `rule ${ruleText(r)} refuses routes by interface group, which the node facts do not give`, rule: r };
          return { kind: "route", route: hit, table, rule: r };
        }
      }
    }
    if (!this.routesOf[flow.family]) return { kind: "indeterminate", reason: routesMissing(flow) };
    return { kind: "error", type: "none" };
  }

  private tableLookup(table: string, flow: Flow, dst: IpNum): FactRoute | undefined {
    for (const e of this.tables.get(table) ?? []) {
      if (e.route.family !== flow.family || !inNet(dst, e)) continue;
      // A lookup bound to a device takes only routes out of it (fib_lookup_good_nhc).
      if (flow.oif !== undefined && e.route.dev !== flow.oif) continue;
      return e.route;
    }
    return undefined;
  }

  /** fib_rule_match and fib4_rule_match; an indeterminate answer names what the packet does not show. */
  private ruleMatches(c: CompiledRule, flow: Flow, dst: IpNum, src: IpNum | undefined): boolean | { kind: "indeterminate"; reason: string } {
    const r = c.rule;
    let m = true;
    if (r.undecidable?.length) return { kind: "indeterminate", reason: `rule ${ruleText(r)} selects by ${r.undecidable.join(", ")}, which a packet does not show` };
    // A `[detached]` device (not present) has no index: the rule matches no packet (fib_rule_match).
    if (r.iifDetached || r.oifDetached) m = false;
    else if (r.iif !== undefined && r.iif !== flow.iif) m = false;
    else if (r.oif !== undefined && r.oif !== flow.oif) m = false;
    else if (((r.fwmark ?? 0) ^ flow.mark) & c.markMask) m = false;
    else if (c.from && (src === undefined || !inNet(src, c.from))) {
      // An unbound socket's source is chosen after the lookup: the kernel matches `from` against 0.0.0.0.
      m = src === undefined && inNet(flow.family === "ipv4" ? 0 : [0, 0, 0, 0], c.from);
    } else if (c.to && !inNet(dst, c.to)) m = false;
    else if (r.tos !== undefined && r.tos !== (flow.tos & 0xfc)) m = false;
    else if (r.ipproto !== undefined && r.ipproto !== flow.proto) m = false;
    else if (r.sport && (flow.sport === undefined || flow.sport < r.sport[0] || flow.sport > r.sport[1])) m = false;
    else if (r.dport && (flow.dport === undefined || flow.dport < r.dport[0] || flow.dport > r.dport[1])) m = false;
    return r.not ? !m : m;
  }
}

/** Multicast routes the facts cannot order, and why: the lookup answers indeterminate where the order decides. */
interface UnorderedMulticast {
  routes: ReadonlySet<FactRoute>;
  why: (dst: string) => string;
}

/**
 * The IPv6 multicast routes the kernel adds (addrconf_add_dev): `multicast ff00::/8 dev DEV table
 * local metric 256` for each device, but lo, that has IPv6 (any IPv6 address; down devices lose
 * theirs). Equal routes are kept in the order they were added, which is the order the devices came
 * up, and a packet the node sends with no device bound takes the first (checked: with four
 * devices `ip -6 route get ff02::1` names the first listed, and a device taken down and up again
 * moves to the end). The facts order them only when there is one; with none the devices' IPv6 is
 * not shown at all. Either way the answer names what to give.
 */
function multicastRoutes(interfaces: readonly FactInterface[]): { routes: FactRoute[]; unordered?: UnorderedMulticast } {
  const devs = interfaces.filter((i) => i.name !== "lo" && i.up !== false && i.addrs.some((a) => a.family === "ipv6")).map((i) => i.name);
  const give = "give `ip -6 -j route show table local`";
  const route = (dev?: string): FactRoute => ({
    family: "ipv6", table: "local", type: "multicast", dst: "ff00::", prefixLength: 8, metric: 256, proto: "kernel", ...(dev === undefined ? {} : { dev }),
  });
  if (devs.length === 1) return { routes: [route(devs[0])] };
  // With no device known a stand-in route holds the prefix, so the lookup stops in the local table as the kernel's would.
  const routes = devs.length ? devs.map((d) => route(d)) : [route()];
  const why = devs.length
    ? (dst: string) => `${dst} leaves by the first of the multicast routes (ff00::/8, table local) of ${devs.join(", ")}; their order is the order the devices came up, which the node facts do not give (${give})`
    : (dst: string) => `${dst} leaves by a device's multicast route (ff00::/8, table local), and no device in the node facts has IPv6 (${give})`;
  return { routes, unordered: { routes: new Set(routes), why } };
}

/**
 * Fib.lookup's latest answer, given again to the next lookup that reads the same (Fib.sameLookup).
 * rp_filter's reverse lookup for each endpoint of a service (the histories kube-proxy's random
 * branches DNAT to different pods) differs only in the endpoint's address as source, which the
 * kernel's own rules never read: one lookup serves them all. One answer is kept, so nothing grows.
 */
export class LastLookup {
  private flow: Flow | undefined;
  private answer: FibAnswer | undefined;

  constructor(private readonly fib: Fib) {}

  lookup(flow: Flow): FibAnswer {
    if (this.flow !== undefined && this.fib.sameLookup(this.flow, flow)) return this.answer!;
    const a = this.fib.lookup(flow);
    this.flow = flow;
    this.answer = a;
    return a;
  }
}
