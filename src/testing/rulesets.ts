/**
 * fast-check generators of small valid filter rulesets: addresses, interfaces, protocols,
 * tcp ports, marks, comments with awkward quoting, statistic branches, jumps and gotos
 * between user chains (never looping). netfate's own round-trip, evaluator and kernel
 * differential tests use them; users can test their tooling around rulesets with them.
 */
import fc from "fast-check";
import type { Chain, MatchNode, Rule, Ruleset, Table, TargetNode } from "../model/ast.js";
import { BUILTIN_CHAINS } from "../model/ast.js";
import { boundRules } from "../model/chain-rules.js";
import { IPTABLES_TARGET_NAMES } from "../extensions/registry.js";

const S = { line: 0, col: 0, len: 0 };

export const ipv4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
  .map((b) => b.join("."));

/** A network with host bits cleared, as the parser stores it. */
export const net4 = fc.tuple(ipv4, fc.integer({ min: 1, max: 32 })).map(([ip, p]) => {
  const n = ip.split(".").reduce((a, b) => a * 256 + Number(b), 0);
  const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  const m = (n & mask) >>> 0;
  return { address: [m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join("."), prefixLength: p, mask: null };
});

const ifname = fc.stringMatching(/^[a-z][a-z0-9]{0,6}\+?$/);
// Never a target's name: `-j CT` is the CT target, not a jump to a chain called CT (iptables
// refuses such a chain too), so a round trip through the text would change the rule.
const chainName = fc.stringMatching(/^[A-Z][A-Z0-9-]{0,12}$/).filter((n) => !["ACCEPT", "DROP", "RETURN", "QUEUE"].includes(n) && !Object.values(BUILTIN_CHAINS).flat().includes(n) && !IPTABLES_TARGET_NAMES.has(n));
const text = fc.string({ unit: fc.constantFrom("a", "b", " ", '"', "'", "\\", "é", "-", "/", ":", "x", "\t"), maxLength: 20 });

/** A network as the parser stores it. */
export interface Net4 {
  address: string;
  prefixLength: number;
  mask: null;
}

/**
 * Where a rule's constants come from. ANY_CONSTANTS draws from everything, so almost no
 * packet meets a rule; a node's own addresses, interface names and a few marks (see the
 * kernel differential) make rules that packets meet, marks that later rules test.
 */
export interface RuleConstants {
  net: fc.Arbitrary<Net4>;
  iface: fc.Arbitrary<string>;
  port: fc.Arbitrary<number>;
  /** Values of `-m mark --mark` and `-j MARK --set-xmark`. */
  mark: fc.Arbitrary<number>;
  /** Masks of `-j MARK --set-xmark`. */
  markMask: fc.Arbitrary<number>;
  /** A condition a rule may have (`-s`, `-i`, `-p`, `-f`…): how often it is left out. */
  maybe: <T>(a: fc.Arbitrary<T>) => fc.Arbitrary<T | undefined>;
  /** A drawn `-m tcp` brings its `-p tcp` along (otherwise it is kept only where the rule says `-p tcp`). */
  tcpBringsProtocol?: boolean;
}

export const ANY_CONSTANTS: RuleConstants = {
  net: net4,
  iface: ifname,
  port: fc.integer({ min: 0, max: 65535 }),
  mark: fc.nat({ max: 0xffffffff }),
  markMask: fc.nat({ max: 0xffffffff }),
  maybe: (a) => fc.option(a, { nil: undefined }),
};

const portRange = (c: RuleConstants) => fc.tuple(c.port, c.port, fc.boolean())
  .map(([a, b, negated]) => ({ lo: Math.min(a, b), hi: Math.max(a, b), negated }));

const matchArb = (c: RuleConstants): fc.Arbitrary<MatchNode> => fc.oneof(
  text.map((comment) => ({ kind: "match", name: "comment", data: { comment }, span: S }) as MatchNode),
  fc.tuple(fc.boolean(), c.mark, fc.constantFrom(0xffffffff, 0x4000, 0xff00)).map(([negated, v, mask]) => ({
    kind: "match", name: "mark", data: { negated, value: v, mask }, span: S,
  }) as MatchNode),
  fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 0x80000000 })).map(([negated, probabilityBits]) => ({
    kind: "match", name: "statistic", data: { mode: "random", negated, probabilityBits }, span: S,
  }) as MatchNode),
);

const tcpMatch = (c: RuleConstants) => fc.record({ sport: c.maybe(portRange(c)), dport: c.maybe(portRange(c)) }).map((d) => {
  const data: Record<string, unknown> = {};
  if (d.sport) data.sport = d.sport;
  if (d.dport) data.dport = d.dport;
  return { kind: "match", name: "tcp", data, span: S } as MatchNode;
});

function targetArb(chains: string[], c: RuleConstants): fc.Arbitrary<{ target: TargetNode | null; goto: boolean }> {
  const opts: fc.Arbitrary<{ target: TargetNode | null; goto: boolean }>[] = [
    fc.constantFrom("ACCEPT", "DROP", "RETURN").map((v) => ({ target: { kind: "standard", verdict: v, span: S } as TargetNode, goto: false })),
    fc.constant({ target: null, goto: false }),
    fc.tuple(c.mark, c.markMask).map(([value, mask]) => ({ target: { kind: "target", name: "MARK", data: { value, mask }, span: S } as TargetNode, goto: false })),
  ];
  if (chains.length) {
    opts.push(fc.tuple(fc.constantFrom(...chains), fc.boolean()).map(([chain, goto]) => ({ target: { kind: "chain", chain, span: S } as TargetNode, goto })));
  }
  return fc.oneof(...opts);
}

export function ruleArb(chains: string[], c: RuleConstants = ANY_CONSTANTS): fc.Arbitrary<Rule> {
  return fc.record({
    src: c.maybe(fc.tuple(fc.boolean(), c.net)),
    dst: c.maybe(fc.tuple(fc.boolean(), c.net)),
    inIf: c.maybe(fc.tuple(fc.boolean(), c.iface)),
    outIf: c.maybe(fc.tuple(fc.boolean(), c.iface)),
    proto: c.maybe(fc.tuple(fc.boolean(), fc.constantFrom([6, "tcp"], [17, "udp"], [1, "icmp"], [47, "gre"]))),
    frag: c.maybe(fc.boolean()),
    matches: fc.array(matchArb(c), { maxLength: 3 }),
    tcp: c.maybe(tcpMatch(c)),
    target: targetArb(chains, c),
  }).map((r) => {
    const rule: Rule = { span: S, matches: [...r.matches], target: r.target.target, goto: r.target.goto };
    if (r.src) rule.source = { negated: r.src[0], ...r.src[1] };
    if (r.dst) rule.destination = { negated: r.dst[0], ...r.dst[1] };
    if (r.inIf) rule.inInterface = { negated: r.inIf[0], name: r.inIf[1] };
    if (r.outIf) rule.outInterface = { negated: r.outIf[0], name: r.outIf[1] };
    if (r.proto) rule.protocol = { negated: r.proto[0], number: r.proto[1][0] as number, name: r.proto[1][1] as string };
    if (r.frag !== undefined) rule.fragment = { negated: r.frag };
    // The tcp match needs -p tcp before it, as iptables requires.
    if (r.tcp && c.tcpBringsProtocol) rule.protocol = { negated: false, number: 6, name: "tcp" };
    if (r.tcp && rule.protocol?.number === 6 && !rule.protocol.negated) rule.matches.push(r.tcp);
    return rule;
  });
}

/** A filter table with a few user chains; jumps only go to chains later in the list, so there are no loops. */
export const filterRuleset: fc.Arbitrary<Ruleset> = filterRulesetOf(ANY_CONSTANTS);

/** filterRuleset with its rules' constants drawn from `c`. */
export function filterRulesetOf(c: RuleConstants): fc.Arbitrary<Ruleset> {
  return fc.uniqueArray(chainName, { maxLength: 4 }).chain((users) =>
    fc.tuple(
      fc.array(fc.tuple(fc.constantFrom("ACCEPT", "DROP"), fc.array(ruleArb(users, c), { maxLength: 5 })), { minLength: 3, maxLength: 3 }),
      fc.tuple(...users.map((_, i) => fc.array(ruleArb(users.slice(i + 1), c), { maxLength: 4 }))),
    ).map(([builtins, userRules]) => {
      const chains: Chain[] = BUILTIN_CHAINS.filter.map((name, i) => ({
        name, builtin: true, policy: builtins[i]![0] as "ACCEPT", declared: true, span: S, counters: { packets: 0n, bytes: 0n, exact: true },
        // iptables refuses -o in INPUT and -i in OUTPUT.
        rules: boundRules(builtins[i]![1].map((r) => {
          const x = { ...r };
          if (name === "INPUT") delete x.outInterface;
          if (name === "OUTPUT") delete x.inInterface;
          return x;
        })),
      }));
      users.forEach((name, i) => chains.push({ name, builtin: false, policy: null, declared: true, rules: boundRules(userRules[i] ?? []), span: S, counters: { packets: 0n, bytes: 0n, exact: true } }));
      const t: Table = { name: "filter", chains, nameSource: "input", committed: true, span: S };
      return { family: "ipv4", format: "save", flavour: "unknown", preamble: [], tables: [t] } as Ruleset;
    }),
  );
}
