/**
 * What the packet path skips or plans once to go fast never changes an answer:
 * - a table stage is skipped where runsNothing says the node has no such chain: runTable there
 *   lets the branch through exactly as it came (no step, no assumption, no NAT applied);
 * - a hook's nat chains (nft's beside iptables' and iptables-legacy's nat tables) are planned
 *   once per node and hook, and the base-chain walker reuses its work lists and first cursor:
 *   a packet traced on a node that has traced others (at other hooks, through other nat
 *   chains) gets exactly what it gets on a fresh node, and two nodes sharing one nft ruleset
 *   beside different iptables rules never see each other's plans;
 * - a base chain's history is walked alone until it first forks (the work list set up only
 *   then), and an nft stage that one history passed as it came hands on the list it was given:
 *   the same outcomes as with every history on the work list from the start.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildNode } from "../../src/netfilter/model.js";
import { natPlan, planNat, type PathContext } from "../../src/netfilter/path.js";
import { compileRulesets } from "../../src/netfilter/compile.js";
import { runsNothing, runTable } from "../../src/netfilter/traverse.js";
import { walkShortcuts } from "../../src/netfilter/nft/run.js";
import { newBranchOf } from "../../src/netfilter/branch.js";
import { parseRules } from "../../src/parse.js";
import type { Hook, PacketState } from "../../src/model/evaluation.js";
import type { TableName } from "../../src/model/ast.js";
import type { NftChain, NftRule, NftStmt } from "../../src/model/nft.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { simpleNode } from "../support/simple-node.js";
import { accept, base, chain, ctState, drop, ip4, jump, mark, match, meta, nat, numgen, pl, port, rule, ruleset, setMark, table, vmap, vmapLit, k, ct } from "../support/nft-build.js";

const node = simpleNode({
  addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }, { dst: "10.244.0.0/24", dev: "cni0" }],
});

const HOOKS: Hook[] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];
const TABLES: TableName[] = ["raw", "mangle", "nat", "filter", "security"];
const BUILTIN: Record<TableName, Hook[]> = {
  raw: ["PREROUTING", "OUTPUT"],
  mangle: HOOKS,
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  security: ["INPUT", "FORWARD", "OUTPUT"],
};

/** One iptables table as iptables-save prints it: some of its built-in chains, a rule or none in each. */
const iptTable: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...TABLES), fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }))
  .map(([name, has, withRule]) => {
    const chains = BUILTIN[name].filter((_, i) => has[i]);
    const rules = chains.filter((_, i) => withRule[i]).map((c) => {
      if (name === "nat") return c === "PREROUTING" || c === "OUTPUT" ? `-A ${c} -p tcp --dport 80 -j DNAT --to-destination 10.244.0.7:8080` : `-A ${c} -p tcp -j MASQUERADE`;
      return name === "filter" ? `-A ${c} -p tcp --dport 22 -j DROP` : `-A ${c} -p tcp -j MARK --set-xmark 0x20/0xff`;
    });
    return `*${name}\n${chains.map((c) => `:${c} ACCEPT [0:0]`).join("\n")}\n${rules.join("\n")}\nCOMMIT\n`;
  });

/** An iptables-save dump (whole), or the same tables as a -S listing (a fragment: what it lacks is not shown). */
const iptDump: fc.Arbitrary<string> = fc.tuple(fc.uniqueArray(iptTable, { maxLength: 3, selector: (t) => t.split("\n")[0] }), fc.boolean()).map(([tables, whole]) => {
  if (whole || tables.length === 0) return tables.join("");
  // -S output of the first table only: its chains as -P lines, its rules as they are.
  const lines = tables[0]!.split("\n").filter((l) => l.startsWith(":") || l.startsWith("-A"));
  return lines.map((l) => (l.startsWith(":") ? `-P ${l.slice(1).split(" ")[0]} ACCEPT` : l)).join("\n") + "\n";
});

const ENDPOINTS = ["10.244.0.7", "10.244.0.8", "10.244.0.9"];

/** A statement of a nat or filter chain (nat statements only in nat chains, as the kernel loads them). */
function stmtArb(natChain: boolean): fc.Arbitrary<NftStmt[]> {
  const common: Array<fc.Arbitrary<NftStmt[]>> = [
    fc.constant<NftStmt[]>([match(pl("tcp", "dport"), port(80))]),
    fc.constant<NftStmt[]>([match(ct("state"), ctState("new"))]),
    fc.constant<NftStmt[]>([setMark(mark(0x4000))]),
    fc.constant<NftStmt[]>([match(meta("mark"), mark(0x4000))]),
    fc.constantFrom<NftStmt[]>([accept], [drop], [jump("sub")]),
  ];
  if (!natChain) return fc.oneof(...common);
  return fc.oneof(
    ...common,
    fc.constantFrom(...ENDPOINTS).map((a) => [nat("dnat", { addr: ip4(a), port: port(8080) })]),
    fc.constant<NftStmt[]>([nat("masquerade")]),
    fc.constant<NftStmt[]>([nat("snat", { addr: ip4("192.168.0.11") })]),
    // kube-proxy's endpoint choice: a numgen fork, each side its own DNAT.
    fc.constant<NftStmt[]>([vmap(numgen("random", 2), vmapLit([k("integer", 0), jump("ep0")], [k("integer", 1), jump("ep1")]))]),
  );
}

const ruleArb = (natChain: boolean): fc.Arbitrary<NftRule> => fc.array(stmtArb(natChain), { minLength: 1, maxLength: 3 }).map((parts) => rule(...parts.flat()));

/** nft base chains of either type at the hooks of a packet's path, at priorities that tie with iptables' tables and the NAT core's hook. */
const baseChainArb: fc.Arbitrary<NftChain> = fc
  .tuple(
    fc.constantFrom("nat", "filter"),
    fc.constantFrom("prerouting", "input", "forward", "output", "postrouting"),
    fc.constantFrom(-150, -110, -100, -90, 0, 50, 100, 110),
    fc.constantFrom<"accept" | "drop">("accept", "accept", "drop"),
    fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    fc.nat(),
  )
  .chain(([type, hook, priority, policy, _unused, id]) => {
    // nat chains: not in forward (nft refuses), never at or below conntrack's priority.
    const natOk = type === "nat" && hook !== "forward";
    const t = natOk ? "nat" : "filter";
    return fc.array(ruleArb(t === "nat"), { maxLength: 3 }).map((rules) => chain(`${t}-${hook}-${priority}-${id % 1000}`, rules, base(t, hook, priority, policy)));
  });

const nftRulesetArb = fc.uniqueArray(baseChainArb, { minLength: 1, maxLength: 5, selector: (c) => c.name }).map((bases) =>
  ruleset(table("ip", "t", [
    ...bases,
    chain("sub", [rule(setMark(mark(0x4000)))]),
    chain("ep0", [rule(nat("dnat", { addr: ip4(ENDPOINTS[0]!), port: port(8080) }))]),
    chain("ep1", [rule(nat("dnat", { addr: ip4(ENDPOINTS[1]!), port: port(8080) }))]),
  ])),
);

const packetArb: fc.Arbitrary<PacketSpec> = fc
  .record({
    from: fc.constantFrom("eth0", "cni0", "local"),
    dst: fc.constantFrom("192.168.0.11", "10.96.0.10", "10.244.0.7", "8.8.8.8"),
    dport: fc.constantFrom(22, 80, 443),
    state: fc.constantFrom(undefined, "new", "established"),
  })
  .map((r) => {
    const p: PacketSpec = { family: "ipv4", from: r.from, dst: r.dst, proto: 6, sport: 40000, dport: r.dport, tcpFlags: 2 };
    if (r.from !== "local") p.src = r.from === "cni0" ? "10.244.0.5" : "192.168.0.50";
    if (r.state) p.state = r.state as PacketSpec["state"];
    return p;
  });

const json = (x: unknown) => JSON.stringify(x);

function packetState(): PacketState {
  return {
    family: "ipv4", src: "192.168.0.50", dst: "10.96.0.10", proto: 6, sport: 40000, dport: 80, tcpFlags: 2,
    icmpType: undefined, icmpCode: undefined, length: undefined, ttl: undefined, tos: undefined, srcMac: undefined,
    fragment: false, inIface: "eth0", outIface: undefined, nexthop: undefined, mark: 0,
    ct: {
      state: "NEW", dir: "ORIGINAL", mark: 0, zone: 0, orig: { src: "192.168.0.50", dst: "10.96.0.10" }, reply: { src: "10.96.0.10", dst: "192.168.0.50" },
      dnat: undefined, snat: undefined, status: new Set(), statusUnknown: undefined, helper: undefined, ipvs: undefined,
    },
  } as PacketState;
}

describe("what the packet path skips or plans once changes no answer", () => {
  it("where runsNothing says so, runTable lets the branch through exactly as it came", () => {
    fc.assert(fc.property(iptDump, (text) => {
      const parsed = parseRules(text);
      const rules = compileRulesets(parsed.value ? [parsed.value] : [], "ipv4");
      for (const t of TABLES) {
        for (const hook of HOOKS) {
          if (!runsNothing(rules, t, hook)) continue;
          const br = newBranchOf(1, [], [], [], packetState());
          const before = json(br);
          const results = runTable(br, t, hook, { rules, node, ipsets: { test: () => false } as never, verbose: true, family: "ipv4" });
          expect(results).toHaveLength(1);
          expect(results[0]!.br).toBe(br);
          expect(results[0]!.verdict).toBe("ACCEPT");
          expect(Object.keys(results[0]!)).toEqual(["br", "verdict"]);
          expect(json(br)).toBe(before);
        }
      }
    }), { numRuns: 200 });
  });

  it("random nft nat and filter chains beside random iptables tables: each packet after the others traces as on a fresh node", () => {
    fc.assert(fc.property(nftRulesetArb, iptDump, iptDump, fc.array(packetArb, { minLength: 2, maxLength: 6 }), (nft, iptA, iptB, packets) => {
      const inputsOf = (text: string) => {
        const parsed = parseRules(text).value;
        return { rulesets: parsed ? [parsed] : [], nft: [nft] };
      };
      // Two nodes with one nft ruleset object and different iptables rules, traced in turns.
      const warm = [buildNode({ ...inputsOf(iptA), node }), buildNode({ ...inputsOf(iptB), node })];
      for (const [i, p] of packets.entries()) {
        for (const verbose of [false, true]) {
          const k = i % 2;
          const got = json(warm[k]!.evaluate(p, { verbose }).outcomes);
          const fresh = json(buildNode({ ...inputsOf(k === 0 ? iptA : iptB), node }).evaluate(p, { verbose }).outcomes);
          expect(got).toBe(fresh);
        }
      }
    }), { numRuns: 150 });
  });

  it("a base chain walked alone up to its first fork, and one history an nft stage accepted as it came, trace as on the work list from the start", () => {
    fc.assert(fc.property(nftRulesetArb, iptDump, fc.array(packetArb, { minLength: 1, maxLength: 4 }), fc.boolean(), (nft, ipt, packets, apart) => {
      const parsed = parseRules(ipt).value;
      const n = buildNode({ rulesets: parsed ? [parsed] : [], nft: [nft], node });
      for (const p of packets) {
        for (const verbose of [false, true]) {
          const quick = json(n.evaluate(p, { verbose, apart }).outcomes);
          walkShortcuts.on = false;
          try {
            expect(json(n.evaluate(p, { verbose, apart }).outcomes)).toBe(quick);
          } finally {
            walkShortcuts.on = true;
          }
        }
      }
    }), { numRuns: 200 });
  });

  it("a hook's nat plan, kept per node, is the plan worked out anew, on nodes traced in turns", () => {
    fc.assert(fc.property(fc.array(fc.tuple(nftRulesetArb, iptDump), { minLength: 2, maxLength: 4 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom(...HOOKS)), { minLength: 4, maxLength: 12 }), (inputs, asks) => {
      const contexts = inputs.map(([nft, ipt]): PathContext => {
        const parsed = parseRules(ipt).value;
        const n = buildNode({ rulesets: parsed ? [parsed] : [], nft: [nft], node });
        const compiled = n.nftRules("ipv4");
        return { rules: n.rules("ipv4"), ...(compiled ? { nft: compiled } : {}), node, ipsets: { test: () => false } as never, verbose: false, family: "ipv4" };
      });
      for (const [i, hook] of asks) {
        const ctx = contexts[i % contexts.length]!;
        expect(natPlan(ctx, hook)).toEqual(planNat(ctx, hook));
      }
    }), { numRuns: 150 });
  });
});
