/**
 * Input iptables-restore refuses, asked of the real tools in a network namespace, and what
 * netfate says of the same text. A jump to a chain that is not declared before its line is
 * refused by both backends (legacy at the line, nft at COMMIT), also when the chain is
 * declared later; netfate reports an error at the jump and keeps the rule (the evaluator
 * then says the jump goes nowhere).
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { inNamespace, kernelSkipReason } from "./harness.js";
import { findChain, isUnknown } from "../../src/model/ast.js";

const why = kernelSkipReason();
const NS = `nfrefuse${process.pid}`;

function restore(tool: string, text: string, ...flags: string[]): { ok: boolean; stderr: string } {
  const r = spawnSync("ip", ["netns", "exec", NS, tool, ...flags], { input: text, encoding: "utf8" });
  return { ok: r.status === 0, stderr: r.stderr };
}

const table = (lines: string[]) => ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ...lines, "COMMIT", ""].join("\n");

const CASES: Array<{ name: string; text: string; refused: boolean }> = [
  { name: "a jump to a chain never declared", text: table(["-A INPUT -p tcp -j NOPE"]), refused: true },
  { name: "a jump to a chain declared after the line", text: table(["-A INPUT -p tcp -j LATER", ":LATER - [0:0]"]), refused: true },
  { name: "a jump to a chain made by -N after the line", text: table(["-A INPUT -p tcp -j LATER", "-N LATER"]), refused: true },
  { name: "a jump to a chain declared before the line", text: table([":EARLY - [0:0]", "-A INPUT -p tcp -j EARLY"]), refused: false },
  { name: "a goto to a chain never declared", text: table(["-A INPUT -p tcp -g NOPE"]), refused: true },
];

describe.skipIf(why !== undefined)(`iptables-restore refusals${why ? ` (skipped: ${why})` : ""}`, () => {
  inNamespace(NS);

  it.each(CASES)("$name", ({ text, refused }) => {
    // nft's --test only parses, so the nft backend is asked for real (in the namespace).
    const nft = restore("iptables-nft-restore", text);
    const legacy = restore("iptables-legacy-restore", text, "--test");
    expect({ nft: !nft.ok, legacy: !legacy.ok }).toEqual({ nft: refused, legacy: refused });
    if (refused) {
      expect(nft.stderr).toMatch(/Chain '\w+' does not exist/);
      expect(legacy.stderr).toMatch(/Couldn't load target `\w+'|goto '\w+' is not a chain/);
    }
    const parsed = parseRules(text);
    const errors = parsed.diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => d.line)).toEqual(refused ? [5] : []);
    expect(errors.every((d) => /is not declared before this line/.test(d.message))).toBe(true);
    spawnSync("ip", ["netns", "exec", NS, "iptables-nft", "-F"]);
    spawnSync("ip", ["netns", "exec", NS, "iptables-nft", "-X"]);
  });
});

describe("jumps in iptables -S output of one chain", () => {
  it("are not reported: the chains they jump to are not part of that output", () => {
    const text = "-N KUBE-SERVICES\n-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y\n";
    const parsed = parseRules(text, { table: "nat" });
    expect(parsed.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
  });
});

/**
 * More of what the restore tools take and refuse (1.8.9, both backends, for real in the
 * namespace: legacy's --test does not ask the kernel, which makes the table checks), each with
 * what netfate says of the same text: an error exactly where the tools refuse.
 */
const MORE: Array<{ name: string; text: string; refused: boolean; netfate: RegExp | undefined }> = [
  { name: "a jump into a built-in chain", text: table(["-A INPUT -j OUTPUT"]), refused: true, netfate: /cannot jump to built-in chain OUTPUT/ },
  { name: "a goto into a built-in chain", text: table(["-A INPUT -g OUTPUT"]), refused: true, netfate: /cannot go to built-in chain OUTPUT/ },
  { name: "a tcp port range min > max", text: table(["-A INPUT -p tcp --dport 80:20 -j ACCEPT"]), refused: true, netfate: /tcp: invalid portrange/ },
  { name: "an sctp port range min > max", text: table(["-A INPUT -p sctp --dport 80:20 -j ACCEPT"]), refused: true, netfate: /sctp: invalid portrange/ },
  { name: "a multiport range min > max", text: table(["-A INPUT -p tcp -m multiport --dports 1,80:20 -j ACCEPT"]), refused: true, netfate: /multiport: invalid portrange/ },
  { name: "a udp port range min > max (taken)", text: table(["-A INPUT -p udp --dport 80:20 -j ACCEPT"]), refused: false, netfate: undefined },
  { name: "text after a closing quote", text: table(['-A INPUT -m comment --comment a"b"c -j ACCEPT']), refused: true, netfate: /unexpected argument/ },
  { name: "text after a quoted run", text: table(['-A INPUT -m comment --comment "a b"c -j ACCEPT']), refused: true, netfate: /unexpected argument/ },
  { name: "a quote opened inside a word (taken)", text: table(['-A INPUT -m comment --comment a"b c" -j ACCEPT']), refused: false, netfate: undefined },
  { name: "an unquoted comment of several words", text: table(["-A INPUT -m comment --comment kubernetes health check -j ACCEPT"]), refused: true, netfate: /unexpected argument/ },
  { name: "a comment of 300 bytes (taken, cut to 255)", text: table([`-A INPUT -m comment --comment ${"a".repeat(300)} -j ACCEPT`]), refused: false, netfate: undefined },
  { name: "a built-in chain's policy `-` (taken)", text: ["*filter", ":INPUT - [0:0]", "COMMIT", ""].join("\n"), refused: false, netfate: undefined },
  { name: "-j DROP in nat", text: ["*nat", "-A PREROUTING -j DROP", "COMMIT", ""].join("\n"), refused: true, netfate: /-j DROP is refused in the nat table/ },
  { name: "-P PREROUTING DROP in nat", text: ["*nat", "-P PREROUTING DROP", "COMMIT", ""].join("\n"), refused: true, netfate: /-P PREROUTING DROP is refused/ },
  { name: ":PREROUTING DROP in nat (taken)", text: ["*nat", ":PREROUTING DROP [0:0]", "COMMIT", ""].join("\n"), refused: false, netfate: undefined },
];

/** Targets table inference relies on (src/syntax/infer-table.ts): the tables each is taken in. */
const TABLE_LIMITED: Array<{ target: string; chains: Record<string, string>; allowed: string[] }> = [
  { target: "DNAT --to-destination 10.0.0.1", chains: { raw: "PREROUTING", mangle: "PREROUTING", nat: "PREROUTING", filter: "INPUT" }, allowed: ["nat"] },
  { target: "MASQUERADE", chains: { raw: "OUTPUT", mangle: "POSTROUTING", nat: "POSTROUTING", filter: "OUTPUT" }, allowed: ["nat"] },
  { target: "CT --notrack", chains: { raw: "PREROUTING", mangle: "PREROUTING", nat: "PREROUTING", filter: "INPUT" }, allowed: ["raw"] },
  { target: "TOS --set-tos 1", chains: { raw: "PREROUTING", mangle: "PREROUTING", nat: "PREROUTING", filter: "INPUT" }, allowed: ["mangle"] },
  { target: "REJECT", chains: { raw: "PREROUTING", mangle: "PREROUTING", nat: "PREROUTING", filter: "INPUT" }, allowed: ["filter"] },
  { target: "DROP", chains: { raw: "PREROUTING", mangle: "PREROUTING", nat: "PREROUTING", filter: "INPUT" }, allowed: ["raw", "mangle", "filter"] },
  // Taken everywhere: they tell nothing of the table.
  { target: "MARK --set-mark 1", chains: { raw: "PREROUTING", mangle: "PREROUTING", nat: "PREROUTING", filter: "INPUT" }, allowed: ["raw", "mangle", "nat", "filter"] },
  { target: "TCPMSS --clamp-mss-to-pmtu", chains: { raw: "OUTPUT", mangle: "FORWARD", nat: "OUTPUT", filter: "FORWARD" }, allowed: ["raw", "mangle", "nat", "filter"] },
];

describe.skipIf(why !== undefined)(`iptables-restore takes and refuses${why ? ` (skipped: ${why})` : ""}`, () => {
  const NS2 = `nftake${process.pid}`;
  const run = (args: string[], input?: string) => spawnSync("ip", ["netns", "exec", NS2, ...args], { encoding: "utf8", ...(input !== undefined ? { input } : {}) });
  const reset = () => {
    for (const t of ["iptables-legacy", "iptables-nft"]) {
      for (const tb of ["raw", "mangle", "nat", "filter"]) {
        run([t, "-t", tb, "-F"]);
        run([t, "-t", tb, "-X"]);
      }
      run([t, "-P", "INPUT", "ACCEPT"]);
    }
  };
  const both = (text: string, ...flags: string[]) => {
    const answers = ["iptables-legacy-restore", "iptables-nft-restore"].map((tool) => run([tool, ...flags], text).status === 0);
    reset();
    return answers;
  };
  inNamespace(NS2);

  it.each(MORE)("$name", ({ text, refused, netfate }) => {
    expect(both(text)).toEqual([!refused, !refused]);
    const errors = parseRules(text).diagnostics.filter((d) => d.severity === "error");
    if (netfate) {
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect(e.message).toMatch(netfate);
    }
    else expect(errors).toEqual([]);
  });

  it.each(TABLE_LIMITED)("-j $target is taken in $allowed", ({ target, chains, allowed }) => {
    const taken = Object.entries(chains).filter(([tb, ch]) => {
      const [legacy, nft] = both(`*${tb}\n-A ${ch} -p tcp -m tcp --tcp-flags SYN,RST SYN -j ${target}\nCOMMIT\n`);
      expect(legacy).toBe(nft);
      return legacy;
    });
    expect(taken.map(([tb]) => tb)).toEqual(allowed);
  });

  it("keeps the kernel's policy for `-` (legacy; nft too with --noflush), which is why netfate does not say it", () => {
    const text = "*filter\n:INPUT - [0:0]\nCOMMIT\n";
    run(["iptables-legacy", "-P", "INPUT", "DROP"]);
    expect(run(["iptables-legacy-restore"], text).status).toBe(0);
    expect(run(["iptables-legacy", "-S", "INPUT"]).stdout).toContain("-P INPUT DROP");
    run(["iptables-nft", "-P", "INPUT", "DROP"]);
    expect(run(["iptables-nft-restore", "--noflush"], text).status).toBe(0);
    expect(run(["iptables-nft", "-S", "INPUT"]).stdout).toContain("-P INPUT DROP");
    reset();
    const policy = findChain(parseRules(text).value.tables[0]!, "INPUT")!.policy;
    expect(isUnknown(policy)).toBe(true);
  });

  it("keeps the first 255 bytes of a longer comment, as netfate does", () => {
    const text = `*filter\n-A INPUT -m comment --comment ${"a".repeat(300)} -j ACCEPT\nCOMMIT\n`;
    for (const [restore, save] of [["iptables-legacy-restore", "iptables-legacy"], ["iptables-nft-restore", "iptables-nft"]]) {
      expect(run([restore!], text).status).toBe(0);
      expect(run([save!, "-S", "INPUT"]).stdout).toContain(`--comment ${"a".repeat(255)} -j ACCEPT`);
    }
    reset();
    expect(findChain(parseRules(text).value.tables[0]!, "INPUT")!.rules.load()[0]!.matches[0]).toMatchObject({ data: { comment: "a".repeat(255) } });
  });
});
