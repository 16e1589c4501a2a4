/**
 * The kernel is the judge, for nftables: seeded random rulesets (nft-generate.ts: tables of
 * ip and inet, base chains of every type at named and numbered priorities, jumps and gotos,
 * sets, maps, verdict maps, concatenations, numgen, NAT, marks, ct state, some with an
 * iptables-nft fragment beside them) are loaded into a node namespace, each packet is sent and
 * traced by the kernel (`nft monitor trace`, conntrack for the rewrites), and netfate, reading
 * the kernel's own `nft -a list ruleset` (the iptables fragment from its iptables-save text, as
 * on a node), must give the same fate, the same path of rules and policies that gave a verdict,
 * and the same DNAT and SNAT. Where netfate gives several outcomes (a numgen's branches) the one
 * the kernel took must agree.
 *
 * NETFATE_NFT_CASES and NETFATE_NFT_SEED explore further without changing what CI runs. The cases
 * are seeds SEED, SEED+1, ...: a seed less than CASES away from CI's (20261205) mostly repeats its cases.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelSkipReason, viewOfTopology } from "./harness.js";
import { generateCase, NFT_NODE } from "./nft-generate.js";
import { compareWithNetfate, HARNESS_TABLES, NftKernelNode, type Listing, type NetfateNftOutcome, type NftPathStep } from "./nft-harness.js";
import { parseNftText } from "../../src/nft/text/index.js";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import type { NftRuleset } from "../../src/model/nft.js";
import type { Outcome, Step } from "../../src/model/evaluation.js";
import type { PacketSpec } from "../../src/model/packet.js";

const why = kernelSkipReason();
const SEED = Number(process.env.NETFATE_NFT_SEED ?? 20261205);
const CASES = Number(process.env.NETFATE_NFT_CASES ?? 100);

/** The node's rules as netfate reads them: the kernel's listing, without the harness's tables and iptables-nft's (read from the fragment). */
function netfateNode(listing: Listing, iptables: string | undefined, iptablesTables: readonly string[]) {
  const r = parseNftText(listing.text, "nft -a list ruleset");
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(`netfate cannot read the kernel's listing: ${errors.map((d) => `${d.line}:${d.col} ${d.message}`).join("; ")}`);
  const nft: NftRuleset = { ...r.ruleset, tables: r.ruleset.tables.filter((t) => !HARNESS_TABLES.has(t.name) && !(t.family === "ip" && iptablesTables.includes(t.name))) };
  const rulesets = iptables ? [parseRules(iptables).value] : [];
  return buildNode({ rulesets, nft: [nft], node: viewOfTopology(NFT_NODE) });
}

/** The handles of an iptables-nft chain's rules, in order: netfate names its rules by number. */
function handleOf(listing: Listing, table: string, chain: string, rule: number): number | undefined {
  const handles = [...(listing.rules.get(`ip ${table}`)?.entries() ?? [])].filter(([, r]) => r.chain === chain).map(([h]) => h);
  return handles[rule - 1];
}

/**
 * A step the kernel's trace shows: every rule that ran to its end (nft_do_chain traces a rule
 * whose expressions all passed, with its verdict or `continue`: a counter or a mark set too; a
 * rule stopped by a failed test or a verdict map without the key is not traced) and every policy.
 */
function traced(s: Step): boolean {
  return s.matched;
}

function pathStep(s: Step, listing: Listing): NftPathStep {
  if (s.nft) return { family: s.nft.family, table: s.nft.table, chain: s.chain, ...(s.nft.handle !== undefined ? { handle: s.nft.handle } : {}) };
  const handle = s.rule === "policy" ? undefined : handleOf(listing, s.table, s.chain, s.rule);
  return { family: "ip", table: s.table, chain: s.chain, ...(handle !== undefined ? { handle } : {}) };
}

function outcomeOf(o: Outcome, p: PacketSpec, listing: Listing): NetfateNftOutcome {
  const f = o.fate;
  let fate: NetfateNftOutcome["fate"];
  if (f.kind === "delivered") fate = { kind: "delivered" };
  else if (f.kind === "forwarded" || f.kind === "sent") fate = { kind: f.kind, iface: f.iface };
  else if (f.kind === "dropped" || f.kind === "rejected") {
    const handle = f.nft?.handle ?? (f.table !== "nft" && f.table !== "ipvs" && typeof f.rule === "number" ? handleOf(listing, f.table, f.chain, f.rule) : undefined);
    fate = { kind: f.kind, family: f.nft?.family ?? "ip", table: f.nft?.table ?? f.table, chain: f.chain, ...(handle !== undefined ? { handle } : {}) };
  } else if (f.kind === "martian" || f.kind === "unroutable") fate = { kind: "refused-by-routing" };
  else fate = { kind: f.kind, reason: "reason" in f ? f.reason : "" };
  const out: NetfateNftOutcome = { fate, path: o.steps.filter(traced).map((s) => pathStep(s, listing)) };
  const fin = o.final;
  if (fin.dst !== p.dst || fin.dport !== p.dport) out.dnat = { addr: fin.dst, ...(fin.dport !== undefined ? { port: fin.dport } : {}) };
  // A locally generated packet's source is routing's choice: conntrack's original tuple holds it as it was before SNAT.
  const src = p.src ?? o.conntrack?.orig.src;
  const sport = p.sport ?? o.conntrack?.orig.sport;
  if (src !== undefined && (fin.src !== src || fin.sport !== sport)) out.snat = { addr: fin.src, ...(fin.sport !== undefined ? { port: fin.sport } : {}) };
  return out;
}

describe.skipIf(why !== undefined)(`nftables: netfate against the kernel${why ? ` (skipped: ${why})` : ""}`, () => {
  let node: NftKernelNode;
  beforeAll(() => {
    node = new NftKernelNode();
  });
  afterAll(() => node?.close());

  it(`agrees with the kernel on every packet of ${CASES} generated cases`, async () => {
    const disagreements: string[] = [];
    const tally = { packets: 0, agree: 0, numgen: 0, nat: 0, iptables: 0, fates: {} as Record<string, number> };
    for (let i = 0; i < CASES; i++) {
      const c = generateCase(SEED + i);
      const listing = node.load(c);
      if (c.iptables) tally.iptables++;
      const nf = netfateNode(listing, c.iptables, Object.keys(c.iptablesChains ?? {}));
      const results = await node.trace(c.packets);
      results.forEach((k, j) => {
        const p = c.packets[j]!;
        if (!k) {
          disagreements.push(`seed ${c.seed} packet ${j}: the kernel's trace was lost`);
          return;
        }
        if (k.fate.kind === "send-failed") return;
        tally.packets++;
        tally.fates[k.fate.kind] = (tally.fates[k.fate.kind] ?? 0) + 1;
        if (k.numgen.length) tally.numgen++;
        if (k.dnat || k.snat) tally.nat++;
        // Histories apart: one run of the kernel takes one branch of each numgen.
        const outcomes = nf.evaluate(p, { apart: true }).outcomes.map((o) => outcomeOf(o, p, listing));
        const words = compareWithNetfate({ case: c, packet: p, kernel: k }, outcomes);
        if (words.length === 0) tally.agree++;
        else disagreements.push(`seed ${c.seed} packet ${j} (${JSON.stringify(p)}): ${words.join("; ")}`);
      });
    }
    console.log(`nft differential: ${CASES} cases (${tally.iptables} with iptables-nft), ${tally.agree}/${tally.packets} packets agree; ${tally.numgen} through numgen, ${tally.nat} rewritten; kernel fates ${JSON.stringify(tally.fates)}`);
    expect(disagreements.slice(0, 20)).toEqual([]);
    expect(tally.packets).toBeGreaterThan(CASES * 8);
  }, 600_000);
});
