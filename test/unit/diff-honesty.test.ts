/**
 * `diff` says what it could not compare, never adds probabilities across assumption sets, and
 * reads each input once.
 */
import { describe, expect, it, vi } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { main } from "../../src/cli/app.js";
import type { CommandIO } from "../../src/cli/io.js";
import { parseRules } from "../../src/parse.js";
import { diffRulesets, summarise } from "../../src/diff/compare.js";
import { emptyFacts } from "../../src/facts/model.js";
import { hasShared, sharedNotice, sharedPath, needsShared } from "../support/shared.js";

// Every file the CLI opens, counted (the real functions do the work).
const opened: string[] = [];
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  return {
    ...real,
    openSync: (...a: Parameters<typeof real.openSync>) => {
      opened.push(String(a[0]));
      return real.openSync(...a);
    },
    readFileSync: (...a: Parameters<typeof real.readFileSync>) => {
      if (typeof a[0] === "string") opened.push(a[0]);
      return real.readFileSync(...a);
    },
  };
});

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "netfate-diff-honesty-"));

async function run(argv: string[]) {
  const o: string[] = [];
  const e: string[] = [];
  const io: CommandIO = { out: (s) => void o.push(s), err: (s) => void e.push(s), readStdin: () => "", isTTY: false };
  const code = await main(argv, io);
  return { code, out: o.join(""), err: e.join("") };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const filter = (...rules: string[]) => `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${rules.map((r) => r + "\n").join("")}COMMIT\n`;
const node = ["--iface", "eth0=10.0.0.1/24", "--iface", "eth1=10.0.1.1/24", "--route", "default via 10.0.1.254 dev eth1"];

describe("diff says when it could not compare", () => {
  it("two different dumps without node facts: every packet is indeterminate, so nothing is compared: exit 3, said even with -q", async () => {
    const a = file("nofacts-a.save", filter("-A INPUT -p tcp -m tcp --dport 22 -j DROP"));
    const b = file("nofacts-b.save", filter("-A INPUT -p tcp -m tcp --dport 23 -j DROP", "-A FORWARD -j DROP"));
    const r = await run(["diff", "-q", "--random", "50", a, b]);
    expect(r.code).toBe(3);
    expect(r.out).not.toContain("No differences");
    expect(r.out).toMatch(/^(\d+) of \1 packets tried could not be compared: their fate is unknown under one dump or both \(e\.g\. .* under old: indeterminate: .*no node facts given.*\)\.\nNothing was compared; node facts \(--node, --bundle or --iface\) may let more be compared\.\n$/);
    const j = JSON.parse((await run(["diff", "-q", "--json", "--random", "50", a, b])).out);
    expect(j.version).toBe(1);
    expect(j.notCompared).toBe(j.candidates);
    expect(j.notComparedExample).toMatchObject({ side: "old", reason: expect.stringContaining("indeterminate") });
    expect(j.total).toBe(0);
  });

  it.skipIf(!hasShared)(`the corpus's topos1 and topos4.1 dumps are not "No differences" (${hasShared ? "" : sharedNotice("corpus")})`, async () => {
    const a = sharedPath("corpus/repo-fixture/diekmann-containern-topos1.save.txt");
    const b = sharedPath("corpus/repo-fixture/diekmann-containern-topos4.1-established.save.txt");
    const r = await run(["diff", "-q", a, b]);
    expect(r.code).toBe(3);
    expect(r.out).toContain("could not be compared");
  });

  it("with the node facts the same dumps compare, and a difference among the compared packets is exit 1", async () => {
    const a = file("facts-a.save", filter("-A FORWARD -p tcp -m tcp --dport 22 -j DROP"));
    const b = file("facts-b.save", filter("-A FORWARD -p tcp -m tcp --dport 23 -j DROP"));
    const r = await run(["diff", "-q", "--json", ...node, a, b]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.total).toBeGreaterThan(0);
    expect(typeof j.notCompared).toBe("number");
    const same = await run(["diff", "-q", ...node, a, a]);
    expect(same.code).toBe(0);
    expect(same.out).toMatch(/^No differences: \d+ packets tried, each ends the same under both dumps\.\n$/);
  });

  it("documents its exit codes", async () => {
    const h = await run(["diff", "--help"]);
    expect(h.out).toMatch(/Exit status:\n +0 +every packet tried ends the same.*\n +1 +some packet's fate differs\n +2 +bad input or usage\n +3 +no compared packet differs, but some could not be compared/);
  });

  it("the library: a side given with its own (absent) node is not asked of the candidates' facts as if they were the node", () => {
    const rs = parseRules(filter("-A FORWARD -j DROP")).value;
    const r = diffRulesets({ rulesets: [rs] }, { rulesets: [rs] }, { random: 20, facts: emptyFacts() });
    expect(r.candidates).toBeGreaterThan(0);
    expect(r.notCompared).toBe(r.candidates);
    // Bare dumps take the node from the options, as before: a node whose routes are all given
    // (an unreachable default of each family), so that every lookup ends and every packet is compared.
    const closed = emptyFacts();
    for (const family of ["ipv4", "ipv6"] as const) {
      closed.routes.push({ family, table: "main", type: "unreachable", dst: family === "ipv4" ? "0.0.0.0" : "::", prefixLength: 0 });
    }
    expect(diffRulesets([rs], [rs], { random: 20, facts: closed }).notCompared).toBe(0);
    // With no routes given, where a packet goes is not known: none of it is compared.
    expect(diffRulesets([rs], [rs], { random: 20, facts: emptyFacts() }).notCompared).toBeGreaterThan(0);
  });
});

describe("probabilities are chances only within one assumption set", () => {
  // A physdev match the node facts cannot decide: two alternatives, each with probability 1.
  const physdev = "-A FORWARD -p tcp -m tcp --dport 80 -m physdev --physdev-is-bridged -j DROP";
  const old = file("physdev-old.save", filter(physdev));
  const neu = file("physdev-new.save", filter(physdev, "-A FORWARD -p tcp -m tcp --dport 80 -j DROP"));

  it("equal outcomes of different assumption sets are not added (no p=2), and each set is shown with its outcomes", async () => {
    const j = JSON.parse((await run(["diff", "-q", "--json", "--limit", "0", ...node, old, neu])).out);
    expect(j.total).toBeGreaterThan(0);
    for (const d of j.differences) {
      for (const side of [d.old.summary, d.new.summary]) {
        const bySet = new Map<string, number>();
        for (const s of side) bySet.set(JSON.stringify(s.assumptions), (bySet.get(JSON.stringify(s.assumptions)) ?? 0) + s.probability);
        for (const total of bySet.values()) expect(total).toBeCloseTo(1, 9);
      }
    }
    const t = await run(["diff", "-q", "--limit", "1", "--stacked", ...node, old, neu]);
    expect(t.code).toBe(1);
    expect(t.out).not.toMatch(/p=[2-9]/);
    expect(t.out).toMatch(/ old: if -m physdev --physdev-is-bridged: assumed not to match .*:\n +forwarded out eth1/);
    expect(t.out).toMatch(/ old: if -m physdev --physdev-is-bridged: assumed to match .*:\n +dropped in filter FORWARD/);
  });

  it("summarise merges equal outcomes only within an assumption set", () => {
    const e = {
      packet: { family: "ipv4" as const, from: "eth0", src: "10.0.0.2", dst: "10.0.1.2", proto: 17, sport: 1, dport: 2 },
      problems: [],
      outcomes: ["a", "b"].map((x) => ({ probability: 1, assumptions: [x], fate: { kind: "forwarded" as const, iface: "eth1" }, steps: [], final: { src: "10.0.0.2", dst: "10.0.1.2", mark: "0x0", ctmark: "0x0", ctstate: "NEW" as const, outIface: "eth1" } })),
    };
    expect(summarise(e as never).map((s) => [s.assumptions, s.probability])).toEqual([[["a"], 1], [["b"], 1]]);
  });

  it.skipIf(!hasShared)(needsShared("the corpus's stettenstr dump against itself changed in one rule: no summary above 1"), async () => {
    const a = sharedPath("corpus/repo-fixture/netnet-openlab-stettenstr.save.txt");
    const text = fs.readFileSync(a, "utf8");
    const b = file("stetten.save", text.replace("-j SNAT --to-source 192.168.0.38", "-j SNAT --to-source 192.168.0.39"));
    const r = await run(["diff", "-q", "--json", "--limit", "0", "--established", "--iface", "br0=192.168.0.38/24", "--iface", "eth5=192.168.178.2/24", a, b]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    for (const d of j.differences) for (const s of [...d.old.summary, ...d.new.summary]) expect(s.probability).toBeLessThanOrEqual(1 + 1e-9);
  });
});

describe("diff reads each input once", () => {
  it("the node facts, ipsets and both bundles' files are each opened once", async () => {
    const facts = file("once-node.json", fs.readFileSync(resolve(root, "samples/host-firewall/node.json"), "utf8"));
    const sets = file("once-sets.txt", "create allow hash:ip family inet hashsize 1024 maxelem 65536\nadd allow 10.0.0.5\n");
    const bundles = ["once-old", "once-new"].map((n, i) => {
      const d = join(dir, n);
      fs.mkdirSync(d);
      writeFileSync(join(d, "iptables-save.txt"), filter(`-A INPUT -m set --match-set allow src -p tcp -m tcp --dport ${22 + i} -j DROP`));
      writeFileSync(join(d, "sysctl.txt"), "net.ipv4.ip_forward = 1\n");
      return d;
    });
    opened.length = 0;
    const r = await run(["diff", "-q", "--random", "20", "--node", facts, "--ipsets", sets, ...bundles]);
    expect(r.code, r.err).toBe(1);
    const counts = new Map<string, number>();
    for (const p of opened) counts.set(p, (counts.get(p) ?? 0) + 1);
    expect(counts.get(facts)).toBe(1);
    expect(counts.get(sets)).toBe(1);
    for (const d of bundles) {
      expect(counts.get(join(d, "iptables-save.txt"))).toBe(1);
      expect(counts.get(join(d, "sysctl.txt"))).toBe(1);
    }
  });
});
