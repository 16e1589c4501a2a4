/**
 * Rules bound on first load (src/model/chain-rules.ts) must be exactly the rules bound
 * while parsing: same AST, same diagnostics, for real dumps and for restore scripts that mix
 * -A with the commands that read or change chains. And deferral must actually defer: a
 * summary binds nothing, an evaluation binds only the chains the packet passes through.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRules, type ParseRulesOptions } from "../../src/parse.js";
import { tableSpecText } from "../../src/print/save.js";
import { listText, type ListOptions } from "../../src/print/listing.js";
import { parseListing } from "../../src/syntax/listing.js";
import { DiagnosticSink } from "../../src/model/diagnostics.js";
import { readInput } from "../../src/inputs.js";
import { summarize } from "../../src/cli/commands/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import { boundRules } from "../../src/model/chain-rules.js";
import { saveText } from "../../src/print/save.js";
import type { Chain, Ruleset } from "../../src/model/ast.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";
import { hasShared, listShared, readShared, sections, sharedNotice } from "../support/shared.js";
import { simpleNode } from "../support/simple-node.js";

const SAMPLES = join(import.meta.dirname, "../../samples");

function saveFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return saveFiles(p);
    return f.endsWith(".save") ? [p] : [];
  });
}

function chains(rs: Ruleset): Chain[] {
  return rs.tables.flatMap((t) => t.chains);
}

const chainDigest = (c: Chain) => c.rules.digest();
const isDeferred = (c: Chain) => !c.rules.loaded();

/** The ruleset with every chain's rules loaded: then a deferred chain and a bound one are the same data. */
function loaded(rs: Ruleset): Ruleset {
  for (const c of chains(rs)) c.rules.load();
  return rs;
}

/** Parses both ways and checks they agree, binding the deferred rules last. */
function expectSameBothWays(text: string, family: "ipv4" | "ipv6" = "ipv4", more: Omit<ParseRulesOptions, "family" | "deferRules"> = {}): void {
  const eager = parseRules(text, { ...more, family, deferRules: false });
  const deferred = parseRules(text, { ...more, family });
  expect(deferred.diagnostics).toEqual(eager.diagnostics);
  // Digests first, while the rules are still unbound; then the rules themselves.
  expect(chains(deferred.value).map(chainDigest)).toEqual(chains(eager.value).map(chainDigest));
  expect(loaded(deferred.value)).toEqual(eager.value);
  expect(saveText(deferred.value)).toBe(saveText(eager.value));
}

/** The same for a listing: read with rows kept and read again, and read whole. */
function expectListingSameBothWays(text: string, family: "ipv4" | "ipv6" = "ipv4", table?: "filter" | "nat" | "mangle" | "raw" | "security"): void {
  const read = (deferRules: boolean) => {
    const sink = new DiagnosticSink("l");
    const value = parseListing(text, sink, { family, deferRules, ...(table ? { table } : {}) });
    return { value, diagnostics: sink.items };
  };
  const eager = read(false);
  const deferred = read(true);
  expect(deferred.diagnostics).toEqual(eager.diagnostics);
  expect(chains(deferred.value).map(chainDigest)).toEqual(chains(eager.value).map(chainDigest));
  expect(loaded(deferred.value)).toEqual(eager.value);
  expect(saveText(deferred.value)).toBe(saveText(eager.value));
}

describe("deferred rules are the rules bound while parsing", () => {
  it("for every sample dump", () => {
    const files = saveFiles(SAMPLES);
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expectSameBothWays(readFileSync(f, "utf8"));
  });

  it.skipIf(!hasShared)(hasShared ? "for every iptables-save reference text" : sharedNotice("reference"), () => {
    let n = 0;
    for (const f of listShared("reference/iptables", ".txt")) {
      const s = sections(readShared("reference/iptables", f));
      for (const name of ["restore", "save"]) {
        const text = s.get(name);
        if (text === undefined) continue;
        expectSameBothWays(text, f.startsWith("ip6-") ? "ipv6" : "ipv4");
        n++;
      }
    }
    expect(n).toBeGreaterThan(20);
  });

  it("for a generated kube-proxy dump", () => {
    expectSameBothWays(kubeProxyDump({ services: 50 }));
  });

  // Names iptables knows as targets are chains only when declared before the rule (the
  // binder asks which chains exist so far), so the order of -N and -A matters.
  const CHAINS = ["A", "B", "LED", "SECMARK"];
  const line = fc.oneof(
    fc.constantFrom(...CHAINS).map((c) => `-N ${c}`),
    fc.tuple(fc.constantFrom("INPUT", ...CHAINS), fc.constantFrom("-j ACCEPT", "-j DROP", "-p tcp --dport 22 -j RETURN", "-s 10.0.0.1,10.0.0.2 -j LED", "-j SECMARK", "-g A", "-j B", "-m foo --bar 1 -j ACCEPT"))
      .map(([c, r]) => `-A ${c} ${r}`),
    fc.tuple(fc.constantFrom("INPUT", ...CHAINS), fc.integer({ min: 1, max: 3 })).map(([c, n]) => `-I ${c} ${n} -j ACCEPT`),
    fc.tuple(fc.constantFrom("INPUT", ...CHAINS), fc.integer({ min: 1, max: 3 })).map(([c, n]) => `-D ${c} ${n}`),
    fc.constantFrom("-F", "-F INPUT", "-X", "-X B", "-Z", "-Z INPUT", ":A - [0:0]", ":B - [3:4]", "[1:2] -A INPUT -j ACCEPT", '-A INPUT -m comment --comment "x\\"y" -j ACCEPT'),
  );

  it("for a chain longer than a function call takes arguments, changed after by -I", () => {
    const lines = ["*filter", ":INPUT ACCEPT [0:0]", ":X - [0:0]"];
    for (let i = 0; i < 200_000; i++) lines.push(`-A X -s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 -j ACCEPT`);
    lines.push("-I X 1 -j DROP", "COMMIT", "");
    const r = parseRules(lines.join("\n"));
    expect(r.diagnostics).toEqual([]);
    const x = r.value.tables[0]!.chains.find((c) => c.name === "X")!;
    expect(x.rules.load()).toHaveLength(200_001);
    expect(x.rules.load()[0]!.target).toMatchObject({ kind: "standard", verdict: "DROP" });
    expect(x.rules.load()[200_000]!.source).toMatchObject({ address: "10.3.13.63", prefixLength: 32 });
  });

  // Lines outside any *table (-S output, fragments) are bound when the input has been read and
  // their table is known (given, or inferred from all of them).
  it("for iptables -S output, with the table given and inferred", () => {
    const rs = parseRules(kubeProxyDump({ services: 50 })).value;
    for (const t of rs.tables) {
      const spec = tableSpecText(t, "ipv4");
      expectSameBothWays(spec, "ipv4", { format: "S", table: t.name });
      expectSameBothWays(spec, "ipv4", { format: "S" });
    }
  });

  it("for lines outside any table, alone and around a table section", () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 15 }), fc.array(line, { maxLength: 10 }), fc.boolean(), (loose, inTable, mixed) => {
        const text = mixed ? `${loose.join("\n")}\n*nat\n:OUTPUT ACCEPT [0:0]\n${inTable.join("\n")}\nCOMMIT\n` : `${loose.join("\n")}\n`;
        expectSameBothWays(text, "ipv4", { format: "S" });
      }),
      { numRuns: 300, seed: 20261204 },
    );
  });

  it("for -L listings of every kind, of a generated kube-proxy dump and a sample", () => {
    const kinds: ListOptions[] = [{}, { numeric: true }, { numeric: true, verbose: true }, { numeric: true, verbose: true, exact: true, lineNumbers: true }];
    for (const text of [kubeProxyDump({ services: 50 }), readFileSync(join(SAMPLES, "host-firewall/rules.save"), "utf8")]) {
      const rs = parseRules(text).value;
      for (const o of kinds) {
        for (const t of rs.tables) {
          const listing = listText({ ...rs, tables: [t] }, o);
          expectListingSameBothWays(listing, "ipv4", t.name);
          expectListingSameBothWays(listing, "ipv4");
        }
      }
    }
  });

  it.skipIf(!hasShared)(hasShared ? "for every reference listing" : sharedNotice("reference"), () => {
    let n = 0;
    for (const f of listShared("reference/iptables", ".txt")) {
      for (const [name, text] of sections(readShared("reference/iptables", f))) {
        if (!/L/.test(name) || /save|restore|S$/.test(name)) continue;
        expectListingSameBothWays(text, f.startsWith("ip6-") ? "ipv6" : "ipv4");
        n++;
      }
    }
    expect(n).toBeGreaterThan(20);
  });

  it("for restore scripts that mix -A with -N, -I, -D, -F, -X and -Z", () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), (lines) => {
        expectSameBothWays(`*filter\n:INPUT ACCEPT [0:0]\n${lines.join("\n")}\nCOMMIT\n`);
      }),
      { numRuns: 300, seed: 20261203 },
    );
  });
});

describe("deferral defers", () => {
  const text = kubeProxyDump({ services: 200 });

  it("a summary counts rules and unknown extensions without binding any", () => {
    const res = readInput(text, { file: "kp.save", format: "auto" });
    const s = summarize("kp.save", res.input, res.diagnostics);
    const rs = res.input.kind === "rules" ? res.input.ruleset : undefined;
    expect(rs).toBeDefined();
    const all = chains(rs!);
    const bound = parseRules(text, { deferRules: false }).value;
    expect(s.rules).toBe(chains(bound).reduce((n, c) => n + c.rules.count, 0));
    expect(s.chains).toBe(all.length);
    expect(all.filter((c) => !isDeferred(c)).length).toBeLessThan(all.length / 10);
  });

  it("in a -nvL listing as in a dump", () => {
    const nat = parseRules(text).value.tables.find((t) => t.name === "nat")!;
    const sink = new DiagnosticSink("l");
    const listed = parseListing(listText({ family: "ipv4", format: "save", flavour: "unknown", preamble: [], tables: [nat] }, { numeric: true, verbose: true }), sink, { table: "nat" });
    expect(sink.items).toEqual([]);
    const all = chains(listed);
    expect(all.length).toBe(nat.chains.length);
    expect(all.filter((c) => !isDeferred(c)).length).toBeLessThan(all.length / 10);
    expect(all.reduce((n, c) => n + chainDigest(c).count, 0)).toBe(nat.chains.reduce((n, c) => n + c.rules.count, 0));
  });

  it("in iptables -S output as in a dump", () => {
    const nat = parseRules(text).value.tables.find((t) => t.name === "nat")!;
    const spec = parseRules(tableSpecText(nat, "ipv4"), { format: "S" });
    expect(spec.diagnostics.map((d) => d.severity)).toEqual(["info"]);
    const all = chains(spec.value);
    expect(all.length).toBe(nat.chains.length);
    expect(all.filter((c) => !isDeferred(c)).length).toBeLessThan(all.length / 10);
  });

  it("an evaluation binds only the chains the packet passes through, and answers as if all were bound", () => {
    const deferred = parseRules(text).value;
    const eager = parseRules(text, { deferRules: false }).value;
    const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
    const pkt = { family: "ipv4" as const, from: "eth0", src: "192.168.0.50", dst: "10.96.0.10", proto: 6, sport: 40000, dport: 80, tcpFlags: 2 };
    const got = buildNode({ rulesets: [deferred], node }).evaluate(pkt);
    const want = buildNode({ rulesets: [eager], node }).evaluate(pkt);
    expect(got.outcomes).toEqual(want.outcomes);
    const boundNow = chains(deferred).filter((c) => !isDeferred(c)).map((c) => c.name);
    // nat PREROUTING → KUBE-SERVICES → one service's chain and its endpoints, plus the built-ins;
    // KUBE-SERVICES itself only the lines of the rules read (netfilter/chain-lines.ts).
    expect(boundNow).not.toContain("KUBE-SERVICES");
    expect(boundNow).toContain(want.outcomes[0]!.steps.find((s) => s.chain.startsWith("KUBE-SVC-"))!.chain);
    expect(boundNow.length).toBeLessThan(40);
    expect(chains(deferred).length).toBeGreaterThan(500);
  });

  it("a deferred chain's rules can be replaced like any chain's", () => {
    const rs = parseRules("*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n-A X -j ACCEPT\n-A X -j DROP\nCOMMIT\n").value;
    const x = rs.tables[0]!.chains.find((c) => c.name === "X")!;
    expect(isDeferred(x)).toBe(true);
    expect(chainDigest(x).count).toBe(2);
    x.rules = boundRules([x.rules.load()[1]!]);
    expect(isDeferred(x)).toBe(false);
    expect(saveText(rs)).toContain(":X - [0:0]\n-A X -j DROP\nCOMMIT");
    expect(Object.keys(x)).toEqual(["name", "builtin", "policy", "declared", "rules", "span", "counters"]);
    expect(JSON.parse(JSON.stringify(x.rules))).toHaveLength(1);
  });

  it("binding again sees the chains the first binding saw, after a pasted dump's spans were moved", () => {
    // LED is an iptables target; declared before the rule, it is this chain (iptables does the same).
    const dump = "*filter\n:INPUT ACCEPT [0:0]\n:LED - [0:0]\n:X - [0:0]\n-A X -j LED\n-A LED -j ACCEPT\nCOMMIT\n";
    for (const text of [dump, `Here is my dump:\n\n\`\`\`\n${dump}\`\`\`\nthanks\n`]) {
      const r = readInput(text, { file: "t", format: "auto" });
      const rs = r.input.kind === "mixed" ? r.input.blocks[0]!.input : r.input;
      expect(rs.kind).toBe("rules");
      const x = rs.kind === "rules" ? rs.ruleset.tables[0]!.chains.find((c) => c.name === "X")! : undefined;
      expect(x?.rules.load()[0]?.target).toMatchObject({ kind: "chain", chain: "LED" });
    }
  });

  it("a chain frozen before its rules are read still binds them", () => {
    const rs = parseRules("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n").value;
    const input = Object.freeze(rs.tables[0]!.chains[0]!);
    expect(isDeferred(input)).toBe(true);
    expect(input.rules.load().map((r) => r.target)).toMatchObject([{ kind: "standard", verdict: "ACCEPT" }]);
    expect(isDeferred(input)).toBe(false);
  });
});
