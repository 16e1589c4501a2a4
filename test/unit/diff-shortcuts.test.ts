/**
 * diff's newer shortcuts keep its findings: chains compared by the lines the dump recorded
 * before binding either (chain-changes.ts sameChainRules), and packets traced on a helper
 * thread (cli/commands/diff-sides.ts). Each is checked against doing without it, on pairs
 * like the golden corpus's (test/golden/diff-corpus.test.ts).
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { factsFromTexts } from "../../src/facts/parse.js";
import { diffRulesets, type DiffResult } from "../../src/diff/compare.js";
import { sameChainRules } from "../../src/diff/chain-changes.js";
import type { Chain, Ruleset, Table } from "../../src/model/ast.js";
import { DIFF_NODE, kubeProxyPair } from "../../bench/diff.js";
import { cleanRules, readRepo, repoRoot } from "../support/diff-inputs.js";

const root = repoRoot;
const read = readRepo;

const rules = cleanRules;

function chainOf(rs: Ruleset, name: string): { table: Table; chain: Chain } {
  for (const table of rs.tables) for (const chain of table.chains) if (chain.name === name) return { table, chain };
  throw new Error(`no chain ${name}`);
}

/** Everything a diff found, as the CLI would print it (differences in order, with their kinds and summaries). */
const view = (r: DiffResult) => ({
  candidates: r.candidates, notCompared: r.notCompared, example: r.notComparedExample, problems: r.problems,
  differences: r.differences.map((d) => [d.packet, d.kind, d.oldSummary, d.newSummary]),
});

const FW = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:SVC - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -d 192.168.0.11/32 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -j SVC
-A SVC -p tcp -m multiport --dports 80,443 -j ACCEPT
COMMIT
`;

describe("chains compared by their dump lines", () => {
  it("the same lines are the same rules, found without binding either chain; counters of a -c dump aside", () => {
    const a = rules(FW);
    const b = rules(`# a line more above\n${FW.replaceAll("-A INPUT", "[7:420] -A INPUT")}`);
    const x = chainOf(a, "INPUT");
    const y = chainOf(b, "INPUT");
    expect(sameChainRules(x.table, x.chain, y.table, y.chain)).toBe(true);
    expect(x.chain.rules.loaded() || y.chain.rules.loaded()).toBe(false);
    // And what binding them says agrees.
    expect(sameChainRules(x.table, x.chain, y.table, y.chain, false)).toBe(true);
  });

  it("a line that differs is compared by its rules: the same rule written otherwise is the same", () => {
    const a = rules(FW);
    const b = rules(FW.replace("-A SVC -p tcp -m multiport --dports 80,443 -j ACCEPT", "-A SVC -p tcp -m multiport  --dports 80,443 -j ACCEPT"));
    const x = chainOf(a, "SVC");
    const y = chainOf(b, "SVC");
    expect(sameChainRules(x.table, x.chain, y.table, y.chain)).toBe(true);
    const c = chainOf(rules(FW.replace("--dports 80,443", "--dports 80,8443")), "SVC");
    expect(sameChainRules(x.table, x.chain, c.table, c.chain)).toBe(false);
  });

  it("the same line jumping to a chain in one dump and naming a target in the other is not the same rule", () => {
    // LED is a target iptables knows and netfate does not: `-j LED` is a jump only where LED is a chain.
    const text = (withChain: boolean) => `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:FOO - [0:0]\n${withChain ? ":LED - [0:0]\n" : ""}-A FOO -j LED\nCOMMIT\n`;
    const x = chainOf(rules(text(false)), "FOO");
    const y = chainOf(rules(text(true)), "FOO");
    expect(y.chain.rules.load()[0]!.target?.kind).toBe("chain");
    expect(x.chain.rules.load()[0]!.target?.kind).not.toBe("chain");
    const x2 = chainOf(rules(text(false)), "FOO");
    const y2 = chainOf(rules(text(true)), "FOO");
    expect(sameChainRules(x2.table, x2.chain, y2.table, y2.chain)).toBe(false);
  });
});

describe("diff finds the same with chains compared by their lines and by their rules", () => {
  const nodeFacts = factsFromTexts([{ file: "node.json", text: DIFF_NODE }]).facts;
  /** Each run parses the texts again: a run binds the chains it reads. */
  const same = (a: string, b: string, o: Parameters<typeof diffRulesets>[2], bothWays = true) => {
    const fast = diffRulesets([rules(a)], [rules(b)], o);
    expect(view(fast)).toEqual(view(diffRulesets([rules(a)], [rules(b)], { ...o, bindAll: true })));
    if (bothWays) expect(view(diffRulesets([rules(b)], [rules(a)], o))).toEqual(view(diffRulesets([rules(b)], [rules(a)], { ...o, bindAll: true })));
    return fast;
  };

  it("generated kube-proxy pairs (services added, removed, moved, reordered), also as -c dumps", () => {
    for (const services of [50, 300]) {
      const pair = kubeProxyPair(services);
      const r = same(pair.old, pair.new, { facts: nodeFacts, random: 300 });
      expect(r.differences.length).toBeGreaterThan(0);
      const counted = (t: string) => t.replaceAll("\n-A ", "\n[3:180] -A ");
      same(counted(pair.old), pair.new, { facts: nodeFacts, max: 3000, random: 200 }, false);
    }
  });

  it("the samples' pairs", () => {
    const kp = (f: string) => read(`samples/kube-proxy-basic/${f}`);
    const kpFacts = factsFromTexts([{ file: "node.json", text: read("samples/kube-proxy-basic/node.json") }]).facts;
    same(kp("rules.save"), kp("rules-after-upgrade.save"), { facts: kpFacts, random: 200 });
    const np = (f: string) => read(`samples/004-kube-proxy-nodeport/${f}`);
    const npFacts = factsFromTexts([{ file: "node.json", text: read("samples/004-kube-proxy-nodeport/node.json") }]).facts;
    same(np("rules.save"), np("rules-guarded.save"), { facts: npFacts, random: 200 });
    const fw = read("samples/host-firewall/rules.save");
    const fwFacts = factsFromTexts([{ file: "node.json", text: read("samples/host-firewall/node.json") }]).facts;
    same(fw, fw.replace("--dports 80,443", "--dports 80,8443").replace("-s 10.0.0.0/8 ", "-s 10.1.0.0/16 "), { facts: fwFacts, random: 200 });
  });

  it("a dump whose new side makes a target name a chain", () => {
    const text = (withChain: boolean) => `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${withChain ? ":LED - [0:0]\n-A LED -j DROP\n" : ""}-A INPUT -p tcp -m tcp --dport 22 -j LED\nCOMMIT\n`;
    const r = same(text(false), text(true), { facts: nodeFacts, random: 100 });
    // Under the old dump the packets to port 22 meet a target netfate does not know: not compared.
    expect(r.notCompared).toBeGreaterThan(0);
  });
});

describe("diff traces on a helper thread and finds the same", () => {
  const cli = resolve(root, "dist/src/cli/main.js");
  const helper = resolve(root, "dist/src/cli/commands/diff-helper.js");

  it("the built CLI with --threads 2 and --threads 1: the same output", async () => {
    // `npm test` builds first: without the helper's file, --threads 2 would quietly run on one thread.
    expect(existsSync(helper), `${helper}: run npm run build`).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "netfate-diff-threads-"));
    try {
      const pair = kubeProxyPair(2000);
      writeFileSync(join(dir, "old.save"), pair.old);
      writeFileSync(join(dir, "new.save"), pair.new);
      writeFileSync(join(dir, "node.json"), DIFF_NODE);
      const run = (threads: string) => spawnSync(process.execPath, [cli, "diff", "--json", "--limit", "0", "--threads", threads, "old.save", "new.save", "--node", "node.json"], { cwd: dir, encoding: "utf8", maxBuffer: 1 << 28 });
      const one = run("1");
      const two = run("2");
      expect(one.status).toBe(1);
      expect(two.status).toBe(one.status);
      expect(two.stderr).toBe(one.stderr);
      expect(two.stdout).toBe(one.stdout);
      expect(JSON.parse(two.stdout).total).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it.skipIf(!existsSync(helper))("the helper's looks are those of this thread, whichever chunks it took", async () => {
    const sidesModule = (await import(resolve(root, "dist/src/cli/commands/diff-sides.js"))) as typeof import("../../src/cli/commands/diff-sides.js");
    const compare = (await import(resolve(root, "dist/src/diff/compare.js"))) as typeof import("../../src/diff/compare.js");
    const pair = kubeProxyPair(600);
    const texts = (rulesText: string) => ({ rules: [{ file: "x.save", text: rulesText }], ipsets: [], node: [{ file: "node.json", text: DIFF_NODE }], shortcuts: { ifaces: [], localAddrs: [], routes: [] } });
    const t: [ReturnType<typeof texts>, ReturnType<typeof texts>] = [texts(pair.old), texts(pair.new)];
    const h = sidesModule.OldSideHelper.start(t);
    expect(h).toBeDefined();
    const [a, b] = sidesModule.loadSides(t);
    const sides = new compare.DiffSides(a, b);
    const packets = sides.candidates().slice(0, 3000);
    // Nothing claimed here: the helper takes every chunk.
    const theirs = await h!.looks(packets, new Int32Array(new SharedArrayBuffer(4)));
    const mine = sidesModule.lookAtChunks(packets, new Int32Array(new SharedArrayBuffer(4)), (p) => sidesModule.plainLook(sides, p));
    expect(theirs.size).toBe(mine.size);
    expect([...theirs]).toEqual([...mine]);
    expect(packets.some((_, i) => sidesModule.chunkLook(theirs, i)?.same === false)).toBe(true);
  }, 300_000);
});
