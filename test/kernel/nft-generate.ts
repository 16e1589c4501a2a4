/**
 * Seeded random nftables rulesets for the kernel differential harness, as `nft -f` text, with
 * the structure they were made from (so a test can tell whether a kernel trace is consistent
 * with the ruleset) and packets made from the ruleset's own constants, so that most packets
 * meet rules rather than only policies. Optionally an iptables-save fragment, loaded with
 * iptables-nft-restore beside the native tables, whose chains then run at their fixed
 * priorities between the generated ones.
 *
 * What the generator stays inside, each checked against nft 1.0.6 on a 6.x kernel (a ruleset
 * outside it does not load):
 * - a nat chain's priority must be above conntrack's -200 (EOPNOTSUPP at -200), its hook is
 *   prerouting, input, output or postrouting (never forward);
 * - the priority names dstnat and srcnat are refused outside prerouting and postrouting
 *   ("invalid priority expression value in this context"): even output and input, where the
 *   NAT itself is allowed, take only numbers;
 * - `type route` only at hook output;
 * - `reject` loads in prerouting, input, forward and output, not postrouting — and `nft -c`
 *   accepts it in postrouting anyway (only the real commit refuses), so a check run proves little;
 * - a NAT port (`dnat to A:P`, `redirect to :P`) needs a transport match earlier in the rule,
 *   and an inet table needs `dnat ip to` / `snat ip to`;
 * - every rule and chain body ends with a newline before its `}`: `chain a { counter }` is a
 *   syntax error in nft 1.0.6;
 * - chain names avoid nft keywords (`fwd` is one: `chain fwd` fails to parse).
 * Regular chains are jumped to only by the base chain that owns them (and that chain's other
 * regular chains of a higher index): no loops, and each regular chain runs at one hook, so
 * hook-bound statements (reject, NAT) stay where the kernel allows them.
 */
import type { PacketSpec } from "../../src/model/packet.js";
import { prng } from "../../src/diff/candidates.js";
import type { Topology } from "./harness.js";

/** The node the generated rulesets are made for: veth0 towards the sender, veth1 towards the peer. */
export const NFT_NODE: Topology = {
  ifaces: [
    { name: "veth0", addr: "10.0.1.1/24" },
    { name: "veth1", addr: "10.0.2.1/24" },
  ],
  routes: ["default via 10.0.2.254 dev veth1"],
  // Static neighbours: forwarding never waits on ARP (the harness resolves them to the peers' MACs).
  neighbours: [
    ...["10.0.1.2", "10.0.1.3"].map((addr) => ({ addr, dev: "veth0" })),
    ...["10.0.2.2", "10.0.2.5", "10.0.2.6", "10.0.2.9"].map((addr) => ({ addr, dev: "veth1" })),
  ],
  forwarding: true,
};

/** Addresses the rules and packets draw from: the node's, its neighbours' on each side, and beyond the gateway. */
export const NODE_ADDRS = ["10.0.1.1", "10.0.2.1"] as const;
const SENDER_HOSTS = ["10.0.1.2", "10.0.1.3"] as const;
const PEER_HOSTS = ["10.0.2.2", "10.0.2.5", "10.0.2.6", "10.0.2.9"] as const;
const REMOTE = ["198.51.100.7", "203.0.113.9"] as const;
const PREFIXES = ["10.0.1.0/24", "10.0.2.0/24", "10.0.2.0/29", "10.0.0.0/16", "198.51.100.0/24", "0.0.0.0/0"] as const;
const PORTS = [22, 53, 80, 443, 8080, 40000] as const;
const MARKS = [0x1, 0x4, 0x10, 0x4000] as const;

export type NftFamily = "ip" | "ip6" | "inet";
export type NftHook = "prerouting" | "input" | "forward" | "output" | "postrouting";
export type NftChainType = "filter" | "nat" | "route";

export interface GenBase {
  type: NftChainType;
  hook: NftHook;
  /** As written: `-150`, `mangle + 5`, `dstnat`. */
  priorityText: string;
  priority: number;
  policy: "accept" | "drop";
}

export interface GenRule {
  text: string;
  /** Chains this rule can jump or go to (from verdicts and vmaps). */
  targets: string[];
  /** Whether it can end the packet's walk with drop or reject. */
  drops: boolean;
}

export interface GenChain {
  name: string;
  base?: GenBase;
  rules: GenRule[];
}

export interface GenSet {
  name: string;
  /** The `set`/`map` body lines (type, flags, elements). */
  lines: string[];
  map: boolean;
}

export interface GenTable {
  family: NftFamily;
  name: string;
  sets: GenSet[];
  chains: GenChain[];
}

/** iptables chains of the fragment: table → chain names (built-in and user). */
export type IptablesChains = Record<string, string[]>;

export interface NftCase {
  seed: number;
  tables: GenTable[];
  /** `nft -f` text of `tables`. */
  ruleset: string;
  /** An iptables-save fragment (iptables-nft-restore), or undefined. */
  iptables?: string;
  iptablesChains?: IptablesChains;
  packets: PacketSpec[];
}

type Rnd = () => number;

/** What a rule's matches so far say about the transport protocol: one named, or limited otherwise (`th`, a set, icmp). */
interface RuleCtx {
  l4?: "tcp" | "udp" | "other";
}

const PRIORITY_NAMES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };

/** Chain name stems, none an nft keyword. */
const STEMS = ["web", "svc", "lan", "wan", "mark", "sel", "ep", "tail", "chk", "misc"];

class Gen {
  private readonly tables: GenTable[] = [];
  readonly usedPorts = new Set<number>();
  readonly usedAddrs = new Set<string>();

  constructor(readonly rnd: Rnd) {}

  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rnd() * list.length)]!;
  }

  chance(p: number): boolean {
    return this.rnd() < p;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }

  port(): number {
    const p = this.pick(PORTS);
    this.usedPorts.add(p);
    return p;
  }

  host(): string {
    const a = this.pick([...SENDER_HOSTS, ...PEER_HOSTS, ...REMOTE, ...NODE_ADDRS]);
    this.usedAddrs.add(a);
    return a;
  }

  peerHost(): string {
    const a = this.pick(PEER_HOSTS);
    this.usedAddrs.add(a);
    return a;
  }

  generate(): GenTable[] {
    const n = this.int(1, 3);
    for (let i = 0; i < n; i++) this.tables.push(this.table(i));
    if (this.chance(0.25)) this.tables.push(this.ip6Table(n));
    return this.tables;
  }

  /**
   * An ip6 table whose chains drop everything they see: IPv4 packets never meet it, so an
   * evaluator that runs it for them is caught at once.
   */
  private ip6Table(i: number): GenTable {
    const hook = this.pick(["prerouting", "input", "forward", "output"] as const);
    const priority = this.int(-200, 200);
    const chain: GenChain = {
      name: `${hook.slice(0, 4)}_filter_v6`,
      base: { type: "filter", hook, priorityText: String(priority), priority, policy: "drop" },
      rules: [
        { text: "ip6 saddr fd00::/64 accept", targets: [], drops: false },
        { text: "meta l4proto { tcp, udp } counter drop", targets: [], drops: true },
      ],
    };
    return { family: "ip6", name: `t${i}`, sets: [], chains: [chain] };
  }

  private table(i: number): GenTable {
    const family: NftFamily = this.chance(0.5) ? "ip" : "inet";
    const t: GenTable = { family, name: `t${i}`, sets: [], chains: [] };
    t.sets = this.sets();
    const bases = this.int(1, 4);
    for (let b = 0; b < bases; b++) {
      const base = this.baseSpec();
      const name = `${base.hook.slice(0, 4)}_${base.type}_${b}`;
      // The regular chains this base chain owns, jumped to only from it or from its lower-indexed ones.
      const regular = Array.from({ length: this.int(0, 3) }, (_, k) => `${this.pick(STEMS)}_${b}_${k}`);
      const chain: GenChain = { name, base, rules: this.rules(t, base, regular, 0) };
      t.chains.push(chain);
      regular.forEach((r, k) => t.chains.push({ name: r, rules: this.rules(t, base, regular, k + 1) }));
    }
    return t;
  }

  private sets(): GenSet[] {
    const out: GenSet[] = [];
    if (this.chance(0.6)) {
      const els = [...new Set([this.host(), this.host(), this.host()])];
      out.push({ name: "addrs", map: false, lines: ["type ipv4_addr", `elements = { ${els.join(", ")} }`] });
    }
    if (this.chance(0.5)) {
      out.push({ name: "nets", map: false, lines: ["type ipv4_addr", "flags interval", `elements = { ${this.disjointPrefixes().join(", ")} }`] });
    }
    if (this.chance(0.5)) {
      const els = [...new Set([this.port(), this.port(), this.port()])];
      out.push({ name: "ports", map: false, lines: ["type inet_service", `elements = { ${els.join(", ")} }`] });
    }
    if (this.chance(0.5)) {
      const els = [...new Set([`${this.host()} . ${this.port()}`, `${this.host()} . ${this.port()}`])];
      out.push({ name: "svc", map: false, lines: ["type ipv4_addr . inet_service", `elements = { ${els.join(", ")} }`] });
    }
    if (this.chance(0.5)) {
      // A verdict map with a concatenated key; its verdicts are filled by the chain that uses it.
      out.push({ name: "vm", map: true, lines: ["type ipv4_addr . inet_service : verdict"] });
    }
    return out;
  }

  /** Two interval elements that do not overlap (nft refuses overlapping intervals). */
  private disjointPrefixes(): string[] {
    return this.pick([["10.0.2.0/29", "198.51.100.0/24"], ["10.0.1.0/24"], ["10.0.2.4/30", "10.0.1.2/31", "203.0.113.0/24"]]);
  }

  private baseSpec(): GenBase {
    const type: NftChainType = this.pick(["filter", "filter", "filter", "nat", "route"]);
    let hook: NftHook;
    if (type === "route") hook = "output";
    else if (type === "nat") hook = this.pick(["prerouting", "output", "postrouting", "input"]);
    else hook = this.pick(["prerouting", "input", "forward", "output", "postrouting"]);
    const names = Object.keys(PRIORITY_NAMES).filter((n) => (n !== "dstnat" || hook === "prerouting") && (n !== "srcnat" || hook === "postrouting") && (type !== "nat" || PRIORITY_NAMES[n]! > -200));
    let priorityText: string;
    let priority: number;
    const style = this.int(0, 2);
    if (style === 0) {
      priority = type === "nat" ? this.int(-199, 300) : this.int(-400, 400);
      priorityText = String(priority);
    } else {
      const name = this.pick(names);
      const offset = style === 1 ? 0 : this.int(1, 20) * (this.chance(0.5) ? 1 : -1);
      priority = PRIORITY_NAMES[name]! + offset;
      if (type === "nat" && priority <= -200) priority = PRIORITY_NAMES[name]!;
      const off = priority - PRIORITY_NAMES[name]!;
      priorityText = off === 0 ? name : `${name} ${off > 0 ? "+" : "-"} ${Math.abs(off)}`;
    }
    const policy = type === "filter" && this.chance(0.15) ? "drop" : "accept";
    return { type, hook, priorityText, priority, policy };
  }

  private rules(t: GenTable, base: GenBase, regular: string[], self: number): GenRule[] {
    const later = regular.slice(self); // chains of a higher index than this one (self is 1-based for regular ones)
    return Array.from({ length: this.int(1, 5) }, () => this.rule(t, base, later));
  }

  /** One rule: a few matches, maybe a statement, then a verdict the chain's hook and type allow. */
  private rule(t: GenTable, base: GenBase, later: string[]): GenRule {
    if (t.family === "inet" && this.chance(0.08)) {
      // An inet table's IPv6 rule, which no IPv4 packet meets. Alone: with an IPv4 match,
      // IPv4 NAT or an IPv4 map key in one rule nft refuses it ("conflicting protocols specified").
      // `reject with icmp ...` is IPv4's: a bare reject picks ICMPv6 here.
      const v = (this.verdict(base) ?? "counter").replace(/^reject .*/, "reject");
      return { text: `ip6 daddr ${this.pick(["fd00::1", "fd00::/64", "::/0"])} ${v}`, targets: [], drops: v === "drop" || v.startsWith("reject") };
    }
    const parts: string[] = [];
    const ctx: RuleCtx = {};
    const nMatches = this.pick([0, 1, 1, 2, 2, 3]);
    for (let i = 0; i < nMatches; i++) {
      const m = this.match(t, base, ctx);
      if (m) parts.push(m);
    }
    if (this.chance(0.3)) parts.push(this.statement());
    const targets: string[] = [];
    let drops = false;
    const verdictRoll = this.rnd();
    if (base.type === "nat" && verdictRoll < 0.6) {
      parts.push(this.nat(t, base, ctx, parts));
    } else if (verdictRoll < 0.72 && later.length) {
      const target = this.pick(later);
      targets.push(target);
      parts.push(`${this.chance(0.7) ? "jump" : "goto"} ${target}`);
    } else if (verdictRoll < 0.8) {
      const v = this.vmap(t, base, later, targets, ctx);
      parts.push(v.text);
      drops = v.drops;
    } else {
      const v = this.verdict(base);
      if (v) parts.push(v);
      drops = v === "drop" || v?.startsWith("reject") === true;
    }
    if (parts.length === 0) parts.push("counter");
    return { text: parts.join(" "), targets, drops };
  }

  /**
   * The transport protocol a port match of the rule names: the one named before, or a new one
   * when none was; undefined when the rule already limits the protocol otherwise (`meta l4proto
   * { tcp, udp } udp dport 53` is refused: "conflicting protocols specified").
   */
  private proto(ctx: RuleCtx): "tcp" | "udp" | undefined {
    if (ctx.l4 === "other") return undefined;
    const p = ctx.l4 ?? this.pick(["tcp", "udp"] as const);
    ctx.l4 = p;
    return p;
  }

  private match(t: GenTable, base: GenBase, ctx: RuleCtx): string | undefined {
    const set = (name: string) => t.sets.find((s) => s.name === name);
    const ported = (f: (p: "tcp" | "udp") => string) => {
      const p = this.proto(ctx);
      return p ? f(p) : undefined;
    };
    switch (this.int(0, 11)) {
      case 0:
        return `ip saddr ${this.chance(0.2) ? "!= " : ""}${this.chance(0.5) ? this.pick(PREFIXES) : this.host()}`;
      case 1:
        return `ip daddr ${this.chance(0.5) ? this.pick(PREFIXES) : this.host()}`;
      case 2:
        return ported((p) => `${p} ${this.chance(0.7) ? "dport" : "sport"} ${this.chance(0.3) ? `${this.port()}-${this.int(40000, 40100)}` : this.port()}`);
      case 3:
        if (ctx.l4) return undefined;
        ctx.l4 = "other";
        return `th dport ${this.chance(0.5) ? anonSet([this.port(), this.port()]) : this.port()}`;
      case 4: {
        if (ctx.l4) return undefined;
        const p = this.pick(["tcp", "udp", "icmp", "{ tcp, udp }"] as const);
        ctx.l4 = p === "tcp" || p === "udp" ? p : "other";
        return `meta l4proto ${p}`;
      }
      case 5:
        if (base.hook === "prerouting" || base.hook === "input" || base.hook === "forward") return `iifname ${this.pick(['"veth0"', '"veth1"', '"veth*"', '"lo"'])}`;
        return `oifname ${this.pick(['"veth0"', '"veth1"', '"veth*"', '"lo"'])}`;
      case 6: {
        const m = hex(this.pick(MARKS));
        return this.chance(0.5) ? `meta mark ${m}` : `meta mark & ${m} == ${m}`;
      }
      case 7:
        return this.chance(0.5) ? `ct mark ${hex(this.pick(MARKS))}` : `ct state ${this.pick(["new", "established,related", "{ new, untracked }", "invalid"])}`;
      case 8:
        if (set("addrs")) return `ip ${this.pick(["saddr", "daddr"])} ${this.chance(0.2) ? "!= " : ""}@addrs`;
        if (set("nets")) return "ip daddr @nets";
        return undefined;
      case 9:
        if (set("svc")) return ported((p) => `ip daddr . ${p} dport @svc`);
        if (set("ports")) return ported((p) => `${p} dport @ports`);
        return undefined;
      case 10:
        return `ip daddr ${anonSet([this.host(), this.host()])}`;
      default:
        return set("nets") ? "ip saddr @nets" : `ip saddr ${this.pick(PREFIXES)}`;
    }
  }

  private statement(): string {
    return this.pick([
      "counter",
      `log prefix "nf-${this.int(0, 99)} "`,
      `meta mark set ${hex(this.pick(MARKS))}`,
      `meta mark set mark or ${hex(this.pick(MARKS))}`,
      `ct mark set ${hex(this.pick(MARKS))}`,
      "ct mark set meta mark",
      "meta mark set ct mark",
    ]);
  }

  /** A plain verdict (or none, falling through) the hook allows. */
  private verdict(base: GenBase): string | undefined {
    const rejectOk = base.type === "filter" && base.hook !== "postrouting";
    const choices = ["accept", "drop", "", "counter", "return"];
    if (rejectOk) choices.push("reject", "reject with icmp host-unreachable");
    const v = this.pick(choices);
    // `return` in a base chain ends it with the policy, as the kernel does.
    return v === "" ? undefined : v;
  }

  private leafVerdict(base: GenBase, later: string[], targets: string[]): string {
    const choices = ["accept", "drop", "continue"];
    if (later.length) {
      const c = this.pick(later);
      choices.push(`jump ${c}`, `goto ${c}`);
    }
    const v = this.pick(choices);
    const m = /^(?:jump|goto) (\S+)$/.exec(v);
    if (m) targets.push(m[1]!);
    if (v === "continue" && base.type === "nat") return "accept";
    return v;
  }

  /** An anonymous or named verdict map, or numgen's choice among branches. */
  private vmap(t: GenTable, base: GenBase, later: string[], targets: string[], ctx: RuleCtx): { text: string; drops: boolean } {
    const p = this.proto(ctx);
    const kind = this.int(0, 3);
    let text: string;
    if (kind === 0) {
      const mod = this.int(2, 3);
      const ng = this.chance(0.6) ? "random" : "inc";
      const els = Array.from({ length: mod }, (_, i) => `${i} : ${this.leafVerdict(base, later, targets)}`);
      text = `numgen ${ng} mod ${mod} vmap { ${els.join(", ")} }`;
    } else if (kind === 1) {
      const keys = [...new Set([this.host(), this.host(), this.host()])];
      text = `ip daddr vmap { ${keys.map((k) => `${k} : ${this.leafVerdict(base, later, targets)}`).join(", ")} }`;
    } else if (kind === 2 && p) {
      const keys = [...new Set([`${this.host()} . ${this.port()}`, `${this.host()} . ${this.port()}`])];
      text = `ip daddr . ${p} dport vmap { ${keys.map((k) => `${k} : ${this.leafVerdict(base, later, targets)}`).join(", ")} }`;
    } else {
      const vm = t.sets.find((s) => s.name === "vm");
      if (!vm || !p || vm.lines.some((l) => l.startsWith("elements"))) {
        text = p ? `${p} dport vmap { ${this.port()} : ${this.leafVerdict(base, later, targets)} }` : `ip daddr vmap { ${this.host()} : ${this.leafVerdict(base, later, targets)} }`;
        return { text, drops: /: drop\b/.test(text) };
      }
      // The named map's elements: verdicts the first base chain that uses it can take. Its
      // jumps must be to chains that chain may reach, so the map is used by that chain only.
      const keys = [...new Set([`${this.host()} . ${this.port()}`, `${this.host()} . ${this.port()}`])];
      vm.lines.push(`elements = { ${keys.map((k) => `${k} : ${this.leafVerdict(base, later, targets)}`).join(", ")} }`);
      text = `ip daddr . ${p} dport vmap @vm`;
    }
    return { text, drops: /: drop\b/.test(text) || text.endsWith("@vm") };
  }

  /** A NAT statement the chain's hook allows, with a port only after a transport match. */
  private nat(t: GenTable, base: GenBase, ctx: RuleCtx, parts: string[]): string {
    const fam = t.family === "inet" ? " ip" : "";
    // A NAT port needs one transport protocol named before it.
    const l4 = ctx.l4 === "tcp" || ctx.l4 === "udp";
    const withPort = (addr: string) => (l4 && this.chance(0.5) ? `${addr}:${this.port()}` : addr);
    if (base.hook === "prerouting" || base.hook === "output") {
      const r = this.int(0, 2);
      if (r === 0 && l4) {
        return `redirect to :${this.port()}`;
      }
      if (r === 1) {
        const a = this.peerHost();
        const b = this.peerHost();
        return `dnat${fam} to numgen ${this.chance(0.5) ? "random" : "inc"} mod 2 map { 0 : ${a}, 1 : ${b} }`;
      }
      return `dnat${fam} to ${withPort(this.peerHost())}`;
    }
    // postrouting or input: source NAT.
    if (base.hook === "postrouting" && this.chance(0.5)) {
      if (!parts.some((p) => p.startsWith("oifname"))) parts.push(`oifname ${this.pick(['"veth1"', '"veth*"'])}`);
      return "masquerade";
    }
    return `snat${fam} to ${withPort(this.pick(NODE_ADDRS))}`;
  }
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** `{ a, b }` of distinct values, or the one value when they are the same. */
const anonSet = (values: Array<string | number>): string => {
  const u = [...new Set(values)];
  return u.length === 1 ? String(u[0]) : `{ ${u.join(", ")} }`;
};

/** The `nft -f` text of generated tables. */
export function nftText(tables: GenTable[]): string {
  const out: string[] = [];
  for (const t of tables) {
    out.push(`table ${t.family} ${t.name} {`);
    for (const s of t.sets) {
      out.push(`  ${s.map ? "map" : "set"} ${s.name} {`);
      for (const l of s.lines) out.push(`    ${l}`);
      out.push("  }");
    }
    for (const c of t.chains) {
      out.push(`  chain ${c.name} {`);
      if (c.base) out.push(`    type ${c.base.type} hook ${c.base.hook} priority ${c.base.priorityText}; policy ${c.base.policy};`);
      for (const r of c.rules) out.push(`    ${r.text}`);
      out.push("  }");
    }
    out.push("}");
  }
  return out.join("\n") + "\n";
}

/**
 * An iptables-save fragment (filter and sometimes nat), iptables-nft's tables interleaving
 * with the native ones at the fixed priorities (filter 0, nat -100/100).
 */
function iptablesFragment(g: Gen): { text: string; chains: IptablesChains } {
  const chains: IptablesChains = { filter: ["INPUT", "FORWARD", "OUTPUT", "NF-CHK"] };
  // -i is refused in OUTPUT ("Can't use -i with OUTPUT"): other chains than INPUT and FORWARD match -o.
  const cond = (chain: string) => g.pick([`-s ${g.pick(PREFIXES)}`, `-d ${g.host()}`, `-p tcp -m tcp --dport ${g.port()}`, `-p udp -m udp --dport ${g.port()}`, chain === "FORWARD" || chain === "INPUT" ? "-i veth0" : "-o veth1", "-m mark --mark 0x4/0x4", ""]);
  const lines = ["*filter", ":INPUT ACCEPT [0:0]", `:FORWARD ${g.pick(["ACCEPT", "DROP"])} [0:0]`, ":OUTPUT ACCEPT [0:0]", ":NF-CHK - [0:0]"];
  for (const chain of ["INPUT", "FORWARD", "OUTPUT"]) {
    for (let i = g.int(0, 3); i > 0; i--) lines.push(`-A ${chain} ${cond(chain)} -j ${g.pick(["ACCEPT", "DROP", "NF-CHK", "RETURN"])}`.replace(/ {2,}/g, " "));
  }
  for (let i = g.int(1, 2); i > 0; i--) lines.push(`-A NF-CHK ${cond("NF-CHK")} -j ${g.pick(["ACCEPT", "DROP", "RETURN", "MARK --set-xmark 0x10/0x10"])}`.replace(/ {2,}/g, " "));
  lines.push("COMMIT");
  if (g.chance(0.5)) {
    chains.nat = ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"];
    lines.push("*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]");
    lines.push(`-A PREROUTING -p tcp -m tcp --dport ${g.port()} -j DNAT --to-destination ${g.peerHost()}`);
    lines.push(`-A POSTROUTING -o veth1 -j MASQUERADE`);
    lines.push("COMMIT");
  }
  return { text: lines.join("\n") + "\n", chains };
}

/** Packets that meet the ruleset's constants: its addresses and ports, from each side and from the node. */
function packets(g: Gen, n: number): PacketSpec[] {
  const addrs = [...g.usedAddrs, ...PEER_HOSTS, ...REMOTE, ...NODE_ADDRS];
  const ports = [...g.usedPorts, 80, 40000];
  const out: PacketSpec[] = [];
  for (let i = 0; i < n; i++) {
    const from = g.pick(["veth0", "veth0", "veth1", "local"]);
    const proto = g.pick([6, 6, 17, 17, 1]);
    let dst = g.pick(addrs);
    let src: string | undefined;
    if (from === "veth0") src = g.pick(SENDER_HOSTS);
    else if (from === "veth1") src = g.pick([...PEER_HOSTS, ...REMOTE]);
    // A source of the node's own from outside is martian; a packet to itself goes nowhere.
    if (src === dst || (from !== "local" && (NODE_ADDRS as readonly string[]).includes(src!))) dst = "10.0.1.1";
    if (from === "local" && (NODE_ADDRS as readonly string[]).includes(dst)) dst = g.pick(PEER_HOSTS);
    const p: PacketSpec = { family: "ipv4", from, dst, proto, ...(src ? { src } : {}) };
    if (proto === 6 || proto === 17) {
      p.sport = g.chance(0.2) ? g.pick(ports) : 41000 + i;
      p.dport = g.pick(ports);
      if (proto === 6) p.tcpFlags = 2;
    } else {
      p.icmpType = 8;
      p.icmpCode = 0;
    }
    out.push(p);
  }
  return out;
}

export interface GenerateOptions {
  /** Packets per case. */
  packets?: number;
  /** Probability of an iptables-nft fragment beside the native tables. */
  iptables?: number;
}

/** The case of a seed: the same tables, fragment and packets every time. */
export function generateCase(seed: number, opts: GenerateOptions = {}): NftCase {
  const g = new Gen(prng(seed));
  const tables = g.generate();
  const ipt = g.chance(opts.iptables ?? 0.3) ? iptablesFragment(g) : undefined;
  return {
    seed,
    tables,
    ruleset: nftText(tables),
    ...(ipt ? { iptables: ipt.text, iptablesChains: ipt.chains } : {}),
    packets: packets(g, opts.packets ?? 12),
  };
}
