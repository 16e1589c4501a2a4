/**
 * Input iptables-restore refuses, asked of the real tools in a network namespace, and what
 * netfate says of the same text. A jump to a chain that is not declared before its line is
 * refused by both backends (legacy at the line, nft at COMMIT), also when the chain is
 * declared later; netfate warns at the jump and keeps the rule.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { kernelSkipReason } from "./harness.js";

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
  beforeAll(() => {
    spawnSync("ip", ["netns", "del", NS]);
    const r = spawnSync("ip", ["netns", "add", NS]);
    if (r.status !== 0) throw new Error(`ip netns add ${NS}: ${r.stderr.toString()}`);
  });
  afterAll(() => {
    spawnSync("ip", ["netns", "del", NS]);
  });

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
    const warnings = parsed.diagnostics.filter((d) => d.severity === "warning" && /is not declared before this line/.test(d.message));
    expect(warnings.map((d) => d.line)).toEqual(refused ? [5] : []);
    expect(parsed.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
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
